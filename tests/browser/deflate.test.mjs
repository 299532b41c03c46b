// --deflate in Chromium: the browser's own WebSocket negotiates permessage-deflate with our server
// (WebSocket.extensions names it), and large Socket.IO packets both ways arrive intact.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { startServer } from '../server/harness.mjs';

test('Chromium negotiates permessage-deflate; a 200 KB event and its ack cross compressed', async () => {
  const server = await startServer('echo', ['--deflate']);
  const browser = await chromium.launch(chromiumOptions);
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/healthz`); // the server's origin
    const result = await page.evaluate(async (port) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
      const inbox = [];
      ws.onmessage = (m) => inbox.push(m.data);
      const until = async (f) => { for (let i = 0; i < 500 && !f(); i++) await new Promise((r) => setTimeout(r, 10)); };
      await new Promise((r) => { ws.onopen = r; });
      await until(() => inbox.length >= 1);
      ws.send('40');
      await until(() => inbox.some((m) => m.startsWith('40{')));
      const big = 'Chromium compresses this. '.repeat(8000);
      ws.send(`421${JSON.stringify(['message-with-ack', big])}`);
      await until(() => inbox.some((m) => m.startsWith('431')));
      const ack = inbox.find((m) => m.startsWith('431'));
      ws.close();
      return { extensions: ws.extensions, intact: ack === `431${JSON.stringify([big])}` };
    }, server.port);
    assert.match(result.extensions, /^permessage-deflate/);
    assert.equal(result.intact, true);
  } finally {
    await browser.close();
    await server.stop();
  }
});
