/**
 * The web page in a real browser (Debian's chromium, driven by playwright-core) against
 * real `messenger serve` processes on a throwaway Redis: two people sign up, find each
 * other and talk live both ways; a reload keeps the session and the history; unread
 * badges and the title move, on a second tab too; a context that goes offline misses
 * nothing and sends what was typed meanwhile once; hostile text stays text; two server
 * instances; axe-core finds nothing serious. One browser for the whole file.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { MessengerClient } from '../src/client/index.js';
import {
  launchBrowser,
  newUsername,
  PASSWORD,
  sendText,
  seriousViolations,
  signUp,
  startConversation,
  startWebServer,
  type WebServer,
} from './support/browser.js';
import { type RedisServer, startRedisServer } from './support/redis-server.js';
import { sleep } from './support/wait.js';

let redis: RedisServer;
let browser: Browser;
let server: WebServer;
/** A second instance on the same Redis and namespace. */
let second: WebServer;
const namespace = `web-${randomUUID()}`;
const contexts: BrowserContext[] = [];
/** Bounds every test: a browser test that hangs must fail, not stall `npm test`. */
const TEST_MS = 90_000;

before(
  async () => {
    redis = await startRedisServer();
    [browser, server, second] = await Promise.all([
      launchBrowser(),
      startWebServer(redis.url, namespace),
      startWebServer(redis.url, namespace),
    ]);
  },
  { timeout: TEST_MS },
);
after(async () => {
  await Promise.all(contexts.map((context) => context.close().catch(() => {})));
  await browser?.close();
  await Promise.all([server?.stop(), second?.stop()]);
  await redis?.stop();
});

/** A fresh browser profile with one page. */
async function person(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 800 } });
  contexts.push(context);
  return { context, page: await context.newPage() };
}

/**
 * Waits for the tab's title, asking from here: a tab in the background gets no animation
 * frames (waitForFunction's polling), and the CSP forbids the eval its timed polling uses.
 */
async function waitForTitle(page: Page, title: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await page.title()) !== title) {
    if (Date.now() > deadline) assert.equal(await page.title(), title, 'the tab title');
    await sleep(25);
  }
}

/** The texts of the open conversation's messages, in the order shown. */
function shownTexts(page: Page): Promise<string[]> {
  return page.locator('.messages .message .text').allTextContents();
}

/** A conversation list entry (a button named by the person, its preview, time and badge). */
function entry(page: Page, username: string) {
  return page.locator(`.conversation[data-user="${username}"]`);
}

/**
 * Two people who have signed up, each on a page of their own (Bob on `bobsServer`),
 * Alice with Bob's conversation open.
 */
async function twoPeople(bobsServer = server) {
  const alice = { ...(await person()), name: newUsername('alice') };
  const bob = { ...(await person()), name: newUsername('bob') };
  await Promise.all([
    signUp(alice.page, server.url, alice.name),
    signUp(bob.page, bobsServer.url, bob.name),
  ]);
  await startConversation(alice.page, bob.name);
  return { alice, bob };
}

