// socket.io-client 4.8's behaviour (behaviour-cases.mjs), asserted the same way for the official client
// and for ours (the WASM client), under Node. tests/browser/behaviour.test.mjs runs the same cases in
// Chromium.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io as officialIo } from 'socket.io-client';
import { io as wasmIo } from '../../build/wasm/switchboard/client.mjs';
import { startServer, until, sleep } from '../server/harness.mjs';
import { behaviourCases } from './behaviour-cases.mjs';

const clients = { 'socket.io-client': officialIo, 'wasm client': wasmIo };

/// Runs `body` with uncaught exceptions captured (a listener's error is rethrown asynchronously).
async function capturingUncaught(body) {
  const caught = [];
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const capture = (err) => caught.push(err);
  process.on('uncaughtException', capture);
  try {
    await body(caught);
  } finally {
    process.off('uncaughtException', capture);
    for (const l of listeners) process.on('uncaughtException', l);
  }
}

for (const [name, io] of Object.entries(clients)) {
  describe(name, () => {
    const env = { name, io, assert, until, sleep, startServer, capturingUncaught, inBrowser: false };
    const { cases, opened } = behaviourCases(env);
    before(async () => {
      env.server = await startServer('fixture', []);
      env.reference = await startServer('reference', []);
    });
    after(async () => {
      for (const s of opened) s.disconnect();
      await env.server.stop();
      await env.reference.stop();
    });
    for (const c of cases) test(c.title, { skip: c.skip }, c.run);
  });
}
