// The chat page on two switchboard nodes sharing one Redis (--redis): headless Chromium pages on
// different nodes see each other's messages, presence and the shared history. Screenshots go to
// artifacts/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { startServer, root } from '../server/harness.mjs';
import { startNginx, startRedis } from '../cluster/infra.mjs';

const artifacts = join(root, 'artifacts');
let redis;
let nginx;
const nodes = {};
let browser;

before(async () => {
  mkdirSync(artifacts, { recursive: true });
  redis = await startRedis();
  for (const name of ['a', 'b']) nodes[name] = await startServer('switchboard', ['--redis', redis.url()]);
  nginx = await startNginx([`127.0.0.1:${nodes.a.port}`, `127.0.0.1:${nodes.b.port}`]);
  nodes.proxy = { url: nginx.url }; // the page through nginx (either node)
  browser = await chromium.launch(chromiumOptions);
});
after(async () => {
  await browser?.close();
  await nginx?.stop();
  for (const n of Object.values(nodes)) await n.stop?.();
  await redis?.stop();
});

/// A page on `node`, signed in as `name`, in #general.
async function open(node, name) {
  const page = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  await page.goto(`${nodes[node].url}/`);
  await page.getByTestId('nickname-input').fill(name);
  await page.getByTestId('nickname-submit').click();
  await page.locator('#room-title', { hasText: '#general' }).waitFor();
  return page;
}
const say = async (page, text) => {
  await page.getByTestId('message-input').fill(text);
  await page.getByTestId('message-input').press('Enter');
};
const messagesOf = (page) => page.getByTestId('message-list').getByTestId('message');

test('pages on two nodes: messages, presence and history cross', async () => {
  const alice = await open('a', 'alice');
  const bob = await open('b', 'bob');
  for (const page of [alice, bob])
    for (const name of ['alice', 'bob']) await page.getByTestId('user-list').getByText(name, { exact: true }).waitFor();

  await say(alice, 'hello from node a');
  await messagesOf(bob).filter({ hasText: 'hello from node a' }).waitFor({ timeout: 5000 });
  await say(bob, 'hello back from node b');
  await messagesOf(alice).filter({ hasText: 'hello back from node b' }).waitFor({ timeout: 5000 });

  // A newcomer on node b gets the history node a's user wrote; so does one through nginx.
  const carol = await open('b', 'carol');
  const dave = await open('proxy', 'dave');
  for (const text of ['hello from node a', 'hello back from node b']) await messagesOf(dave).filter({ hasText: text }).waitFor();
  await say(dave, 'hello through the proxy');
  await messagesOf(alice).filter({ hasText: 'hello through the proxy' }).waitFor({ timeout: 5000 });
  for (const text of ['hello from node a', 'hello back from node b']) await messagesOf(carol).filter({ hasText: text }).waitFor();
  await alice.getByTestId('user-list').getByText('carol', { exact: true }).waitFor();
  await alice.screenshot({ path: join(artifacts, 'chat-cluster.png') });

  // bob closes his page: alice (the other node) sees him go.
  await bob.context().close();
  await alice.getByTestId('user-list').getByText('bob', { exact: true }).waitFor({ state: 'detached', timeout: 10000 });
  for (const page of [alice, carol, dave]) assert.deepEqual(page.problems, []);
});
