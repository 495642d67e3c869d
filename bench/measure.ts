/**
 * Timing for the benchmarks: repeat a measurement, keep the median (the machine is
 * shared and noisy), and run work with a fixed number of operations in flight.
 */
import { performance } from 'node:perf_hooks';

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Runs `operation(i)` for i in [0, count) with at most `inFlight` running at once. */
export async function runConcurrently(
  count: number,
  inFlight: number,
  operation: (i: number) => Promise<unknown>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await operation(next++);
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
}

/** Operations per second of `count` operations, `inFlight` at a time. */
export async function throughput(
  count: number,
  inFlight: number,
  operation: (i: number) => Promise<unknown>,
): Promise<number> {
  const start = performance.now();
  await runConcurrently(count, inFlight, operation);
  return (count / (performance.now() - start)) * 1000;
}

/** Milliseconds one call of `work` takes: the median of `repeat` calls. */
export async function duration(repeat: number, work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await work();
    times.push(performance.now() - start);
  }
  return median(times);
}
