/**
 * Secrets in logs, over the whole fault suite (issue 15: "after the whole suite, the
 * server's logs contain none of the passwords, tokens or message texts the tests used").
 * `npm run test:faults` names a fresh folder in MESSENGER_SUITE_LOGS. Every server a test
 * starts writes its log there as well (`spawnServe`; the attack and fuzz tests' in-process
 * servers), every helper that makes a password or is given a token notes it there, and the
 * suite's last file (test/faults/zz-secrets-in-logs.test.ts) searches every log for every
 * secret. The test runner runs each file in a process of its own, so a folder, not memory.
 * Without the variable (a file run by hand) nothing is kept.
 */
import { appendFileSync, createWriteStream, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Readable } from 'node:stream';

export const SUITE_LOGS = process.env.MESSENGER_SUITE_LOGS || undefined;
const SECRETS = 'secrets.jsonl';
/** Shorter values would match by chance ("load 12" in a log line is no leak). */
const SHORTEST_SECRET = 8;
/** The test file this process runs, to name its logs by. */
const testFile = basename(process.argv[1] ?? 'test').replace(/\.test\.ts$/, '');
let serial = 0;

/** A fresh log file in the suite's folder for one server of this file, or undefined. */
function logPath(server: string): string | undefined {
  if (!SUITE_LOGS) return undefined;
  mkdirSync(SUITE_LOGS, { recursive: true });
  return join(SUITE_LOGS, `${testFile}--${server}-${process.pid}-${++serial}.log`);
}

/**
 * Copies what `streams` (a server process's output) carry into a suite log. The streams
 * flow from here on: a caller must listen for what it wants to read (a start-up line)
 * before it awaits anything, as every caller of spawnServe does.
 */
export function keepServerOutput(server: string, ...streams: Readable[]): void {
  const path = logPath(server);
  if (!path) return;
  const file = createWriteStream(path);
  // A log that cannot be written fails the suite's search (too few lines), not the test.
  file.on('error', () => {});
  let open = streams.length;
  for (const stream of streams) {
    stream.pipe(file, { end: false });
    stream.once('end', () => --open === 0 && file.end());
  }
}

/** A function that appends an in-process server's log lines to a suite log. */
export function suiteLogWriter(server: string): (text: string) => void {
  const path = logPath(server);
  return path ? (text) => appendFileSync(path, text) : () => {};
}

/** Notes passwords, tokens and texts a test used: no server log may hold them. */
export function noteSecrets(...values: (string | undefined)[]): void {
  if (!SUITE_LOGS) return;
  const kept = values.filter((v): v is string => (v?.length ?? 0) >= SHORTEST_SECRET);
  if (kept.length === 0) return;
  mkdirSync(SUITE_LOGS, { recursive: true });
  appendFileSync(join(SUITE_LOGS, SECRETS), kept.map((v) => `${JSON.stringify(v)}\n`).join(''));
}

/** Every log the suite kept (by file name) and every secret noted. */
export function readSuiteLogs(): { logs: Map<string, string>; secrets: Set<string> } {
  const logs = new Map<string, string>();
  const secrets = new Set<string>();
  if (!SUITE_LOGS) return { logs, secrets };
  for (const name of readdirSync(SUITE_LOGS)) {
    const text = readFileSync(join(SUITE_LOGS, name), 'utf8');
    if (name === SECRETS) {
      for (const line of text.split('\n')) if (line) secrets.add(JSON.parse(line) as string);
    } else logs.set(name, text);
  }
  return { logs, secrets };
}
