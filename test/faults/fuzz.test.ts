/**
 * Fault 6: fuzzing. Seeded generated inputs (unicode, control characters, lone
 * surrogates, key-like characters, strings up to ~1 MB, numbers, null, undefined,
 * objects) through every library call and a few hundred through the CLI in-process →
 * 0 crashes, 0 errors of unexpected types (the library: only its own domain errors; the
 * CLI: exit codes 0/1/2, no stack trace, no "unexpected error" fallback), and 0 keys
 * outside docs/schema.md. Replay a run with FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { main } from '../../src/cli/main.js';
import {
  MessageIdConflictError,
  RedisMessenger,
  RedisTimeoutError,
  RedisUnavailableError,
  UserNotFoundError,
  UsernameNotFoundError,
  UsernameTakenError,
  ValidationError,
} from '../../src/index.js';
import { capture } from '../support/capture.js';
import {
  bump,
  classifyKey,
  errorName,
  idle,
  inspectNamespace,
  prng,
  report,
  schemaType,
} from './support/faults.js';
import { Inputs, show } from './support/fuzz-inputs.js';
import { redisForThisFile } from './support/server.js';

const SEED = process.env.FUZZ_SEED
  ? Number(process.env.FUZZ_SEED)
  : Math.floor(Math.random() * 2 ** 32);
const LIBRARY_CALLS = 10_000;
const CLI_RUNS = 300;
const NAMESPACE = 'fuzz';
/** A call that takes longer than this is counted as hung. */
const HANG_MS = 15_000;

const redis = redisForThisFile();

/** The errors a call may end with on bad input against a healthy Redis. */
function expectedError(error: unknown): boolean {
  return (
    error instanceof ValidationError || // includes CursorNotFoundError
    error instanceof UserNotFoundError ||
    error instanceof UsernameTakenError ||
    error instanceof UsernameNotFoundError ||
    error instanceof MessageIdConflictError
  );
}

interface Failure {
  n: number;
  call: string;
  error: string;
}

/** Crashes: errors nobody awaited, which would take a real process down. */
function watchCrashes(): { count: () => string[]; stop: () => void } {
  const crashes: string[] = [];
  const onError = (error: unknown) => void crashes.push(`${errorName(error)}: ${String(error)}`);
  process.on('unhandledRejection', onError);
  process.on('uncaughtException', onError);
  return {
    count: () => crashes,
    stop: () => {
      process.off('unhandledRejection', onError);
      process.off('uncaughtException', onError);
    },
  };
}

