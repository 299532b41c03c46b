// The chat as people use it, in headless Chromium (playwright-core) on a desktop and a 390-pixel phone
// viewport: browser notifications of mentions and private messages while the tab is hidden, the unread
// count in the title, unread counts and mention markers per room that survive a reload, private
// conversations with their history, '@' completion, the phone layout, the dark theme, and messages
// written offline that are sent once the connection returns. Screenshots go to artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { startServer, root, until } from '../server/harness.mjs';

const artifacts = join(root, 'artifacts');
const desktop = { viewport: { width: 1100, height: 700 } };
const phone = { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 };
let dir;
let server;
let browser;
const contexts = [];

const start = (port = 0) => startServer('switchboard', ['--db', join(dir, 'chat.db'), '--ping-interval', '1000', '--ping-timeout', '1000'], {}, { port });

// Before the page runs: browser notifications recorded as they are shown, and the tab's visibility
// under the test's control (a headless tab is always "visible").
function watchNotificationsAndVisibility() {
  window.notificationsShown = [];
  const Real = window.Notification;
  if (Real) {
    window.Notification = class extends Real {
      constructor(title, options = {}) {
        window.notificationsShown.push({ title, body: options.body });
        super(title, options);
      }
    };
  }
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  window.setTabHidden = (h) => { hidden = h; document.dispatchEvent(new Event('visibilitychange')); };
}

async function open(name, options = desktop) {
  const context = await browser.newContext({ permissions: ['notifications'], ...options });
  contexts.push(context);
  await context.addInitScript(watchNotificationsAndVisibility);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/`);
  await enter(page, name);
  return page;
}

async function enter(page, name) {
  await page.getByTestId('nickname-input').fill(name);
  await page.getByTestId('nickname-submit').click();
  await page.locator('#room-title', { hasText: '#general' }).waitFor();
  await page.getByTestId('user-list').getByText(name, { exact: true }).waitFor({ state: 'attached' });
}

async function say(page, text) {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}

const messages = (page) => page.getByTestId('message-list').getByTestId('message');
const roomEntry = (page, room) => page.getByTestId('room-list').locator(`li[data-room="${room}"]`);
const conversationEntry = (page, nick) => page.getByTestId('conversation-list').locator(`li[data-with="${nick}"]`);
const title = (page) => page.evaluate(() => document.title);
const notifications = (page) => page.evaluate(() => window.notificationsShown);

/** On a phone the room and conversation lists are behind the ☰ button. */
async function showList(page) {
  if (await page.getByTestId('rooms-toggle').isVisible()) {
    await page.getByTestId('rooms-toggle').click();
    await page.getByTestId('room-list').waitFor({ state: 'visible' });
  }
}

async function joinRoom(page, room) {
  await page.getByTestId('room-input').fill(room);
  await page.getByTestId('room-join').click();
  await page.locator('#room-title', { hasText: `#${room}` }).waitFor();
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-people-'));
  mkdirSync(artifacts, { recursive: true });
  server = await start();
  browser = await chromium.launch(chromiumOptions);
});
after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

