/**
 * Fault: a Redis Cluster master is killed (SIGKILL) under a steady send load. The cluster
 * has 3 masters and 1 replica each; receivers' inboxes lie on every shard; 8 loops send
 * round the receivers, each retrying a failed send with its message id while
 * `isUnconfirmed(error)`, as a careful caller would, for at most 20 s. After 1.5 s of load
 * the master serving a watched receiver's inbox is killed, and the load goes on until the
 * client has followed the promotion of its replica, and 1.5 s more.
 *
 * - Default options: replication is asynchronous, so messages acknowledged just before
 *   the kill may be lost. The number is reported, not judged; what is judged: the run made
 *   progress, sends to the killed shard succeed again within 15 s of the kill, every send
 *   is acknowledged in the end, and none acknowledged by an attempt made after the kill
 *   is lost.
 * - `waitForReplicas: 1`: no acknowledged message is lost. The promoted replica has no
 *   replica of its own, so every send that touches its shard is refused
 *   (NotReplicatedError) until the killed node is back; the test restarts it 2 s after the
 *   promotion, and it rejoins as the new master's replica.
 *
 * In both, a live subscriber of the watched receiver delivers every message of its final
 * inbox, in inbox order, once each, within 10 s of the end of the load.
 *
 * Positive control: on one machine a killed master has usually handed its last writes to
 * the kernel, which delivers them to the replica, so the default run tends to lose
 * nothing. A replica that lags (paused, behind a few MB of other traffic) when its master
 * is killed loses everything acknowledged meanwhile: 100 of 100, which proves this
 * harness sees loss when there is loss; `waitForReplicas: 1` refuses the send instead.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it, type TestContext } from 'node:test';
import { createClient } from 'redis';
import { Keys } from '../../src/core/keys.js';
import {
  type InboxSubscription,
  isUnconfirmed,
  type MessengerOptions,
  RedisMessenger,
} from '../../src/index.js';
import { keySlot, startRedisCluster } from '../support/redis-cluster.js';
import { eventually, within } from '../support/wait.js';
import { bump, errorName, PendingTracker, report, sleep } from './support/faults.js';
import { killMaster, replicasCaughtUp } from './support/replication.js';

/** Concurrent send loops. */
const SENDERS = 8;
const RECEIVERS_PER_SHARD = 2;
const LOAD_BEFORE_KILL_MS = 1500;
const LOAD_AFTER_RECOVERY_MS = 1500;
/** From the kill until a send to the killed shard is acknowledged again. */
const RECOVERY_BOUND_MS = 15_000;
/** A send still unacknowledged this long after its first attempt is given up (and fails the test). */
const SEND_GIVE_UP_MS = 20_000;
/** With waitForReplicas: from the promotion until the killed node is started again. */
const RESTART_DELAY_MS = 2000;
/** From the end of the load until the subscriber has delivered the whole inbox. */
const SUBSCRIBER_BOUND_MS = 10_000;

interface Send {
  id: string;
  receiver: string;
  firstAttemptAt: number;
  attempts: number;
  /** When sendMessage resolved, if it did. */
  ackedAt?: number;
  /** When the attempt that was acknowledged began. */
  ackedAttemptAt?: number;
}

it('a master killed under load, default options: the client follows the promotion; acknowledged messages lost are counted', {
  timeout: 40_000,
}, async (t) => {
  await failoverRun(t, {}, { restartKilled: false });
});

it('a master killed under load, waitForReplicas 1: no acknowledged message lost', {
  timeout: 40_000,
}, async (t) => {
  await failoverRun(t, { waitForReplicas: 1 }, { restartKilled: true });
});

