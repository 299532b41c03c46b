// The chat page end to end: the switchboard binary, and headless Chromium pages (alice, bob, carol)
// driven through the page's data-testid hooks. Screenshots go to artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { startServer, root } from '../server/harness.mjs';

const artifacts = join(root, 'artifacts');
let dir;
let server;
let port;
let browser;
const pages = {};

const start = async () => startServer('switchboard', ['--db', join(dir, 'chat.db'), '--ping-interval', '1000', '--ping-timeout', '1000'], {}, { port });

async function open(name) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  await page.goto(`${server.url}/`);
  await page.getByTestId('nickname-input').fill(name);
  await page.getByTestId('nickname-submit').click();
  await page.locator('#room-title', { hasText: '#general' }).waitFor();
  await page.getByTestId('user-list').getByText(name, { exact: true }).waitFor();
  pages[name] = page;
  return page;
}

async function say(page, text) {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
}

const messagesOf = (page) => page.getByTestId('message-list').getByTestId('message');

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-e2e-'));
  mkdirSync(artifacts, { recursive: true });
  server = await startServer('switchboard', ['--db', join(dir, 'chat.db'), '--ping-interval', '1000', '--ping-timeout', '1000']);
  port = server.port;
  browser = await chromium.launch(chromiumOptions);
});
after(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('alice and bob chat in #general: delivery, typing, private messages, text stays text', async () => {
  const alice = await open('alice');
  const bob = await open('bob');
  const carol = await open('carol');

  const t0 = Date.now();
  await say(alice, 'hello bob');
  await messagesOf(bob).filter({ hasText: 'hello bob' }).waitFor({ timeout: 1000 });
  assert.ok(Date.now() - t0 < 1000);
  await alice.locator('[data-testid="message"][data-status="delivered"]', { hasText: 'hello bob' }).waitFor();

  await alice.getByTestId('message-input').pressSequentially('typing…');
  await bob.getByTestId('typing').getByText('alice is typing').waitFor();
  await alice.getByTestId('message-input').fill('');

  await say(alice, '/msg bob a secret');
  await bob.getByTestId('toast').filter({ hasText: 'a secret' }).waitFor();
  await bob.getByTestId('message-list').getByText('a secret').waitFor();
  await say(alice, 'sync point');
  await messagesOf(carol).filter({ hasText: 'sync point' }).waitFor();
  assert.equal(await carol.getByText('a secret').count(), 0);

  const evil = '<img src=x onerror="window.pwned=1">';
  await say(alice, evil);
  const shown = messagesOf(bob).filter({ hasText: 'onerror' });
  await shown.waitFor();
  assert.equal(await shown.locator('.text').textContent(), evil);
  assert.equal(await bob.locator('[data-testid="message-list"] img').count(), 0);
  assert.equal(await bob.evaluate(() => window.pwned), undefined);

  await alice.screenshot({ path: join(artifacts, 'chat-alice.png') });
  await bob.screenshot({ path: join(artifacts, 'chat-bob.png') });
  for (const p of [alice, bob, carol]) assert.deepEqual(p.problems, []);
});

test('the banner shows while the server is down and goes when it returns; history survives a restart', async () => {
  const { alice, bob } = pages;
  await server.stop();
  await alice.getByTestId('connection-banner').waitFor({ state: 'visible' });
  await alice.screenshot({ path: join(artifacts, 'chat-reconnecting.png') });
  server = await start();
  await alice.getByTestId('connection-banner').waitFor({ state: 'hidden', timeout: 10000 });
  await bob.getByTestId('connection-banner').waitFor({ state: 'hidden', timeout: 10000 });
  await bob.getByTestId('user-list').getByText('bob', { exact: true }).waitFor();
  await say(bob, 'back again');
  await messagesOf(alice).filter({ hasText: 'back again' }).waitFor();

  await bob.reload();
  await bob.getByTestId('nickname-input').fill('bob');
  await bob.getByTestId('nickname-submit').click();
  for (const text of ['hello bob', 'sync point', 'back again']) await messagesOf(bob).filter({ hasText: text }).first().waitFor();
  await bob.screenshot({ path: join(artifacts, 'chat-history.png') });
});
