/**
 * Pieces of workload shared by the bench's tables: users to send between, a filled inbox,
 * and live delivery timed from send to handler.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { RedisMessenger } from '../src/index.js';
import type { BenchBackend } from './backends.js';
import { runConcurrently } from './measure.js';

/** The text of every message the bench sends: a typical length. */
export const text = 'Hello, Bob! How are you today? This is a message of a typical length.';

/** A new sender and receiver. */
export async function twoUsers(messenger: RedisMessenger): Promise<[string, string]> {
  return [
    await messenger.createUser(`s-${randomUUID().slice(0, 28)}`),
    await messenger.createUser(`r-${randomUUID().slice(0, 28)}`),
  ];
}

/** `count` new users, created 64 at a time. */
export async function manyUsers(messenger: RedisMessenger, count: number): Promise<string[]> {
  const ids: string[] = [];
  await runConcurrently(count, 64, async () => {
    ids.push(await messenger.createUser(`u-${randomUUID().slice(0, 28)}`));
  });
  return ids;
}

/** A sender and a different receiver, both drawn at random from `users`. */
export function randomPair(users: readonly string[]): [string, string] {
  const sender = Math.floor(Math.random() * users.length);
  const receiver = (sender + 1 + Math.floor(Math.random() * (users.length - 1))) % users.length;
  return [users[sender] ?? '', users[receiver] ?? ''];
}

/** Sends `count` messages from `sender` to `receiver`, 128 at a time; their ids. */
export async function fillInbox(
  messenger: RedisMessenger,
  sender: string,
  receiver: string,
  count: number,
): Promise<string[]> {
  const ids: string[] = [];
  await runConcurrently(count, 128, async () => {
    ids.push(await messenger.sendMessage(sender, receiver, text));
  });
  return ids;
}

/** Milliseconds from each send to its delivery: ours (subscribe), bare (the ceiling's doorbell). */
export interface LiveLatencies {
  ours: number[];
  bare: number[];
  /** How many messages each way sent. */
  sent: number;
}

/**
 * 1,000 messages a second for `seconds`, 10 every 10 ms, each timed from the moment it
 * is sent to the moment the subscriber's handler has it; then the same writes and
 * doorbell sent bare, to a bare subscriber.
 */
export async function liveLatencies(
  backend: BenchBackend,
  seconds: number,
): Promise<LiveLatencies> {
  const { messenger, ceiling } = backend;
  const [a, b] = await twoUsers(messenger);
  const ticks = seconds * 100;
  const sentAt = new Map<string, number>();
  const ours: number[] = [];
  const subscription = await messenger.subscribe(b, (message) => {
    const start = sentAt.get(message.id);
    if (start !== undefined) ours.push(performance.now() - start);
  });
  await everyTenMs(ticks, async () => {
    const id = randomUUID();
    sentAt.set(id, performance.now());
    await messenger.sendMessage(a, b, text, { messageId: id });
  });
  const deadline = Date.now() + 5000;
  while (ours.length < ticks * 10 && Date.now() < deadline) await sleep(10);
  await subscription.close();

  const bare: number[] = [];
  const bareSentAt = new Map<string, number>();
  const stop = await ceiling.listen(b, (id) => {
    const start = bareSentAt.get(id);
    if (start !== undefined) bare.push(performance.now() - start);
  });
  await everyTenMs(ticks, async () => {
    const start = performance.now();
    await ceiling.sendMessage(a, b, text, (id) => bareSentAt.set(id, start));
  });
  await sleep(100);
  await stop();
  return { ours, bare, sent: ticks * 10 };
}

/** `ticks` times: 10 calls of `send` at once, then a wait until 10 ms after the tick began. */
async function everyTenMs(ticks: number, send: () => Promise<unknown>): Promise<void> {
  for (let tick = 0; tick < ticks; tick++) {
    const due = performance.now() + 10;
    await Promise.all(Array.from({ length: 10 }, send));
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
