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

let server;
let dir;
let context;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-browser-'));
  writeFileSync(join(dir, 'index.html'), page);
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
