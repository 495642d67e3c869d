/**
 * The doorbell of a user's inbox: a pub/sub subscription on a connection of its own,
 * rung once for every message stored in the inbox. It only says "look"; the inbox is
 * the mailbox (./live.ts). On one Redis it is a plain channel (SUBSCRIBE); on a Redis
 * Cluster a sharded channel (SSUBSCRIBE) on the master serving the inbox's slot, which
 * it follows to another node after a failover.
 * @module
 */
import { closeClient, nodeUrl, type RedisClient, type RedisCluster } from '../redis/connect.js';
import { withDeadline } from '../redis/deadline.js';
import { keySlot } from '../redis/key-slot.js';

/** What a doorbell tells its subscription. */
export interface DoorbellEvents {
  /** A doorbell message arrived (raw, as published). */
  ring(raw: string): void;
  /** The doorbell listens again after a gap (a reconnect, a move): something may have been missed. */
  ready(): void;
  /** The connection is lost; rings may be missed until `ready`. */
  lost(): void;
}

export interface Doorbell {
  /** Subscribes; resolves once Redis has confirmed it. */
  listen(): Promise<void>;
  /** Whether it is connected and subscribed now. */
  readonly isReady: boolean;
  close(): Promise<void>;
}

/** A doorbell on one Redis: node-redis subscribes again by itself before it reports 'ready'. */
export class ChannelDoorbell implements Doorbell {
  private constructor(
    private readonly client: RedisClient,
    private readonly channel: string,
    private readonly events: DoorbellEvents,
  ) {}

  static async open(
    connect: () => Promise<RedisClient>,
    channel: string,
    events: DoorbellEvents,
  ): Promise<ChannelDoorbell> {
    const client = await connect();
    client.on('error', () => events.lost());
    client.on('reconnecting', () => events.lost());
    client.on('ready', () => events.ready());
    return new ChannelDoorbell(client, channel, events);
  }

  listen(): Promise<void> {
    return this.client.subscribe(this.channel, (raw) => this.events.ring(raw));
  }

  get isReady(): boolean {
    return this.client.isReady;
  }

  close(): Promise<void> {
    return closeClient(this.client);
  }
}

/** After a failed move: try again after 100 ms, doubling up to 2 s. */
const MOVE_RETRY_FIRST_MS = 100;
const MOVE_RETRY_MAX_MS = 2000;
/**
 * While disconnected, how often to ask whether another node serves the slot now: the
 * connection's own reconnect attempts back off to 2 s, and a failover is usually over
 * sooner than that.
 */
const WATCH_MS = 200;
/**
 * How long one step of a move (asking the cluster who serves the slot, subscribing there)
 * may take: a node that accepts and never answers (paused, cut off) must not hold the
 * move, or close(), forever. The move is tried again after.
 */
const MOVE_STEP_MS = 2000;
const moveStepLate = () => new Error(`no answer within ${MOVE_STEP_MS} ms`);

/**
 * A doorbell on a Redis Cluster: a connection of its own to the master that serves the
 * channel's slot, as the messenger's cluster client knows it. While that connection is
 * down it asks, every 200 ms, whether another node serves the slot now (a replica
 * promoted after a failover) and if so moves there, subscribes, and reports `ready` so
 * that the subscription catches up on what it missed meanwhile.
 */
export class ShardedDoorbell implements Doorbell {
  #client: RedisClient | undefined;
  #address = '';
  #moving: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #retryDelay = MOVE_RETRY_FIRST_MS;
  #watch: NodeJS.Timeout | undefined;
  #closed = false;

  private constructor(
    private readonly cluster: RedisCluster,
    /** A URL of the cluster, for its credentials and TLS. */
    private readonly likeUrl: string,
    private readonly connect: (url: string) => Promise<RedisClient>,
    private readonly channel: string,
    private readonly events: DoorbellEvents,
  ) {}

