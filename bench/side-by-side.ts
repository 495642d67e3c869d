/**
 * The same workloads on several Redis deployments in one run (one Redis, a cluster of 1
 * shard, of 3 shards), each measured three ways: ours, the original program's algorithm
 * (naive) and the bare pipelined client (ceiling). Workloads take turns: each runs on every
 * deployment before the next starts, so that the machine's noise falls on all alike.
 */
import type { BenchBackend } from './backends.js';
import { duration, median, percentile, runConcurrently, throughput } from './measure.js';
import { combineWork, measureWork, type WorkPerOperation } from './redis-work.js';
import { fillInbox, liveLatencies, manyUsers, randomPair, text, twoUsers } from './workloads.js';

export interface SideBySideSize {
  /** Sends one at a time, per way. */
  sequentialSends: number;
  /** Sends per run with 64 in flight (ours and ceiling: 3 runs, the median kept; naive: 1). */
  concurrentSends: number;
  /** Users the concurrent sends go between, at random, so that every shard gets work. */
  users: number;
  /** Repetitions of each read (a page of 50: four times as many). */
  repeat: number;
  /** Seconds of live delivery at 1,000 messages a second, per way. */
  liveSeconds: number;
}

export type Way = 'ours' | 'naive' | 'ceiling';

export interface ComparedRow {
  workload: string;
  unit: 'ops/s' | 'ms' | '%';
  way: Way;
  /** One value per deployment, in the order of `SideBySide.backends`. */
  values: (number | undefined)[];
}

/** What one send cost with 64 in flight, per deployment (see ./redis-work.ts). */
export interface SendCost {
  /** Whose sends: a way, and which users when not the many. */
  sends: string;
  work: WorkPerOperation[];
  /** For sends to one receiver: the part of Redis's CPU time the receiver's master took. */
  receiverShare?: number[];
}

export interface SideBySide {
  backends: string[];
  rows: ComparedRow[];
  costs: SendCost[];
}

interface Measured {
  workload: string;
  unit: ComparedRow['unit'];
  way: Way;
  value: number;
}

type Workload = (backend: BenchBackend) => Promise<Measured[]>;

/**
 * Runs every workload on every backend, emptying the backend before each; `onStep` is
 * told how many of `workloads × backends` are done.
 */
export async function compareBackends(
  backends: readonly BenchBackend[],
  size: SideBySideSize,
  onStep: (done: number, total: number) => void = () => {},
): Promise<SideBySide> {
  const costs = new Map<string, SendCost>();
  const workloads: Workload[] = [
    (backend) => sequentialSends(backend, size),
    async (backend) => {
      const { measured, sendCosts } = await concurrentSends(backend, size);
      for (const { sends, work, receiverShare } of sendCosts) {
        const cost = costs.get(sends) ?? { sends, work: [] };
        cost.work.push(work);
        if (receiverShare !== undefined) {
          cost.receiverShare = [...(cost.receiverShare ?? []), receiverShare];
        }
        costs.set(sends, cost);
      }
      return measured;
    },
    (backend) => reads(backend, size),
    (backend) => live(backend, size),
  ];
  const rows: ComparedRow[] = [];
  const total = workloads.length * backends.length;
  let done = 0;
  for (const workload of workloads) {
    for (const [b, backend] of backends.entries()) {
      onStep(done++, total);
      await backend.flush();
      for (const { workload: name, unit, way, value } of await workload(backend)) {
        let row = rows.find((r) => r.workload === name && r.way === way);
        if (!row) {
          row = { workload: name, unit, way, values: backends.map(() => undefined) };
          rows.push(row);
        }
        row.values[b] = value;
      }
    }
  }
  onStep(total, total);
  return {
    backends: backends.map((backend) => backend.label),
    rows,
    costs: [...costs.values()],
  };
}

async function sequentialSends(backend: BenchBackend, size: SideBySideSize): Promise<Measured[]> {
  const { messenger, seed, ceiling } = backend;
  const [a, b] = await twoUsers(messenger);
  const n = size.sequentialSends;
  const workload = 'sendMessage, one at a time';
  return [
    {
      workload,
      unit: 'ops/s',
      way: 'ours',
      value: await throughput(n, 1, () => messenger.sendMessage(a, b, text)),
    },
    {
      workload,
      unit: 'ops/s',
      way: 'naive',
      value: await throughput(n, 1, () => seed.sendMessage(a, b, text)),
    },
    {
      workload,
      unit: 'ops/s',
      way: 'ceiling',
      value: await throughput(n, 1, () => ceiling.sendMessage(a, b, text)),
    },
  ];
}

