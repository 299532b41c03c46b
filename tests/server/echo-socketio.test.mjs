// examples/echo's Socket.IO side at /socket.io/: the behaviours the protocol's public test suite
// assumes, checked with the official socket.io-client and with raw WebSocket frames.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, sleep } from './harness.mjs';

let server;
before(async () => {
  server = await startServer('echo', ['--ping-interval', '300', '--ping-timeout', '200', '--connect-timeout', '1000']);
});
after(async () => { const { code } = await server.stop(); assert.equal(code, 0, server.output().slice(-4000)); });

const open = (nsp, opts = {}) => connect(`${server.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });

for (const nsp of ['/', '/custom']) {
  test(`${nsp}: "auth" carries the handshake auth; message-back and message-with-ack echo the arguments`, async () => {
    const s = open(nsp, { auth: { token: '123' } });
    assert.deepEqual(await new Promise((r) => s.once('auth', r)), { token: '123' });
    const args = [1, '2', { 3: [null, true] }, Buffer.from([4, 5])];
    s.emit('message', ...args);
    assert.deepEqual(await new Promise((r) => s.once('message-back', (...a) => r(a))), args);
    assert.deepEqual(await new Promise((r) => s.emit('message-with-ack', ...args, (...a) => r(a))), args);
    s.close();
  });
}

test('an unknown namespace is refused with "Invalid namespace"', async () => {
  const s = open('/random');
  const err = await new Promise((r) => s.once('connect_error', r));
  assert.equal(err.message, 'Invalid namespace');
  s.close();
});

test('raw frames: CONNECT answered with a sid distinct from the Engine.IO sid, then "auth"', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  const frames = [];
  ws.on('message', (m) => frames.push(String(m)));
  await new Promise((r) => ws.once('open', r));
  await sleep(20);
  const eioSid = JSON.parse(frames[0].slice(1)).sid;
  ws.send('40{"token":"abc"}');
  await sleep(100);
  const connectAnswer = frames.find((f) => f.startsWith('40'));
  const { sid } = JSON.parse(connectAnswer.slice(2));
  assert.match(sid, /^[A-Za-z0-9_-]{20}$/);
  assert.notEqual(sid, eioSid);
  assert.ok(frames.indexOf('42["auth",{"token":"abc"}]') > frames.indexOf(connectAnswer));
  ws.send('40/custom,');
  ws.send('42/custom,["message-with-ack",1]');
  ws.send('42/custom,7["message-with-ack",1,"two"]');
  await sleep(100);
  assert.ok(frames.includes('43/custom,7[1,"two"]'));
  ws.close();
});

test('--connect-timeout: a session that joins no namespace is closed', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  ws.on('message', (m) => { if (String(m) === '2') ws.send('3'); }); // alive, but never CONNECTs
  const t0 = Date.now();
  await new Promise((r) => ws.once('close', r));
  const elapsed = Date.now() - t0;
  assert.ok(elapsed >= 900 && elapsed < 2000, `closed after ${elapsed} ms`);
});

test('heartbeat: a connected client outlives several ping periods', async () => {
  const s = open('/');
  await new Promise((r) => s.once('connect', r));
  await sleep(1200);
  assert.ok(s.connected);
  s.close();
});
