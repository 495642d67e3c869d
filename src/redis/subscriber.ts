/**
 * One pub/sub connection shared by every channel a process listens to: on one Redis a
 * single connection (SUBSCRIBE); on a Redis Cluster the cluster client's connection to
 * each master that serves a listened channel's slot (SSUBSCRIBE, sharded pub/sub, beside
 * the commands on it), following failovers and slot moves. Several listeners of one channel share one subscription of it, so opening and
 * closing a listener costs at most one round trip and never a connection set-up.
 *
 * Pub/sub is at most once: a listener is told when its channel may have missed messages
 * (`lost`, then `ready` once it listens again), and what it missed is for it to read
 * elsewhere. This module knows only Redis: channels are names, messages are strings.
 * @module
 */
import { closeClient, type RedisClient, type RedisCluster } from './connect.js';
import { withDeadline } from './deadline.js';
import { keySlot } from './key-slot.js';
import { watchLiveness } from './liveness.js';

/** What a listener of a channel hears. Calls must return quickly: they run on the connection's path. */
export interface ChannelListener {
  /** A message published on the channel, as published. */
  message(raw: string): void;
  /** The channel is listened to again after a gap (a reconnect, a failover, a slot move). */
  ready(): void;
  /** The connection is lost: messages may be missed until `ready`. */
  lost(): void;
}

/** One listener's hold on a channel. */
export interface Listening {
  /** Whether the channel is subscribed on a connection that is up now. */
  readonly isReady: boolean;
  /** Stops this listener; the channel is unsubscribed when its last listener stops. */
  close(): Promise<void>;
}

/** Listens to channels on shared connections. */
export interface Subscriber {
  /**
   * Starts `listener` on `channel`; resolves once Redis has confirmed the subscription
   * (at once when another listener already holds the channel).
   */
  listen(channel: string, listener: ChannelListener): Promise<Listening>;
  /** How many Redis connections it holds now. */
  readonly connections: number;
  /** How many channels are subscribed now. */
  readonly channels: number;
  /** Closes every connection; listeners hear nothing more. */
  close(): Promise<void>;
}

/** How long one subscribe or unsubscribe may wait for Redis: a silent node must not hold a listener forever. */
const STEP_MS = 2000;
const stepLate = () => new Error(`Redis did not confirm the subscription within ${STEP_MS} ms`);

/** The listeners of one channel, and whether Redis has confirmed the subscription. */
interface Channel {
  readonly name: string;
  readonly listeners: Set<ChannelListener>;
  /** Settles once the channel is subscribed (or failed to be, for its first listener). */
  subscribed: Promise<void>;
}

function newChannel(name: string): Channel {
  return { name, listeners: new Set(), subscribed: Promise.resolve() };
}

/** Calls `tell` for every listener of the channels; one listener's failure is not the others'. */
function tellAll(channels: Iterable<Channel>, tell: (listener: ChannelListener) => void): void {
  for (const channel of channels) {
    for (const listener of [...channel.listeners]) {
      try {
        tell(listener);
      } catch {
        // A listener's own failure; the subscription layer reports its errors itself.
      }
    }
  }
}

/**
 * The bookkeeping both kinds share: channels by name, each with its listeners, and a
 * channel's unsubscribe finishing before the same channel is subscribed again (so that
 * an UNSUBSCRIBE still on its way cannot undo the new subscription).
 */
abstract class SharedSubscriber implements Subscriber {
  protected readonly byName = new Map<string, Channel>();
  readonly #leaving = new Map<string, Promise<void>>();
  protected closed = false;

  abstract readonly connections: number;
  /** Subscribes the channel on the connection that serves it. */
  protected abstract subscribe(channel: Channel): Promise<void>;
  /** Unsubscribes a channel whose last listener left (best effort: the connection may be down). */
  protected abstract unsubscribe(channel: Channel): Promise<void>;
  /** Whether the channel is subscribed on a connection that is up now. */
  protected abstract isListening(channel: Channel): boolean;
  protected abstract closeConnections(): Promise<void>;

  get channels(): number {
    return this.byName.size;
  }