/** One deployment's part of a {@link SendCost}. */
interface SendCostOf {
  sends: string;
  work: WorkPerOperation;
  receiverShare?: number;
}

async function concurrentSends(
  backend: BenchBackend,
  size: SideBySideSize,
): Promise<{ measured: Measured[]; sendCosts: SendCostOf[] }> {
  const { messenger, seed, ceiling, masters } = backend;
  const users = await manyUsers(messenger, size.users);
  const [a, b] = separatePair(backend, users);
  const n = size.concurrentSends;
  const many = `${size.users.toLocaleString('en')} users`;
  const sends: [Way, string, number, () => Promise<unknown>][] = [
    ['ours', many, 3, () => messenger.sendMessage(...randomPair(users), text)],
    ['ceiling', many, 3, () => ceiling.sendMessage(...randomPair(users), text)],
    ['naive', many, 1, () => seed.sendMessage(...randomPair(users), text)],
    // All to one inbox: its keys are in one slot, so one shard takes the most of the work.
    ['ours', 'one sender to one receiver', 1, () => messenger.sendMessage(a, b, text)],
  ];
  const measured: Measured[] = [];
  const sendCosts: SendCostOf[] = [];
  const receiverMaster = backend.masterOf(backend.keys.inbox(b));
  for (const [way, between, runs, send] of sends) {
    const results: { rate: number; work: WorkPerOperation }[] = [];
    for (let run = 0; run < runs; run++) {
      let rate = 0;
      const cost = await measureWork(masters, n, async () => {
        rate = await throughput(n, 64, send);
      });
      results.push({ rate, work: cost });
    }
    const workload = `sendMessage, 64 in flight, ${between}`;
    measured.push({ workload, unit: 'ops/s', way, value: median(results.map((r) => r.rate)) });
    const work = combineWork(results.map((r) => ({ operations: n, work: r.work })));
    sendCosts.push(
      between === many
        ? { sends: way, work }
        : { sends: `${way}, ${between}`, work, receiverShare: work.shares[receiverMaster] ?? 0 },
    );
  }
  return { measured, sendCosts };
}

/**
 * Two users whose keys a send touches sit on different masters where there are enough:
 * the sender's, the receiver's and their conversation's. Then the receiver's master does
 * the receiver's part of every send and no more (and its share of the message hashes).
 */
function separatePair(backend: BenchBackend, users: readonly string[]): [string, string] {
  const { keys, masterOf, shards } = backend;
  let pair: [string, string] = [users[0] ?? '', users[1] ?? ''];
  for (let i = 0; i + 1 < users.length; i += 2) {
    const [a = '', b = ''] = [users[i], users[i + 1]];
    const masters = new Set([
      masterOf(keys.user(a)),
      masterOf(keys.inbox(b)),
      masterOf(keys.conversation(a, b)),
    ]);
    if (masters.size === Math.min(3, shards)) {
      pair = [a, b];
      break;
    }
  }
  return pair;
}

async function reads(backend: BenchBackend, size: SideBySideSize): Promise<Measured[]> {
  const { messenger, seed, ceiling } = backend;
  const [a, b] = await twoUsers(messenger);
  await fillInbox(messenger, a, b, 1000);
  // The original program reads the keys it wrote (on a cluster the messenger's carry hash
  // tags), so it gets an inbox of its own, written its way.
  const [c, d] = await twoUsers(messenger);
  await runConcurrently(1000, 128, () => seed.sendMessage(c, d, text));
  const whole = 'read a whole 1,000-message inbox';
  const page = 'a page of 50 from 1,000 messages';
  const repeat = size.repeat;
  return [
    {
      workload: whole,
      unit: 'ms',
      way: 'ours',
      value: await duration(repeat, () => messenger.listUserMessages(b, { limit: 1000 })),
    },
    {
      workload: whole,
      unit: 'ms',
      way: 'naive',
      value: await duration(repeat, () => seed.listUserMessages(d)),
    },
    {
      workload: whole,
      unit: 'ms',
      way: 'ceiling',
      value: await duration(repeat, () => ceiling.readInbox(b, 0, 999)),
    },
    {
      workload: page,
      unit: 'ms',
      way: 'ours',
      value: await duration(repeat * 4, () => messenger.listUserMessages(b, { limit: 50 })),
    },
    {
      workload: page,
      unit: 'ms',
      way: 'ceiling',
      value: await duration(repeat * 4, () => ceiling.readInbox(b, -50, -1)),
    },
  ];
}