for (const [viewport, options, me, other] of [['desktop', desktop, 'alice', 'bob'], ['phone', phone, 'amy', 'ben']]) {
test(`${viewport}: a hidden tab gets browser notifications for a mention and a private message; the title counts and clears`, async () => {
  const alice = await open(me, options);
  const bob = await open(other);
  assert.equal(await title(alice), 'Switchboard chat');
  await alice.evaluate(() => window.setTabHidden(true));

  await say(bob, `@${me} look at this`);
  await until(async () => (await notifications(alice)).length === 1, 5000, 'the mention notification');
  assert.deepEqual(await notifications(alice), [{ title: `${other} mentioned you in #general`, body: `@${me} look at this` }]);
  await until(async () => (await title(alice)) === '(1) Switchboard chat', 5000, 'the title count');

  await say(bob, `/msg ${me} just for you`);
  await until(async () => (await notifications(alice)).length === 2, 5000, 'the private message notification');
  assert.deepEqual((await notifications(alice))[1], { title: `Private message from ${other}`, body: 'just for you' });
  await until(async () => (await title(alice)) === '(2) Switchboard chat', 5000, 'the title count rises');

  // Back to the tab: the room shown is read; the conversation is not, until it is opened.
  await alice.evaluate(() => window.setTabHidden(false));
  await until(async () => (await title(alice)) === '(1) Switchboard chat', 5000, 'the room read');
  assert.equal(await conversationEntry(alice, other).getByTestId('conversation-unread').textContent(), '1');
  await showList(alice);
  await conversationEntry(alice, other).click();
  await messages(alice).filter({ hasText: 'just for you' }).waitFor();
  await until(async () => (await title(alice)) === 'Switchboard chat', 5000, 'the title clears');

  // Visible: no browser notification, a toast instead, and the room's mention marker.
  await say(bob, `again @${me}`);
  await alice.getByTestId('toast').filter({ hasText: `again @${me}` }).waitFor();
  await showList(alice);
  await roomEntry(alice, 'general').getByTestId('room-mention').waitFor();
  assert.equal((await notifications(alice)).length, 2);
  await roomEntry(alice, 'general').click();
  assert.equal(await roomEntry(alice, 'general').getByTestId('room-mention').count(), 0);
  // Mentions of me stand out in the list; others' messages do not.
  const mentions = alice.getByTestId('message-list').getByTestId('mention');
  await until(async () => (await mentions.count()) === 2, 5000, 'both mentions highlighted');
  assert.deepEqual(await mentions.allTextContents(), [`@${me} look at this`, `again @${me}`]);
  await say(alice, `@${other} thanks`);
  await bob.getByTestId('message-list').getByTestId('mention').filter({ hasText: `@${other} thanks` }).waitFor();
  assert.equal(await alice.getByTestId('message-list').getByTestId('mention').filter({ hasText: `@${other} thanks` }).count(), 0);
  await alice.screenshot({ path: join(artifacts, `chat-${viewport}-mentions.png`) });
  if (viewport === 'desktop') await alice.screenshot({ path: join(artifacts, 'chat-desktop.png') });
  for (const p of [alice, bob]) assert.deepEqual(p.problems, []);
});
}

test('unread counts per room and a mention marker survive a reload; private conversations keep their history', async () => {
  const carol = await open('carol');
  const dave = await open('dave');
  await joinRoom(carol, 'side');
  await roomEntry(carol, 'general').click();
  await joinRoom(dave, 'side');
  await say(dave, 'first in side');
  await say(dave, 'second in side, @carol');
  await dave.locator('[data-testid="message"][data-status="delivered"]', { hasText: 'second in side' }).waitFor();
  const sideUnread = () => roomEntry(carol, 'side').getByTestId('room-unread');
  await until(async () => (await sideUnread().count()) === 1 && (await sideUnread().textContent()) === '2', 5000, 'two unread in #side');
  await roomEntry(carol, 'side').getByTestId('room-mention').waitFor();
  assert.equal(await roomEntry(carol, 'general').getByTestId('room-unread').count(), 0, 'the room shown has none');

  // Private messages: a conversation beside the rooms, with its own count.
  await say(dave, '/msg carol one');
  await say(dave, '/msg carol two');
  await until(async () => (await conversationEntry(carol, 'dave').getByTestId('conversation-unread').textContent().catch(() => '')) === '2', 5000, 'two unread from dave');

  // A reload: the server's read marks bring the same counts back.
  await carol.reload();
  await enter(carol, 'carol');
  await until(async () => (await sideUnread().textContent().catch(() => '')) === '2', 5000, 'two unread in #side after the reload');
  await roomEntry(carol, 'side').getByTestId('room-mention').waitFor();
  await until(async () => (await conversationEntry(carol, 'dave').getByTestId('conversation-unread').textContent().catch(() => '')) === '2', 5000, 'the conversation after the reload');
  assert.equal(await title(carol), '(4) Switchboard chat');

  // Reading clears them, and they stay cleared after another reload.
  await roomEntry(carol, 'side').click();
  await messages(carol).filter({ hasText: 'second in side' }).waitFor();
  await conversationEntry(carol, 'dave').click();
  assert.deepEqual(await messages(carol).locator('.text').allTextContents(), ['one', 'two']);
  await until(async () => (await title(carol)) === 'Switchboard chat', 5000, 'all read');
  await carol.waitForTimeout(300); // the read marks reach the server
  await carol.reload();
  await enter(carol, 'carol');
  await conversationEntry(carol, 'dave').waitFor();
  await roomEntry(carol, 'side').waitFor();
  assert.equal(await carol.getByTestId('room-unread').count(), 0);
  assert.equal(await carol.getByTestId('conversation-unread').count(), 0);
  await conversationEntry(carol, 'dave').click();
  await messages(carol).filter({ hasText: 'two' }).waitFor();
  assert.deepEqual(await messages(carol).locator('.text').allTextContents(), ['one', 'two'], 'the conversation\'s history, stored');
  // Written in the conversation, it goes to dave privately.
  await say(carol, 'hi dave');
  await conversationEntry(dave, 'carol').waitFor();
  for (const p of [carol, dave]) assert.deepEqual(p.problems, []);
});