  async listen(name: string, listener: ChannelListener): Promise<Listening> {
    if (this.closed) throw new Error('the subscriber is closed');
    await this.#leaving.get(name);
    let channel = this.byName.get(name);
    if (!channel) {
      const fresh = newChannel(name);
      this.byName.set(name, fresh);
      fresh.subscribed = this.subscribe(fresh).catch((error: unknown) => {
        if (this.byName.get(name) === fresh) this.byName.delete(name);
        throw error;
      });
      channel = fresh;
    }
    channel.listeners.add(listener);
    try {
      await channel.subscribed;
    } catch (error) {
      channel.listeners.delete(listener);
      throw error;
    }
    const held = channel;
    const isListening = () => this.isListening(held);
    let stopped = false;
    return {
      get isReady() {
        return !stopped && isListening();
      },
      close: async () => {
        if (stopped) return;
        stopped = true;
        await this.#leave(held, listener);
      },
    };
  }

  async #leave(channel: Channel, listener: ChannelListener): Promise<void> {
    channel.listeners.delete(listener);
    if (channel.listeners.size > 0 || this.byName.get(channel.name) !== channel) return;
    this.byName.delete(channel.name);
    if (this.closed) return;
    const leaving = this.unsubscribe(channel)
      .catch(() => {
        // The connection is down: its reconnect will not subscribe a channel nobody holds.
      })
      .finally(() => {
        if (this.#leaving.get(channel.name) === leaving) this.#leaving.delete(channel.name);
      });
    this.#leaving.set(channel.name, leaving);
    await leaving;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.byName.clear();
    await this.closeConnections();
  }

  /** Delivers a message to the channel's listeners. */
  protected dispatch(channel: Channel, raw: string): void {
    for (const listener of [...channel.listeners]) {
      try {
        listener.message(raw);
      } catch {
        // As in tellAll.
      }
    }
  }
}

/**
 * On one Redis: one connection, opened on the first listen. node-redis subscribes every
 * channel again by itself after a reconnect, before it reports 'ready'.
 */
export class ChannelSubscriber extends SharedSubscriber {
  readonly #connect: () => Promise<RedisClient>;
  #client: Promise<RedisClient> | undefined;
  #opened: RedisClient | undefined;
  /**
   * Channels whose last listener left while the connection was down: node-redis forgets
   * a channel only once Redis confirms the UNSUBSCRIBE, and subscribes again what it has
   * not forgotten when it reconnects. They are unsubscribed once it is back.
   */
  readonly #stale = new Set<string>();
  /** Set when a stuck socket was dropped: its subscriptions must be made again. */
  #subscribeAllAgain = false;

  /** `connect` opens a new connection to the Redis. */
  constructor(connect: () => Promise<RedisClient>) {
    super();
    this.#connect = connect;
  }

  get connections(): number {
    return this.#opened?.isOpen ? 1 : 0;
  }

  #connection(): Promise<RedisClient> {
    this.#client ??= this.#connect().then(
      (client) => {
        if (this.closed) {
          void closeClient(client);
          throw new Error('the subscriber is closed');
        }
        this.#opened = client;
        client.on('error', () => tellAll(this.byName.values(), (l) => l.lost()));
        client.on('reconnecting', () => tellAll(this.byName.values(), (l) => l.lost()));
        client.on('ready', () => void this.#back(client));
        watchLiveness(client, { stuck: () => this.#stuck(client) });
        return client;
      },
      (error: unknown) => {
        // Redis was not there: the next listen tries again.
        this.#client = undefined;
        throw error;
      },
    );
    return this.#client;
  }

  /**
   * The connection stopped answering but stays open: drop its socket and connect again.
   * node-redis forgets every subscription of a socket it was told to drop, so they are
   * all made again once it is back (#back).
   */
  #stuck(client: RedisClient): void {
    tellAll(this.byName.values(), (l) => l.lost());
    this.#subscribeAllAgain = true;
    client.destroy();
    client.connect().catch(() => {});
  }