it('two people sign up, find each other and talk live both ways; a reload keeps the session and the history; badges and titles follow', {
  timeout: TEST_MS,
}, async () => {
  const { alice, bob } = await twoPeople();

  await sendText(alice.page, 'Hello Bob 👋');
  await alice.page.locator('.message[data-state="sent"]', { hasText: 'Hello Bob' }).waitFor();

  // Bob has nothing open: a badge, the title's count, a notice.
  await entry(bob.page, alice.name).locator('.badge', { hasText: '1' }).waitFor();
  assert.equal(await bob.page.title(), '(1) Messenger');
  await bob.page.getByRole('button', { name: `New message from ${alice.name}` }).waitFor();
  assert.match((await bob.page.locator('#announcer').textContent()) ?? '', /Hello Bob/);

  // Opening it reads it: the badge and the count go.
  await entry(bob.page, alice.name).click();
  assert.deepEqual(await shownTexts(bob.page), ['Hello Bob 👋']);
  await waitForTitle(bob.page, 'Messenger');
  assert.equal(await entry(bob.page, alice.name).locator('.badge').count(), 0);

  // Bob answers with two lines (Shift+Enter), live to Alice, whose conversation is open.
  const box = bob.page.locator('.composer textarea');
  await box.fill('Hi Alice');
  await box.press('Shift+Enter');
  await box.pressSequentially('second line');
  await box.press('Enter');
  await alice.page.locator('.message.theirs', { hasText: 'second line' }).waitFor();
  assert.deepEqual(await shownTexts(alice.page), ['Hello Bob 👋', 'Hi Alice\nsecond line']);
  assert.equal(await alice.page.title(), 'Messenger');

  // A second tab of Bob's, on the list: a new message counts on both, reading it on one clears both.
  const bobTab = await bob.context.newPage();
  await bobTab.goto(server.url);
  await bobTab.getByText(`Signed in as ${bob.name}`).waitFor();
  await bob.page.reload(); // Bob's first tab back on the list, nothing open
  await bob.page.getByText(`Signed in as ${bob.name}`).waitFor();
  await sendText(alice.page, 'third');
  for (const tab of [bob.page, bobTab]) {
    await entry(tab, alice.name).locator('.badge', { hasText: '1' }).waitFor();
    await waitForTitle(tab, '(1) Messenger');
  }
  await entry(bobTab, alice.name).click();
  await bobTab.locator('.message', { hasText: 'third' }).waitFor();
  await waitForTitle(bob.page, 'Messenger');
  assert.equal(await entry(bob.page, alice.name).locator('.badge').count(), 0);

  // The reload kept the session and the history (in order, each once).
  await entry(bob.page, alice.name).click();
  await bob.page.locator('.message', { hasText: 'third' }).waitFor();
  assert.deepEqual(await shownTexts(bob.page), ['Hello Bob 👋', 'Hi Alice\nsecond line', 'third']);

  // The session is an HttpOnly cookie: nothing a script can read, nothing in storage.
  const cookies = await bob.context.cookies();
  assert.equal(cookies.length, 1);
  assert.equal(cookies[0]?.httpOnly, true);
  assert.equal(cookies[0]?.sameSite, 'Lax');
  assert.equal(await bob.page.evaluate('document.cookie'), '');
  assert.equal(await bob.page.evaluate('localStorage.length + sessionStorage.length'), 0);

  // Logging out shows the form again, and a reload does not sign back in.
  await bobTab.getByRole('button', { name: 'Log out' }).click();
  await bobTab.getByRole('button', { name: 'Log in' }).waitFor();
  await bobTab.reload();
  await bobTab.getByRole('button', { name: 'Log in' }).waitFor();
});

it('offline: three messages from the other side each show once, in order; one typed offline is sent once', {
  timeout: TEST_MS,
}, async () => {
  const { alice, bob } = await twoPeople();
  await startConversation(bob.page, alice.name);

  await bob.context.setOffline(true);
  await bob.page.getByRole('status').filter({ hasText: 'Connection lost' }).waitFor();
  for (const text of ['one', 'two', 'three']) {
    await sendText(alice.page, text);
    await alice.page.locator('.message[data-state="sent"]', { hasText: text }).waitFor();
  }
  await sendText(bob.page, 'typed offline');
  await bob.page.locator('.message[data-state="pending"]', { hasText: 'typed offline' }).waitFor();
  assert.deepEqual(await shownTexts(bob.page), ['typed offline']);

  await bob.context.setOffline(false);
  await bob.page
    .getByRole('status')
    .filter({ hasText: 'Back online' })
    .waitFor({ timeout: 15_000 });
  await bob.page
    .locator('.message[data-state="sent"]', { hasText: 'typed offline' })
    .waitFor({ timeout: 15_000 });
  await bob.page.locator('.message', { hasText: 'three' }).waitFor();
  const texts = await shownTexts(bob.page);
  assert.deepEqual(
    texts.filter((text) => text !== 'typed offline'),
    ['one', 'two', 'three'],
  );
  assert.equal(texts.filter((text) => text === 'typed offline').length, 1);

  // Alice received it once, live; and the server stored it once (her reloaded history).
  await alice.page.locator('.message.theirs', { hasText: 'typed offline' }).waitFor();
  await alice.page.reload();
  await entry(alice.page, bob.name).click();
  await alice.page.locator('.message', { hasText: 'typed offline' }).waitFor();
  assert.deepEqual(
    (await shownTexts(alice.page)).filter((text) => text === 'typed offline'),
    ['typed offline'],
  );
});

