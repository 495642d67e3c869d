/**
 * Every `messenger` command run in-process: human and --json output, exit codes, and each
 * bad input (one line on stderr, the right exit code, Redis left exactly as it was).
 * Every run names its own throwaway Redis with --redis. The person's commands run twice,
 * with the same test bodies: on Redis, and through a server (`onBothWays`: --server, as
 * the user the command reads or sends as, logged in through the API).
 */
import './support/config-home.js';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { main } from '../src/cli/main.js';
import { createOutput } from '../src/cli/output.js';
import { isId, RedisMessenger, type User } from '../src/index.js';
import { createServer, hashPassword, type Server } from '../src/server/index.js';
import { capture } from './support/capture.js';
import { freePort, type RedisServer, startRedisServer } from './support/redis-server.js';

let server: RedisServer;
let library: RedisMessenger;
/** The messenger server in front of the same Redis, and its address. */
let api: Server;
let apiUrl: string;

before(async () => {
  server = await startRedisServer();
  library = await RedisMessenger.connect({ url: server.url });
  api = await createServer({ messenger: library, origins: [], rateLimits: false });
  await api.listen({ port: 0, host: '127.0.0.1' });
  const address = api.server.address();
  apiUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});
after(async () => {
  await api?.close();
  await library?.close();
  await server?.stop();
});

type Way = 'Redis' | 'a server';
/** How the shared test bodies run their commands now. */
let way: Way = 'Redis';

/**
 * A describe run twice, on Redis and through a server, with the same body; `body` gets
 * which, for the few lines that differ (operator commands, which only Redis has).
 */
function onBothWays(title: string, body: (way: Way) => void): void {
  for (const each of ['Redis', 'a server'] as const) {
    describe(`${title} (${each})`, () => {
      before(() => {
        way = each;
      });
      after(() => {
        way = 'Redis';
      });
      body(each);
    });
  }
}

/** The flag the hints repeat: how this command reached the messenger. */
function flag(): string {
  return way === 'Redis' ? `--redis ${server.url}` : `--server ${apiUrl}`;
}

const PASSWORD = 'the password of every test user';
let passwordHash: Promise<string> | undefined;
const tokens = new Map<string, string>();
/** Whom a command runs as through a server when it names nobody (user list) or no one known. */
let observer: User | undefined;

/**
 * Who a command acts as: the user it names as the reader or the sender (through a server
 * it must be the signed-in one), else the observer.
 */
async function actorOf(argv: string[]): Promise<User> {
  const at = ['send', 'inbox', 'conversation', 'conversations', 'seen'].includes(argv[0] ?? '')
    ? 1
    : argv[0] === 'contacts'
      ? 2
      : -1;
  const named = argv[at];
  if (named !== undefined && !named.startsWith('-')) {
    const user = isId(named, true)
      ? await library.getUser(named)
      : await library.findUserByUsername(named).catch(() => null);
    if (user) return user;
  }
  if (!observer) observer = await library.addUser(`observer${randomUUID().slice(0, 8)}`);
  return observer;
}