  /** Back after a reconnect: listening again, then every listener is told. */
  async #back(client: RedisClient): Promise<void> {
    this.#unsubscribeStale(client);
    if (this.#subscribeAllAgain) {
      this.#subscribeAllAgain = false;
      try {
        await Promise.all(
          [...this.byName.values()].map((channel) =>
            withDeadline(
              client.subscribe(channel.name, (raw) => this.dispatch(channel, raw)),
              STEP_MS,
              stepLate,
            ),
          ),
        );
      } catch {
        // Down again, or silent: the next reconnect (or stuck ping) tries again.
        this.#subscribeAllAgain = true;
        return;
      }
    }
    tellAll(this.byName.values(), (l) => l.ready());
  }

  protected async subscribe(channel: Channel): Promise<void> {
    const client = await this.#connection();
    this.#stale.delete(channel.name);
    await withDeadline(
      client.subscribe(channel.name, (raw) => this.dispatch(channel, raw)),
      STEP_MS,
      stepLate,
    );
  }

  protected async unsubscribe(channel: Channel): Promise<void> {
    const client = await this.#client;
    if (!client) return;
    if (!client.isReady) this.#stale.add(channel.name);
    else await withDeadline(client.unsubscribe(channel.name), STEP_MS, stepLate);
  }

  #unsubscribeStale(client: RedisClient): void {
    const names = [...this.#stale].filter((name) => !this.byName.has(name));
    this.#stale.clear();
    if (names.length === 0) return;
    client.unsubscribe(names).catch(() => {
      for (const name of names) this.#stale.add(name);
    });
  }

  protected isListening(): boolean {
    return this.#opened?.isReady === true;
  }

  protected async closeConnections(): Promise<void> {
    const client = await this.#client?.catch(() => undefined);
    if (client) await closeClient(client);
  }
}

/** After a failed placement: try again after 100 ms, doubling up to 2 s. */
const PLACE_RETRY_FIRST_MS = 100;
const PLACE_RETRY_MAX_MS = 2000;
/**
 * While a connection is down, how often to ask whether another node serves its slots now:
 * the connection's own reconnect attempts back off to 2 s, and a failover is usually over
 * sooner than that.
 */
const WATCH_MS = 200;
/** How often to look whether the cluster client re-read its slot map (see #followMap). */
const MAP_CHECK_MS = 500;

/** The cluster client's connection to one master, and the channels subscribed on it. */
interface Shard {
  readonly address: string;
  readonly client: Promise<RedisClient>;
  opened: RedisClient | undefined;
  readonly channels: Set<Channel>;
  /** Channels whose last listener left while it was down (as ChannelSubscriber's #stale). */
  readonly stale: Set<string>;
  watch: NodeJS.Timeout | undefined;
  /** Set once it is replaced: its events are no news any more. */
  retired: boolean;
  /** Removes the listeners this subscriber put on the connection. */
  unwire: () => void;
}

/**
 * On a Redis Cluster: the sharded channels of the slots each master serves, as the
 * messenger's cluster client knows them, subscribed on the cluster client's own
 * connection to that master. Under RESP3 (node-redis's default) a connection runs
 * commands while it is subscribed, so the commands of the messenger and its sharded
 * subscriptions share one connection per master (./slot-router.ts sends on the same).
 * The connections are the cluster client's: it opens, watches (connect.ts replaces one
 * that falls silent; node-redis subscribes again on the new socket) and closes them;
 * this subscriber only subscribes and unsubscribes.
 *
 * When a connection drops, it asks every 200 ms whether its slots have moved (a replica
 * promoted after a failover); when one has, or when a connection comes back on a node
 * that no longer serves a channel, the shard is retired and each of its channels is
 * subscribed again where its slot is. A slot moved by resharding while connected ends
 * that channel's subscription (Redis says so: #guard hears it), and the channel follows
 * its slot; the channels are also checked against the slot map whenever the cluster
 * client re-reads it, in case that word crossed a SUNSUBSCRIBE of ours.
 */
export class ShardedSubscriber extends SharedSubscriber {
  readonly #cluster: RedisCluster;
  readonly #shards = new Map<string, Shard>();
  /** Channels waiting to be subscribed again after a failed placement, and the retry. */
  readonly #homeless = new Set<Channel>();
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = PLACE_RETRY_FIRST_MS;
  /** The slot map last checked (the cluster client makes a new one on each re-read). */
  #map: unknown;
  #mapTimer: NodeJS.Timeout | undefined;
  /** Each channel's one message listener (node-redis keeps a set: the same one never twice). */
  readonly #hearing = new WeakMap<Channel, (raw: string) => void>();
  /** Our SUNSUBSCRIBEs on each connection that Redis has not answered yet, by channel. */
  readonly #leavingOn = new WeakMap<RedisClient, Map<string, number>>();
  /** The connections whose pushes this subscriber sees first (#guard). */
  readonly #guarded = new WeakSet<RedisClient>();