it('positive control: a master killed while its replica lags loses what it acknowledged meanwhile, and this harness counts it', {
  timeout: 30_000,
}, async (t) => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const messengers: RedisMessenger[] = [];
  const raws: { destroy(): void }[] = [];
  try {
    const namespace = `failover-control-${randomUUID()}`;
    const keys = new Keys(namespace, 'cluster');
    const connect = async (extra: MessengerOptions) => {
      const messenger = await RedisMessenger.connect({
        cluster: [...cluster.urls],
        namespace,
        commandTimeoutMs: 2000,
        ...extra,
      });
      messengers.push(messenger);
      return messenger;
    };
    const hasty = await connect({});
    const careful = await connect({ waitForReplicas: 1, replicaTimeoutMs: 200 });
    const [a, b] = [await hasty.createUser('a'), await hasty.createUser('b')];
    const before: string[] = [];
    for (let i = 0; i < 20; i++) before.push(await hasty.sendMessage(a, b, `before ${i}`));
    await replicasCaughtUp(cluster, 5000);

    const victim = await cluster.masterOf(keySlot(keys.inbox(b)));
    const raw = createClient({ url: victim.url });
    raws.push(raw);
    raw.on('error', () => {});
    await raw.connect();
    const replicaPort = /^slave0:.*port=(\d+)/m.exec(await raw.info('replication'))?.[1];
    const replica = cluster.nodes.find((node) => String(node.port) === replicaPort);
    assert.ok(replica, 'the inbox master has a replica');
    // A paused replica still receives into its socket buffer: fill that first (a few MB of
    // other traffic on the same master), so that what follows waits in the master's memory.
    replica.signal('SIGSTOP');
    const filler = 'x'.repeat(1 << 20);
    const waiting = async () =>
      Number(/omem=(\d+)/.exec(await raw.sendCommand(['CLIENT', 'LIST', 'TYPE', 'replica']))?.[1]);
    for (let i = 0; i < 64 && (await waiting()) < filler.length; i++) {
      await raw.set(`replication-filler:{${b}}:${i}`, filler);
    }
    assert.ok((await waiting()) >= filler.length, 'writes wait in the master for the replica');
    const during: string[] = [];
    for (let i = 0; i < 100; i++) during.push(await hasty.sendMessage(a, b, `during ${i}`));
    const refused = await careful.sendMessage(a, b, 'careful').then(
      () => 'acknowledged',
      (error: unknown) => `${errorName(error)}, unconfirmed: ${isUnconfirmed(error)}`,
    );

    victim.signal('SIGKILL');
    await eventually(() => !victim.alive, 2000, 'the killed master to exit');
    replica.signal('SIGCONT');
    await cluster.waitForStable(15_000);
    const inbox = await retry(10_000, () => wholeInbox(hasty, b));
    const stored = new Set(inbox);
    const lostBefore = before.filter((id) => !stored.has(id)).length;
    const lostDuring = during.filter((id) => !stored.has(id)).length;
    report(
      t,
      `cluster failover, lagging replica: acknowledged before the lag ${before.length}, lost ${lostBefore}; acknowledged while the replica lagged ${during.length}, LOST ${lostDuring}; waitForReplicas 1 meanwhile: ${refused}`,
    );
    assert.equal(lostBefore, 0);
    assert.equal(lostDuring, during.length, 'the harness sees loss when there is loss');
    assert.equal(refused, 'NotReplicatedError, unconfirmed: true');
  } finally {
    for (const raw of raws) raw.destroy();
    await Promise.allSettled(messengers.map((messenger) => messenger.close()));
    await cluster.stop();
  }
});