/** A session token of `user`: a password set by the operator, then a login through the API. */
async function tokenOf(user: User): Promise<string> {
  const known = tokens.get(user.id);
  if (known) return known;
  passwordHash ??= hashPassword(PASSWORD);
  await library.accounts.setPasswordHash(user.id, await passwordHash);
  const response = await fetch(`${apiUrl}/api/v1/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: PASSWORD }),
  });
  assert.equal(response.status, 200, `login of ${user.username}`);
  const { token } = (await response.json()) as { token: string };
  tokens.set(user.id, token);
  return token;
}

/** Runs the CLI in-process through the server, as the user the command acts as. */
async function runThroughServer(...argv: string[]): Promise<Result> {
  const token = await tokenOf(await actorOf(argv));
  const captured = capture();
  process.env.MESSENGER_TOKEN = token;
  try {
    const code = await main(['--server', apiUrl, ...argv], captured.output);
    return { code, stdout: captured.stdout(), stderr: captured.stderr() };
  } finally {
    delete process.env.MESSENGER_TOKEN;
  }
}

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI in-process against `url` (the shared test server unless told otherwise). */
async function runOn(url: string, ...argv: string[]): Promise<Result> {
  const captured = capture();
  const code = await main(['--redis', url, ...argv], captured.output);
  return { code, stdout: captured.stdout(), stderr: captured.stderr() };
}

function run(...argv: string[]): Promise<Result> {
  return way === 'Redis' ? runOn(server.url, ...argv) : runThroughServer(...argv);
}

/** Runs a command that must succeed, and returns its output. */
async function ok(...argv: string[]): Promise<Result> {
  const result = await run(...argv);
  assert.equal(result.code, 0, `messenger ${argv.join(' ')} failed: ${result.stderr}`);
  return result;
}

/** Runs a command with --json that must succeed, and parses its standard output. */
async function json(...argv: string[]): Promise<Record<string, unknown>> {
  const result = await ok(...argv, '--json');
  assert.equal(result.stderr, '', 'a --json command printed on stderr');
  return JSON.parse(result.stdout) as Record<string, unknown>;
}

let counter = 0;
/** A username no other test uses (the CLI has no namespace, so the server is shared). */
function fresh(base: string): string {
  counter += 1;
  return `${base}${counter}`;
}

/** Creates a user as an operator does, on Redis (whichever way the test runs). */
async function createUser(name: string): Promise<string> {
  const created = await runOn(server.url, 'user', 'create', name, '--json');
  assert.equal(created.code, 0, created.stderr);
  return JSON.parse(created.stdout).id as string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const LOCAL_TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: looking for escape codes
const ANSI = /\u001b/;

function assertIso(value: unknown, what: string): void {
  assert.equal(typeof value, 'string', `${what} is not a string`);
  assert.match(value as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, what);
  assert.equal(new Date(value as string).toISOString(), value, `${what} is not a valid date`);
}

function assertKeys(value: unknown, keys: string[], what: string): Record<string, unknown> {
  assert.ok(value !== null && typeof value === 'object' && !Array.isArray(value), what);
  assert.deepEqual(Object.keys(value).sort(), [...keys].sort(), `the keys of ${what}`);
  return value as Record<string, unknown>;
}

/** The UserJson shape: { id, username, createdAt }. */
function assertUserJson(value: unknown, expected?: { id?: string; username?: string }): void {
  const user = assertKeys(value, ['id', 'username', 'createdAt'], 'a user');
  assert.match(user.id as string, UUID);
  assert.equal(typeof user.username, 'string');
  assertIso(user.createdAt, 'createdAt');
  if (expected?.id) assert.equal(user.id, expected.id);
  if (expected?.username) assert.equal(user.username, expected.username);
}

interface ExpectedMessage {
  id?: string;
  senderId?: string;
  sender?: string;
  receiverId?: string;
  receiver?: string;
  text?: string;
  seen?: boolean;
}

/** The MessageJson shape: ids, names, text, an ISO sentAt and the seen flag. */
function assertMessageJson(value: unknown, expected: ExpectedMessage = {}): void {
  const message = assertKeys(
    value,
    ['id', 'senderId', 'sender', 'receiverId', 'receiver', 'text', 'sentAt', 'seen'],
    'a message',
  );
  assert.match(message.id as string, UUID);
  assert.match(message.senderId as string, UUID);
  assert.match(message.receiverId as string, UUID);
  assert.equal(typeof message.sender, 'string');
  assert.equal(typeof message.receiver, 'string');
  assert.equal(typeof message.text, 'string');
  assert.equal(typeof message.seen, 'boolean');
  assertIso(message.sentAt, 'sentAt');
  for (const [key, want] of Object.entries(expected)) {
    assert.equal(message[key], want, `message.${key}`);
  }
}

/** A message page: { messages, hasOlder, hasNewer }; returns the messages. */
function assertPage(value: unknown): Record<string, unknown>[] {
  const page = assertKeys(value, ['messages', 'hasOlder', 'hasNewer'], 'a page');
  assert.equal(typeof page.hasOlder, 'boolean');
  assert.equal(typeof page.hasNewer, 'boolean');
  assert.ok(Array.isArray(page.messages));
  for (const message of page.messages) assertMessageJson(message);
  return page.messages as Record<string, unknown>[];
}

/** Every column of an aligned table starts at the same place on every line. */
function assertAligned(lines: string[], columnStarts: (line: string) => number[]): void {
  assert.ok(lines.length > 0);
  const first = columnStarts(lines[0] as string);
  for (const line of lines) assert.deepEqual(columnStarts(line), first, `misaligned: ${line}`);
}

/** The whole dataset as text: every key, its type and its content. */
async function snapshot(url = server.url): Promise<string> {
  const client = createClient({ url });
  await client.connect();
  try {
    // Sessions (their last use) change with every request through the server: they are
    // the server's doing, not the command's.
    const keys = (await client.keys('*'))
      .filter((key) => !/^(session|user_sessions|account):/.test(key))
      .sort();
    const parts = await Promise.all(
      keys.map(async (key) => {
        const type = await client.type(key);
        let content: unknown;
        if (type === 'hash') content = await client.hGetAll(key);
        else if (type === 'zset') content = await client.zRangeWithScores(key, 0, -1);
        else if (type === 'set') content = (await client.sMembers(key)).sort();
        else if (type === 'string') content = await client.get(key);
        else if (type === 'list') content = await client.lRange(key, 0, -1);
        return `${key} ${type} ${JSON.stringify(content)}`;
      }),
    );
    return parts.join('\n');
  } finally {
    await client.close();
  }
}

/** Runs a command that must fail: one `error:` line on stderr, this exit code, Redis untouched. */
async function fails(code: number, pattern: RegExp, ...argv: string[]): Promise<Result> {
  const before = await snapshot();
  const result = await run(...argv);
  assert.equal(result.code, code, `exit code of messenger ${argv.join(' ')}: ${result.stderr}`);
  assert.equal(result.stdout, '', 'a failing command printed on stdout');
  assertOneErrorLine(result.stderr);
  assert.match(result.stderr, pattern);
  assert.equal(await snapshot(), before, `messenger ${argv.join(' ')} changed Redis`);
  return result;
}

/** One clear error line: it starts with "error:", and there is no other line, stack trace or help text. */
function assertOneErrorLine(stderr: string): void {
  const lines = stderr.trimEnd().split('\n');
  assert.match(lines[0] ?? '', /^error: \S/, `stderr: ${stderr}`);
  assert.equal(lines.length, 1, `more than one line on stderr:\n${stderr}`);
  assert.doesNotMatch(stderr, /\n\s+at /, 'a stack trace without --verbose');
  assert.doesNotMatch(stderr, ANSI);
}

onBothWays('messenger user', (each) => {
  if (each === 'Redis')
    it('user create: human line and --json (a user: id, username, createdAt)', async () => {
      const name = fresh('carla');
      const human = await ok('user', 'create', name);
      assert.match(human.stdout, new RegExp(`^created ${name} [0-9a-f-]{36}\\n$`));
      assert.equal(human.stderr, '');
      const id = human.stdout.trim().split(' ').at(-1) as string;
      assert.equal((await library.findUserByUsername(name))?.id, id);

      const other = fresh('dora');
      const created = await json('user', 'create', other);
      assertKeys(created, ['createdAt', 'id', 'username'], 'user create --json');
      assert.ok(Math.abs(Date.parse(created.createdAt as string) - Date.now()) < 60_000);
      assert.match(created.id as string, UUID);
      assert.equal(created.username, other);
      assert.equal((await library.getUser(created.id as string))?.username, other);
    });

  it('user show: by name or id, an aligned row and --json', async () => {
    const name = fresh('erin');
    const id = await createUser(name);
    for (const who of [name, name.toUpperCase(), id]) {
      const human = await ok('user', 'show', who);
      assert.equal(human.stdout.split('\n').length, 2, human.stdout);
      assert.match(human.stdout, new RegExp(`^${name} {2}${id} {2}${LOCAL_TIME.source}\\n$`));
      assertUserJson(await json('user', 'show', who), { id, username: name });
    }
  });

  it('user list --prefix: by the start of a name, ignoring case, in name order; --json', async () => {
    const tag = randomUUID().slice(0, 6);
    const names = [`Quinn${tag}b`, `quinn${tag}a`, `QUINCY${tag}`, `quill${tag}`];
    const ids = new Map<string, string>();
    for (const name of names) ids.set(name, await createUser(name));
    const human = await ok('user', 'list', '--prefix', `QUIN`);
    const shown = human.stdout
      .trimEnd()
      .split('\n')
      .map((line) => line.split(/\s+/)[0])
      .filter((name) => name?.toLowerCase().includes(tag));
    assert.deepEqual(shown, [`QUINCY${tag}`, `quinn${tag}a`, `Quinn${tag}b`]);
    for (const line of human.stdout.trimEnd().split('\n'))
      assert.match(line, new RegExp(`${LOCAL_TIME.source}$`));

    const found = await json('user', 'list', '--prefix', `quinn${tag}`, '--limit', '1');
    assertKeys(found, ['users', 'hasMore', 'next'], 'user list --prefix --json');
    assert.equal(found.hasMore, true);
    assert.equal(found.next, null, 'a search has no cursor');
    const [first] = found.users as unknown[];
    assertUserJson(first, { id: ids.get(`quinn${tag}a`) as string, username: `quinn${tag}a` });
    const more = await ok('user', 'list', '--prefix', `quinn${tag}`, '--limit', '1');
    assert.equal(more.stderr, 'more: a longer --prefix, or a larger --limit, shows them\n');

    const none = await ok('user', 'list', '--prefix', `nobody${tag}`);
    assert.equal(none.stdout, `no user's name starts with "nobody${tag}"\n`);
    assert.deepEqual(await json('user', 'list', '--prefix', `nobody${tag}`), {
      users: [],
      hasMore: false,
      next: null,
    });
  });

  it('user list --prefix: a bad prefix, --after or a --limit over 100 is exit 2', async () => {
    await fails(2, /^error: a name prefix must be 1 to 32/, 'user', 'list', '--prefix', '');
    await fails(2, /^error: a name prefix must not start/, 'user', 'list', '--prefix', ' a');
    await fails(2, /control/, 'user', 'list', '--prefix', 'a\u0007');
    await fails(
      2,
      /^error: --prefix takes no --after/,
      'user',
      'list',
      '--prefix',
      'a',
      '--after',
      randomUUID(),
    );
    await fails(
      2,
      /^error: --limit with --prefix is at most 100/,
      'user',
      'list',
      '--prefix',
      'a',
      '--limit',
      '101',
    );
  });

  if (each === 'Redis')
    it('user list: aligned columns, paging with --after, hasMore and next', async () => {
      const own = await startRedisServer();
      try {
        const empty = await runOn(own.url, 'user', 'list');
        assert.equal(empty.code, 0, empty.stderr);
        assert.equal(empty.stdout, 'no users yet\n');
        const emptyJson = await runOn(own.url, 'user', 'list', '--json');
        assert.deepEqual(JSON.parse(emptyJson.stdout), { users: [], hasMore: false, next: null });

        const names = ['al', 'barbara', 'c', 'dominique', 'ed'];
        const ids: string[] = [];
        for (const name of names) {
          const created = await runOn(own.url, 'user', 'create', name, '--json');
          assert.equal(created.code, 0, created.stderr);
          ids.push(JSON.parse(created.stdout).id);
        }

        const all = await runOn(own.url, 'user', 'list');
        assert.equal(all.code, 0, all.stderr);
        assert.equal(all.stderr, '');
        const lines = all.stdout.trimEnd().split('\n');
        assert.deepEqual(
          lines.map((l) => l.split(/\s+/)[0]),
          names,
        );
        // name padded to the longest name ("dominique"), then the id, then the time
        assertAligned(lines, (line) => [
          line.search(UUID.source.slice(1, -1)),
          line.search(LOCAL_TIME),
        ]);
        assert.equal(lines[0]?.indexOf(ids[0] as string), 'dominique'.length + 2);
        for (const line of lines) assert.match(line, new RegExp(`${LOCAL_TIME.source}$`));

        // page 1 of 3, human: the hint names the next cursor on stderr
        const first = await runOn(own.url, 'user', 'list', '--limit', '2');
        assert.equal(first.code, 0);
        assert.equal(first.stdout.trimEnd().split('\n').length, 2);
        assert.equal(
          first.stderr,
          `more: messenger user list --limit 2 --after ${ids[1]} --redis ${own.url}\n`,
        );

        const pages: unknown[] = [];
        let after: string | null = null;
        do {
          const argv = ['user', 'list', '--limit', '2', '--json'];
          if (after) argv.push('--after', after);
          const result = await runOn(own.url, ...argv);
          assert.equal(result.code, 0, result.stderr);
          const page = assertKeys(
            JSON.parse(result.stdout),
            ['users', 'hasMore', 'next'],
            'a page',
          );
          assert.equal(typeof page.hasMore, 'boolean');
          for (const user of page.users as unknown[]) assertUserJson(user);
          pages.push(page);
          after = page.next as string | null;
          if (page.hasMore) assert.equal(after, (page.users as { id: string }[]).at(-1)?.id);
          else assert.equal(after, null);
        } while (after && pages.length < 10);
        assert.deepEqual(
          pages.map((p) => (p as { users: { id: string }[] }).users.map((u) => u.id)),
          [ids.slice(0, 2), ids.slice(2, 4), ids.slice(4)],
        );
        assert.deepEqual(
          pages.map((p) => (p as { hasMore: boolean }).hasMore),
          [true, true, false],
        );
        const last = await runOn(own.url, 'user', 'list', '--after', ids[4] as string, '--json');
        assert.deepEqual(JSON.parse(last.stdout), { users: [], hasMore: false, next: null });
      } finally {
        await own.stop();
      }
    });
});