  /** `cluster` is the messenger's cluster client: its slot map says where a channel goes. */
  constructor(cluster: RedisCluster) {
    super();
    this.#cluster = cluster;
  }

  get connections(): number {
    return [...this.#shards.values()].filter((shard) => shard.opened?.isOpen).length;
  }

  /** The master that serves the channel's slot, as the cluster client knows it. */
  #master(channel: string): ReturnType<RedisCluster['getSlotMaster']> {
    return this.#cluster.getSlotMaster(keySlot(channel));
  }

  #hear(channel: Channel): (raw: string) => void {
    let hear = this.#hearing.get(channel);
    if (!hear) {
      hear = (raw) => this.dispatch(channel, raw);
      this.#hearing.set(channel, hear);
    }
    return hear;
  }

  protected async subscribe(channel: Channel): Promise<void> {
    const shard = this.#shard(this.#master(channel.name));
    const client = await shard.client;
    shard.stale.delete(channel.name);
    await withDeadline(client.sSubscribe(channel.name, this.#hear(channel)), STEP_MS, stepLate);
    if (shard.retired) {
      this.#release(client, channel.name);
      throw new Error('the connection was replaced while subscribing');
    }
    shard.channels.add(channel);
  }

  protected async unsubscribe(channel: Channel): Promise<void> {
    for (const shard of this.#shards.values()) {
      if (!shard.channels.delete(channel)) continue;
      if (shard.opened?.isReady)
        await withDeadline(this.#sUnsubscribe(shard.opened, channel.name), STEP_MS, stepLate);
      else shard.stale.add(channel.name);
    }
    this.#homeless.delete(channel);
  }

  protected isListening(channel: Channel): boolean {
    for (const shard of this.#shards.values()) {
      if (shard.channels.has(channel)) return !shard.retired && shard.opened?.isReady === true;
    }
    return false;
  }

  protected async closeConnections(): Promise<void> {
    clearTimeout(this.#retryTimer);
    clearInterval(this.#mapTimer);
    this.#homeless.clear();
    const shards = [...this.#shards.values()];
    this.#shards.clear();
    await Promise.all(shards.map((shard) => this.#retire(shard)));
  }

  /** A master's connection as a shard, wired on first use. */
  #shard(master: ReturnType<RedisCluster['getSlotMaster']>): Shard {
    const existing = this.#shards.get(master.address);
    if (existing) return existing;
    this.#mapTimer ??= setInterval(() => this.#followMap(), MAP_CHECK_MS);
    this.#mapTimer.unref();
    const shard: Shard = {
      address: master.address,
      client: this.#cluster.nodeClient(master) as Promise<RedisClient>,
      opened: undefined,
      channels: new Set(),
      stale: new Set(),
      watch: undefined,
      retired: false,
      unwire: () => {},
    };
    this.#shards.set(master.address, shard);
    shard.client.then(
      (client) => {
        if (this.closed || shard.retired) return;
        shard.opened = client;
        this.#guard(client);
        const current = () => !shard.retired && !this.closed;
        const lost = () => current() && this.#lost(shard);
        const back = () => current() && void this.#back(shard);
        // Resharding moved the channel's slot while we listened: Redis ended that
        // subscription (node-redis has forgotten it), so it follows the slot alone. (Seen
        // by #guard first, but for an answer that crossed a SUNSUBSCRIBE of ours.)
        const moved = (name: string) => {
          const channel = this.byName.get(name);
          if (!current() || !channel || !shard.channels.delete(channel)) return;
          tellAll([channel], (l) => l.lost());
          this.#place([channel]);
        };
        // 'end': the cluster client dropped the connection (to replace a silent socket,
        // or since the node serves no slot any more).
        client.on('error', lost);
        client.on('reconnecting', lost);
        client.on('end', lost);
        client.on('ready', back);
        client.on('sharded-channel-moved', moved);
        shard.unwire = () => {
          client.off('error', lost);
          client.off('reconnecting', lost);
          client.off('end', lost);
          client.off('ready', back);
          client.off('sharded-channel-moved', moved);
        };
      },
      () => {
        // Not reachable: forget it, so that the next placement connects again.
        shard.retired = true;
        if (this.#shards.get(shard.address) === shard) this.#shards.delete(shard.address);
      },
    );
    return shard;
  }

  /**
   * Stops hearing a channel on a connection that stays the cluster client's: node-redis
   * forgets it at once (so it neither delivers nor subscribes it again on a reconnect),
   * and Redis is told when the connection is up.
   */
  #release(client: RedisClient, name: string): void {
    client.getPubSubListeners('SHARDED').delete(name);
    if (client.isReady)
      withDeadline(this.#sUnsubscribe(client, name), STEP_MS, stepLate).catch(() => {
        // Down or silent: the cluster client replaces the socket, and the channel is gone.
      });
  }

  /** SUNSUBSCRIBE, noted until Redis answers it (#guard tells its answer from Redis's own word). */
  #sUnsubscribe(client: RedisClient, name: string): Promise<void> {
    let names = this.#leavingOn.get(client);
    if (!names) {
      names = new Map();
      this.#leavingOn.set(client, names);
    }
    const leaving = names;
    leaving.set(name, (leaving.get(name) ?? 0) + 1);
    return client.sUnsubscribe(name).finally(() => {
      const left = (leaving.get(name) ?? 1) - 1;
      if (left > 0) leaving.set(name, left);
      else leaving.delete(name);
    });
  }

  /**
   * Sees the connection's pushes before node-redis does, to take the SUNSUBSCRIBEs Redis
   * sends of its own (a slot moved away) out of its hands. node-redis takes any such push
   * for the answer to a SUNSUBSCRIBE of its own whenever a command is waiting for its
   * reply, which on a connection shared with commands is most of the time: it then
   * answers that command with nothing, or with the next command's reply, and never says
   * that the channel's subscription ended. (Its own reading is right only on a connection
   * that does nothing but subscribe.) Here the channel is forgotten by node-redis and
   * follows its slot; every other push goes on to node-redis as it came.
   */
  #guard(client: RedisClient): void {
    if (this.#guarded.has(client)) return;
    this.#guarded.add(client);
    const { decoder } = client._getQueue();
    const onPush = decoder.onPush;
    decoder.onPush = (push) => (this.#endedByRedis(client, push) ? undefined : onPush(push));
  }

  /** Whether `push` is Redis ending a sharded subscription on `client` by itself; if so, follows it. */
  #endedByRedis(client: RedisClient, push: unknown[]): boolean {
    // Most pushes are messages ('smessage'): told apart by length before any conversion.
    const kind = push[0] as { length?: number } | undefined;
    if (kind?.length !== 12 || String(kind).toLowerCase() !== 'sunsubscribe') return false;
    const name = String(push[1]);
    // The answer to one of ours.
    if (this.#leavingOn.get(client)?.has(name)) return false;
    client.getPubSubListeners('SHARDED').delete(name);
    const channel = this.byName.get(name);
    if (this.closed || !channel) return true;
    for (const shard of this.#shards.values()) {
      if (shard.opened !== client || shard.retired || !shard.channels.delete(channel)) continue;
      tellAll([channel], (l) => l.lost());
      this.#place([channel]);
    }
    return true;
  }

  #lost(shard: Shard): void {
    tellAll(shard.channels, (l) => l.lost());
    shard.watch ??= setInterval(() => this.#followSlots(shard), WATCH_MS);
    this.#followSlots(shard);
  }

  /** Back on its node: if that node still serves every channel's slot, they are ready. */
  async #back(shard: Shard): Promise<void> {
    clearInterval(shard.watch);
    shard.watch = undefined;
    // The node may have come back as a replica; make the cluster client look again.
    const first = shard.channels.values().next().value;
    if (first) await this.#refreshSlots(first.name);
    if (shard.retired || this.closed) return;
    if (!this.#servesAll(shard)) {
      this.#replace(shard);
      return;
    }
    const stale = [...shard.stale].filter((name) => !this.byName.has(name));
    shard.stale.clear();
    const { opened } = shard;
    if (opened)
      for (const name of stale) this.#sUnsubscribe(opened, name).catch(() => shard.stale.add(name));
    tellAll(shard.channels, (l) => l.ready());
  }

  /** Whether the shard's connection is still the cluster client's for a master serving all its channels. */
  #servesAll(shard: Shard): boolean {
    if (shard.opened && this.#cluster.nodeByAddress.get(shard.address)?.client !== shard.opened)
      return false;
    return [...shard.channels].every((c) => this.#master(c.name).address === shard.address);
  }

  /** While the connection is down: when the cluster client knows another master for a slot, move. */
  #followSlots(shard: Shard): void {
    if (shard.retired || this.#servesAll(shard)) return;
    this.#replace(shard);
  }

  /**
   * After the cluster client re-read its slot map: the channels whose slot another master
   * serves now move there (their listeners hear `lost`, then `ready`), in case Redis's
   * word that it ended their subscription did not get through.
   */
  #followMap(): void {
    let map: unknown;
    try {
      map = this.#cluster.slots;
    } catch {
      return;
    }
    if (map === this.#map) return;
    this.#map = map;
    for (const shard of [...this.#shards.values()]) {
      if (shard.retired || !shard.opened?.isReady) continue;
      const moved = [...shard.channels].filter(
        (c) => this.#master(c.name).address !== shard.address,
      );
      if (moved.length === 0) continue;
      for (const channel of moved) {
        shard.channels.delete(channel);
        this.#release(shard.opened, channel.name);
      }
      tellAll(moved, (l) => l.lost());
      this.#place(moved);
    }
  }

  /** Retires a shard and subscribes each of its channels again where its slot is now. */
  #replace(shard: Shard): void {
    const channels = [...shard.channels];
    void this.#retire(shard);
    this.#place(channels);
  }

  async #retire(shard: Shard): Promise<void> {
    shard.retired = true;
    clearInterval(shard.watch);
    shard.unwire();
    if (this.#shards.get(shard.address) === shard) this.#shards.delete(shard.address);
    const client = await shard.client.catch(() => undefined);
    // The connection stays the cluster client's: only this subscriber's channels leave it.
    if (client) for (const channel of shard.channels) this.#release(client, channel.name);
    shard.channels.clear();
  }

  /**
   * Subscribes channels that lost their connection where their slots are now, and tells
   * their listeners `ready` once each is subscribed. A channel that fails is tried again
   * later, after the cluster client has been made to look at its slot again.
   */
  #place(channels: Channel[]): void {
    for (const channel of channels) {
      if (this.closed || this.byName.get(channel.name) !== channel) continue;
      channel.subscribed = this.#refreshSlots(channel.name)
        .then(() => this.subscribe(channel))
        .then(
          () => {
            this.#homeless.delete(channel);
            if (this.byName.get(channel.name) !== channel) {
              // Its last listener left meanwhile.
              void this.unsubscribe(channel).catch(() => {});
              return;
            }
            this.#retryDelay = PLACE_RETRY_FIRST_MS;
            tellAll([channel], (l) => l.ready());
          },
          () => {
            if (this.closed || this.byName.get(channel.name) !== channel) return;
            this.#homeless.add(channel);
            this.#retryLater();
          },
        );
    }
  }

  #retryLater(): void {
    if (this.#retryTimer) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      const channels = [...this.#homeless];
      this.#homeless.clear();
      this.#place(channels);
    }, this.#retryDelay);
    this.#retryDelay = Math.min(this.#retryDelay * 2, PLACE_RETRY_MAX_MS);
  }

  /**
   * Makes the cluster client learn who serves the channel's slot now. It re-reads its
   * slot map when a node answers MOVED (or after a failed reconnect), and nothing else
   * may touch this slot for a while: so touch it. A sharded channel's name is also a key
   * in its slot; EXISTS reads it without changing anything.
   */
  async #refreshSlots(channel: string): Promise<void> {
    try {
      await withDeadline(this.#cluster.exists(channel), STEP_MS, stepLate);
    } catch {
      // The node may be down or silent (a failover under way): the subscribe that
      // follows fails or succeeds on its own, and a failed one is tried again.
    }
  }
}
