/**
 * `npm run bench:instructions [-- --sends 3000] [-- --json]`: what one send costs Redis,
 * counted in CPU instructions rather than seconds, on one Redis and on a cluster of one
 * shard side by side. Each redis-server runs under valgrind's callgrind, which counts the
 * instructions it executes: the same for the same binary and inputs whatever else the
 * machine is doing, so a change to a send's scripts can be measured to a per cent on a
 * shared, noisy machine where seconds move by ±30 % (docs/performance.md, "Sixth pass").
 * The counts are of `evalGenericCommand` (the whole script run: the Lua, every command
 * inside it, the cluster's key checks) and of the whole process, per send, with 64 sends
 * in flight between 1,000 users after 1,000 sends to warm up, the counters zeroed between.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createOutput } from '../src/cli/output.js';
import { type BenchBackend, startCluster, startStandalone } from './backends.js';
import { benchFlags, wholeNumber } from './flags.js';
import { throughput } from './measure.js';
import { manyUsers, randomPair, text } from './workloads.js';

const flags = benchFlags(
  [
    'usage: npm run bench:instructions -- [--sends N] [--json]',
    '  --sends N   sends counted on each deployment (default 3,000; 100 to 100,000)',
    '  --json      the figures as JSON instead of a table',
    'Needs valgrind (callgrind_control, callgrind_annotate) and redis-server on the PATH.',
  ].join('\n'),
  { sends: { type: 'string', default: '3000' }, json: { type: 'boolean' } },
);
const sends = wholeNumber('sends', flags.sends ?? '3000', 100, 100_000);
const output = createOutput();

function found(command: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}

const redisServer = found('redis-server');
const missing = ['valgrind', 'callgrind_control', 'callgrind_annotate'].filter((c) => !found(c));
if (!redisServer || missing.length > 0) {
  output.notice(
    `bench:instructions needs ${[...missing, ...(redisServer ? [] : ['redis-server'])].join(', ')} on the PATH`,
  );
  process.exit(1);
}

// The test support starts `redis-server` from the PATH: a folder first on it whose
// redis-server is the real one under callgrind.
const folder = mkdtempSync(join(tmpdir(), 'redis-messenger-instructions-'));
writeFileSync(
  join(folder, 'redis-server'),
  `#!/bin/sh\nexec valgrind --tool=callgrind --callgrind-out-file=${folder}/callgrind.%p ${redisServer} "$@"\n`,
  { mode: 0o755 },
);
process.env.PATH = `${folder}:${process.env.PATH}`;

interface Counted {
  deployment: string;
  /** Instructions of the whole script runs (EVALSHA), per send. */
  script: number;
  /** Instructions of the whole redis-server process, per send. */
  process: number;
}

/** Inclusive instruction counts of one dump, by function name. */
function counts(file: string): Map<string, number> {
  const annotated = execFileSync('callgrind_annotate', ['--inclusive=yes', file], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const byName = new Map<string, number>();
  for (const line of annotated.split('\n')) {
    const match = /^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(\S+)/.exec(line);
    if (match?.[1] && match[2]) byName.set(match[2], Number(match[1].replaceAll(',', '')));
  }
  return byName;
}

async function measure(start: () => Promise<BenchBackend>): Promise<Counted> {
  const backend = await start();
  try {
    const users = await manyUsers(backend.messenger, 1000);
    const send = () => backend.messenger.sendMessage(...randomPair(users), text);
    await throughput(1000, 64, send);
    // Every redis-server under callgrind now is this deployment's one node.
    execFileSync('callgrind_control', ['--zero'], { stdio: 'ignore' });
    await throughput(sends, 64, send);
    execFileSync('callgrind_control', ['--dump'], { stdio: 'ignore' });
  } finally {
    await backend.stop();
  }
  // The dump taken above (`.1`); the one written at exit holds only the stop.
  const dump = readdirSync(folder).find((name) => name.endsWith('.1'));
  if (!dump) throw new Error('callgrind wrote no dump');
  const byName = counts(join(folder, dump));
  for (const name of readdirSync(folder))
    if (name.startsWith('callgrind.')) rmSync(join(folder, name));
  const total = [...byName.entries()].find(([name]) => name.endsWith(':main'))?.[1] ?? 0;
  const script = [...byName.entries()].find(([name]) => name.endsWith(':evalGenericCommand'))?.[1];
  return {
    deployment: backend.label,
    script: (script ?? 0) / sends,
    process: total / sends,
  };
}

try {
  const rows = [await measure(startStandalone), await measure(() => startCluster(1))];
  if (flags.json) {
    output.line(JSON.stringify({ sends, rows }, null, 2));
  } else {
    const [one, cluster] = rows as [Counted, Counted];
    const k = (n: number) => `${(n / 1000).toFixed(1)}k`;
    output.line(`Redis instructions per send, ${sends.toLocaleString('en')} sends, 64 in flight`);
    output.line('| | one Redis | cluster, 1 shard | ratio |');
    output.line('|---|---|---|---|');
    output.line(
      `| the send's script (EVALSHA) | ${k(one.script)} | ${k(cluster.script)} | ${(cluster.script / one.script).toFixed(2)} |`,
    );
    output.line(
      `| the whole redis-server | ${k(one.process)} | ${k(cluster.process)} | ${(cluster.process / one.process).toFixed(2)} |`,
    );
  }
} finally {
  rmSync(folder, { recursive: true, force: true });
}