  static async open(
    cluster: RedisCluster,
    likeUrl: string,
    connect: (url: string) => Promise<RedisClient>,
    channel: string,
    events: DoorbellEvents,
  ): Promise<ShardedDoorbell> {
    const doorbell = new ShardedDoorbell(cluster, likeUrl, connect, channel, events);
    await doorbell.#connect();
    return doorbell;
  }

  listen(): Promise<void> {
    const client = this.#client;
    if (!client) return Promise.reject(new Error('the doorbell is not connected'));
    return client.sSubscribe(this.channel, (raw) => this.events.ring(raw));
  }

  get isReady(): boolean {
    return this.#moving === undefined && this.#client?.isReady === true;
  }

  /**
   * Closes the connection. It does not wait for a move under way (which may be waiting
   * for a silent node): the move closes whatever it opens once it sees this.
   */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#watch);
    const client = this.#client;
    this.#client = undefined;
    if (client) await closeClient(client);
  }

  /** The address of the master serving the channel's slot, as the cluster client knows it. */
  #master(): { host: string; port: number; address: string } {
    return this.cluster.getSlotMaster(keySlot(this.channel));
  }

  async #connect(): Promise<void> {
    const master = this.#master();
    const client = await this.connect(nodeUrl(this.likeUrl, master.host, master.port));
    if (this.#closed) {
      await closeClient(client);
      return;
    }
    this.#client = client;
    this.#address = master.address;
    // Events of a connection that a move has replaced are no news.
    const current = () => this.#client === client && !this.#closed;
    client.on('error', () => current() && this.#lost());
    client.on('reconnecting', () => current() && this.#lost());
    client.on('ready', () => {
      if (!current()) return;
      clearInterval(this.#watch);
      this.#watch = undefined;
      // Back on the old address, which may serve other slots now (a master that came
      // back as a replica): listen where the slot is.
      if (this.#master().address === this.#address) this.events.ready();
      else this.#move();
    });
    // The slot was moved to another node while we listened (resharding): Redis ended
    // the subscription, so follow it.
    client.on('sharded-channel-moved', () => {
      if (!current()) return;
      this.events.lost();
      this.#move();
    });
  }

  #lost(): void {
    this.events.lost();
    this.#watch ??= setInterval(() => this.#followSlot(), WATCH_MS);
    this.#followSlot();
  }

  /** Moves if the cluster client now knows another master for the slot. */
  #followSlot(): void {
    if (this.#master().address === this.#address) return;
    clearInterval(this.#watch);
    this.#watch = undefined;
    this.#move();
  }

  /**
   * Makes the cluster client learn who serves the channel's slot now. It re-reads its slot
   * map when a node answers MOVED (or after a failed reconnect), and nothing else may
   * touch this slot for a while: so touch it. The channel's name is also the name of a
   * key in its slot (the inbox); EXISTS reads it without changing anything.
   */
  async #refreshSlots(): Promise<void> {
    try {
      await withDeadline(this.cluster.exists(this.channel), MOVE_STEP_MS, moveStepLate);
    } catch {
      // The node may be down or silent (a failover under way): connecting to whichever
      // node the map names fails or succeeds on its own, and a failed move is retried.
    }
  }

  /** Replaces the connection with one to the slot's master now, and listens there. */
  #move(): void {
    if (this.#closed || this.#moving) return;
    this.#moving = (async () => {
      const old = this.#client;
      this.#client = undefined;
      if (old) await closeClient(old, 0);
      await this.#refreshSlots();
      await this.#connect();
      await withDeadline(this.listen(), MOVE_STEP_MS, moveStepLate);
    })().then(
      () => {
        this.#moving = undefined;
        this.#retryDelay = MOVE_RETRY_FIRST_MS;
        clearInterval(this.#watch);
        this.#watch = undefined;
        if (!this.#closed) this.events.ready();
        else if (this.#client) void closeClient(this.#client);
      },
      () => {
        this.#moving = undefined;
        if (this.#closed) return;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#move(), this.#retryDelay);
        this.#retryDelay = Math.min(this.#retryDelay * 2, MOVE_RETRY_MAX_MS);
      },
    );
  }
}
