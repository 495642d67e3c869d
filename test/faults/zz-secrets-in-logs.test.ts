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

it('secrets: after the whole fault suite, no server log holds a password, token or text its tests used', {
  skip: SUITE_LOGS ? false : 'run by `npm run test:faults`, which names the suite folder',
}, (t) => {
  const { logs, secrets } = readSuiteLogs();
  const files = new Set([...logs.keys()].map((name) => name.split('--')[0]));
  const missing = MUST_HAVE_LOGGED.filter((file) => !files.has(file));
  assert.deepEqual(missing, [], 'these files left no server log: is the suite folder wired?');
  const lines = [...logs.values()].reduce((sum, text) => sum + text.split('\n').length - 1, 0);
  assert.ok(secrets.size > 100, `only ${secrets.size} secrets noted`);
  const found: string[] = [];
  for (const [name, text] of logs) {
    for (const secret of secrets) if (text.includes(secret)) found.push(`${name}: ${secret}`);
  }
  report(
    t,
    `${lines.toLocaleString('en')} log lines of ${logs.size} servers (from ${files.size} test files) searched for ${secrets.size.toLocaleString('en')} secrets: ${found.length} found`,
  );
  assert.deepEqual(found, []);
  rmSync(SUITE_LOGS as string, { recursive: true, force: true });
});
