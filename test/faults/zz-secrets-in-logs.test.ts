/**
 * The fault suite's last file (zz: the runner takes the files in order): every log line
 * of every server the suite started (real `messenger serve` processes and the attack and
 * fuzz tests' in-process servers), searched for every password, token, session cookie and
 * message text its tests noted (test/support/suite-logs.ts). docs/security.md, "Secrets in
 * logs".
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { it } from 'node:test';
import { readSuiteLogs, SUITE_LOGS } from '../support/suite-logs.js';
import { report } from './support/faults.js';

/** Test files whose servers must have logged: if one is missing, the search is not whole. */
const MUST_HAVE_LOGGED = ['server-attacks', 'server-fuzz', 'server-faults', 'chat-server'];
/** More than start-up lines: each of those files' servers answered requests and said so. */
const AT_LEAST_LINES = 50;

it('secrets: after the whole fault suite, no server log holds a password, token or text its tests used', {
  skip: SUITE_LOGS ? false : 'run by `npm run test:faults`, which names the suite folder',
}, (t) => {
  // The folder holds the suite's passwords and tokens: gone after, pass or fail.
  t.after(() => rmSync(SUITE_LOGS as string, { recursive: true, force: true }));
  const { logs, secrets } = readSuiteLogs();
  const linesByFile = new Map<string, number>();
  for (const [name, text] of logs) {
    const file = name.split('--')[0] ?? name;
    linesByFile.set(file, (linesByFile.get(file) ?? 0) + text.split('\n').length - 1);
  }
  const short = MUST_HAVE_LOGGED.filter((file) => (linesByFile.get(file) ?? 0) < AT_LEAST_LINES);
  assert.deepEqual(short, [], 'these files left (almost) no server log: is the folder wired?');
  assert.ok(secrets.size > 100, `only ${secrets.size} secrets noted`);
  const lines = [...linesByFile.values()].reduce((sum, count) => sum + count, 0);
  const found: string[] = [];
  for (const [name, text] of logs) {
    for (const secret of secrets) if (text.includes(secret)) found.push(`${name}: ${secret}`);
  }
  report(
    t,
    `${lines.toLocaleString('en')} log lines of ${logs.size} servers (from ${linesByFile.size} test files) searched for ${secrets.size.toLocaleString('en')} secrets: ${found.length} found`,
  );
  assert.deepEqual(found, []);
});