onBothWays('messenger send', () => {
  it('sends: human line, --json { id }, stored once', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    const [aliceId, bobId] = [await createUser(alice), await createUser(bob)];
    const human = await ok('send', alice, bob, 'Hello, Bob!');
    assert.match(human.stdout, new RegExp(`^sent to ${bob} [0-9a-f-]{36}\\n$`));
    const sent = await json('send', bobId, aliceId, 'Hi, Alice');
    assertKeys(sent, ['id'], 'send --json');
    assert.match(sent.id as string, UUID);
    const page = await library.listConversation(aliceId, bobId);
    assert.deepEqual(
      page.messages.map((m) => [m.senderId, m.text]),
      [
        [aliceId, 'Hello, Bob!'],
        [bobId, 'Hi, Alice'],
      ],
    );
    assert.equal(page.messages[1]?.id, sent.id);
  });

  it('--id: sending again with the same id stores the message once', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUser(alice);
    const bobId = await createUser(bob);
    const id = randomUUID();
    const first = await json('send', alice, bob, 'only once', '--id', id);
    const second = await json('send', alice, bob, 'only once', '--id', id);
    assert.deepEqual(first, { id });
    assert.deepEqual(second, { id });
    const inbox = await library.listUserMessages(bobId);
    assert.deepEqual(
      inbox.messages.map((m) => [m.id, m.text]),
      [[id, 'only once']],
    );
    assert.deepEqual(await library.unreadCount(bobId), {
      total: 1,
      bySender: { [inbox.messages[0]?.senderId as string]: 1 },
    });
    // the same id for a different text is refused, and changes nothing
    await fails(1, /already used for a different message/, 'send', alice, bob, 'other', '--id', id);
  });
});

