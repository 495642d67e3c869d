/**
 * The original Python program (shared/seed/000_79806cb7e5f49d64.txt) re-expressed in
 * TypeScript on node-redis, step for step, flaws included: check-then-set usernames, a
 * message written as two commands, SCAN over the whole keyspace, one HGETALL per item.
 *
 * It is the other side of the compatibility tests (test/seed-compat.test.ts) and the
 * "naive" baseline of the benchmarks, so its algorithm must not be improved. It has no
 * validation and no namespace, because the original had neither.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { RedisClientType } from 'redis';

/** A hash as the original returned it: every key and value decoded to a string. */
export type SeedHash = Record<string, string>;

/**
 * Python's `time.time()`: Unix seconds with sub-millisecond digits, read from the wall
 * clock (the time origin) plus a monotonic offset.
 */
function timeTime(): number {
  return (performance.timeOrigin + performance.now()) / 1000;
}

/** A float as redis-py sends it, `repr(value)`: the shortest round-trip digits, '.0' if whole. */
function pythonFloat(value: number): string {
  const text = String(value);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

export class SeedProgram {
  readonly #client: RedisClientType;

  /** `__init__(self, host, port, db)`: the connection is made by the caller. */
  constructor(client: RedisClientType) {
    this.#client = client;
  }

  /** `create_user`: check the name, then write the user, then claim the name (racy). */
  async createUser(username: string): Promise<string> {
    // Step 1: check if the username already exists in the `usernames` hash.
    if ((await this.#client.hGet('usernames', username)) !== null) {
      throw new Error(`Username '${username}' already exists`);
    }
    // Steps 2 to 4: a uuid4, user:<id>, the user hash with created_at = time.time().
    const userId = randomUUID();
    await this.#client.hSet(`user:${userId}`, {
      user_id: userId,
      username,
      created_at: pythonFloat(timeTime()),
    });
    // Step 5: add the username to the `usernames` hash, a separate command.
    await this.#client.hSet('usernames', username, userId);
    return userId;
  }

  /** `send_message`: the hash, then (a separate command) the receiver's sorted set. */
  async sendMessage(senderId: string, receiverId: string, message: string): Promise<string> {
    // Steps 1 to 3: a uuid4, message:<id>, the timestamp from time.time().
    const messageId = randomUUID();
    const messageKey = `message:${messageId}`;
    const timestamp = timeTime();
    // Step 4: the message hash: `receiver_id`, and no `seen` field (the original never wrote it).
    await this.#client.hSet(messageKey, {
      message_id: messageId,
      sender_id: senderId,
      receiver_id: receiverId,
      message,
      timestamp: pythonFloat(timestamp),
    });
    // Step 5: ZADD user_messages:<receiver> timestamp message:<id>, a second command.
    await this.#client.zAdd(`user_messages:${receiverId}`, {
      score: timestamp,
      value: messageKey,
    });
    return messageId;
  }

  /** `list_user_messages`: ZRANGE the whole inbox, then one HGETALL per message, in turn. */
  async listUserMessages(userId: string): Promise<SeedHash[]> {
    // Step 1: the message keys from the user's sorted set, all of them.
    const messageKeys = await this.#client.zRange(`user_messages:${userId}`, 0, -1);
    const messages: SeedHash[] = [];
    // Step 2: for each key, HGETALL and decode: one round trip per message (N+1).
    for (const messageKey of messageKeys) {
      messages.push(await this.#hGetAll(messageKey));
    }
    return messages;
  }

  /** `list_all_users`: SCAN the whole keyspace for user:*, then one HGETALL per key. */
  async listAllUsers(): Promise<SeedHash[]> {
    const users: SeedHash[] = [];
    let cursor = '0';
    // Step 1: scan the keys that match `user:*` (scan_iter: until the cursor is 0 again).
    do {
      const reply = await this.#client.scan(cursor, { MATCH: 'user:*' });
      cursor = String(reply.cursor);
      // Step 2: for each user key, HGETALL and decode, one round trip each.
      for (const userKey of reply.keys) {
        users.push(await this.#hGetAll(String(userKey)));
      }
    } while (cursor !== '0');
    return users;
  }

  /** chat.py's contact list: SMEMBERS user_contacts:<id>, then one HGETALL per contact. */
  async listContacts(userId: string): Promise<SeedHash[]> {
    const contactIds = await this.#client.sMembers(`user_contacts:${userId}`);
    const contacts: SeedHash[] = [];
    for (const contactId of contactIds) {
      contacts.push(await this.#hGetAll(`user:${contactId}`));
    }
    return contacts;
  }

  /** chat.py's "add contact": EXISTS user:<contact>, then SADD (check-then-set again). */
  async addContact(userId: string, contactId: string): Promise<void> {
    if ((await this.#client.exists(`user:${contactId}`)) === 0) {
      throw new Error(`User '${contactId}' does not exist`);
    }
    await this.#client.sAdd(`user_contacts:${userId}`, contactId);
  }

  /** `hgetall` followed by the original's decode of every key and value to a string. */
  async #hGetAll(key: string): Promise<SeedHash> {
    const hash = await this.#client.hGetAll(key);
    return Object.fromEntries(Object.entries(hash).map(([field, value]) => [field, String(value)]));
  }
}
