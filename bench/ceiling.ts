/**
 * The ceiling: a bare node-redis client issuing, for each operation, the same Redis
 * writes or reads the messenger needs, as plain commands sent together (pipelined), with
 * no script, no checks and no validation. Nothing can do the same Redis work faster
 * from one Node process, so it is the fair bar.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClientType } from 'redis';

export class Ceiling {
  readonly #client: RedisClientType;

  constructor(client: RedisClientType) {
    this.#client = client;
  }

  /** The writes of createUser: the user hash, both name hashes, the counter, the index. */
  async createUser(username: string): Promise<string> {
    const id = randomUUID();
    const now = (Date.now() / 1000).toFixed(6);
    const c = this.#client;
    await Promise.all([
      c.hSet(`user:${id}`, { user_id: id, username, created_at: now }),
      c.hSet('usernames', username, id),
      c.hSet('usernames_folded', username.toLowerCase(), id),
      c.incr('usernames_folded_synced'),
      c.zAdd('user_index', { score: Number(now), value: id }),
    ]);
    return id;
  }

  /** The writes of sendMessage: the hash, both indexes, both recency entries, the counter, the doorbell. */
  async sendMessage(
    sender: string,
    receiver: string,
    text: string,
    onId?: (id: string) => void,
  ): Promise<string> {
    const id = randomUUID();
    onId?.(id);
    const timestamp = (Date.now() / 1000).toFixed(6);
    const member = `message:${id}`;
    const [low, high] = sender < receiver ? [sender, receiver] : [receiver, sender];
    const c = this.#client;
    await Promise.all([
      c.hSet(member, {
        message_id: id,
        sender_id: sender,
        receiver_id: receiver,
        message: text,
        timestamp,
        seen: 'False',
      }),
      c.zAdd(`user_messages:${receiver}`, { score: Number(timestamp), value: member }),
      c.zAdd(`conversation:${low}:${high}`, { score: Number(timestamp), value: member }),
      c.zAdd(`user_conversations:${sender}`, { score: Number(timestamp), value: receiver }),
      c.zAdd(`user_conversations:${receiver}`, { score: Number(timestamp), value: sender }),
      c.hIncrBy(`user_unread:${receiver}`, sender, 1),
      c.publish(`user_messages:${receiver}`, id),
    ]);
    return id;
  }

  /** A page of a sorted-set index: the members, then every hash at once. */
  async readPage(index: string, start: number, stop: number): Promise<Record<string, string>[]> {
    const members = await this.#client.zRange(index, start, stop);
    return Promise.all(members.map((member) => this.#client.hGetAll(member)));
  }

  /** Users from the index: the ids, then every user hash at once. */
  async listUsers(count: number): Promise<Record<string, string>[]> {
    const ids = await this.#client.zRange('user_index', 0, count - 1);
    return Promise.all(ids.map((id) => this.#client.hGetAll(`user:${id}`)));
  }

  async unreadCount(userId: string): Promise<Record<string, string>> {
    return this.#client.hGetAll(`user_unread:${userId}`);
  }
}
