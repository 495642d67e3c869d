/**
 * `messenger migrate`: moves a Redis Cluster's keys from cluster layout 1 (a message hash
 * in a slot of its own, `message:{<id>}`; one conversation key for both users,
 * `conversation:{<low>:<high>}`) to layout 2 (the hash in its receiver's slot,
 * `message:{<receiver>}:<id>`; a copy of each conversation per user,
 * `conversation:{<user>}:<other>`: docs/schema.md). Every other key stays as it is.
 *
 * Offline: no messenger may use the cluster meanwhile. The marker says `migrating` from
 * the first write, so a messenger that connects refuses (ClusterLayoutError) until the
 * run has finished. Every step only adds what is missing or renames what is not renamed
 * yet, so a run cut short is finished by running it again. Two passes over the users:
 * the first writes layout 2 beside layout 1 (hashes copied, index members renamed in
 * place, conversation copies built), the second finishes what sends cut short left (as
 * reindex does) and deletes layout 1's hashes and conversations; then the marker says `2`.
 * @module
 */
import { ClusterLayoutError } from '../errors.js';
import type { RedisCluster } from '../redis/connect.js';
import type { Backend } from './backend/backend.js';
import type { StepRunner } from './backend/writes.js';
import { CLUSTER_LAYOUT, MIGRATING } from './cluster-layout.js';
import { type Keys, messageIdOfMember } from './keys.js';
import { timestampOfScore } from './records.js';
import { indexInbox } from './reindex.js';
import { scripts } from './scripts.js';
import { isId } from './validate.js';

export interface MigrationProgress {
  /** The pass: 1 writes layout 2, 2 deletes layout 1. */
  pass: 1 | 2;
  /** Users done in this pass. */
  done: number;
  total: number;
}

export interface MigrationReport {
  /** The cluster held layout 2 already: nothing was done. */
  alreadyDone: boolean;
  users: number;
  /** Messages moved into their receiver's slot (a rerun counts those it finds moved too). */
  messages: number;
  /** Users' copies of conversations written. */
  conversations: number;
  /** Index entries that name no message hash (left in the index, as before). */
  missingHashes: number;
}

/** Entries one step reads or renames: each step is a bounded amount of Redis's time. */
const CHUNK = 500;
/** Users migrated at once. */
const USERS_AT_ONCE = 8;

export async function migrateClusterLayout(
  backend: Backend,
  step: StepRunner,
  onProgress?: (progress: MigrationProgress) => void,
): Promise<MigrationReport> {
  const { keys } = backend;
  const client = backend.client as RedisCluster;
  const report: MigrationReport = {
    alreadyDone: false,
    users: 0,
    messages: 0,
    conversations: 0,
    missingHashes: 0,
  };
  const marker = await step(() => client.get(keys.clusterLayout));
  if (marker === CLUSTER_LAYOUT) return { ...report, alreadyDone: true };
  if (marker !== null && marker !== MIGRATING) throw new ClusterLayoutError(backend.target, marker);
  await step(() => client.set(keys.clusterLayout, MIGRATING));
  const users = (await entriesOf(client, keys.userIndex, step))
    .map((entry) => entry.value)
    .filter((id) => isId(id));
  report.users = users.length;
  for (const pass of [1, 2] as const) {
    let done = 0;
    onProgress?.({ pass, done, total: users.length });
    for (let first = 0; first < users.length; first += USERS_AT_ONCE) {
      await Promise.all(
        users
          .slice(first, first + USERS_AT_ONCE)
          .map((user) =>
            pass === 1
              ? moveUser(client, keys, user, step, report)
              : finishAndDrop(backend, user, step),
          ),
      );
      done = Math.min(users.length, first + USERS_AT_ONCE);
      onProgress?.({ pass, done, total: users.length });
    }
  }
  await step(() => client.set(keys.clusterLayout, CLUSTER_LAYOUT));
  return report;
}

/** A sorted set's entries, read a chunk at a time (nothing writes it meanwhile). */
async function entriesOf(
  client: RedisCluster,
  key: string,
  step: StepRunner,
): Promise<{ value: string; score: number }[]> {
  const all: { value: string; score: number }[] = [];
  for (let start = 0; ; start += CHUNK) {
    const entries = await step(() => client.zRangeWithScores(key, start, start + CHUNK - 1));
    all.push(...entries);
    if (entries.length < CHUNK) return all;
  }
}

/** Whether a member is layout 1's (`message:<id>`) rather than layout 2's (`message:{<receiver>}:<id>`). */
const isLayoutOne = (member: string) =>
  member.startsWith('message:') && !member.startsWith('message:{');

/**
 * Pass 1 for one user: the messages they received into their slot (the hash copied, its
 * time the inbox score, as layout 1's last step would have set it), then their inbox and
 * sets of unseen messages renamed in place, then their copy of each conversation built
 * from layout 1's shared one (a member names its receiver: this user if their inbox holds
 * it, else the other).
 */
