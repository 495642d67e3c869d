/**
 * The web page as the server serves it (in-process, `inject()`): its four files with the
 * Content-Security-Policy and the other security headers, revalidation by ETag, the API
 * unchanged beside it (not in the OpenAPI document, a 404 still JSON); and safe by
 * construction: no inline script in the HTML, and no way into HTML parsing (innerHTML and
 * its kin) in the page's sources or in the bundle served.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { RedisMessenger } from '../src/index.js';
import { createServer, type Server } from '../src/server/index.js';
import { CONTENT_SECURITY_POLICY } from '../src/server/web.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';

let redis: RedisServer;
let messenger: RedisMessenger;
let server: Server;

before(async () => {
  redis = await startRedisServer();
  messenger = await RedisMessenger.connect({ url: redis.url });
  server = await createServer({ messenger, origins: ['http://chat.test'] });
});
after(async () => {
  await server?.close();
  await messenger?.close();
  await redis?.stop();
});

/** What lets text become markup or code: none of it may appear in the page. */
const HTML_SINKS =
  /innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|srcdoc/;

it('serves the page, its script, style and icon with a strict CSP and the security headers', async () => {
  const types: Record<string, RegExp> = {
    '/': /^text\/html/,
    '/app.js': /^text\/javascript/,
    '/style.css': /^text\/css/,
    '/icon.svg': /^image\/svg\+xml/,
  };
  for (const [url, type] of Object.entries(types)) {
    const reply = await server.inject({ url });
    assert.equal(reply.statusCode, 200, url);
    assert.match(String(reply.headers['content-type']), type, url);
    const csp = String(reply.headers['content-security-policy']);
    assert.equal(csp, CONTENT_SECURITY_POLICY);
    assert.equal(reply.headers['x-content-type-options'], 'nosniff');
    assert.equal(reply.headers['x-frame-options'], 'DENY');
    assert.equal(reply.headers['referrer-policy'], 'no-referrer');
    assert.equal(reply.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(reply.headers['strict-transport-security'], undefined, 'plain http: no HSTS');
  }
  const directives = new Map(
    CONTENT_SECURITY_POLICY.split('; ').map((directive) => {
      const [name, ...values] = directive.split(' ');
      return [name, values.join(' ')];
    }),
  );
  assert.equal(directives.get('default-src'), "'none'");
  assert.equal(directives.get('script-src'), "'self'");
  assert.equal(directives.get('connect-src'), "'self'");
  assert.equal(directives.get('frame-ancestors'), "'none'");
  assert.doesNotMatch(CONTENT_SECURITY_POLICY, /unsafe-inline|unsafe-eval|\*|https?:/);
});

it('revalidates by ETag: an unchanged file answers 304', async () => {
  const first = await server.inject({ url: '/app.js' });
  const etag = String(first.headers.etag);
  assert.match(etag, /^"[\w-]+"$/);
  assert.equal(first.headers['cache-control'], 'no-cache');
  const again = await server.inject({ url: '/app.js', headers: { 'if-none-match': etag } });
  assert.equal(again.statusCode, 304);
  assert.equal(again.body, '');
});

it('leaves the API as it was: the page is not in the OpenAPI document, unknown paths are JSON 404s', async () => {
  const document = (await server.inject({ url: '/api/v1/openapi.json' })).json() as {
    paths: Record<string, unknown>;
  };
  for (const path of ['/', '/app.js', '/style.css', '/icon.svg'])
    assert.equal(document.paths[path], undefined, path);
  for (const url of ['/index.html', '/api/v1/', '/nothing-here']) {
    const reply = await server.inject({ url });
    assert.equal(reply.statusCode, 404, url);
    assert.equal(reply.json().error.code, 'not_found');
  }
  // The page's routes change nothing: HEAD works, other methods are not routes.
  assert.equal((await server.inject({ method: 'HEAD', url: '/' })).statusCode, 200);
  assert.equal((await server.inject({ method: 'POST', url: '/' })).statusCode, 404);
});

it('is safe by construction: no inline script or style in the HTML, no HTML parsing of text anywhere', async () => {
  const html = (await server.inject({ url: '/' })).body;
  const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
  assert.equal(scripts.length, 1);
  for (const [, attributes, body] of scripts) {
    assert.match(attributes ?? '', /src="\/app\.js"/);
    assert.equal(body?.trim(), '');
  }
  assert.doesNotMatch(html, /\son\w+=|\sstyle=|javascript:/i);

  const folder = new URL('../src/web/', import.meta.url);
  const sources = readdirSync(folder).filter((name) => name.endsWith('.ts'));
  assert.ok(sources.length > 5);
  for (const name of sources)
    assert.doesNotMatch(readFileSync(new URL(name, folder), 'utf8'), HTML_SINKS, name);
  const bundle = (await server.inject({ url: '/app.js' })).body;
  assert.ok(bundle.length > 1000);
  assert.doesNotMatch(bundle, HTML_SINKS, 'the bundle served');
});

it('uses the API only through the client module: the page imports the client, the errors and the library types, nothing of the server side', async () => {
  const folder = new URL('../src/web/', import.meta.url);
  const outside: string[] = [];
  const read = new Set<string>();
  for (const name of readdirSync(folder).filter((file) => file.endsWith('.ts'))) {
    const text = readFileSync(new URL(name, folder), 'utf8');
    for (const [statement, from] of text.matchAll(/import\b[^;]*?from '([^']+)'/g)) {
      read.add(from ?? '');
      if (from?.startsWith('./')) continue;
      const typeOnly = /^import type\b/.test(statement);
      const allowed =
        from === '../client/index.js' ||
        from === '../errors.js' ||
        (from === '../index.js' && typeOnly);
      if (!allowed) outside.push(`${name}: ${statement.replace(/\s+/g, ' ')}`);
    }
  }
  assert.ok(read.has('../client/index.js') && read.has('./dom.js'), 'the imports are read');
  assert.deepEqual(outside, []);
  // Nothing of Node or Redis got into the bundle.
  const bundle = (await server.inject({ url: '/app.js' })).body;
  assert.doesNotMatch(bundle, /"node:|require\(|createClient/);
});
