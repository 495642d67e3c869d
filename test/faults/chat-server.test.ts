/**
 * Two `messenger chat` processes through `messenger serve` processes, behind a TCP proxy
 * (a load balancer, a network): the server restarts, the proxy switches them to another
 * instance, the network drops. Each time the chats say so, come back by themselves, a
 * message typed meanwhile is sent once (retried with its id), and every message sent
 * meanwhile by someone else shows once: nothing lost, nothing doubled.
 */
import assert from 'node:assert/strict';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { RedisMessenger } from '../../src/index.js';
import { Chat, killAllChats, ready, TIME } from '../support/chat-process.js';
import { freePort, type RedisServer, startRedisServer } from '../support/redis-server.js';
import { api, exitOf, servingUrl, spawnServe } from '../support/serve-process.js';
import { noteSecrets } from '../support/suite-logs.js';
import { type SwitchProxy, startSwitchProxy } from '../support/switch-proxy.js';

const PASSWORD = 'correct horse battery staple';
/** Reconnecting after an outage of seconds waits up to a few backoff steps. */
const BACK_WITHIN_MS = 45_000;

let redis: RedisServer;
let library: RedisMessenger;
let proxy: SwitchProxy;
const instances = new Set<ChildProcessWithoutNullStreams>();
const config = mkdtempSync(join(tmpdir(), 'messenger-chat-faults-'));

async function startInstance(port: number): Promise<ChildProcessWithoutNullStreams> {
  // At its default log level (a line a request): searched for secrets at the suite's end.
  const child = spawnServe(['--redis', redis.url, '--port', String(port), '--no-rate-limits']);
  instances.add(child);
  child.on('exit', () => instances.delete(child));
  await servingUrl(child);
  return child;
}

async function stopInstance(child: ChildProcessWithoutNullStreams): Promise<void> {
  child.kill('SIGTERM');
  assert.equal(await exitOf(child), 0);
}

interface Person {
  name: string;
  id: string;
  token: string;
}

async function signUp(): Promise<Person> {
  const name = `f${randomUUID().slice(0, 8)}`;
  const { status, json } = await api(proxy.url, 'POST', '/register', undefined, {
    username: name,
    password: PASSWORD,
  });
  assert.equal(status, 201);
  noteSecrets(PASSWORD, json.token);
  return { name, id: json.user.id, token: json.token };
}

