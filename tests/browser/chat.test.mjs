// The chat page end to end: the switchboard binary, and headless Chromium pages (alice, bob, carol)
// driven through the page's data-testid hooks. Screenshots go to artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
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

async function open(name, on = server, contextOptions = {}) {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, ...contextOptions });
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  page.sockets = [];
  page.on('websocket', (ws) => page.sockets.push(ws.url()));
  await page.goto(`${on.url}/`);
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

  // A private message goes into the two users' conversation, listed beside the rooms.
  await say(alice, '/msg bob a secret');
  await bob.getByTestId('toast').filter({ hasText: 'a secret' }).waitFor();
  await bob.getByTestId('conversation-list').getByText('alice').click();
  await bob.getByTestId('message-list').getByText('a secret').waitFor();
  await bob.getByTestId('room-list').getByText('#general').click();
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

test('over HTTPS: the page, the WASM client and the chat on one TLS port (wss)', async () => {
  // A self-signed certificate made here; the browser contexts accept it as a user would, once.
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key,
    '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
  { stdio: 'ignore', timeout: 20000 });
  const secure = await startServer('switchboard', ['--db', join(dir, 'tls.db'), '--tls-cert', cert, '--tls-key', key]);
  try {
    assert.match(secure.url, /^https:/);
    const dave = await open('dave', secure, { ignoreHTTPSErrors: true });
    const erin = await open('erin', secure, { ignoreHTTPSErrors: true });
    assert.equal(await dave.evaluate(() => location.protocol), 'https:');
    await say(dave, 'over tls');
    await messagesOf(erin).filter({ hasText: 'over tls' }).waitFor();
    await dave.locator('[data-testid="message"][data-status="delivered"]', { hasText: 'over tls' }).waitFor();
    for (const p of [dave, erin]) {
      assert.ok(p.sockets.length > 0 && p.sockets.every((u) => u.startsWith('wss://')), p.sockets.join(' '));
      assert.deepEqual(p.problems, []);
      await p.context().close();
    }
  } finally {
    await secure.stop();
  }
});
