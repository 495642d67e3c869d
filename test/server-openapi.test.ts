/**
 * The OpenAPI document at GET /api/v1/openapi.json: made from the route schemas, it lists
 * every route with its request and response shapes and the one error shape, in the shape
 * OpenAPI 3 asks for; and what it says is what the routes enforce.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let redis: RedisServer;
let messenger: RedisMessenger;
let server: Server;

before(async () => {
  redis = await startRedisServer();
  messenger = await RedisMessenger.connect({ url: redis.url });
  server = await createServer({ messenger, origins: [] });
});
after(async () => {
  await server?.close();
  await messenger?.close();
  await redis?.stop();
});

/** Every route of the server, as OpenAPI names them. */
const ROUTES = [
  'get /healthz',
  'get /readyz',
  'post /api/v1/register',
  'post /api/v1/login',
  'post /api/v1/logout',
  'get /api/v1/me',
  'get /api/v1/sessions',
  'delete /api/v1/sessions/{id}',
  'get /api/v1/users',
  'get /api/v1/users/{user}',
  'get /api/v1/contacts',
  'put /api/v1/contacts/{user}',
  'delete /api/v1/contacts/{user}',
  'put /api/v1/messages/{id}',
  'post /api/v1/messages',
  'get /api/v1/inbox',
  'post /api/v1/messages/seen',
  'get /api/v1/unread',
  'get /api/v1/conversations',
  'get /api/v1/conversations/{user}/messages',
  'post /api/v1/conversations/{user}/seen',
  'get /api/v1/live',
];

interface Operation {
  parameters?: { in: string; name: string; required?: boolean; schema?: object }[];
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { description: string; content?: Record<string, { schema: object }> }>;
  security?: unknown[];
}

// biome-ignore lint/suspicious/noExplicitAny: the document is read field by field
let doc: any;

it('is served without a session, as JSON', async () => {
  const reply = await server.inject({ method: 'GET', url: '/api/v1/openapi.json' });
  assert.equal(reply.statusCode, 200, reply.body);
  assert.match(String(reply.headers['content-type']), /^application\/json/);
  doc = reply.json();
});

it('has the shape of an OpenAPI 3 document', () => {
  assert.match(doc.openapi, /^3\.\d+\.\d+$/);
  assert.equal(typeof doc.info.title, 'string');
  assert.equal(typeof doc.info.version, 'string');
  assert.equal(typeof doc.paths, 'object');
  assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['bearer', 'cookie']);
  for (const [path, operations] of Object.entries<Record<string, Operation>>(doc.paths)) {
    assert.match(path, /^\//, path);
    for (const [method, operation] of Object.entries(operations)) {
      const where = `${method} ${path}`;
      assert.ok(
        ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method),
        where,
      );
      const codes = Object.keys(operation.responses);
      assert.ok(codes.length > 0, `${where} has responses`);
      for (const code of codes) {
        assert.match(code, /^([1-5]\d\d|[1-5]XX|default)$/, `${where} ${code}`);
        assert.equal(typeof operation.responses[code]?.description, 'string', `${where} ${code}`);
      }
      for (const name of path.match(/\{(\w+)\}/g) ?? []) {
        const declared = operation.parameters?.find(
          (p) => p.in === 'path' && `{${p.name}}` === name,
        );
        assert.ok(declared?.required, `${where} declares ${name}`);
      }
    }
  }
});

it('lists every route, and nothing that is not one', () => {
  const listed = Object.entries<Record<string, Operation>>(doc.paths).flatMap(([path, ops]) =>
    Object.keys(ops).map((method) => `${method} ${path}`),
  );
  assert.deepEqual([...listed].sort(), [...ROUTES].sort());
  for (const route of listed) {
    const [method, path] = route.split(' ') as [string, string];
    const url = path.replace(/\{(\w+)\}/g, ':$1');
    assert.ok(
      server.hasRoute({ method: method.toUpperCase() as 'GET', url }),
      `${route} is a route`,
    );
  }
});

it('gives every route its request shapes, success shape and the one error shape', () => {
  const errorShape =
    doc.paths['/api/v1/register'].post.responses['4XX'].content['application/json'].schema;
  assert.deepEqual(errorShape.required, ['error']);
  assert.deepEqual(Object.keys(errorShape.properties.error.properties).sort(), [
    'code',
    'message',
    'retry_after_ms',
  ]);
  for (const route of ROUTES) {
    const [method, path] = route.split(' ') as [string, string];
    const operation: Operation = doc.paths[path][method];
    for (const errors of ['4XX', '5XX'])
      assert.deepEqual(
        operation.responses[errors]?.content?.['application/json']?.schema,
        errorShape,
        `${route} ${errors}`,
      );
    const success = Object.keys(operation.responses).filter((code) => /^[12]\d\d$/.test(code));
    assert.ok(success.length > 0, `${route} says what it answers`);
  }
  const send = doc.paths['/api/v1/messages/{id}'].put as Operation;
  const body = send.requestBody?.content['application/json']?.schema as {
    required: string[];
    properties: Record<string, { maxLength?: number }>;
  };
  assert.deepEqual(body.required, ['to', 'text']);
  assert.deepEqual(Object.keys(send.responses).sort(), ['200', '201', '4XX', '5XX']);
  assert.deepEqual(send.parameters?.find((p) => p.name === 'id')?.schema, {
    type: 'string',
    format: 'uuid',
  });
  const inbox = doc.paths['/api/v1/inbox'].get as Operation;
  assert.deepEqual(
    inbox.parameters
      ?.filter((p) => p.in === 'query')
      .map((p) => p.name)
      .sort(),
    ['after', 'before', 'limit'],
  );
  const users = doc.paths['/api/v1/users'].get as Operation;
  assert.deepEqual(
    users.parameters
      ?.filter((p) => p.in === 'query')
      .map((p) => p.name)
      .sort(),
    ['after', 'limit', 'prefix'],
    'the listing and the search by prefix',
  );
  assert.deepEqual(users.parameters?.find((p) => p.name === 'prefix')?.schema, {
    type: 'string',
    minLength: 1,
    maxLength: 32,
  });
  assert.deepEqual(doc.paths['/api/v1/login'].post.security, [], 'login needs no session');
  assert.equal(doc.paths['/api/v1/me'].get.security, undefined, 'me needs the document-wide one');
});

it('says what the routes enforce: one source for both', async () => {
  const { token } = (
    await server.inject({
      method: 'POST',
      url: '/api/v1/register',
      payload: { username: 'openapi', password: 'correct horse battery staple' },
    })
  ).json();
  const text =
    doc.paths['/api/v1/messages'].post.requestBody.content['application/json'].schema.properties
      .text;
  const send = (length: number) =>
    server.inject({
      method: 'POST',
      url: '/api/v1/messages',
      headers: { authorization: `Bearer ${token}` },
      payload: { to: 'nobody-at-all', text: 'x'.repeat(length) },
    });
  assert.equal((await send(text.maxLength + 1)).statusCode, 400, 'one over the documented maximum');
  assert.equal(
    (await send(text.maxLength)).statusCode,
    404,
    'the documented maximum passes validation',
  );
});