onBothWays('reading: inbox, conversation, conversations', () => {
  let alice: string;
  let bob: string;
  let carol: string;
  let aliceId: string;
  let bobId: string;
  let carolId: string;
  /** Bob's inbox, oldest first: 5 from Alice, then 1 from Carol. */
  const inbox: string[] = [];

  before(async () => {
    [alice, bob, carol] = [fresh('alice'), fresh('bob'), fresh('carol')];
    aliceId = await createUser(alice);
    bobId = await createUser(bob);
    carolId = await createUser(carol);
    for (let i = 1; i <= 5; i++) inbox.push(await library.sendMessage(aliceId, bobId, `a${i}`));
    await library.sendMessage(bobId, aliceId, 'reply to alice');
    inbox.push(await library.sendMessage(carolId, bobId, 'from carol'));
  });

  it('inbox: the newest page, oldest first, unseen marked, --json page', async () => {
    const human = await ok('inbox', bob);
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 6);
    assert.match(lines[0] as string, new RegExp(`^${LOCAL_TIME.source} {2}${alice}: a1 •$`));
    assert.match(
      lines[5] as string,
      new RegExp(`^${LOCAL_TIME.source} {2}${carol}: from carol •$`),
    );
    assert.equal(human.stderr, '');
    assert.doesNotMatch(human.stdout, ANSI);

    const page = await json('inbox', bob);
    const messages = assertPage(page);
    assert.equal(page.hasOlder, false);
    assert.equal(page.hasNewer, false);
    assert.deepEqual(
      messages.map((m) => m.id),
      inbox,
    );
    assertMessageJson(messages[0], {
      id: inbox[0] as string,
      senderId: aliceId,
      sender: alice,
      receiverId: bobId,
      receiver: bob,
      text: 'a1',
      seen: false,
    });
    assertMessageJson(messages[5], { sender: carol, senderId: carolId, text: 'from carol' });
  });

  it('inbox --limit, --before and --after page through, with hints on stderr', async () => {
    const newest = await json('inbox', bob, '--limit', '2');
    assert.deepEqual(
      assertPage(newest).map((m) => m.id),
      inbox.slice(4),
    );
    assert.equal(newest.hasOlder, true);
    assert.equal(newest.hasNewer, false);

    const older = await json('inbox', bob, '--limit', '2', '--before', inbox[4] as string);
    assert.deepEqual(
      assertPage(older).map((m) => m.id),
      inbox.slice(2, 4),
    );
    assert.equal(older.hasOlder, true);
    assert.equal(older.hasNewer, true);

    const newer = await json('inbox', bob, '--limit', '3', '--after', inbox[1] as string);
    assert.deepEqual(
      assertPage(newer).map((m) => m.id),
      inbox.slice(2, 5),
    );
    assert.equal(newer.hasNewer, true);

    const human = await ok('inbox', bob, '--limit', '2', '--before', inbox[4] as string);
    assert.equal(human.stdout.trimEnd().split('\n').length, 2);
    assert.match(human.stdout, /: a3 •\n.*: a4 •\n$/);
    assert.equal(
      human.stderr,
      `older: messenger inbox ${bob} --limit 2 --before ${inbox[2]} ${flag()}\nnewer: messenger inbox ${bob} --limit 2 --after ${inbox[3]} ${flag()}\n`,
    );
  });

  it('inbox --unread, conversation and conversations, then seen', async () => {
    const dave = fresh('dave');
    const daveId = await createUser(dave);
    const [m1, m2, m3] = [
      await library.sendMessage(aliceId, daveId, 'one'),
      await library.sendMessage(carolId, daveId, 'two'),
      await library.sendMessage(aliceId, daveId, 'three'),
    ];
    await library.sendMessage(daveId, aliceId, 'dave to alice');
    await library.markSeen(daveId, [m1]);

    const unread = await json('inbox', dave, '--unread');
    assert.deepEqual(
      assertPage(unread).map((m) => m.id),
      [m2, m3],
    );
    assert.equal(unread.hasOlder, false);
    assert.equal(unread.hasNewer, false);
    const unreadOne = await json('inbox', dave, '--unread', '--limit', '1');
    assert.deepEqual(
      assertPage(unreadOne).map((m) => m.id),
      [m3],
    );
    const human = await ok('inbox', dave, '--unread');
    assert.match(human.stdout, new RegExp(`^${LOCAL_TIME.source} {2}${carol}: two •\\n`));
    assert.match(human.stdout, new RegExp(`\\n${LOCAL_TIME.source} {2}${alice}: three •\\n$`));

    // conversation: both directions, "you" for the user's own messages
    const conversation = await ok('conversation', dave, alice);
    const lines = conversation.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] as string, new RegExp(`^${LOCAL_TIME.source} {2}${alice}: one$`));
    assert.match(lines[1] as string, new RegExp(`${alice}: three •$`));
    assert.match(lines[2] as string, new RegExp(`^${LOCAL_TIME.source} {2}you: dave to alice$`));
    const conversationJson = await json('conversation', dave, alice, '--limit', '2');
    const messages = assertPage(conversationJson);
    assert.equal(conversationJson.hasOlder, true);
    assertMessageJson(messages[1], {
      senderId: daveId,
      sender: dave,
      receiverId: aliceId,
      receiver: alice,
      text: 'dave to alice',
      seen: false,
    });
    const noneYet = await ok('conversation', dave, bob);
    assert.equal(noneYet.stdout, 'no messages yet\n');

    // conversations: most recent first, unread counts, aligned columns
    const table = await ok('conversations', dave);
    const rows = table.stdout.trimEnd().split('\n');
    assert.equal(rows.length, 2);
    assert.match(
      rows[0] as string,
      new RegExp(`^${alice} +1 unread {2}${LOCAL_TIME.source} {2}you: dave to alice$`),
    );
    assert.match(
      rows[1] as string,
      new RegExp(`^${carol} +1 unread {2}${LOCAL_TIME.source} {2}two$`),
    );
    assertAligned(rows, (row) => [row.indexOf(' unread') - 1, row.search(LOCAL_TIME)]);
    const summaries = await json('conversations', dave);
    const list = assertKeys(summaries, ['conversations'], 'conversations --json')
      .conversations as unknown[];
    assert.equal(list.length, 2);
    for (const summary of list) {
      const s = assertKeys(summary, ['with', 'lastMessage', 'unread'], 'a conversation');
      assertUserJson(s.with);
      assertMessageJson(s.lastMessage);
      assert.equal(typeof s.unread, 'number');
    }
    const [first] = list as { with: { id: string }; lastMessage: unknown; unread: number }[];
    assert.equal(first?.with.id, aliceId);
    assert.equal(first?.unread, 1);
    assertMessageJson(first?.lastMessage, { text: 'dave to alice', senderId: daveId });
    const lonely = fresh('lonely');
    await createUser(lonely);
    assert.equal((await ok('conversations', lonely)).stdout, 'no conversations yet\n');
    assert.deepEqual(await json('conversations', lonely), { conversations: [] });

    // seen by ids, then --from
    const seenIds = await ok('seen', dave, m2 as string);
    assert.equal(seenIds.stdout, 'marked 1 message seen\n');
    assert.deepEqual(await json('seen', dave, m2 as string, m3 as string), { marked: 1 });
    assert.equal((await library.unreadCount(daveId)).total, 0);
    assert.equal((await ok('inbox', dave, '--unread')).stdout, 'no unread messages\n');

    const m4 = await library.sendMessage(aliceId, daveId, 'four');
    await library.sendMessage(aliceId, daveId, 'five');
    assert.deepEqual(await json('seen', dave, '--from', alice), { marked: 2 });
    assert.equal((await ok('seen', dave, '--from', alice)).stdout, 'marked 0 messages seen\n');
    const seenMessage = (await library.listUserMessages(daveId)).messages.find((m) => m.id === m4);
    assert.equal(seenMessage?.seen, true);
    await fails(2, /^error: name message ids, or use --from <user>/, 'seen', dave);
    await fails(2, /^error: give either message ids or --from/, 'seen', dave, m4, '--from', alice);
  });

  it('inbox: the default page is the newest 20', async () => {
    const [sender, receiver] = [fresh('sender'), fresh('receiver')];
    const senderId = await createUser(sender);
    const receiverId = await createUser(receiver);
    const ids: string[] = [];
    for (let i = 1; i <= 25; i++) {
      ids.push(await library.sendMessage(senderId, receiverId, `n${i}`));
    }
    const human = await ok('inbox', receiver);
    const lines = human.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 20);
    assert.match(lines[0] as string, / n6 •$/);
    assert.match(lines[19] as string, / n25 •$/);
    assert.equal(
      human.stderr,
      `older: messenger inbox ${receiver} --limit 20 --before ${ids[5]} ${flag()}\n`,
    );
    const page = await json('inbox', receiver);
    assert.deepEqual(
      assertPage(page).map((m) => m.id),
      ids.slice(5),
    );
    assert.equal(page.hasOlder, true);
    assert.equal(page.hasNewer, false);
  });

  it('inbox and conversation of someone with no messages', async () => {
    const nobody = fresh('nobody');
    await createUser(nobody);
    assert.equal((await ok('inbox', nobody)).stdout, 'no messages\n');
    assert.deepEqual(await json('inbox', nobody), {
      messages: [],
      hasOlder: false,
      hasNewer: false,
    });
  });
});

