/**
 * The web page in a real browser for tests: Debian's chromium driven by playwright-core
 * (.ci/run installs chromium when it is missing), `messenger serve` processes to open it
 * on, signing up through the page, and axe-core run inside it.
 */
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { type Browser, chromium, type Page } from 'playwright-core';
import { freePort } from './redis-server.js';
import { exitOf, servingUrl, spawnServe } from './serve-process.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PASSWORD = 'correct horse battery staple';

/**
 * A headless chromium. Each context it opens is a fresh profile (no cookies, no storage);
 * playwright gives the browser a new temporary user data folder of its own.
 */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium (.ci/run does)`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WebServer {
  url: string;
  child: ChildProcessWithoutNullStreams;
  stop(): Promise<void>;
}

/**
 * `messenger serve` on a free port of 127.0.0.1, its page's origin allowed, on `redisUrl`
 * under `namespace`; rate limits roomy enough for a test's sign-ups from one address.
 */
export async function startWebServer(redisUrl: string, namespace: string): Promise<WebServer> {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawnServe([
    '--redis',
    redisUrl,
    '--namespace',
    namespace,
    '--port',
    String(port),
    '--origin',
    url,
    '--registrations-per-address-per-hour',
    '1000',
    '--requests-per-address-per-minute',
    '10000',
    '--upgrades-per-address-per-minute',
    '1000',
  ]);
  child.stderr.resume(); // its JSON log lines: not needed, but they must not fill the pipe
  await servingUrl(child);
  return {
    url,
    child,
    // SIGTERM drains for a few seconds at most; a server that does not stop by then is killed.
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = exitOf(child);
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 8000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A new username: letters and digits, unique per test run. */
export function newUsername(prefix: string): string {
  return `${prefix}${randomUUID().slice(0, 8)}`;
}

/** Signs up through the page's form and waits for the chat. */
export async function signUp(page: Page, url: string, username: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText(`Signed in as ${username}`).waitFor();
}

/** Opens the conversation with `username` through the directory search. */
export async function startConversation(page: Page, username: string): Promise<void> {
  await page.getByLabel('Start a conversation').fill(username);
  await page.getByRole('button', { name: `Chat with ${username}` }).click();
  await page.getByRole('heading', { name: username }).waitFor();
}

/** Types a message in the open conversation and sends it with Enter. */
export async function sendText(page: Page, text: string): Promise<void> {
  const box = page.locator('.composer textarea');
  await box.fill(text);
  await box.press('Enter');
}

const axeSource = readFileSync(
  createRequire(import.meta.url).resolve('axe-core/axe.min.js'),
  'utf8',
);

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/**
 * axe-core's violations of serious or critical impact on the page as it is. axe is
 * evaluated through the DevTools protocol, which the page's CSP does not govern (the page
 * itself could not load it: no inline script, no other origin).
 */
export async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.evaluate(axeSource);
  // A string: the test is type-checked for Node, and this runs in the page.
  const violations = (await page.evaluate(
    'axe.run(document).then((results) => results.violations)',
  )) as AxeViolation[];
  return violations.filter(
    (violation) => violation.impact === 'serious' || violation.impact === 'critical',
  );
}