/** `work` until it succeeds, or its last error once `ms` have passed. */
async function retry<T>(ms: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

async function failoverRun(
  t: TestContext,
  options: MessengerOptions,
  { restartKilled }: { restartKilled: boolean },
): Promise<void> {
  const label = options.waitForReplicas ? `waitForReplicas ${options.waitForReplicas}` : 'default';
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1 });
  const messengers: RedisMessenger[] = [];
  let subscription: InboxSubscription | undefined;
  let stopping = false;
  let loops: Promise<unknown> | undefined;
  try {
    const namespace = `failover-${randomUUID()}`;
    const keys = new Keys(namespace, 'cluster');
    const connect = async (extra: MessengerOptions) => {
      const messenger = await RedisMessenger.connect({
        cluster: [...cluster.urls],
        namespace,
        commandTimeoutMs: 2000,
        ...extra,
      });
      messengers.push(messenger);
      return messenger;
    };
    const sending = await connect(options);
    const watching = await connect({});

    // Receivers until every shard serves RECEIVERS_PER_SHARD inboxes.
    const receiversByShard = new Map<number, string[]>();
    const shards = cluster.nodes.filter((node) => node.role === 'master').length;
    for (let i = 0; i < 200; i++) {
      const full = [...receiversByShard.values()].filter((r) => r.length >= RECEIVERS_PER_SHARD);
      if (full.length === shards) break;
      const id = await sending.createUser(`receiver-${i}`);
      const { port } = await cluster.masterOf(keySlot(keys.inbox(id)));
      const onShard = receiversByShard.get(port) ?? [];
      if (onShard.length < RECEIVERS_PER_SHARD) receiversByShard.set(port, [...onShard, id]);
    }
    assert.equal(receiversByShard.size, shards, 'receivers on every shard');
    const senders = await Promise.all(
      Array.from({ length: 4 }, (_, i) => sending.createUser(`sender-${i}`)),
    );
    const receivers = [...receiversByShard.values()].flat();
    const [victimPort, victimReceivers] = [...receiversByShard][0] ?? [];
    const watched = victimReceivers?.[0];
    const victim = cluster.nodes.find((node) => node.port === victimPort);
    assert.ok(victim && victimReceivers && watched);
    const onVictim = new Set(victimReceivers);
    // The users must survive the failover: this test measures the loss of messages.
    await replicasCaughtUp(cluster, 5000);

    const delivered: string[] = [];
    const connectionChanges: { at: number; connected: boolean }[] = [];
    let subscriberErrors = 0;
    subscription = await watching.subscribe(
      watched,
      (message) => {
        delivered.push(message.id);
      },
      {
        onError: () => {
          subscriberErrors++;
        },
        onConnectionChange: (connected) => connectionChanges.push({ at: Date.now(), connected }),
      },
    );

    const sends: Send[] = [];
    const failures: Record<string, number> = {};
    const unexpected: Record<string, number> = {};
    const tracker = new PendingTracker();
    let killedAt = Number.POSITIVE_INFINITY;
    let recoveredAt: number | undefined;

    /** One send, retried with the same id while the failure leaves it unconfirmed. */
    const sendSurely = async (sender: string, receiver: string, text: string) => {
      const send: Send = { id: randomUUID(), receiver, firstAttemptAt: Date.now(), attempts: 0 };
      sends.push(send);
      while (Date.now() - send.firstAttemptAt < SEND_GIVE_UP_MS) {
        const attemptAt = Date.now();
        send.attempts++;
        try {
          await tracker.track(sending.sendMessage(sender, receiver, text, { messageId: send.id }));
          send.ackedAt = Date.now();
          send.ackedAttemptAt = attemptAt;
          // An attempt begun after the kill can only have been stored by the promoted replica.
          if (attemptAt > killedAt && onVictim.has(receiver)) recoveredAt ??= send.ackedAt;
          return;
        } catch (error) {
          if (!isUnconfirmed(error)) {
            bump(unexpected, `${errorName(error)}: ${(error as Error)?.message}`);
            return;
          }
          bump(failures, errorName(error));
          await sleep(Math.min(25 * 2 ** send.attempts, 400) * (0.5 + Math.random()));
        }
      }
    };

    const loadStartedAt = Date.now();
    loops = Promise.all(
      Array.from({ length: SENDERS }, async (_, loop) => {
        const sender = senders[loop % senders.length] as string;
        for (let n = 0; !stopping; n++) {
          const receiver = receivers[(loop + n) % receivers.length] as string;
          await sendSurely(sender, receiver, `message ${loop}-${n}`);
        }
      }),
    );

    await sleep(LOAD_BEFORE_KILL_MS);
    const ackedBeforeKill = sends.filter((send) => send.ackedAt !== undefined).length;
    const { promotedAfter, rejoinedAfter } = await killMaster(cluster, victim, {
      boundMs: RECOVERY_BOUND_MS,
      ...(restartKilled ? { restartAfterMs: RESTART_DELAY_MS } : {}),
      killed: (at) => {
        killedAt = at;
      },
    });
    await eventually(
      () => recoveredAt !== undefined,
      Math.max(0, killedAt + RECOVERY_BOUND_MS - Date.now()),
      `a send to the killed shard acknowledged within ${RECOVERY_BOUND_MS} ms of the kill`,
    );
    const recoveredAfter = (recoveredAt as number) - killedAt;
    await sleep(LOAD_AFTER_RECOVERY_MS);
    stopping = true;
    await within(SEND_GIVE_UP_MS + 5000, loops, 'the send loops');
    const loadSeconds = (Date.now() - loadStartedAt) / 1000;
    const pending = await tracker.settle(1000);

    // Every receiver's inbox, as a reader sees it (an entry whose hash is missing is skipped).
    const inboxes = new Map<string, string[]>();
    for (const receiver of receivers) inboxes.set(receiver, await wholeInbox(sending, receiver));
    const inInbox = (receiver: string, id: string) => inboxes.get(receiver)?.includes(id) ?? false;
    const acked = sends.filter((send) => send.ackedAt !== undefined);
    // Each loop finishes the send it is on before it stops: none may be left unacknowledged.
    const gaveUp = sends.filter((send) => send.ackedAt === undefined);
    const lost = acked.filter((send) => !inInbox(send.receiver, send.id));
    const lostAfterKill = lost.filter((send) => (send.ackedAttemptAt as number) > killedAt);
    const sentIds = new Set(sends.map((send) => send.id));
    const strangers = [...inboxes.values()].flat().filter((id) => !sentIds.has(id));
    const afterRecovery = acked.filter((send) => send.firstAttemptAt > (recoveredAt as number));
    const afterRecoveryToVictim = afterRecovery.filter((send) => onVictim.has(send.receiver));
    const retried = sends.filter((send) => send.attempts > 1).length;

    // The subscriber: every message of the watched inbox, in its order, once.
    const watchedInbox = inboxes.get(watched) ?? [];
    const missing = () => {
      const seen = new Set(delivered);
      return watchedInbox.filter((id) => !seen.has(id));
    };
    const waitedSince = Date.now();
    let subscriberMissing: string[] = [];
    try {
      await eventually(() => missing().length === 0, SUBSCRIBER_BOUND_MS, 'the subscriber');
    } catch {
      subscriberMissing = missing();
    }
    const subscriberWaitedMs = Date.now() - waitedSince;
    const duplicates = delivered.length - new Set(delivered).size;
    const inWatched = new Set(watchedInbox);
    const deliveredInInbox = [...new Set(delivered)].filter((id) => inWatched.has(id));
    const lostToWatched = lost.filter((send) => send.receiver === watched);
    const seenThenLost = delivered.filter((id) => !inWatched.has(id)).length;
    const backAt = connectionChanges.find((change) => change.connected && change.at > killedAt);

    report(
      t,
      `cluster failover (${label}): load ${loadSeconds.toFixed(1)} s, ${SENDERS} senders, ${receivers.length} receivers on ${shards} shards; sends ${sends.length} (${ackedBeforeKill} acknowledged before the kill), acknowledged ${acked.length}, retried ${retried}, failed attempts ${JSON.stringify(failures)}, unexpected errors ${JSON.stringify(unexpected)}, given up ${gaveUp.length}, pending ${pending}`,
    );
    report(
      t,
      `cluster failover (${label}): replica promoted (cluster stable) ${promotedAfter} ms after the kill${rejoinedAfter === undefined ? '' : `; killed node restarted and in sync as a replica after ${rejoinedAfter} ms`}; first send to the killed shard acknowledged ${recoveredAfter} ms after the kill; ${afterRecovery.length} sends begun after that, all acknowledged (${afterRecoveryToVictim.length} to the killed shard)`,
    );
    report(
      t,
      `cluster failover (${label}): ACKNOWLEDGED BUT LOST ${lost.length} of ${acked.length} (${lost.filter((s) => onVictim.has(s.receiver)).length} to receivers on the killed shard; of attempts begun after the kill: ${lostAfterKill.length}); inbox entries never sent ${strangers.length}`,
    );
    report(
      t,
      `cluster failover (${label}): subscriber on the killed shard delivered ${delivered.length} (inbox ${watchedInbox.length}; missing ${subscriberMissing.length} after ${subscriberWaitedMs} ms; duplicates ${duplicates}; delivered live but then lost in the failover ${seenThenLost}; acknowledged to it and lost ${lostToWatched.length}); caught up again ${backAt ? `${backAt.at - killedAt} ms` : 'never'} after the kill; errors reported ${subscriberErrors}`,
    );

    assert.deepEqual(unexpected, {}, 'only unconfirmed failures');
    assert.ok(ackedBeforeKill >= 50, `only ${ackedBeforeKill} sends acknowledged before the kill`);
    assert.ok(recoveredAfter < RECOVERY_BOUND_MS);
    assert.equal(gaveUp.length, 0, 'sends never acknowledged');
    assert.equal(pending, 0, 'sendMessage promises still pending');
    assert.ok(afterRecoveryToVictim.length >= 10, 'the client keeps working after the failover');
    assert.equal(lostAfterKill.length, 0, 'acknowledged by the promoted replica, then lost');
    assert.deepEqual(strangers, []);
    if (options.waitForReplicas) assert.equal(lost.length, 0, 'acknowledged messages lost');
    assert.deepEqual(subscriberMissing, [], 'inbox messages the subscriber did not deliver');
    assert.equal(duplicates, 0, 'messages the subscriber delivered twice');
    assert.deepEqual(deliveredInInbox, watchedInbox, 'the subscriber delivered in inbox order');
  } finally {
    stopping = true;
    await subscription?.close().catch(() => undefined);
    await Promise.allSettled(messengers.map((messenger) => messenger.close()));
    // Closed messengers reject at once, so the loops end; bounded all the same.
    if (loops) await Promise.race([loops.catch(() => undefined), sleep(3000)]);
    await cluster.stop();
  }
}

/** Every message id of a user's inbox, oldest first, paged from the newest back. */
async function wholeInbox(messenger: RedisMessenger, userId: string): Promise<string[]> {
  const ids: string[] = [];
  let before: string | undefined;
  for (;;) {
    const page = await messenger.listUserMessages(userId, { limit: 1000, before });
    ids.unshift(...page.messages.map((message) => message.id));
    before = page.messages[0]?.id;
    if (!page.hasOlder || before === undefined) return ids;
  }
}