describe('which Redis', () => {
  it('REDIS_URL when there is no --redis, and --redis over REDIS_URL', async () => {
    const name = fresh('envy');
    const id = await createUser(name);
    const saved = process.env.REDIS_URL;
    try {
      process.env.REDIS_URL = server.url;
      const fromEnv = capture();
      assert.equal(await main(['user', 'show', name, '--json'], fromEnv.output), 0);
      assertUserJson(JSON.parse(fromEnv.stdout()), { id, username: name });

      const down = `redis://127.0.0.1:${await freePort()}`;
      process.env.REDIS_URL = down;
      assert.equal((await run('user', 'show', name)).code, 0, 'ignored --redis');
      const unreachable = capture();
      assert.equal(await main(['user', 'show', name], unreachable.output), 1);
      assert.match(unreachable.stderr(), new RegExp(`^error: cannot reach Redis at ${down}`));
    } finally {
      if (saved === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved;
    }
  });
});

onBothWays('messenger contacts', () => {
  it('list, add and remove: human lines and --json', async () => {
    const [me, zed, amy] = [fresh('me'), fresh('zed'), fresh('amy')];
    const meId = await createUser(me);
    const zedId = await createUser(zed);
    const amyId = await createUser(amy);
    assert.equal((await ok('contacts', 'list', me)).stdout, 'no contacts yet\n');
    assert.deepEqual(await json('contacts', 'list', me), { contacts: [] });

    assert.equal((await ok('contacts', 'add', me, zed)).stdout, `added ${zed}\n`);
    assert.equal((await ok('contacts', 'add', me, zed)).stdout, `${zed} already was a contact\n`);
    assert.deepEqual(await json('contacts', 'add', me, amyId), { changed: true });
    assert.deepEqual(await json('contacts', 'add', me, amy), { changed: false });

    const human = await ok('contacts', 'list', me);
    const lines = human.stdout.trimEnd().split('\n');
    assert.deepEqual(
      lines.map((l) => l.split(/\s+/)[0]),
      [amy, zed],
    );
    assertAligned(lines, (line) => [line.search(/[0-9a-f]{8}-/), line.search(LOCAL_TIME)]);
    const listed = await json('contacts', 'list', me);
    const contacts = assertKeys(listed, ['contacts'], 'contacts --json').contacts as unknown[];
    assert.equal(contacts.length, 2);
    assertUserJson(contacts[0], { id: amyId, username: amy });
    assertUserJson(contacts[1], { id: zedId, username: zed });

    assert.equal((await ok('contacts', 'remove', me, zed)).stdout, `removed ${zed}\n`);
    assert.equal((await ok('contacts', 'remove', me, zed)).stdout, `${zed} was not a contact\n`);
    assert.deepEqual(await json('contacts', 'remove', me, amy), { changed: true });
    assert.deepEqual(await json('contacts', 'remove', me, amy), { changed: false });
    assert.deepEqual(await library.listContacts(meId), []);
  });
});

onBothWays('bad input: one error line, the right exit code, nothing half-done', (each) => {
  let alice: string;
  let bob: string;
  let bobId: string;
  let message: string;

  before(async () => {
    [alice, bob] = [fresh('alice'), fresh('bob')];
    const aliceId = await createUser(alice);
    bobId = await createUser(bob);
    message = await library.sendMessage(aliceId, bobId, 'hi');
  });

  it('unknown user: exit 1', async () => {
    await fails(1, /^error: no user is named "ghost"/, 'user', 'show', 'ghost');
    await fails(1, /no user is named "ghost"/, 'send', alice, 'ghost', 'hello?');
    await fails(1, /no user is named "ghost"/, 'send', 'ghost', bob, 'hello?');
    await fails(1, /no user is named "ghost"/, 'inbox', 'ghost');
    await fails(1, /no user is named "ghost"/, 'conversation', alice, 'ghost');
    await fails(1, /no user is named "ghost"/, 'conversations', 'ghost');
    await fails(1, /no user is named "ghost"/, 'contacts', 'add', alice, 'ghost');
    await fails(1, /no user is named "ghost"/, 'seen', bob, '--from', 'ghost');
    await fails(1, /^error: no user has the id /, 'user', 'show', randomUUID());
  });

  if (each === 'Redis')
    it('name taken: exit 1, also in another case', async () => {
      await fails(
        1,
        new RegExp(`^error: the username "${alice}" is already taken`),
        'user',
        'create',
        alice,
      );
      await fails(1, /already taken/, 'user', 'create', alice.toUpperCase());
    });

  it('empty and oversized messages: exit 2', async () => {
    await fails(2, /^error: a message must not be empty/, 'send', alice, bob, '');
    await fails(2, /^error: a message must not be empty/, 'send', alice, bob, '  \n ');
    await fails(
      2,
      /^error: a message must be at most 4096 characters/,
      'send',
      alice,
      bob,
      'x'.repeat(4097),
    );
    // the longest message that fits is accepted
    assert.equal((await run('send', alice, bob, 'y'.repeat(4096))).code, 0);
  });

  it('bad --limit: exit 2', async () => {
    for (const limit of ['0', '-1', '1001', 'ten', '2.5', '']) {
      await fails(2, /^error: .*--limit.*1 to 1000/, 'inbox', bob, '--limit', limit);
    }
    await fails(2, /^error: .*--limit/, 'user', 'list', '--limit', '0');
    await fails(2, /^error: .*--limit/, 'conversations', bob, '--limit', 'x');
    await fails(2, /^error: .*--limit/, 'conversation', bob, alice, '--limit', '5000');
  });

  it('malformed and unknown cursors, --before with --after: exit 2', async () => {
    await fails(2, /^error: .*--before.*message id/, 'inbox', bob, '--before', 'yesterday');
    await fails(2, /^error: .*--after/, 'conversation', bob, alice, '--after', '12');
    await fails(2, /^error: .*--after/, 'user', 'list', '--after', 'nope');
    const unknown = randomUUID();
    await fails(
      2,
      new RegExp(`^error: the cursor ${unknown} is not an entry`),
      'inbox',
      bob,
      '--before',
      unknown,
    );
    const next = await fails(
      2,
      /^error: the cursor/,
      'conversation',
      bob,
      alice,
      '--after',
      unknown,
    );
    // and what to do instead
    assert.match(
      next.stderr,
      /a cursor is an id this same listing printed; leave out --before\/--after/,
    );
    await fails(2, /^error: the cursor/, 'user', 'list', '--after', unknown);
    await fails(
      2,
      /^error: give either --before or --after, not both/,
      'inbox',
      bob,
      '--before',
      message,
      '--after',
      message,
    );
    await fails(
      2,
      /^error: --unread takes no --before or --after/,
      'inbox',
      bob,
      '--unread',
      '--before',
      message,
    );
  });

  if (each === 'Redis')
    it('a malformed Redis URL: exit 2', async () => {
      for (const url of ['not a url', 'http://127.0.0.1:6379']) {
        const result = await runOn(url, 'user', 'list');
        assert.equal(result.code, 2, result.stderr);
        assert.equal(result.stdout, '');
        assertOneErrorLine(result.stderr);
        assert.match(result.stderr, /^error: the Redis URL/);
      }
    });

  if (each === 'Redis')
    it('Redis down: exit 1 within a few seconds, one line that says what to do', async () => {
      const url = `redis://127.0.0.1:${await freePort()}`;
      for (const argv of [
        ['user', 'list'],
        ['send', alice, bob, 'hello'],
        ['inbox', bob, '--json'],
      ]) {
        const start = Date.now();
        const result = await runOn(url, ...argv);
        assert.equal(result.code, 1, result.stderr);
        assert.equal(result.stdout, '');
        assertOneErrorLine(result.stderr);
        assert.match(
          result.stderr,
          /^error: cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+.*\(check the URL given with --redis\)$/m,
        );
        assert.ok(Date.now() - start < 5000, `took ${Date.now() - start} ms`);
      }
    });

  it('bad usernames, ids and self-addressed messages: exit 2', async () => {
    if (each === 'Redis') {
      await fails(2, /^error: a username must be 1 to 32 characters/, 'user', 'create', '');
      await fails(2, /^error: a username must be 1 to 32/, 'user', 'create', 'n'.repeat(33));
      await fails(
        2,
        /^error: a username must not start or end with a space/,
        'user',
        'create',
        ' x',
      );
      await fails(2, /^error: a username must not contain control/, 'user', 'create', 'a\u001bb');
    }
    await fails(2, /^error: a user cannot send a message to themselves/, 'send', bob, bob, 'me');
    await fails(2, /^error: message id must be a UUID/, 'seen', bob, 'not-an-id');
    await fails(
      2,
      /^error: option '--id <uuid>' argument 'abc' is invalid\. expected a UUID/,
      'send',
      alice,
      bob,
      'x',
      '--id',
      'abc',
    );
    await fails(
      2,
      /^error: (a user|you) cannot be (their|your) own contact/,
      'contacts',
      'add',
      bob,
      bob,
    );
  });

  it('seen leaves alone what the user did not receive', async () => {
    const before = await snapshot();
    const unread = await library.unreadCount(bobId);
    assert.deepEqual(await json('seen', alice, message), { marked: 0 });
    assert.deepEqual(await json('seen', bob, randomUUID()), { marked: 0 });
    // In words, "marked 0" comes with the reason.
    const human = await ok('seen', alice, message);
    assert.equal(
      human.stdout,
      `marked 0 messages seen (1 of the 1 named was seen already, or not a message ${alice} received: npm run messenger -- inbox ${alice} lists those)\n`,
    );
    assert.equal(await snapshot(), before);
    assert.deepEqual(await library.unreadCount(bobId), unread);
    assert.ok(unread.total > 0);
  });

  it('unknown command and missing arguments: exit 2', async () => {
    await fails(2, /^error: unknown command 'bogus'/, 'bogus');
    await fails(2, /^error: unknown command 'delete'/, 'user', 'delete', alice);
    await fails(2, /^error: missing required argument 'text'/, 'send', alice, bob);
    await fails(2, /^error: unknown option '--shout'/, 'inbox', bob, '--shout');
  });
});

onBothWays('human output', (each) => {
  it('control characters in a text are shown escaped, never raw', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUser(alice);
    await createUser(bob);
    const text = 'red \u001b[31mALERT\u001b[0m bell\u0007 back\r done';
    await ok('send', alice, bob, text);
    for (const argv of [
      ['inbox', bob],
      ['conversation', alice, bob],
      ['conversations', bob],
    ]) {
      const result = await ok(...argv);
      assert.doesNotMatch(result.stdout, ANSI, `raw escape from messenger ${argv.join(' ')}`);
      assert.ok(!result.stdout.includes('\u0007') && !result.stdout.includes('\r'));
      assert.ok(
        result.stdout.includes('red \\u001b[31mALERT\\u001b[0m bell\\u0007 back\\u000d done'),
        result.stdout,
      );
    }
    // JSON keeps the text exact (JSON escapes it)
    const page = await json('inbox', bob);
    assert.equal(assertPage(page)[0]?.text, text);
    assert.doesNotMatch(JSON.stringify(page), ANSI);
  });

  if (each === 'Redis')
    it('colours on a terminal, but never with NO_COLOR', async () => {
      const [alice, bob] = [fresh('alice'), fresh('bob')];
      await createUser(alice);
      await createUser(bob);
      await ok('send', alice, bob, 'colourful');
      const terminal = async (env: NodeJS.ProcessEnv, ...argv: string[]) => {
        const chunks: string[] = [];
        const stream = Object.assign(
          new Writable({
            write(chunk, _encoding, done) {
              chunks.push(String(chunk));
              done();
            },
          }),
          { isTTY: true },
        );
        const code = await main(
          ['--redis', server.url, ...argv],
          createOutput(stream, stream, env),
        );
        return { code, text: chunks.join('') };
      };
      const coloured = await terminal({}, 'inbox', bob);
      assert.equal(coloured.code, 0);
      assert.match(coloured.text, ANSI);
      const plain = await terminal({ NO_COLOR: '1' }, 'inbox', bob);
      assert.equal(plain.code, 0);
      assert.doesNotMatch(plain.text, ANSI);
      assert.match(plain.text, / {2}[^ ]+: colourful •\n$/);
      const error = await terminal({ NO_COLOR: '1' }, 'user', 'show', 'nobody-at-all');
      assert.equal(error.code, 1);
      assert.equal(
        error.text,
        'error: no user is named "nobody-at-all" (messenger user list shows everyone)\n',
      );
    });

  it('no ANSI colour codes when the output is not a terminal', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUser(alice);
    await createUser(bob);
    await ok('send', alice, bob, 'plain');
    for (const argv of [
      ['user', 'list'],
      ['user', 'show', bob],
      ['send', alice, bob, 'again'],
      ['inbox', bob, '--limit', '1'],
      ['conversation', alice, bob],
      ['conversations', bob],
      ['contacts', 'list', alice],
      ['seen', bob, '--from', alice],
      ['user', 'show', 'nobody-at-all'],
    ]) {
      const result = await run(...argv);
      assert.doesNotMatch(result.stdout + result.stderr, ANSI, `colour from ${argv.join(' ')}`);
    }
  });
});

