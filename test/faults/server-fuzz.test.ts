/**
 * Fuzzing the server: 10,000 generated HTTP requests (every route with generated paths,
 * parameters, headers and bodies: unicode, control characters, lone surrogates, huge
 * values, wrong types, deep nesting, `__proto__` / `constructor` keys; some as raw bytes
 * on a socket, past what an HTTP client would send) and 1,000 generated WebSocket frames,
 * against createServer listening on 127.0.0.1 → 0 crashes, 0 answers of 500 or above,
 * 0 stack traces (in answers or logs), 0 error lines in the log, 0 keys outside
 * docs/schema.md. Seeded: replay a run with FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import { connect } from 'node:net';
import { after, it } from 'node:test';
import { WebSocket } from 'ws';
import { within } from '../support/wait.js';
import {
  type Account,
  type ApiServer,
  ORIGIN,
  STACK_TRACE,
  signUp,
  startApiServer,
} from './support/api-server.js';
import { bump, classifyKey, prng, report, schemaAllows } from './support/faults.js';
import { Inputs } from './support/fuzz-inputs.js';
import { redisForThisFile } from './support/server.js';

const SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 32);
/** SERVER_FUZZ_REQUESTS makes a shorter run while working on it; CI runs the full count. */
const REQUESTS = Number(process.env.SERVER_FUZZ_REQUESTS ?? 10_000);
const FRAMES = 1_000;
/** Requests in flight at once. */
const CONCURRENCY = 16;
/** An answer that takes longer than this counts as hung. */
const HANG_MS = 10_000;

const redis = redisForThisFile();
let api: ApiServer | undefined;
after(async () => {
  await api?.close();
});

/** The route templates of the API (docs/server.md), with where generated values go. */
const TEMPLATES = [
  '/api/v1/register',
  '/api/v1/login',
  '/api/v1/logout',
  '/api/v1/me',
  '/api/v1/sessions',
  '/api/v1/sessions/{id}',
  '/api/v1/users',
  '/api/v1/users/{user}',
  '/api/v1/messages',
  '/api/v1/messages/{id}',
  '/api/v1/messages/seen',
  '/api/v1/inbox',
  '/api/v1/unread',
  '/api/v1/conversations',
  '/api/v1/conversations/{user}/messages',
  '/api/v1/conversations/{user}/seen',
  '/api/v1/contacts',
  '/api/v1/contacts/{user}',
  '/api/v1/live',
  '/api/v1/openapi.json',
  '/healthz',
  '/readyz',
];
const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND'];
const KEYS = [
  'to',
  'text',
  'ids',
  'username',
  'password',
  'limit',
  'after',
  'before',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  'application/vnd.api+json',
  'application/json, text/plain',
  '',
  '*/*',
];