describe('the chat through servers that restart, switch and drop', () => {
  const ports: number[] = [];
  let first: ChildProcessWithoutNullStreams;
  let alice: Person;
  let bob: Person;
  let carol: Person;
  let a: Chat;
  let b: Chat;

  before(async () => {
    redis = await startRedisServer(['--appendonly', 'yes']);
    library = await RedisMessenger.connect({ url: redis.url });
    ports.push(await freePort(), await freePort());
    first = await startInstance(ports[0] as number);
    proxy = await startSwitchProxy(ports[0] as number);
    [alice, bob, carol] = [await signUp(), await signUp(), await signUp()];
    a = new Chat(alice.name, { server: proxy.url, token: alice.token, config });
    b = new Chat(bob.name, { server: proxy.url, token: bob.token, config });
    await Promise.all([ready(a), ready(b)]);
    await Promise.all([
      a.command(`/to ${bob.name}`, 'No messages yet. Say hello!\n'),
      b.command(`/to ${alice.name}`, 'No messages yet. Say hello!\n'),
    ]);
    await a.command('/history 1', 'No messages yet. Say hello!\n'); // /to is done
  });
  after(async () => {
    killAllChats();
    for (const child of instances) child.kill('SIGKILL');
    await proxy?.close();
    await library?.close();
    await redis?.stop();
  });

  /** What carol sends bob straight into Redis, as another device would while bob is away. */
  const fromCarol = (text: string) => library.sendMessage(carol.id, bob.id, text);

  /** Each text shows once on each chat where it belongs, and is stored once. */
  async function onceEach(texts: string[]): Promise<void> {
    for (const text of texts) {
      assert.equal(a.count(`you: ${text}\n`), 1, `alice shows "${text}" once`);
      assert.equal(b.count(`${alice.name}: ${text}\n`), 1, `bob shows "${text}" once`);
    }
    const page = await library.listConversation(alice.id, bob.id, { limit: 100 });
    for (const text of texts) {
      assert.equal(page.messages.filter((m) => m.text === text).length, 1, `"${text}" stored once`);
    }
  }

  it('a server restart: both say so and come back; what was typed and sent meanwhile shows once', async () => {
    const [aSince, bSince] = [a.mark(), b.mark()];
    await a.command('before the restart', 'you: before the restart\n');
    await b.waitFor(`${alice.name}: before the restart\n`, bSince);

    await stopInstance(first);
    await a.waitFor('Lost the connection to the server; reconnecting…\n', aSince);
    await b.waitFor('Lost the connection to the server; reconnecting…\n', bSince);
    a.send('typed while the server was down');
    await a.waitFor('Not confirmed yet', aSince, 15_000);
    await fromCarol('sent while the server was down');

    first = await startInstance(ports[0] as number);
    await a.waitFor('you: typed while the server was down\n', aSince, BACK_WITHIN_MS);
    await b.waitFor(`${alice.name}: typed while the server was down\n`, bSince, BACK_WITHIN_MS);
    await b.waitFor(
      `New message from ${carol.name}: sent while the server was down`,
      bSince,
      BACK_WITHIN_MS,
    );
    // Both back before the next test marks where its output begins.
    await a.waitFor('Reconnected to the server; caught up.\n', aSince, BACK_WITHIN_MS);
    await b.waitFor('Reconnected to the server; caught up.\n', bSince, BACK_WITHIN_MS);
    await onceEach(['before the restart', 'typed while the server was down']);
    assert.equal(b.count('sent while the server was down'), 1);
  });

  it('a switch to another instance (the first one stops): nothing lost or doubled', async () => {
    const [aSince, bSince] = [a.mark(), b.mark()];
    const second = await startInstance(ports[1] as number);
    proxy.switchTo(ports[1] as number);
    await stopInstance(first); // its sockets close with 1001: the chats reconnect, now to the second
    await fromCarol('sent during the switch');
    await a.waitFor('Reconnected to the server; caught up.\n', aSince, BACK_WITHIN_MS);
    await b.waitFor('Reconnected to the server; caught up.\n', bSince, BACK_WITHIN_MS);
    await b.waitFor(`New message from ${carol.name}: sent during the switch`, bSince);

    await a.command('after the switch', 'you: after the switch\n');
    await b.waitFor(`${alice.name}: after the switch\n`, bSince);
    const aBefore = a.mark();
    await b.command('answer from the second instance', 'you: answer from the second instance\n');
    await a.waitFor(
      new RegExp(`${TIME} {2}${bob.name}: answer from the second instance\\n`),
      aBefore,
    );
    await onceEach(['before the restart', 'typed while the server was down', 'after the switch']);
    assert.equal(b.count('sent during the switch'), 1);
    assert.equal(a.count(`${bob.name}: answer from the second instance`), 1);
    first = second;
  });

  it('Redis restarted under the server: both say the server cannot reach it, then that they caught up; a message sent meanwhile shows once', async () => {
    const [aSince, bSince] = [a.mark(), b.mark()];
    await new Promise((resolve) => setTimeout(resolve, 1200)); // appendfsync everysec: on disk
    redis.signal('SIGKILL');
    // The sockets stay open: the server says "paused", and the chats say why.
    const paused = 'The server cannot reach Redis now; new messages will come once it is back…\n';
    await a.waitFor(paused, aSince);
    await b.waitFor(paused, bSince);
    await redis.restart();
    await a.waitFor('Reconnected to the server; caught up.\n', aSince, BACK_WITHIN_MS);
    await b.waitFor('Reconnected to the server; caught up.\n', bSince, BACK_WITHIN_MS);
    for (const [chat, since] of [
      [a, aSince],
      [b, bSince],
    ] as const)
      assert.ok(!chat.stdout.slice(since).includes('Lost the connection'), 'no socket dropped');
    await fromCarol('sent after Redis came back');
    await b.waitFor(`New message from ${carol.name}: sent after Redis came back`, bSince);
    assert.equal(b.count('sent after Redis came back'), 1);
  });

  it('the network drops: a message typed meanwhile is sent once when it is back', async () => {
    const [aSince, bSince] = [a.mark(), b.mark()];
    proxy.cut();
    await a.waitFor('Lost the connection to the server; reconnecting…\n', aSince);
    await b.waitFor('Lost the connection to the server; reconnecting…\n', bSince);
    a.send('typed while offline');
    await a.waitFor('Not confirmed yet', aSince, 15_000);
    a.send('and one more while offline');
    await a.waitFor('Pending: "and one more while offline"', aSince);
    await fromCarol('sent while bob was offline');
    proxy.heal();
    await a.waitFor('you: and one more while offline\n', aSince, BACK_WITHIN_MS);
    await b.waitFor(`${alice.name}: and one more while offline\n`, bSince, BACK_WITHIN_MS);
    await b.waitFor(
      `New message from ${carol.name}: sent while bob was offline`,
      bSince,
      BACK_WITHIN_MS,
    );
    await onceEach(['typed while offline', 'and one more while offline', 'after the switch']);
    assert.ok(
      a.stdout.indexOf('you: typed while offline') <
        a.stdout.indexOf('you: and one more while offline'),
      'sent in the order typed',
    );
    assert.equal(b.count('sent while bob was offline'), 1);
    assert.equal(a.stderr + b.stderr, '');
    a.end();
    b.end();
    assert.equal(await a.exitCode(10_000), 0);
    assert.equal(await b.exitCode(10_000), 0);
  });
});