describe('--help', () => {
  const leaves = [
    ['user', 'create'],
    ['user', 'list'],
    ['user', 'show'],
    ['send'],
    ['inbox'],
    ['conversation'],
    ['conversations'],
    ['contacts', 'list'],
    ['contacts', 'add'],
    ['contacts', 'remove'],
    ['seen'],
    ['chat'],
    ['demo'],
    ['reindex'],
    ['local-redis', 'status'],
    ['local-redis', 'stop'],
  ];
  const groups = [[], ['user'], ['contacts'], ['local-redis']];

  it('every command: exit 0, usage and an example on stdout', async () => {
    const missing: string[] = [];
    for (const command of leaves) {
      const result = await run(...command, '--help');
      assert.equal(result.code, 0, `${command.join(' ')} --help: ${result.stderr}`);
      assert.match(result.stdout, new RegExp(`^Usage: messenger ${command.join(' ')}`));
      if (!/Example/.test(result.stdout)) missing.push(command.join(' '));
      else
        assert.match(
          result.stdout,
          new RegExp(`\\$ (REDIS_URL=\\S+ )?messenger ${command.join(' ')}`),
        );
    }
    assert.deepEqual(missing, [], 'commands whose --help shows no example');
  });

  it('the program and each command group: exit 0 and an example', async () => {
    const missing: string[] = [];
    for (const command of groups) {
      const result = await run(...command, '--help');
      assert.equal(result.code, 0, `${command.join(' ')} --help: ${result.stderr}`);
      assert.match(result.stdout, /^Usage: messenger/);
      if (!/Example/.test(result.stdout)) missing.push(['messenger', ...command].join(' '));
    }
    assert.deepEqual(missing, [], 'groups whose --help shows no example');
  });
});