it(`fuzz: ${LIBRARY_CALLS} library calls and ${CLI_RUNS} CLI runs of generated input (seed from FUZZ_SEED)`, async (t) => {
  const started = Date.now();
  report(t, `fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
  const inputs = new Inputs(prng(SEED));
  const crashes = watchCrashes();
  const m = await RedisMessenger.connect({ url: redis.url, namespace: NAMESPACE });
  // A second messenger on the same keys that accepts texts of ~1 MB, so huge ones get stored.
  const big = await RedisMessenger.connect({
    url: redis.url,
    namespace: NAMESPACE,
    maxTextLength: 2_000_000,
  });
  const outcomes: Record<string, number> = {};
  const unexpected: Failure[] = [];
  const hung: string[] = [];
  const createdNames = new Map<string, string>(); // id -> username as given
  const sentTexts = new Map<string, string>(); // id -> text as given
  let values = 0;
  try {
    for (let i = 0; i < 8; i++) {
      const name = `seed${i}`;
      const id = await m.createUser(name);
      inputs.userIds.push(id);
      inputs.usernames.push(name);
      createdNames.set(id, name);
    }

    const operations: [string, number, (n: number) => [unknown[], () => Promise<unknown>]][] = [
      [
        'createUser',
        12,
        () => {
          const name = inputs.chance(0.9) ? inputs.string() : inputs.any();
          return [
            [name],
            async () => {
              const id = await m.createUser(name as string);
              inputs.userIds.push(id);
              if (typeof name === 'string') {
                inputs.usernames.push(name);
                createdNames.set(id, name);
              }
              return id;
            },
          ];
        },
      ],
      [
        'findUserByUsername',
        8,
        () => {
          const name =
            inputs.chance(0.3) && inputs.usernames.length > 0
              ? inputs.pick(inputs.usernames).toUpperCase()
              : inputs.chance(0.9)
                ? inputs.string()
                : inputs.any();
          return [[name], () => m.findUserByUsername(name as string)];
        },
      ],
      [
        'getUser',
        6,
        () => {
          const id = inputs.id();
          return [[id], () => m.getUser(id as string)];
        },
      ],
      [
        'sendMessage',
        20,
        () => {
          const from = inputs.chance(0.8) ? inputs.userId() : inputs.id();
          const to = inputs.chance(0.8) ? inputs.userId() : inputs.id();
          const huge = inputs.chance(0.002);
          const text = huge ? inputs.long() : inputs.text();
          const roll = inputs.int(10);
          const options =
            roll < 6
              ? undefined
              : roll < 8
                ? {
                    messageId:
                      inputs.chance(0.5) && inputs.messageIds.length > 0
                        ? inputs.pick(inputs.messageIds)
                        : inputs.id(),
                  }
                : inputs.any();
          const sender = huge ? big : m;
          return [
            [from, to, text, options],
            async () => {
              const id = await sender.sendMessage(
                from as string,
                to as string,
                text as string,
                options as { messageId?: string },
              );
              inputs.messageIds.push(id);
              if (typeof text === 'string') sentTexts.set(id, text);
              return id;
            },
          ];
        },
      ],
      [
        'listUserMessages',
        10,
        () => {
          const id = inputs.chance(0.8) ? inputs.userId() : inputs.id();
          const paging = inputs.paging();
          return [[id, paging], () => m.listUserMessages(id as string, paging as object)];
        },
      ],
      [
        'listAllUsers',
        5,
        () => {
          const paging = inputs.chance(0.8)
            ? { limit: inputs.limit(), after: inputs.chance(0.5) ? inputs.id() : undefined }
            : inputs.any();
          return [[paging], () => m.listAllUsers(paging as { limit?: number })];
        },
      ],
      [
        'listConversation',
        6,
        () => {
          const [id, other, paging] = [inputs.userId(), inputs.id(), inputs.paging()];
          return [
            [id, other, paging],
            () => m.listConversation(id, other as string, paging as object),
          ];
        },
      ],
      [
        'listConversations',
        4,
        () => {
          const id = inputs.id();
          const options = inputs.chance(0.8) ? { limit: inputs.limit() } : inputs.any();
          return [[id, options], () => m.listConversations(id as string, options as object)];
        },
      ],
      [
        'listUnreadMessages',
        4,
        () => {
          const id = inputs.id();
          const options = inputs.chance(0.8) ? { limit: inputs.limit() } : inputs.any();
          return [[id, options], () => m.listUnreadMessages(id as string, options as object)];
        },
      ],
      [
        'addContact',
        5,
        () => {
          const [id, contact] = [inputs.id(), inputs.id()];
          return [[id, contact], () => m.addContact(id as string, contact as string)];
        },
      ],
      [
        'removeContact',
        3,
        () => {
          const [id, contact] = [inputs.id(), inputs.id()];
          return [[id, contact], () => m.removeContact(id as string, contact as string)];
        },
      ],
      [
        'listContacts',
        3,
        () => {
          const id = inputs.id();
          return [[id], () => m.listContacts(id as string)];
        },
      ],
      [
        'markSeen',
        6,
        () => {
          const id = inputs.chance(0.8) ? inputs.userId() : inputs.id();
          const ids = inputs.chance(0.9)
            ? Array.from({ length: inputs.int(30) }, () =>
                inputs.chance(0.7) && inputs.messageIds.length > 0
                  ? inputs.pick(inputs.messageIds)
                  : inputs.id(),
              )
            : inputs.any();
          return [[id, ids], () => m.markSeen(id as string, ids as string[])];
        },
      ],
      [
        'markConversationSeen',
        4,
        () => {
          const [id, other] = [inputs.id(), inputs.chance(0.7) ? inputs.userId() : inputs.id()];
          return [[id, other], () => m.markConversationSeen(id as string, other as string)];
        },
      ],
      [
        'unreadCount',
        4,
        () => {
          const id = inputs.id();
          return [[id], () => m.unreadCount(id as string)];
        },
      ],
      [
        'subscribe',
        0.5,
        () => {
          const id = inputs.chance(0.8) ? inputs.userId() : inputs.id();
          const options = inputs.chance(0.7)
            ? { after: inputs.chance(0.5) ? inputs.pick([...inputs.messageIds, 'x']) : inputs.id() }
            : inputs.any();
          return [
            [id, options],
            async () => {
              const subscription = await m.subscribe(id as string, () => {}, options as object);
              await subscription.close();
            },
          ];
        },
      ],
      [
        'connect',
        0.3,
        () => {
          // Never a fuzzed URL: only our own throwaway server is ever contacted.
          const options = {
            namespace: inputs.chance(0.5) ? inputs.string() : inputs.any(),
            commandTimeoutMs: inputs.chance(0.5) ? undefined : inputs.any(),
            connectTimeoutMs: inputs.chance(0.5) ? undefined : inputs.limit(),
            maxTextLength: inputs.chance(0.5) ? undefined : inputs.limit(),
          };
          return [
            [options],
            async () => {
              const other = await RedisMessenger.connect({
                url: redis.url,
                ...(options as object),
              });
              await other.close();
            },
          ];
        },
      ],
    ];
    const totalWeight = operations.reduce((sum, [, weight]) => sum + weight, 0);
    const chooseOperation = () => {
      let roll = inputs.int(1_000_000) / (1_000_000 / totalWeight);
      for (const operation of operations) {
        roll -= operation[1];
        if (roll < 0) return operation;
      }
      return operations[0] as (typeof operations)[number];
    };

    for (let n = 0; n < LIBRARY_CALLS; n++) {
      const [name, , make] = chooseOperation();
      const [args, call] = make(n);
      values += args.length;
      let timer: NodeJS.Timeout | undefined;
      try {
        const result = await Promise.race([
          call(),
          new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error('__hung__')), HANG_MS);
          }),
        ]);
        void result;
        bump(outcomes, `${name} ok`);
      } catch (error) {
        if (error instanceof Error && error.message === '__hung__') {
          hung.push(`#${n} ${name}(${args.map(show).join(', ')})`);
        } else if (
          expectedError(error) ||
          // A connect given a timeout of a few ms may rightly fail to connect in time.
          (name === 'connect' &&
            (error instanceof RedisUnavailableError || error instanceof RedisTimeoutError))
        ) {
          bump(outcomes, `${name} ${errorName(error)}`);
        } else {
          bump(outcomes, `${name} UNEXPECTED ${errorName(error)}`);
          unexpected.push({
            n,
            call: `${name}(${args.map(show).join(', ')})`,
            error: `${errorName(error)}: ${(error as Error)?.message ?? String(error)}`,
          });
        }
      } finally {
        clearTimeout(timer);
      }
    }
    const libraryMs = Date.now() - started;

    // What the successful calls stored reads back byte for byte.
    const storedNames = await Promise.all(
      [...createdNames].map(([id]) => redis.raw.hGet(`${NAMESPACE}:user:${id}`, 'username')),
    );
    const nameMismatches = [...createdNames].filter(
      ([, name], i) => storedNames[i] !== name,
    ).length;
    const storedTexts = await Promise.all(
      [...sentTexts].map(([id]) => redis.raw.hGet(`${NAMESPACE}:message:${id}`, 'message')),
    );
    const textMismatches = [...sentTexts].filter(([, text], i) => storedTexts[i] !== text).length;
    const libraryState = await inspectNamespace(redis.raw, `${NAMESPACE}:`);

    // ---- the CLI, in-process --------------------------------------------------------
    const cliStarted = Date.now();
    const cliOutcomes: Record<string, number> = {};
    const cliBad: string[] = [];
    const savedRedisUrl = process.env.REDIS_URL;
    // A second guard: even if an argument list lost its --redis, the CLI would come here.
    process.env.REDIS_URL = redis.url;
    const cliNames: string[] = [];
    const cliIds: string[] = [];
    const word = (): string => {
      const roll = inputs.int(10);
      if (roll < 3 && cliNames.length > 0) return inputs.pick(cliNames);
      if (roll < 4 && cliIds.length > 0) return inputs.pick(cliIds);
      if (roll < 5) return inputs.uuidish();
      if (inputs.chance(0.01)) return inputs.long();
      return inputs.string();
    };
    const flags = (...names: string[]): string[] =>
      names.flatMap((flag) => {
        if (!inputs.chance(0.3)) return [];
        if (flag === '--json' || flag === '--unread') return [flag];
        return [flag, flag === '--limit' && inputs.chance(0.5) ? String(inputs.limit()) : word()];
      });
    const commands: (() => string[])[] = [
      () => ['user', 'create', word(), ...flags('--json')],
      () => ['user', 'list', ...flags('--limit', '--after', '--json')],
      () => ['user', 'show', word(), ...flags('--json')],
      () => ['send', word(), word(), word(), ...flags('--id', '--json')],
      () => ['inbox', word(), ...flags('--unread', '--limit', '--before', '--after', '--json')],
      () => ['conversation', word(), word(), ...flags('--limit', '--before', '--after', '--json')],
      () => ['conversations', word(), ...flags('--limit', '--json')],
      () => ['contacts', inputs.pick(['list', 'add', 'remove', word()]), word(), word()],
      () => ['seen', word(), ...Array.from({ length: inputs.int(4) }, word), ...flags('--from')],
      () =>
        Array.from({ length: inputs.int(6) }, () =>
          inputs.pick([word(), '--json', '--', '-x', '--limit', 'help', 'user', 'send', 'inbox']),
        ),
      () => inputs.pick([['reindex'], ['demo'], ['--help'], ['user', '--help'], ['help', 'send']]),
    ];
    // Never the chat (reads standard input), never local-redis (the embedded server), never
    // anything that could point the CLI at another Redis or print a stack trace on purpose.
    const forbidden = (token: string) =>
      token === 'chat' ||
      token === 'local-redis' ||
      token.startsWith('--redis') ||
      token.startsWith('--verbose');
    for (let i = 0; i < 4; i++) {
      const name = `cli${i}`;
      const out = capture();
      await main(['--redis', redis.url, 'user', 'create', name, '--json'], out.output);
      cliNames.push(name);
      cliIds.push(JSON.parse(out.stdout()).id);
    }
    for (let n = 0; n < CLI_RUNS; n++) {
      const argv = (inputs.pick(commands)() as string[]).filter((token) => !forbidden(token));
      values += argv.length;
      const out = capture();
      let code: number | string;
      try {
        code = await main(['--redis', redis.url, ...argv], out.output);
      } catch (error) {
        code = `threw ${errorName(error)}: ${(error as Error)?.message}`;
      }
      const stderr = out.stderr();
      bump(cliOutcomes, `exit ${code}`);
      const problems: string[] = [];
      if (code !== 0 && code !== 1 && code !== 2) problems.push(`exit code ${code}`);
      if (/^\s+at .+/m.test(stderr)) problems.push('stack trace');
      if (stderr.includes('--verbose for details')) problems.push('unexpected error');
      if (problems.length > 0) {
        cliBad.push(
          `#${n} messenger ${argv.map(show).join(' ')} → ${problems.join(', ')}: ${show(stderr)}`,
        );
      }
      if (argv[0] === 'user' && argv[1] === 'create' && code === 0) {
        cliNames.push(argv[2] as string);
      }
    }
    if (savedRedisUrl === undefined) delete process.env.REDIS_URL;
    else process.env.REDIS_URL = savedRedisUrl;
    const cliMs = Date.now() - cliStarted;

    // ---- every key on the server is a documented one ----------------------------------
    const keys = await redis.raw.keys('*');
    const types = await Promise.all(keys.map((key) => redis.raw.type(key)));
    const outside = keys.filter((key, i) => {
      const known = classifyKey(key, `${NAMESPACE}:`) ?? classifyKey(key, '');
      return !known || schemaType(known.kind) !== types[i];
    });
    const cliState = await inspectNamespace(redis.raw, '');

    const crashList = crashes.count();
    const unexpectedByKind: Record<string, number> = {};
    for (const failure of unexpected)
      bump(unexpectedByKind, `${failure.call.split('(')[0]} ${failure.error.split(':')[0]}`);
    report(
      t,
      `fuzz (seed ${SEED}): library ${LIBRARY_CALLS} calls with ${values} generated values (${inputs.hugeMade} of ~1 MB), crashes ${crashList.length}, hung ${hung.length}, unexpected errors ${unexpected.length} ${JSON.stringify(unexpectedByKind)}, round-trip mismatches ${nameMismatches} names / ${textMismatches} texts (of ${createdNames.size} users, ${sentTexts.size} messages), ${(libraryMs / 1000).toFixed(1)} s; CLI ${CLI_RUNS} runs ${JSON.stringify(cliOutcomes)}, bad ${cliBad.length}, ${(cliMs / 1000).toFixed(1)} s; keys ${keys.length}, outside docs/schema.md ${outside.length}; integrity: dangling ${libraryState.dangling.length + cliState.dangling.length}, orphans ${libraryState.orphans.length + cliState.orphans.length}, unread mismatches ${libraryState.unreadMismatches.length + cliState.unreadMismatches.length}`,
    );
    report(t, `fuzz outcomes: ${JSON.stringify(outcomes)}`);
    // The first two of each kind, so that a rare kind is not hidden by a common one.
    const shown: Record<string, number> = {};
    for (const failure of unexpected) {
      const kind = `${failure.call.split('(')[0]} ${failure.error.split(':')[0]}`;
      bump(shown, kind);
      if ((shown[kind] ?? 0) <= 2)
        report(t, `unexpected #${failure.n}: ${failure.call} → ${failure.error}`);
    }
    for (const line of cliBad.slice(0, 10)) report(t, `CLI: ${line}`);
    for (const line of hung.slice(0, 5)) report(t, `hung: ${line}`);
    for (const key of outside.slice(0, 10)) report(t, `key outside the schema: ${show(key)}`);

    assert.deepEqual(crashList, [], 'crashes');
    assert.deepEqual(hung, [], 'hung calls');
    assert.deepEqual(
      unexpected.map((f) => `#${f.n} ${f.call} → ${f.error}`),
      [],
      `unexpected errors (seed ${SEED})`,
    );
    assert.deepEqual(cliBad, [], `CLI runs (seed ${SEED})`);
    assert.deepEqual(outside, [], 'keys outside docs/schema.md');
    assert.equal(nameMismatches, 0);
    assert.equal(textMismatches, 0);
    for (const state of [libraryState, cliState]) {
      assert.deepEqual(state.dangling, []);
      assert.deepEqual(state.orphans, []);
      assert.deepEqual(state.incomplete, []);
      assert.deepEqual(state.unreadMismatches, []);
    }
  } finally {
    crashes.stop();
    await Promise.race([Promise.all([m.close(), big.close()]), idle(5000)]);
  }
});
