/**
 * The benches read their command lines strictly (bench/flags.ts): `--help` prints the usage
 * and starts nothing; an unknown flag or a bad value is one line and exit 2. Before, both
 * were ignored and the default bench ran for minutes (a full server run rewriting
 * docs/charts/ at its end).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';

/**
 * Runs `bench/<name>` with tsx, as `npm run bench…` does. A bench that starts running
 * anyway is killed after 20 s with what it started (its own process group: the
 * redis-servers too).
 */
function bench(name: string, args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', `bench/${name}`, ...args], {
    detached: true,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => (stdout += chunk));
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const timer = setTimeout(() => process.kill(-(child.pid as number), 'SIGKILL'), 20_000);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

it('--help prints the usage of each bench and exits 0 at once', async () => {
  const benches: [string, string][] = [
    ['server.ts', 'npm run bench:server'],
    ['run.ts', 'npm run bench -- '],
    ['subscriptions.ts', 'npm run bench:subscriptions'],
    ['bounded-work.ts', 'npm run bench:bounded'],
    ['send-instructions.ts', 'npm run bench:instructions'],
    ['replica-wait.ts', 'npx tsx bench/replica-wait.ts'],
    ['original-writers.ts', 'npx tsx bench/original-writers.ts'],
  ];
  const runs = await Promise.all(benches.map(([name]) => bench(name, ['--help'])));
  for (const [index, run] of runs.entries()) {
    const [name, usage] = benches[index] as [string, string];
    assert.equal(run.code, 0, `${name}: ${run.stderr}`);
    assert.ok(run.stdout.startsWith(`usage: ${usage}`), `${name}: ${run.stdout}`);
    assert.equal(run.stderr, '', name);
  }
});

it('takes a `--` between flags, as `npm run bench -- --quick -- --help` passes it on', async () => {
  const run = await bench('server.ts', ['--quick', '--', '--help']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /^usage: npm run bench:server -- \[--quick\]/);
});

it('an unknown flag or a bad value is one line and the usage, exit 2, nothing run', async () => {
  const typo = await bench('server.ts', ['--sokets', '10000']);
  assert.equal(typo.code, 2);
  assert.equal(typo.stdout, '');
  const [said, usage] = typo.stderr.split('\n');
  assert.equal(said, "Unknown option '--sokets'");
  assert.match(usage ?? '', /^usage: npm run bench:server/);

  const bad = await bench('server.ts', ['--sockets', 'many']);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, '--sockets takes a whole number from 1 to 20,000\n');

  const missing = await bench('bounded-work.ts', ['--messages']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /^Option '--messages <value>' argument missing\n/);
});