describe('regressions from the CLI review', () => {
  it('names holding control characters (written by another program) print escaped', async () => {
    const alice = fresh('alice');
    await createUser(alice);
    // The library refuses such names; the original program did not check.
    const id = randomUUID();
    const name = fresh('ev\u001b[7mil');
    const raw = createClient({ url: server.url });
    await raw.connect();
    try {
      await raw.hSet(`user:${id}`, { user_id: id, username: name, created_at: '1700000000' });
      await raw.hSet('usernames', name, id);
    } finally {
      await raw.close();
    }
    for (const argv of [
      ['send', alice, id, 'hi'],
      ['contacts', 'add', alice, id],
      ['contacts', 'list', alice],
      ['conversations', alice],
      ['user', 'list', '--limit', '1000'],
    ]) {
      const result = await ok(...argv);
      assert.doesNotMatch(result.stdout, ANSI, `${argv.join(' ')}: ${result.stdout}`);
      assert.match(result.stdout, /ev\\u001b\[7mil/, argv.join(' '));
    }
  });

  it('a sender id that is not a UUID (the original chat.py stores what was typed) shows as stored', async () => {
    const bob = fresh('bob');
    const bobId = await createUser(bob);
    // As chat.py writes a message after logging in as "Alice\u001b" (not a user id).
    const id = randomUUID();
    const raw = createClient({ url: server.url });
    await raw.connect();
    try {
      await raw.hSet(`message:${id}`, {
        message_id: id,
        sender_id: 'Alice\u001b',
        receiver_id: bobId,
        message: 'typed at the prompt',
        timestamp: String(Date.now() / 1000),
        seen: 'False',
      });
      await raw.zAdd(`user_messages:${bobId}`, {
        score: Date.now() / 1000,
        value: `message:${id}`,
      });
    } finally {
      await raw.close();
    }
    const inbox = await ok('inbox', bob);
    assert.match(inbox.stdout, /Alice\\u001b: typed at the prompt/);
    assert.doesNotMatch(inbox.stdout, ANSI);
    const page = await json('inbox', bob);
    const [message] = page.messages as Record<string, unknown>[];
    assert.equal(message?.senderId, 'Alice\u001b');
    assert.equal(message?.sender, 'Alice\u001b');
    await ok('reindex'); // counts its unread messages, as the original program does not
    const unread = await ok('inbox', bob, '--unread');
    assert.match(unread.stdout, /Alice\\u001b: typed at the prompt/);
  });

  it('inbox --unread says how many more are unread than it shows', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUser(alice);
    await createUser(bob);
    for (let i = 0; i < 7; i++) await ok('send', alice, bob, `u${i}`);
    const human = await ok('inbox', bob, '--unread', '--limit', '2');
    assert.match(human.stdout, /: u5 •\n.*: u6 •\n$/);
    assert.match(human.stderr, /^5 more unread: use a larger --limit\n$/);
    const page = await json('inbox', bob, '--unread', '--limit', '2');
    assert.equal(page.hasOlder, true);
    assert.equal((await json('inbox', bob, '--unread', '--limit', '7')).hasOlder, false);
  });

  it('previews are cut on whole characters, with an ellipsis', async () => {
    const [alice, bob] = [fresh('alice'), fresh('bob')];
    await createUser(alice);
    await createUser(bob);
    await ok('send', alice, bob, `${'a'.repeat(59)}😀 and more`);
    const { stdout } = await ok('conversations', bob);
    assert.ok(stdout.isWellFormed(), 'a broken surrogate pair');
    assert.match(stdout, /a{59}…\n$/);
  });

  it('usage errors are found before connecting: no Redis needed', async () => {
    const down = `redis://127.0.0.1:${await freePort()}`;
    const seen = await runOn(down, 'seen', 'bob');
    assert.equal(seen.code, 2);
    assert.match(seen.stderr, /^error: name message ids, or use --from <user>/);
    const paging = await runOn(
      down,
      'inbox',
      'bob',
      '--before',
      randomUUID(),
      '--after',
      randomUUID(),
    );
    assert.equal(paging.code, 2);
    for (const argv of [
      ['send', 'alice', 'alice', 'hi'],
      ['send', 'alice', 'bob', ''],
      ['send', 'alice', 'bob', 'x'.repeat(4097)],
      ['conversation', 'alice', 'alice'],
      ['seen', 'bob', 'not-an-id'],
      ['user', 'create', ''],
      ['user', 'create', 'tab\there'],
    ]) {
      const result = await runOn(down, ...argv);
      assert.equal(result.code, 2, `${argv.join(' ')}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /cannot reach Redis/);
    }
  });
});
