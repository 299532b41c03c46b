// The hostile-packet suite: the real binaries (examples/echo, examples/bench, the switchboard chat) are
// sent every malformed packet hostile-cases.mjs generates, each on a fresh WebSocket session, while a
// neighbour (socket.io-client) keeps asking for acknowledged echoes. After every batch the process must
// be alive and the neighbour's latest answer recent; at the end the neighbour must have missed nothing
// and the process must shut down cleanly (exit 0, no sanitizer report).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, sleep, sanitized } from './harness.mjs';
import { chatCases, engineioCases, socketioCases } from './hostile-cases.mjs';

const slow = sanitized ? 4 : 1; // sanitizer builds are several times slower

/// Sends one case's frames on a fresh session; waits until the server closes it or a moment passes.
async function runCase(port, frames) {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { skipUTF8Validation: true });
  ws.on('error', () => {});
  const closed = new Promise((r) => ws.once('close', r));
  try {
    const opened = await Promise.race([new Promise((r) => ws.once('message', () => r(true))), closed.then(() => false),
      sleep(5000 * slow).then(() => false)]);
    if (!opened) return;
    for (const frame of frames) {
      if (ws.readyState !== WebSocket.OPEN) break;
      ws.send(frame.data, { binary: frame.binary });
    }
    await Promise.race([closed, sleep(15)]);
  } finally {
    ws.terminate();
  }
}

/// A well-behaved client that keeps asking for acknowledged answers; records how long it ever waited.
function neighbour(url, ask) {
  const socket = io(url, { forceNew: true, transports: ['websocket'], reconnection: false });
  const state = { answers: 0, failures: [], lastAnswer: Date.now(), longestWait: 0, stop: false };
  const loop = async () => {
    await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
    while (!state.stop) {
      const asked = Date.now();
      try {
        await ask(socket.timeout(3000 * slow));
        state.answers++;
        state.lastAnswer = Date.now();
        state.longestWait = Math.max(state.longestWait, state.lastAnswer - asked);
      } catch (e) {
        state.failures.push(String(e));
        if (!socket.connected) return;
      }
      await sleep(20);
    }
  };
  state.done = loop().catch((e) => state.failures.push(String(e)));
  state.close = async () => { state.stop = true; await state.done; socket.close(); };
  return state;
}

async function survive(name, args, ask, cases) {
  const server = await startServer(name, args);
  const watcher = neighbour(server.url, ask);
  try {
    await sleep(100);
    const batch = 16;
    for (let i = 0; i < cases.length; i += batch) {
      await Promise.all(cases.slice(i, i + batch).map((frames) => runCase(server.port, frames)));
      assert.equal(server.proc.exitCode, null, `${name} exited after case ${i}: ${server.output().slice(-2000)}`);
      assert.equal(server.proc.signalCode, null, `${name} was killed after case ${i}: ${server.output().slice(-2000)}`);
      assert.ok(Date.now() - watcher.lastAnswer < 5000 * slow, `the neighbour got no answer for 5 s (case ${i})`);
    }
    const answered = watcher.answers;
    await sleep(200);
    assert.ok(watcher.answers > answered, 'the neighbour is still answered after the last case');
    assert.deepEqual(watcher.failures, []);
  } finally {
    await watcher.close();
    const { code } = await server.stop();
    assert.equal(code, 0, server.output().slice(-4000));
    assert.doesNotMatch(server.output(), /Sanitizer|runtime error/);
  }
}

const protocolCases = [...engineioCases(), ...socketioCases()];

test(`examples/echo survives ${protocolCases.length} hostile sessions; a neighbour never notices`, async () => {
  await survive('echo', [], (s) => s.emitWithAck('message-with-ack', 'still here'), protocolCases);
});

test(`examples/bench survives ${protocolCases.length} hostile sessions; a neighbour never notices`, async () => {
  await survive('bench', [], (s) => s.emitWithAck('echo', 'still here'), protocolCases);
});

const chat = chatCases();
test(`the chat survives ${chat.length + protocolCases.length} hostile sessions (every event, every field); a neighbour never notices`, async () => {
  await survive('switchboard', [], (s) => s.emitWithAck('rooms'), [...chat, ...protocolCases]);
});