async function moveUser(
  client: RedisCluster,
  keys: Keys,
  user: string,
  step: StepRunner,
  report: MigrationReport,
): Promise<void> {
  const inbox = keys.inbox(user);
  const entries = await entriesOf(client, inbox, step);
  for (let first = 0; first < entries.length; first += CHUNK) {
    const chunk = entries.slice(first, first + CHUNK).filter((entry) => isLayoutOne(entry.value));
    const ids = chunk.map((entry) => messageIdOfMember(entry.value));
    const hashes = await step(() =>
      Promise.all(ids.map((id) => client.hGetAll(keys.layoutOneMessage(id)))),
    );
    await step(() =>
      Promise.all(
        chunk.map((entry, i) => {
          const hash = hashes[i] ?? {};
          if (Object.keys(hash).length === 0) {
            report.missingHashes++;
            return undefined;
          }
          report.messages++;
          const moved = { ...hash, timestamp: timestampOfScore(entry.score) };
          return client.hSet(keys.message(ids[i] as string, user), moved);
        }),
      ),
    );
    await renameInPlace(
      client,
      inbox,
      chunk.map((entry) => entry.value),
      user,
      keys,
      step,
    );
  }
  const others = (await entriesOf(client, keys.conversations(user), step)).map((e) => e.value);
  const counted = Object.keys(await step(() => client.hGetAll(keys.unread(user))));
  for (const other of new Set([...others, ...counted]).values()) {
    if (!isId(other)) continue;
    const unseen = keys.unseen(user, other);
    const members = (await entriesOf(client, unseen, step)).map((e) => e.value);
    await renameInPlace(client, unseen, members.filter(isLayoutOne), user, keys, step);
  }
  for (const other of others) {
    if (!isId(other) || other === user) continue;
    const shared = await entriesOf(client, keys.layoutOneConversation(user, other), step);
    const copy = keys.conversation(user, other);
    for (let first = 0; first < shared.length; first += CHUNK) {
      const chunk = shared.slice(first, first + CHUNK).filter((e) => isLayoutOne(e.value));
      if (chunk.length === 0) continue;
      const ids = chunk.map((entry) => messageIdOfMember(entry.value));
      const received = await step(() =>
        client.zmScore(
          inbox,
          ids.map((id) => keys.messageMember(id, user)),
        ),
      );
      const renamed = chunk.map((entry, i) => ({
        score: entry.score,
        value: keys.messageMember(ids[i] as string, received[i] === null ? other : user),
      }));
      await step(() => client.zAdd(copy, renamed, { condition: 'NX' }));
    }
    report.conversations++;
  }
}

/** Renames `members` (layout 1's) of the user's sorted set `key` to layout 2's, a chunk a step. */
async function renameInPlace(
  client: RedisCluster,
  key: string,
  members: readonly string[],
  user: string,
  keys: Keys,
  step: StepRunner,
): Promise<void> {
  for (let first = 0; first < members.length; first += CHUNK) {
    const pairs = members
      .slice(first, first + CHUNK)
      .flatMap((member) => [member, keys.messageMember(messageIdOfMember(member), user)]);
    await step(() => scripts.renameMembers.run(client, [key], pairs));
  }
}

/**
 * Pass 2 for one user, once every copy is built: first what a layout 1 send cut short
 * after its delivery left undone (its message in neither conversation, perhaps not in
 * the sender's list), finished as `messenger reindex` would (each write adds only what
 * is missing), then layout 1's keys dropped.
 */
async function finishAndDrop(backend: Backend, user: string, step: StepRunner): Promise<void> {
  const unused = { users: 0, messages: 0, namesFolded: 0, nameConflicts: [], skipped: 0 };
  await indexInbox(backend, user, unused, step);
  await dropLayoutOne(backend.client as RedisCluster, backend.keys, user, step);
}

/**
 * Layout 1's hashes of the messages they received, and their
 * layout 1 conversations (each deleted by the user whose id sorts first; either may).
 */
async function dropLayoutOne(
  client: RedisCluster,
  keys: Keys,
  user: string,
  step: StepRunner,
): Promise<void> {
  const received = await entriesOf(client, keys.inbox(user), step);
  for (let first = 0; first < received.length; first += CHUNK) {
    const ids = received.slice(first, first + CHUNK).map((entry) => messageIdOfMember(entry.value));
    await step(() => Promise.all(ids.map((id) => client.del(keys.layoutOneMessage(id)))));
  }
  const others = (await entriesOf(client, keys.conversations(user), step)).map((e) => e.value);
  await step(() =>
    Promise.all(
      others
        .filter((other) => isId(other) && user < other)
        .map((other) => client.del(keys.layoutOneConversation(user, other))),
    ),
  );
}
