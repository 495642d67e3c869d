/**
 * `npm run screenshots`: the README's pictures of the web page (docs/screenshots/), made
 * in the browser the tests use, on a throwaway Redis and `messenger serve`: the list and
 * a conversation, light and dark, at desktop and phone (360 px) width.
 */
import { mkdirSync } from 'node:fs';
import { launchBrowser, PASSWORD, startWebServer } from '../test/support/browser.js';
import { startRedisServer } from '../test/support/redis-server.js';
import { api } from '../test/support/serve-process.js';

const OUT = new URL('../docs/screenshots/', import.meta.url);
const SIZES = {
  desktop: { width: 1100, height: 680 },
  phone: { width: 360, height: 720 },
};

const redis = await startRedisServer();
const server = await startWebServer(redis.url, `screenshots-${Date.now()}`);
const browser = await launchBrowser();
try {
  const account = async (name: string) => {
    const username = name; // a namespace of its own: plain names are free
    const reply = await api(server.url, 'POST', '/register', undefined, {
      username,
      password: PASSWORD,
    });
    if (reply.status !== 201) throw new Error(`cannot register ${username}: ${reply.status}`);
    return { username, token: reply.json.token as string };
  };
  const [ada, bob, carol, dave] = await Promise.all(['ada', 'bob', 'carol', 'dave'].map(account));
  if (!ada || !bob || !carol || !dave) throw new Error('accounts missing');
  const say = async (from: { token: string }, to: { username: string }, text: string) => {
    const reply = await api(server.url, 'POST', '/messages', from.token, { to: to.username, text });
    if (reply.status !== 201) throw new Error(`cannot send: ${reply.status}`);
  };
  await say(dave, ada, 'Thanks for the help yesterday!');
  await say(ada, dave, 'Any time 🙂');
  await api(server.url, 'POST', `/conversations/${dave.username}/seen`, ada.token);
  await say(carol, ada, 'Did you see the release notes?');
  await say(carol, ada, 'The new version is out: the web page is live.');
  await say(bob, ada, 'Are we still on for lunch tomorrow?');
  await say(ada, bob, 'Yes! 12:30 at the usual place?');
  await say(bob, ada, 'Perfect. I’ll book a table 🍜');
  await say(ada, bob, 'Great, see you there.\nI’ll bring the photos from the trip.');
  await say(bob, ada, 'مرحبا! إلى اللقاء غدًا');
  await say(bob, ada, 'Also the longest word I know: Donaudampfschifffahrtsgesellschaftskapitän');

  mkdirSync(OUT, { recursive: true });
  for (const scheme of ['light', 'dark'] as const) {
    for (const [size, viewport] of Object.entries(SIZES)) {
      const context = await browser.newContext({ viewport, colorScheme: scheme });
      const page = await context.newPage();
      await page.goto(server.url);
      await page.getByLabel('Username').fill(ada.username);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Log in' }).click();
      await page.locator(`.conversation[data-user="${carol.username}"]`).waitFor();
      const shot = (what: string) =>
        page.screenshot({ path: new URL(`${what}-${size}-${scheme}.png`, OUT).pathname });
      await shot('list');
      await page.locator(`.conversation[data-user="${bob.username}"]`).click();
      await page.locator('.message', { hasText: 'Donaudampf' }).waitFor();
      await page.locator('.composer textarea').fill('Sounds good');
      await shot('conversation');
      await context.close();
    }
  }
  console.log(`screenshots in ${OUT.pathname}`);
} finally {
  await browser.close();
  await server.stop();
  await redis.stop();
}