/** Bytes of a string as a URL's percent-encoding (a lone surrogate goes as U+FFFD, as in UTF-8). */
function percent(text: string): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) =>
      /[A-Za-z0-9\-._~]/.test(String.fromCharCode(byte))
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).padStart(2, '0').toUpperCase()}`,
    )
    .join('');
}

/** Generated requests, from one seeded PRNG. */
class Requests {
  readonly inputs: Inputs;
  constructor(
    random: () => number,
    readonly accounts: Account[],
  ) {
    this.inputs = new Inputs(random);
    this.inputs.usernames.push(...accounts.map((a) => a.username));
    this.inputs.userIds.push(...accounts.map((a) => a.id));
  }

  /** A value to put in a path segment, a query parameter or a JSON field. */
  scalar(): string {
    const x = this.inputs;
    switch (x.int(8)) {
      case 0:
        return x.pick(x.usernames);
      case 1:
        return x.pick(x.userIds);
      case 2:
        return x.uuidish();
      case 3:
        return x.pick([
          '..',
          '../..',
          '%2e%2e',
          '.',
          '',
          ' ',
          '%00',
          '\u0000',
          '/',
          '//',
          '?',
          '#',
        ]);
      case 4:
        return x.chance(0.05) ? 'x'.repeat(70_000) : String(x.pick([0, -1, 1e21, 1.5, 100, 101]));
      default:
        return x.string();
    }
  }

  json(depth = 0): unknown {
    const x = this.inputs;
    switch (depth > 3 ? 0 : x.int(7)) {
      case 0:
        return this.scalar();
      case 1:
        return x.pick([null, true, false, 0, -1, 1.5, 1e308, 2 ** 53 + 1, 100, 16_385]);
      case 2:
        return Array.from({ length: x.int(5) }, () => this.json(depth + 1));
      case 3:
        return Array.from({ length: 101 + x.int(3) }, () => x.uuidish());
      default: {
        const object: Record<string, unknown> = {};
        for (let i = 0; i < 1 + x.int(4); i++)
          object[x.chance(0.8) ? x.pick(KEYS) : x.string()] = this.json(depth + 1);
        return object;
      }
    }
  }

  /** A JSON body as text, or something that claims to be one. */
  body(): string | undefined {
    const x = this.inputs;
    switch (x.int(12)) {
      case 0:
        return undefined;
      case 1:
        return x.pick([
          '{',
          '{"to":',
          '[1,2',
          'null',
          '""',
          'nul',
          '{"a":1}}',
          '\u0000',
          '{"__proto__":{"polluted":1}}',
        ]);
      case 2:
        return `${'['.repeat(20_000)}${']'.repeat(20_000)}`;
      case 3:
        return JSON.stringify({ to: x.pick(x.usernames), text: 'x'.repeat(70 * 1024) });
      case 4:
        return '{"constructor":{"prototype":{"isAdmin":true}},"to":"a","text":"b"}';
      case 5:
        return JSON.stringify({
          to: x.pick(x.usernames),
          text: x.string(),
          username: `f${x.int(1e9)}`,
          password: x.chance(0.1) ? 'a long enough password, fuzzed' : x.string(),
        });
      default: {
        const text = JSON.stringify(this.json());
        return text === undefined ? '{}' : text;
      }
    }
  }

  path(): string {
    const x = this.inputs;
    if (x.chance(0.05)) return `/${percent(x.string())}`;
    const template = x.pick(TEMPLATES);
    let path = template
      .replace('{id}', () => percent(this.scalar()))
      .replace('{user}', () => percent(this.scalar()));
    if (x.chance(0.1)) path = path.toUpperCase();
    if (x.chance(0.05)) path += x.pick(['/', '//', '/..', '%2F', ';x=1', '.json']);
    if (x.chance(0.6)) {
      const parameters = Array.from({ length: 1 + x.int(4) }, () => {
        const key = x.chance(0.8)
          ? x.pick(['limit', 'after', 'before', '__proto__[x]', 'constructor', 'limit[]'])
          : x.string();
        return `${percent(key)}=${percent(this.scalar())}`;
      });
      path += `?${parameters.join('&')}`;
    }
    return path;
  }

  headers(body: string | undefined): Record<string, string> {
    const x = this.inputs;
    const headers: Record<string, string> = {};
    const account = x.pick(this.accounts);
    switch (x.int(8)) {
      case 0:
        break;
      case 1:
        headers.authorization = `Bearer ${x.pick(['', 'x', 'msg_', `msg_${account.id}_`, `${account.token}x`, account.token.toUpperCase()])}`;
        break;
      case 2:
        headers.cookie = x.chance(0.5)
          ? account.cookie
          : `messenger_session=${latin1(x.string())}; a=b`;
        headers.origin = x.pick([ORIGIN, 'http://evil.test', 'null', latin1(x.string())]);
        if (x.chance(0.5)) headers['x-csrf-token'] = latin1(x.string());
        break;
      case 3:
        headers.authorization = latin1(x.string());
        break;
      default:
        headers.authorization = `Bearer ${account.token}`;
    }
    if (body !== undefined || x.chance(0.1)) {
      headers['content-type'] = x.chance(0.7) ? 'application/json' : x.pick(CONTENT_TYPES);
    }
    if (x.chance(0.1)) headers['x-forwarded-for'] = latin1(x.string());
    if (x.chance(0.1))
      headers[x.pick(['upgrade', 'connection', 'sec-websocket-key', 'accept', 'x-request-id'])] =
        latin1(x.string());
    if (x.chance(0.05)) headers['x-huge'] = 'h'.repeat(8_000 + x.int(10_000));
    return headers;
  }

  /**
   * Bytes no HTTP client would send: broken request lines, control characters, bad
   * framing; `halfSent` when the request is left unfinished (the server waits for the rest).
   */
  raw(): { bytes: string; halfSent: boolean } {
    const bytes = this.#rawBytes();
    // Empty lines before a request are allowed (RFC 9112 2.2): the request is still to come.
    return { bytes, halfSent: bytes.endsWith('{"to":') || bytes.trim() === '' };
  }

  #rawBytes(): string {
    const x = this.inputs;
    const account = x.pick(this.accounts);
    const path = `/api/v1/${x.pick(['users', 'inbox', 'messages', 'me'])}/${x.string()}`;
    switch (x.int(6)) {
      case 0:
        return `GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`;
      case 1:
        return `${x.string()}\r\n\r\n`;
      case 2:
        return `GET /api/v1/me HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${account.token}\u0000\r\n\r\n`;
      case 3:
        return `POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${account.token}\r\nContent-Type: application/json\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`;
      case 4:
        return `POST /api/v1/messages HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${account.token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"to":`;
      default:
        return `GET /api/v1/users?limit=${x.string()} HTTP/1.1\r\nHost: x\r\nX-${x.string()}: ${x.string()}\r\n\r\n`;
    }
  }
}

/** A header value HTTP allows: latin-1, no control characters. */
function latin1(text: string): string {
  return [...text]
    .map((c) => (/^[\u0020-\u007e\u00a0-\u00ff]$/.test(c) ? c : '_'))
    .join('')
    .trim();
}

interface Outcome {
  status: number;
  body: string;
}

function send(
  agent: Agent,
  port: number,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    // Framed always: without a length, Node's client sends a DELETE's or OPTIONS's body unframed.
    const framed =
      body === undefined
        ? headers
        : { ...headers, 'content-length': String(Buffer.byteLength(body)) };
    const outgoing = request(
      { host: '127.0.0.1', port, method, path, headers: framed, agent },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () =>
          resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
        );
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(body);
  });
}

function sendRaw(port: number, bytes: string): Promise<Outcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let seen = '';
    const done = () => {
      socket.destroy();
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(seen)?.[1] ?? 0);
      resolve({ status, body: seen });
    };
    socket.setTimeout(5000, done);
    socket.on('data', (chunk) => {
      seen += chunk.toString();
      // One answer is enough: a request left half-sent is answered when the timeout ends it.
      if (/\r\n\r\n/.test(seen) && /content-length: (\d+)/i.test(seen)) {
        const length = Number(/content-length: (\d+)/i.exec(seen)?.[1]);
        if (Buffer.byteLength(seen.split('\r\n\r\n').slice(1).join('\r\n\r\n')) >= length) done();
      }
    });
    socket.on('end', done);
    socket.on('error', done);
    socket.write(bytes, 'latin1');
  });
}

it(`fuzz the server: ${REQUESTS} generated requests and ${FRAMES} WebSocket frames (seed from FUZZ_SEED)`, async (t) => {
  report(t, `server fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const crashes: string[] = [];
  const onCrash = (error: unknown) => void crashes.push(String(error));
  process.on('uncaughtException', onCrash);
  process.on('unhandledRejection', onCrash);
  const started = Date.now();
  try {
    api = await startApiServer(
      redis.url,
      {
        // On, with numbers no run reaches: their keys are written (and checked) too.
        rateLimits: {
          registrationsPerAddressPerHour: 100_000,
          requestsPerAddressPerMinute: 100_000,
          requestsPerUserPer10Seconds: 100_000,
          upgradesPerAddressPerMinute: 100_000,
          sendBurst: 100_000,
          loginFailuresPerAddressPerDay: 100_000,
        },
      },
      'fuzz-server',
    );
    const port = Number(new URL(api.base).port);
    const accounts = [await signUp(api.base), await signUp(api.base), await signUp(api.base)];
    const generate = new Requests(prng(SEED), accounts);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const statuses: Record<string, number> = {};
    const problems: string[] = [];
    let next = 0;
    let raw = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        const n = next++;
        const isRaw = generate.inputs.chance(0.05);
        const method = generate.inputs.pick(METHODS);
        const path = generate.path();
        const body = method === 'GET' || method === 'HEAD' ? undefined : generate.body();
        const headers = generate.headers(body);
        if (isRaw) raw++;
        const rawRequest = isRaw ? generate.raw() : undefined;
        const what = rawRequest
          ? `#${n} raw ${JSON.stringify(rawRequest.bytes).slice(0, 160)}`
          : `#${n} ${method} ${path.slice(0, 120)}`;
        let outcome: Outcome;
        try {
          outcome = await within(
            HANG_MS,
            rawRequest
              ? sendRaw(port, rawRequest.bytes)
              : send(agent, port, method, path, headers, body),
            what,
          );
        } catch (error) {
          problems.push(`${what}: ${String(error).slice(0, 200)}`);
          continue;
        }
        bump(statuses, String(outcome.status));
        // A request left half-sent is waited for: no answer within the client's 5 s is right.
        const unanswered = outcome.status === 0 && !rawRequest?.halfSent;
        // On a machine shared with others Redis may miss its deadline: that is a 503 with
        // Retry-After, which a client retries; counted, and allowed. Any other 5xx is not.
        const busy =
          outcome.status === 503 && (method === 'HEAD' || outcome.body.includes('"unavailable"'));
        if ((outcome.status >= 500 && !busy) || unanswered)
          problems.push(`${what} → ${outcome.status} ${outcome.body.slice(0, 200)}`);
        if (STACK_TRACE.test(outcome.body)) problems.push(`${what}: a stack trace`);
        // Refused by Node's parser before the method was known (headers past 16 KiB over
        // several packets): no body, as it cannot know that the request is no HEAD.
        const bareParserAnswer = outcome.body === '' && [400, 408, 431].includes(outcome.status);
        if (!isRaw && outcome.status >= 400 && method !== 'HEAD' && !bareParserAnswer) {
          let shaped = false;
          try {
            const parsed = JSON.parse(outcome.body);
            shaped =
              typeof parsed.error?.code === 'string' && typeof parsed.error?.message === 'string';
          } catch {}
          if (!shaped)
            problems.push(
              `${what} → ${outcome.status} not in the error shape: ${outcome.body.slice(0, 120)}`,
            );
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();
    const httpMs = Date.now() - started;

    // Frames: a socket gets generated frames until the server closes it, then another opens.
    const closes: Record<string, number> = {};
    const x = generate.inputs;
    let frames = 0;
    // Fresh users: the requests above may have logged the first ones out.
    const listeners = [await signUp(api.base), await signUp(api.base)];
    for (let sockets = 0; frames < FRAMES && sockets < FRAMES; sockets++) {
      const account = x.pick(listeners);
      const socket = new WebSocket(`ws://127.0.0.1:${port}/api/v1/live`, {
        headers: { authorization: `Bearer ${account.token}` },
      });
      const code = await within(
        HANG_MS,
        new Promise<string>((resolve) => {
          socket.on('close', (c) => resolve(String(c)));
          socket.on('unexpected-response', (_request, response) => {
            resolve(`refused ${response.statusCode}`);
            socket.terminate();
          });
          socket.on('error', () => {});
          socket.on('open', () => {
            for (let i = 0; i < 1 + x.int(20) && frames < FRAMES; i++, frames++) {
              const frame = x.chance(0.1)
                ? Buffer.from(x.string())
                : x.chance(0.3)
                  ? JSON.stringify({
                      type: x.pick(['hello', 'ping', 'message', '__proto__', 'seen']),
                      after: generate.json(),
                    })
                  : x.chance(0.5)
                    ? (JSON.stringify(generate.json()) ?? 'null')
                    : x.string();
              socket.send(frame, { binary: Buffer.isBuffer(frame) });
            }
            // Whatever the server made of them, the socket goes after a moment.
            setTimeout(() => socket.close(1000), 100);
          });
        }),
        'a fuzzed socket to close',
      );
      bump(closes, String(code));
    }
    const healthy = await send(new Agent(), port, 'GET', '/healthz', {}, undefined);
    assert.equal(healthy.status, 200, 'the server still answers');

    // Keys: every one under the namespace, each a key docs/schema.md lists, of its type.
    const keys = await redis.raw.keys('*');
    const types = await Promise.all(keys.map((key) => redis.raw.type(key)));
    const undocumented = keys.filter((key, i) => {
      const known = classifyKey(key, 'fuzz-server:');
      return !known || !schemaAllows(known.kind, types[i] ?? '');
    });
    const errorLines = api.logs.filter(
      (line) => /"level":(50|60)/.test(line) || STACK_TRACE.test(line),
    );
    const leaked = accounts
      .flatMap((a) => [a.password, a.token])
      .filter((s) => api?.logs.some((l) => l.includes(s)));
    report(
      t,
      `${REQUESTS} requests (${raw} raw) in ${(httpMs / 1000).toFixed(1)} s by status: ${JSON.stringify(statuses)}`,
    );
    report(
      t,
      `${frames} frames on ${Object.values(closes).reduce((a, b) => a + b, 0)} sockets, closed with: ${JSON.stringify(closes)}`,
    );
    report(
      t,
      `${keys.length} keys, ${undocumented.length} outside docs/schema.md; ${crashes.length} crashes; ${problems.length} bad answers; ${errorLines.length} error lines in ${api.logs.length} log lines`,
    );
    assert.deepEqual(problems.slice(0, 10), []);
    assert.deepEqual(crashes, []);
    assert.equal(frames, FRAMES, 'every frame was sent on an open socket');
    assert.deepEqual(undocumented.slice(0, 10), []);
    assert.deepEqual(
      errorLines.slice(0, 3).map((l) => l.slice(0, 1500)),
      [],
    );
    assert.deepEqual(leaked, []);
  } finally {
    process.off('uncaughtException', onCrash);
    process.off('unhandledRejection', onCrash);
  }
});
