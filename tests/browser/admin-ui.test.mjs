// The official admin UI's dashboard (@socket.io/admin-ui 0.5's ui/dist, from the npm package) in
// headless Chromium, pointed at our server (which serves it as its static files): the login form, the
// sockets and rooms the test's clients made, and an action of the dashboard reaching a client.
// Screenshots go to artifacts/ (the README's is docs/admin-ui.png).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { io } from 'socket.io-client';
import { chromiumOptions } from './chromium.mjs';
import { root, startServer, until } from '../server/harness.mjs';

const artifacts = join(root, 'artifacts');
const dashboard = join(root, 'node_modules', '@socket.io', 'admin-ui', 'ui', 'dist');

function client(url, opts = {}) {
  const s = io(url, { forceNew: true, reconnection: false, ...opts });
  s.events = [];
  s.onAny((name, ...args) => s.events.push([name, ...args]));
  return s;
}
const connected = (s) => (s.connected ? Promise.resolve() : new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); }));

test('the admin dashboard logs in to our server and lists its sockets and rooms; its join reaches a client', async () => {
  mkdirSync(artifacts, { recursive: true });
  const server = await startServer('echo', ['--admin-ui', 'admin:s3cret', '--static', dashboard]);
  const alice = client(server.url, { transports: ['websocket'], query: { user: 'alice' } });
  const bob = client(server.url, { transports: ['polling'], query: { user: 'bob' } });
  const browser = await chromium.launch(chromiumOptions);
  try {
    await Promise.all([connected(alice), connected(bob)]);
    await alice.timeout(5000).emitWithAck('join', 'team-red');
    await bob.timeout(5000).emitWithAck('join', 'team-red');
    await bob.timeout(5000).emitWithAck('join', 'team-blue');

    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    // The dashboard keeps its server's address in localStorage; with it, it connects at once (and,
    // without a session yet, opens its login form on "invalid credentials").
    await page.addInitScript((url) => {
      if (!localStorage.getItem('server_url')) localStorage.setItem('server_url', url);
    }, server.url);
    await page.goto(`${server.url}/#/`);
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('s3cret');
    await page.getByRole('button', { name: 'Connect' }).click();
    await page.getByLabel('Username').waitFor({ state: 'hidden', timeout: 10000 });

    // Sockets: both clients, each with its transport.
    await page.goto(`${server.url}/#/sockets/`);
    for (const s of [alice, bob]) await page.getByText(s.id).first().waitFor({ timeout: 10000 });
    await page.screenshot({ path: join(artifacts, 'admin-ui-sockets.png') });
    // Rooms: ours, with their members.
    await page.goto(`${server.url}/#/rooms/`);
    await page.getByText('team-red').first().waitFor({ timeout: 10000 });
    await page.getByText('team-blue').first().waitFor({ timeout: 10000 });
    await page.goto(`${server.url}/#/`);
    await page.getByText('Servers').first().waitFor({ timeout: 10000 });
    await page.waitForTimeout(2500); // a server_stats tick or two for the charts
    await page.screenshot({ path: join(artifacts, 'admin-ui.png') });
    assert.deepEqual(problems, []);

    // A dashboard action (the event its "join" button sends, from a second admin connection): the
    // client is in the room, and the dashboard shows it.
    const admin = client(`${server.url}/admin`, { transports: ['websocket'], auth: { username: 'admin', password: 's3cret' } });
    await connected(admin);
    admin.emit('join', '/', 'from-the-dashboard', alice.id);
    await until(async () => (await alice.timeout(5000).emitWithAck('join')).includes('from-the-dashboard'), 5000, 'the join');
    await page.goto(`${server.url}/#/rooms/`);
    await page.getByText('from-the-dashboard').first().waitFor({ timeout: 10000 });
    admin.close();
    await context.close();
  } finally {
    alice.close();
    bob.close();
    await browser.close();
    await server.stop();
  }
});