test('typing shows in the room list for rooms not shown; @ completes online nicknames', async () => {
  const erin = await open('erin');
  const frank = await open('frank');
  await joinRoom(erin, 'porch');
  await roomEntry(erin, 'general').click();
  await joinRoom(frank, 'porch');
  await frank.getByTestId('message-input').pressSequentially('hello th');
  await roomEntry(erin, 'porch').getByTestId('room-typing').filter({ hasText: 'frank' }).waitFor();

  await erin.getByTestId('message-input').pressSequentially('hi @fr');
  await erin.getByTestId('mention-suggestions').getByText('@frank').waitFor();
  await erin.getByTestId('message-input').press('Tab');
  assert.equal(await erin.getByTestId('message-input').inputValue(), 'hi @frank ');
  assert.equal(await erin.getByTestId('mention-suggestions').isVisible(), false);
});

test('phone viewport: the room list behind a button, toasts never over the message box; dark theme follows the system', async () => {
  const gina = await open('gina', phone);
  const hugo = await open('hugo');
  assert.equal(await gina.getByTestId('room-list').isVisible(), false);
  await gina.getByTestId('rooms-toggle').click();
  await gina.getByTestId('room-list').waitFor({ state: 'visible' });
  await gina.screenshot({ path: join(artifacts, 'chat-phone-rooms.png') });
  await roomEntry(gina, 'general').click();
  await gina.getByTestId('room-list').waitFor({ state: 'hidden' });

  await say(hugo, 'morning @gina');
  await say(hugo, '/msg gina and a private word for you that is long enough to wrap on a phone screen');
  await gina.getByTestId('toast').filter({ hasText: 'private word' }).waitFor();
  const input = await gina.getByTestId('message-input').boundingBox();
  const form = await gina.locator('#send-form').boundingBox();
  for (const toast of await gina.getByTestId('toast').all()) {
    const box = await toast.boundingBox();
    if (!box) continue;
    const overlaps = (a, b) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    assert.equal(overlaps(box, form), false, `toast ${JSON.stringify(box)} over the message box ${JSON.stringify(form)}`);
  }
  assert.ok(input.y + input.height <= phone.viewport.height, 'the input is on screen');
  await gina.screenshot({ path: join(artifacts, 'chat-phone.png') });

  // The system's dark setting: the page follows it.
  await gina.emulateMedia({ colorScheme: 'dark' });
  const background = await gina.evaluate(() => getComputedStyle(document.body).backgroundColor);
  const [r, g, b] = background.match(/\d+/g).map(Number);
  assert.ok(r + g + b < 150, `a dark background, got ${background}`);
  await gina.screenshot({ path: join(artifacts, 'chat-phone-dark.png') });
  await gina.emulateMedia({ colorScheme: 'light' });
  for (const p of [gina, hugo]) assert.deepEqual(p.problems, []);
});

test('offline: a message written while the connection is down shows as pending, then is delivered once', async () => {
  const ivy = await open('ivy');
  const jon = await open('jon');
  const port = server.port;
  await server.stop();
  await ivy.getByTestId('connection-banner').waitFor({ state: 'visible' });
  await until(async () => /attempt \d+/.test(await ivy.getByTestId('connection-banner').textContent()), 8000, 'the attempt count');

  await say(ivy, 'written offline');
  const mine = ivy.locator('[data-testid="message"]', { hasText: 'written offline' });
  await mine.getByTestId('pending').waitFor();
  assert.equal(await mine.getAttribute('data-status'), 'queued');
  assert.match(await ivy.getByTestId('connection-banner').textContent(), /Offline — a message will be sent when the connection returns/);
  await ivy.screenshot({ path: join(artifacts, 'chat-offline.png') });

  server = await start(port);
  await ivy.locator('[data-testid="message"][data-status="delivered"]', { hasText: 'written offline' }).waitFor({ timeout: 15000 });
  assert.equal(await mine.getByTestId('pending').count(), 0);
  await ivy.getByTestId('connection-banner').waitFor({ state: 'hidden' });
  await messages(jon).filter({ hasText: 'written offline' }).waitFor({ timeout: 15000 });
  await say(jon, 'sync after');
  await messages(ivy).filter({ hasText: 'sync after' }).waitFor();
  assert.equal(await messages(jon).filter({ hasText: 'written offline' }).count(), 1, 'delivered once');
  assert.equal(await messages(ivy).filter({ hasText: 'written offline' }).count(), 1);
  for (const p of [ivy, jon]) assert.deepEqual(p.problems, []);
});