async function live(backend: BenchBackend, size: SideBySideSize): Promise<Measured[]> {
  const { ours, bare, sent } = await liveLatencies(backend, size.liveSeconds);
  const p50 = 'live delivery at 1,000/s, p50';
  const p99 = 'live delivery at 1,000/s, p99';
  const delivered = 'live delivery, delivered of sent';
  return [
    { workload: p50, unit: 'ms', way: 'ours', value: median(ours) },
    { workload: p50, unit: 'ms', way: 'ceiling', value: median(bare) },
    { workload: p99, unit: 'ms', way: 'ours', value: percentile(ours, 99) },
    { workload: p99, unit: 'ms', way: 'ceiling', value: percentile(bare, 99) },
    { workload: delivered, unit: '%', way: 'ours', value: (100 * ours.length) / sent },
    { workload: delivered, unit: '%', way: 'ceiling', value: (100 * bare.length) / sent },
  ];
}

/** How many times better `value` is than `other` (above 1: faster). */
function better(unit: ComparedRow['unit'], value?: number, other?: number): string {
  if (value === undefined || other === undefined || value === 0 || other === 0) return '';
  if (unit === '%') return '';
  return `${(unit === 'ops/s' ? value / other : other / value).toFixed(2)}×`;
}

function format(value: number | undefined, unit: ComparedRow['unit']): string {
  if (value === undefined) return '';
  if (unit === 'ops/s') return Math.round(value).toLocaleString('en');
  if (unit === '%') return `${value.toFixed(value === 100 ? 0 : 1)}%`;
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}

/** The comparison as Markdown tables: the figures, then what a send cost. */
export function sideBySideTables(result: SideBySide): string[] {
  const [first = '', ...others] = result.backends;
  const header = [
    'workload',
    'unit',
    'way',
    ...result.backends,
    ...others.map((label) => `${label} vs ${first}`),
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of result.rows) {
    const [base, ...rest] = row.values;
    lines.push(
      `| ${[
        row.workload,
        row.unit,
        row.way,
        ...row.values.map((value) => format(value, row.unit)),
        ...rest.map((value) => better(row.unit, value, base)),
      ].join(' | ')} |`,
    );
    // After a workload's last way: ours against the ceiling, on each deployment.
    const next = result.rows[result.rows.indexOf(row) + 1];
    const ceiling = result.rows.find((r) => r.workload === row.workload && r.way === 'ceiling');
    const ours = result.rows.find((r) => r.workload === row.workload && r.way === 'ours');
    if (next?.workload !== row.workload && ours && ceiling && row.unit !== '%') {
      const ratios = ours.values.map((value, i) => better(row.unit, value, ceiling.values[i]));
      const cells = [row.workload, '', 'ours vs ceiling', ...ratios, ...others.map(() => '')];
      lines.push(`| ${cells.join(' | ')} |`);
    }
  }
  lines.push('');
  const costHeader = ['cost of one send, 64 in flight', ...result.backends];
  lines.push(`| ${costHeader.join(' | ')} |`, `|${costHeader.map(() => '---').join('|')}|`);
  const percent = (share: number) => `${Math.round(share * 100)}%`;
  for (const { sends, work, receiverShare } of result.costs) {
    const line = (what: string, cells: string[]) =>
      lines.push(`| ${[`${sends}: ${what}`, ...cells].join(' | ')} |`);
    line(
      'Redis CPU, µs (all masters)',
      work.map((w) => w.redisCpuUs.toFixed(1)),
    );
    line(
      "busiest master's share of it",
      work.map((w) => percent(w.busiestShare)),
    );
    if (receiverShare) line("the receiver's master's share", receiverShare.map(percent));
    line(
      'Redis commands (those in scripts too)',
      work.map((w) => w.commands.toFixed(1)),
    );
    line(
      'socket reads by Redis',
      work.map((w) => w.reads.toFixed(2)),
    );
    line(
      'Node CPU, µs',
      work.map((w) => w.nodeCpuUs.toFixed(1)),
    );
    line(
      'cores busy meanwhile (Redis + Node)',
      work.map((w) => w.coresBusy.toFixed(2)),
    );
  }
  return lines;
}
