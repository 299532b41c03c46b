// The WASM client in a real browser (Debian's Chromium, headless, driven by playwright-core): a page
// served by our server loads /switchboard/client.mjs from it, connects, upgrades to WebSocket, and
// exchanges events, acks and binary with the server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { startServer, root } from '../server/harness.mjs';

const page = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>client test</title></head>
<body><script type="module">
import { io } from '/switchboard/client.mjs';
window.result = (async () => {
  const socket = io({ auth: { from: 'browser' } });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  const handshake = await socket.emitWithAck('handshake');
  const echo = await new Promise((r) => socket.emit('echo', 'hi', { bytes: new Uint8Array([1, 2, 3]) }, (...a) => r(a)));
  const upgraded = await new Promise((resolve) => {
    const check = () => (socket.io.engine.transport.name === 'websocket' ? resolve(true) : setTimeout(check, 20));
    check();
  });
  socket.once('question', (text, answer) => answer('from the browser'));
  const asked = await socket.emitWithAck('ask', 2000);
  socket.disconnect();
  return {
    id: socket.id === undefined, auth: handshake.auth, text: echo[0],
    binaryIsArrayBuffer: echo[1].bytes instanceof ArrayBuffer, bytes: [...new Uint8Array(echo[1].bytes)],
    upgraded, asked,
  };
})();
</script></body></html>`;

// bufferedAmount and 'drain': 10 MB emitted at once over each transport.
const drainPage = `<!doctype html>
<html><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>drain</title></head>
<body><script type="module">
import { io } from '/switchboard/client.mjs';
async function flood(transports) {
  const socket = io({ transports, forceNew: true });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  const drained = new Promise((resolve) => socket.once('drain', () => resolve(true)));
  const managerDrained = new Promise((resolve) => socket.io.once('drain', () => resolve(true)));
  const chunk = 'd'.repeat(500000);
  for (let i = 0; i < 20; i++) socket.emit('sink', chunk);
  const waiting = socket.bufferedAmount;
  const timeout = new Promise((resolve) => setTimeout(() => resolve(false), 20000));
  const result = { waiting: waiting > 0, drained: await Promise.race([drained, timeout]),
    managerDrained: await Promise.race([managerDrained, timeout]), after: socket.bufferedAmount };
  result.stillTalks = (await socket.timeout(5000).emitWithAck('echo', 'after')) === 'after';
  socket.disconnect();
  return result;
}
window.result = (async () => ({ websocket: await flood(['websocket']), polling: await flood(['polling']) }))();
</script></body></html>`;

let server;
let dir;
let context;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
  writeFileSync(join(dir, 'index.html'), page);
  writeFileSync(join(dir, 'drain.html'), drainPage);
  server = await startServer('fixture', ['--static', dir, '--client-dir', join(root, 'build', 'wasm', 'switchboard')]);
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, chromiumOptions);
});
after(async () => {
  await context?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('a page loads the client from /switchboard/, connects, upgrades, and talks both ways', async () => {
  const tab = await context.newPage();
  const problems = [];
  tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  tab.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await tab.goto(`${server.url}/`);
  const result = await tab.evaluate(() => window.result);
  assert.deepEqual(result, {
    id: true, auth: { from: 'browser' }, text: 'hi', binaryIsArrayBuffer: true, bytes: [1, 2, 3],
    upgraded: true, asked: { err: null, reply: ['from the browser'] },
  });
  assert.deepEqual(problems, []);
});

test('bufferedAmount counts what waits to be sent and drain fires once it is out, over WebSocket and polling', async () => {
  const tab = await context.newPage();
  const problems = [];
  tab.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await tab.goto(`${server.url}/drain.html`);
  const result = await tab.evaluate(() => window.result);
  const expected = { waiting: true, drained: true, managerDrained: true, after: 0, stillTalks: true };
  assert.deepEqual(result, { websocket: expected, polling: expected });
  assert.deepEqual(problems, []);
});