it('finding people: a partial name in another case finds the person, and starts a conversation', {
  timeout: TEST_MS,
}, async () => {
  const carol = { ...(await person()), name: newUsername('carol') };
  const dave = { ...(await person()), name: newUsername('dave') };
  await Promise.all([
    signUp(carol.page, server.url, carol.name),
    signUp(dave.page, server.url, dave.name),
  ]);
  const partial = dave.name.slice(0, -3).toUpperCase();
  await carol.page.getByLabel('Start a conversation').fill(partial);
  await carol.page.getByRole('button', { name: `Chat with ${dave.name}` }).waitFor();
  assert.equal(
    await carol.page.getByRole('status').filter({ hasText: 'found' }).textContent(),
    '1 found.',
  );
  // Not oneself, and nobody for a name no one has.
  await carol.page.getByLabel('Start a conversation').fill(carol.name);
  await carol.page.getByRole('status').filter({ hasText: 'No one named like' }).waitFor();
  await carol.page.getByLabel('Start a conversation').fill(partial);
  await carol.page.getByRole('button', { name: `Chat with ${dave.name}` }).click();
  await carol.page.getByRole('heading', { name: dave.name }).waitFor();
  await sendText(carol.page, 'found you');
  await entry(dave.page, carol.name).locator('.badge', { hasText: '1' }).waitFor();
});

it('back online after an empty inbox: the live channel resumes from the first message, not an HTTP read then "from now on"', {
  timeout: TEST_MS,
}, async () => {
  const { alice, bob } = await twoPeople();
  const aliceClient = await MessengerClient.login(server.url, alice.name, PASSWORD);
  const sent: string[] = [];
  const send = async (text: string) => {
    await aliceClient.sendMessage(bob.name, text);
    sent.push(text);
  };
  // Were the page to read its (empty) inbox over HTTP before subscribing, a message stored
  // just after that read would fall in the gap before the live channel's "from now on".
  let inboxReads = 0;
  await bob.page.route(
    (url) => url.pathname === '/api/v1/inbox',
    async (route) => {
      inboxReads++;
      const response = await route.fetch();
      await send('in the gap');
      await route.fulfill({ response });
    },
  );
  await bob.context.setOffline(true);
  await bob.page.getByRole('status').filter({ hasText: 'Connection lost' }).waitFor();
  await bob.context.setOffline(false);
  await bob.page
    .getByRole('status')
    .filter({ hasText: 'Back online' })
    .waitFor({ timeout: 15_000 });
  await send('after');
  // Every message Alice sent reaches Bob's page as it comes in (announced), once each.
  const announced = () => bob.page.locator('#announcer p').allTextContents();
  const deadline = Date.now() + 10_000;
  const expected = sent.map((text) => `New message from ${alice.name}: ${text}`);
  while ((await announced()).length < expected.length && Date.now() < deadline) await sleep(50);
  await sleep(200); // nothing more (a repeat) comes after
  assert.deepEqual((await announced()).sort(), [...expected].sort());
  assert.equal(inboxReads, 0, 'going live reads no inbox over HTTP');
  await entry(bob.page, alice.name)
    .locator('.badge', { hasText: String(sent.length) })
    .waitFor();
});

it('hostile text is shown as text and runs nothing', { timeout: TEST_MS }, async () => {
  const { alice, bob } = await twoPeople();
  const payloads = [
    '<img src=x onerror="window.__xss=1;alert(1)">',
    '<script>window.__xss=2;alert(2)</script>',
    '<a href="javascript:window.__xss=3">click me</a>',
    'x'.repeat(4096),
  ];
  const dialogs: string[] = [];
  for (const page of [alice.page, bob.page])
    page.on('dialog', (dialog) => dialogs.push(dialog.message()));
  for (const text of payloads) await sendText(alice.page, text);
  await alice.page
    .locator('.message[data-state="sent"]')
    .nth(payloads.length - 1)
    .waitFor();
  await entry(bob.page, alice.name).click();
  for (const page of [alice.page, bob.page]) {
    await page
      .locator('.messages .message')
      .nth(payloads.length - 1)
      .waitFor();
    assert.deepEqual(await shownTexts(page), payloads);
    assert.equal(await page.locator('.messages img, .messages script, .messages a').count(), 0);
    await page.locator('.messages .message', { hasText: 'click me' }).click();
    assert.equal(await page.evaluate('window.__xss'), undefined);
    // The 4,096-character word wraps inside the history: nothing scrolls sideways.
    const overflow = await page.evaluate(
      "(() => { const h = document.querySelector('.history'); return h.scrollWidth - h.clientWidth; })()",
    );
    assert.equal(overflow, 0);
  }
  assert.deepEqual(dialogs, []);

  // One character too many: refused, said why, and discarded.
  await sendText(alice.page, 'y'.repeat(4097));
  const refused = alice.page.locator('.message[data-state="failed"]');
  await refused
    .filter({ hasText: 'Not sent: A message must be at most 4096 characters' })
    .waitFor();
  await refused.getByRole('button', { name: 'Retry' }).click();
  await refused.filter({ hasText: 'Not sent' }).waitFor(); // refused again, the same way
  await refused.getByRole('button', { name: 'Discard' }).click();
  await refused.waitFor({ state: 'detached' });
  assert.deepEqual(await shownTexts(alice.page), payloads);
});

