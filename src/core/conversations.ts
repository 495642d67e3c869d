/**
 * The people a user has exchanged messages with, most recent first, each with the last
 * message and the unread count: three round trips, whatever the number of conversations
 * (the list and counters; the people and each conversation's newest entry; those entries'
 * hashes).
 * @module
 */
import type { RedisConnection } from '../redis/connect.js';
import { type Keys, messageIdOfMember } from './keys.js';
import { messageFromHash, userFromHash } from './records.js';
import type { ConversationSummary } from './types.js';

export interface SummaryParts {
  client: RedisConnection;
  keys: Keys;
  /** Runs one round trip with the messenger's deadline and error translation. */
  run: <T>(operation: () => Promise<T>) => Promise<T>;
  /** Checks the user exists; sent with the first round trip. */
  requireUser: () => Promise<void>;
  userId: string;
  limit: number;
}

export async function conversationSummaries({
  client,
  keys,
  run,
  requireUser,
  userId: id,
  limit,
}: SummaryParts): Promise<ConversationSummary[]> {
  const [, others, unread] = await run(() =>
    Promise.all([
      requireUser(),
      client.zRange(keys.conversations(id), 0, limit - 1, { REV: true }),
      client.hGetAll(keys.unread(id)),
    ]),
  );
  const [people, newest] = await run(() =>
    Promise.all([
      Promise.all(others.map((other) => client.hGetAll(keys.user(other)))),
      Promise.all(others.map((other) => client.zRange(keys.conversation(id, other), -1, -1))),
    ]),
  );
  const lastHashes = await run(() =>
    Promise.all(
      newest.map((members) =>
        members[0] ? client.hGetAll(keys.messageOfMember(members[0])) : Promise.resolve({}),
      ),
    ),
  );
  // Paired by position before anything is filtered out: a partner without a user hash
  // (possible in the original program's data) is skipped together with their message.
  return others.flatMap((other, i) => {
    const person = userFromHash(people[i] ?? {}, other);
    if (!person) return [];
    const member = newest[i]?.[0];
    const lastMessage = member
      ? messageFromHash(lastHashes[i] ?? {}, messageIdOfMember(member))
      : null;
    return [{ with: person, lastMessage, unread: Number(unread[other] ?? 0) }];
  });
}
