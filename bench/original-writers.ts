/**
 * `npx tsx bench/original-writers.ts [--per-writer N] [--notifications off]`: how many
 * messages the original program writes reach a live subscriber. On a throwaway
 * redis-server (with `notify-keyspace-events Kz` unless `--notifications off`), two copies
 * of the original program (test/support/seed-program.ts) and this library each send N
 * messages (default 2,000) to one user at once while one subscription listens; then it
 * waits up to 3 s. Prints one JSON line: messages delivered, distinct, and how many of
 * each writer's arrived.
 */
import { createClient, type RedisClientType } from 'redis';
import { type Message, RedisMessenger } from '../src/index.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { SeedProgram } from '../test/support/seed-program.js';
import { benchFlags, wholeNumber } from './flags.js';

const values = benchFlags(
  [
    'usage: npx tsx bench/original-writers.ts [--per-writer N] [--notifications off]',
    '  --per-writer N        messages each writer sends (2,000)',
    '  --notifications off   redis-server without notify-keyspace-events',
  ].join('\n'),
  {
    'per-writer': { type: 'string', default: '2000' },
    notifications: { type: 'string', default: 'on' },
  },
);
const perWriter = wholeNumber('per-writer', values['per-writer'], 1, 1_000_000);
const on = values.notifications !== 'off';

const server = await startRedisServer(on ? ['--notify-keyspace-events', 'Kz'] : []);
try {
  const messenger = await RedisMessenger.connect({ url: server.url });
  const raws: RedisClientType[] = [
    createClient({ url: server.url }),
    createClient({ url: server.url }),
  ];
  await Promise.all(raws.map((raw) => raw.connect()));
  const seeds = raws.map((raw) => new SeedProgram(raw));
  const [first] = seeds as [SeedProgram];
  const alice = await first.createUser('alice');
  const bob = await first.createUser('bob');
  const received: Message[] = [];
  const subscription = await messenger.subscribe(bob, (message) => void received.push(message));
  const theirs = new Set<string>();
  const ours = new Set<string>();
  await Promise.all([
    ...seeds.map(async (seed, k) => {
      for (let i = 0; i < perWriter; i++)
        theirs.add(await seed.sendMessage(alice, bob, `t${k} ${i}`));
    }),
    (async () => {
      for (let i = 0; i < perWriter; i++)
        ours.add(await messenger.sendMessage(alice, bob, `o ${i}`));
    })(),
  ]);
  const deadline = Date.now() + 3000;
  while (received.length < theirs.size + ours.size && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  const got = new Set(received.map((message) => message.id));
  const live = (ids: Set<string>) => [...ids].filter((id) => got.has(id)).length;
  console.log(
    JSON.stringify({
      notifications: on ? 'Kz' : 'off',
      delivered: received.length,
      distinct: got.size,
      original: `${live(theirs)} of ${theirs.size}`,
      library: `${live(ours)} of ${ours.size}`,
    }),
  );
  await subscription.close();
  await messenger.close();
  await Promise.all(raws.map((raw) => raw.close()));
} finally {
  await server.stop();
}
