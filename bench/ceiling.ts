/**
 * The ceiling: a bare node-redis client issuing, for each operation, the same Redis
 * writes or reads the messenger needs, as plain commands sent together (pipelined), with
 * no script, no checks and no validation. Nothing can do the same Redis work faster
 * from one Node process, so it is the fair bar.
 *
 * On a Redis Cluster it runs through a node-redis cluster client, which routes each
 * command by its key, on the messenger's own key names (hash tags included, so each key
 * lands on the node the messenger's would), and rings the doorbell with SPUBLISH.
 */
import { randomUUID } from 'node:crypto';
import { Keys } from '../src/core/keys.js';
import { isCluster, type RedisConnection } from '../src/redis/connect.js';

export class Ceiling {
  readonly #client: RedisConnection;
  readonly #keys: Keys;

  constructor(client: RedisConnection) {
    this.#client = client;
    this.#keys = new Keys(undefined, isCluster(client) ? 'cluster' : 'standalone');
  }

  /** The writes of createUser: the user hash, both name hashes, the counter, the index. */
  async createUser(username: string): Promise<string> {
    const id = randomUUID();
    const now = (Date.now() / 1000).toFixed(6);
    const [c, keys] = [this.#client, this.#keys];
    await Promise.all([
      c.hSet(keys.user(id), { user_id: id, username, created_at: now }),
      c.hSet(keys.usernames, username, id),
      c.hSet(keys.foldedUsernames, username.toLowerCase(), id),
      c.incr(keys.usernamesIndexed),
      c.zAdd(keys.userIndex, { score: Number(now), value: id }),
    ]);
    return id;
  }

  /** The writes of sendMessage: hash, the indexes, both recencies, the counter, the doorbell. */
  async sendMessage(
    sender: string,
    receiver: string,
    text: string,
    onId?: (id: string) => void,
  ): Promise<string> {
    const id = randomUUID();
    onId?.(id);
    const timestamp = (Date.now() / 1000).toFixed(6);
    const score = Number(timestamp);
    const member = this.#keys.messageMember(id, receiver);
    const [c, keys] = [this.#client, this.#keys];
    const channel = keys.inboxChannel(receiver);
    await Promise.all([
      c.hSet(keys.message(id, receiver), {
        message_id: id,
        sender_id: sender,
        receiver_id: receiver,
        message: text,
        timestamp,
        seen: 'False',
      }),
      c.zAdd(keys.inbox(receiver), { score, value: member }),
      c.zAdd(keys.conversation(sender, receiver), { score, value: member }),
      // On a cluster each user has a copy of the conversation (on one Redis, one key).
      isCluster(c) && c.zAdd(keys.conversation(receiver, sender), { score, value: member }),
      c.zAdd(keys.conversations(sender), { score, value: receiver }),
      c.zAdd(keys.conversations(receiver), { score, value: sender }),
      c.hIncrBy(keys.unread(receiver), sender, 1),
      isCluster(c) ? c.sPublish(channel, id) : c.publish(channel, id),
    ]);
    return id;
  }

  /** Entries `start` to `stop` (ranks) of a user's inbox: the members, then every hash at once. */
  readInbox(userId: string, start: number, stop: number): Promise<Record<string, string>[]> {
    return this.#readPage(this.#keys.inbox(userId), start, stop);
  }

  /** Entries `start` to `stop` of the conversation of two users, as `readInbox`. */
  readConversation(
    userId: string,
    otherId: string,
    start: number,
    stop: number,
  ): Promise<Record<string, string>[]> {
    return this.#readPage(this.#keys.conversation(userId, otherId), start, stop);
  }

  /** Users from the index: the ids, then every user hash at once. */
  async listUsers(count: number): Promise<Record<string, string>[]> {
    const ids = await this.#client.zRange(this.#keys.userIndex, 0, count - 1);
    return Promise.all(ids.map((id) => this.#client.hGetAll(this.#keys.user(id))));
  }

  async unreadCount(userId: string): Promise<Record<string, string>> {
    return this.#client.hGetAll(this.#keys.unread(userId));
  }

  /**
   * The bare doorbell: SUBSCRIBE on a connection of its own (SSUBSCRIBE through the
   * cluster client on a cluster) to the channel `sendMessage` rings. Resolves once Redis
   * confirmed, with a function that stops listening.
   */
  async listen(userId: string, onId: (id: string) => void): Promise<() => Promise<void>> {
    const c = this.#client;
    const channel = this.#keys.inboxChannel(userId);
    if (isCluster(c)) {
      await c.sSubscribe(channel, onId);
      return async () => {
        await c.sUnsubscribe(channel);
      };
    }
    const subscriber = c.duplicate();
    await subscriber.connect();
    await subscriber.subscribe(channel, onId);
    return async () => {
      await subscriber.close();
    };
  }

  async #readPage(index: string, start: number, stop: number): Promise<Record<string, string>[]> {
    const members = await this.#client.zRange(index, start, stop);
    return Promise.all(
      members.map((member) => this.#client.hGetAll(this.#keys.messageOfMember(member))),
    );
  }
}