it('two server instances on one Redis: one person on each, live both ways', {
  timeout: TEST_MS,
}, async () => {
  // Carol on the first instance, Dave on the second.
  const { alice: carol, bob: dave } = await twoPeople(second);
  await startConversation(dave.page, carol.name);
  await sendText(carol.page, 'from the first instance');
  await dave.page.locator('.message.theirs', { hasText: 'from the first instance' }).waitFor();
  await sendText(dave.page, 'from the second instance');
  await carol.page.locator('.message.theirs', { hasText: 'from the second instance' }).waitFor();
});

it('axe-core finds no serious or critical violation on the sign-in page, the list and a conversation', {
  timeout: TEST_MS,
}, async () => {
  const { page } = await person();
  await page.goto(server.url);
  await page.getByRole('button', { name: 'Log in' }).waitFor();
  assert.deepEqual(await seriousViolations(page), [], 'the sign-in page');

  const { alice, bob } = await twoPeople();
  await sendText(alice.page, 'a message for the accessibility check');
  await entry(bob.page, alice.name).locator('.badge').waitFor();
  assert.deepEqual(await seriousViolations(bob.page), [], 'the conversation list');
  await entry(bob.page, alice.name).click();
  await bob.page.locator('.message', { hasText: 'accessibility' }).waitFor();
  assert.deepEqual(await seriousViolations(bob.page), [], 'a conversation');
});

it('sign-in errors in words; a second browser is listed in Sessions and ended from the first, which signs it out', {
  timeout: TEST_MS,
}, async () => {
  const first = await person();
  const name = newUsername('erin');
  await signUp(first.page, server.url, name);

  const { page } = await person();
  await page.goto(server.url);
  const error = page.locator('#sign-in-error');
  const attempt = async (username: string, password: string, button: 'Log in' | 'Sign up') => {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: button }).click();
  };
  await attempt(name, 'not the password at all', 'Log in');
  await error.filter({ hasText: 'Wrong username or password.' }).waitFor();
  await attempt(name, PASSWORD, 'Sign up');
  await error.filter({ hasText: 'That username is taken' }).waitFor();
  await attempt(newUsername('frank'), 'short', 'Sign up');
  await error.filter({ hasText: /15/ }).waitFor();
  // By keyboard alone: the name, Tab to the password, Enter logs in (the form's first button).
  await page.getByLabel('Username').focus();
  await page.keyboard.press('Control+A');
  await page.keyboard.type(name);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Control+A');
  await page.keyboard.type(PASSWORD);
  await page.keyboard.press('Enter');
  await page.getByText(`Signed in as ${name}`).waitFor();

  await first.page.getByRole('button', { name: 'Sessions' }).click();
  const dialog = first.page.getByRole('dialog', { name: 'Your sessions' });
  await dialog.getByRole('button', { name: 'End session' }).waitFor();
  assert.equal(await dialog.locator('.sessions li').count(), 2);
  assert.equal(await dialog.getByText('This browser').count(), 1);
  await dialog.getByRole('button', { name: 'End session' }).click();
  await dialog.getByText('Session ended.').waitFor();
  assert.equal(await dialog.locator('.sessions li').count(), 1);

  // The ended browser's live channel closes (4001): it is back at the form, told why.
  await page.getByText('Your session has ended: log in again.').waitFor();
  await page.getByRole('button', { name: 'Log in' }).waitFor();
});
