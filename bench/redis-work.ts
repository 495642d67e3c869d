/**
 * What a workload costs the Redis servers and the Node process, per operation: the CPU
 * time each master reports (INFO cpu) and the commands it ran (INFO stats), read before and
 * after, and this process's own CPU time. Wall-clock throughput on a shared 2-core machine
 * says little about many machines; CPU time per operation does.
 */
import { performance } from 'node:perf_hooks';
import type { RedisClientType } from 'redis';

/** The cost of one operation, averaged over a workload. */
export interface WorkPerOperation {
  /** Redis CPU time (user + system) per operation, all masters together, in µs. */
  redisCpuUs: number;
  /** The busiest master's part of that CPU time (1 on one node; 1/n if spread evenly). */
  busiestShare: number;
  /** Each master's part of that CPU time, in the order of the masters given. */
  shares: number[];
  /** Commands Redis ran per operation, all masters together, those run by scripts included. */
  commands: number;
  /**
   * Socket reads Redis made per operation, all masters together: under 1 when the
   * commands of several operations arrive in one read, as pipelining makes them.
   */
  reads: number;
  /** This Node process's CPU time per operation, in µs. */
  nodeCpuUs: number;
  /**
   * How many cores Redis and this process kept busy together while it ran (CPU time over
   * wall time). Well under the machine's cores: something else had them, or waits did.
   */
  coresBusy: number;
}

interface Snapshot {
  cpuSeconds: number[];
  commands: number[];
  reads: number[];
  node: NodeJS.CpuUsage;
  /** performance.now() when taken. */
  at: number;
}

function field(info: string, name: string): number {
  return Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
}

async function snapshot(masters: readonly RedisClientType[]): Promise<Snapshot> {
  const infos = await Promise.all(
    masters.map((master) => master.sendCommand(['INFO', 'cpu', 'stats']) as Promise<string>),
  );
  return {
    cpuSeconds: infos.map((info) => field(info, 'used_cpu_user') + field(info, 'used_cpu_sys')),
    // The INFO that took the first snapshot is counted in the second: one per master.
    commands: infos.map((info) => field(info, 'total_commands_processed')),
    reads: infos.map((info) => field(info, 'total_reads_processed')),
    node: process.cpuUsage(),
    at: performance.now(),
  };
}

/** Runs `work` (which does `operations` operations) and reports what each one cost. */
export async function measureWork(
  masters: readonly RedisClientType[],
  operations: number,
  work: () => Promise<unknown>,
): Promise<WorkPerOperation> {
  const before = await snapshot(masters);
  await work();
  const after = await snapshot(masters);
  const cpu = after.cpuSeconds.map((seconds, i) => seconds - (before.cpuSeconds[i] ?? 0));
  const totalCpu = cpu.reduce((sum, seconds) => sum + seconds, 0);
  const commands = after.commands.reduce(
    (sum, count, i) => sum + count - (before.commands[i] ?? 0) - 1,
    0,
  );
  const reads = after.reads.reduce((sum, count, i) => sum + count - (before.reads[i] ?? 0), 0);
  const node = process.cpuUsage(before.node);
  const nodeCpu = (node.user + node.system) / 1e6;
  return {
    redisCpuUs: (totalCpu * 1e6) / operations,
    busiestShare: totalCpu > 0 ? Math.max(...cpu) / totalCpu : 1,
    shares: cpu.map((seconds) => (totalCpu > 0 ? seconds / totalCpu : 1)),
    commands: commands / operations,
    reads: reads / operations,
    nodeCpuUs: (nodeCpu * 1e6) / operations,
    coresBusy: (totalCpu + nodeCpu) / ((after.at - before.at) / 1000),
  };
}

/** The work of several runs of the same workload, as if they were one (weighted by operations). */
export function combineWork(
  runs: { operations: number; work: WorkPerOperation }[],
): WorkPerOperation {
  const total = runs.reduce((sum, run) => sum + run.operations, 0);
  const mean = (pick: (work: WorkPerOperation) => number) =>
    runs.reduce((sum, run) => sum + pick(run.work) * run.operations, 0) / total;
  return {
    redisCpuUs: mean((work) => work.redisCpuUs),
    busiestShare: mean((work) => work.busiestShare),
    shares: (runs[0]?.work.shares ?? []).map((_, i) => mean((work) => work.shares[i] ?? 0)),
    commands: mean((work) => work.commands),
    reads: mean((work) => work.reads),
    nodeCpuUs: mean((work) => work.nodeCpuUs),
    coresBusy: mean((work) => work.coresBusy),
  };
}
