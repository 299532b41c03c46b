// Backpressure (issue 16): a client that stops reading. The server floods it; what each emit returned
// (sent, sent past the high-water mark, refused as the queue is full) is recorded by the fixture and
// read by an observer; once the client reads again the queue drains and `drain` fires.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { startServer, until } from './harness.mjs';

// A raw Engine.IO/Socket.IO client on a WebSocket whose reading the test can pause.
async function rawClient(server) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  const frames = [];
  ws.on('message', (m) => {
    const text = String(m);
    if (text === '2') ws.send('3'); // pong
    frames.push(text);
  });
  ws.on('error', () => {});
  const closed = new Promise((r) => ws.once('close', r));
  await until(() => frames.some((f) => f.startsWith('0{')), 5000, 'the open packet');
  ws.send('40');
  await until(() => frames.some((f) => f.startsWith('40{')), 5000, 'the namespace');
  return { ws, frames, closed };
}

async function observe(server, predicate) {
  const observer = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    let found;
    await until(async () => {
      found = (await observer.timeout(5000).emitWithAck('records')).find(predicate);
      return found !== undefined;
    }, 10000, 'a record');
    return found;
  } finally {
    observer.disconnect();
  }
}

const COUNT = 60;
const SIZE = 500000; // 30 MB in all: far more than the loopback socket buffers hold

test('refuse: past --max-queue emits are refused (queue_full), past the high-water mark reported; drain fires; nothing sent is lost', async () => {
  const server = await startServer('fixture', ['--max-queue', '4000000', '--high-water', '1000000']);
  const client = await rawClient(server);
  try {
    client.ws.send(`42["flood",${COUNT},${SIZE},"refuse"]`);
    client.ws._socket.pause(); // the client stops reading
    const summary = await observe(server, (r) => r?.flood);
    assert.ok(summary.full > 0, `some refused: ${JSON.stringify(summary)}`);
    assert.ok(summary.high > 0, `some reported past the high-water mark: ${JSON.stringify(summary)}`);
    assert.equal((summary.ok ?? 0) + summary.high + summary.full, COUNT);
    assert.ok(summary.buffered <= 4000000, `the queue stayed bounded: ${summary.buffered}`);
    client.ws._socket.resume();
    await until(() => client.frames.some((f) => f.startsWith('42["drained"')), 15000, 'the drained event');
    const drained = await observe(server, (r) => r?.drained !== undefined);
    assert.ok(drained.drained <= 500000, `drain at half the high-water mark: ${drained.drained}`);
    // Every emit that was not refused arrived, in order.
    const blobs = client.frames.filter((f) => f.startsWith('42["blob"')).map((f) => Number(/^42\["blob",(\d+)/.exec(f)[1]));
    assert.equal(blobs.length, (summary.ok ?? 0) + summary.high);
    assert.deepEqual(blobs, [...blobs].sort((a, b) => a - b));
    assert.equal(client.ws.readyState, WebSocket.OPEN, 'the session stays');
  } finally {
    client.ws.terminate();
    await server.stop();
  }
});

test('--refuse-when-full makes refuse the server default; disconnect closes the slow session, a neighbour goes on', async () => {
  const server = await startServer('fixture', ['--max-queue', '4000000', '--refuse-when-full']);
  const neighbour = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise((r) => neighbour.once('connect', r));
    const quiet = await rawClient(server);
    quiet.ws.send(`42["flood",${COUNT},${SIZE},""]`);
    quiet.ws._socket.pause();
    const summary = await observe(server, (r) => r?.flood);
    assert.ok(summary.full > 0, JSON.stringify(summary));
    assert.equal(quiet.ws.readyState, WebSocket.OPEN);
    quiet.ws.terminate();

    const slow = await rawClient(server);
    slow.ws.send(`42["flood",${COUNT},${SIZE},"disconnect"]`);
    slow.ws._socket.pause();
    const second = await observe(server, (r) => r?.flood && r !== summary && JSON.stringify(r) !== JSON.stringify(summary));
    assert.equal(second.full ?? 0, 0, 'nothing refused under disconnect');
    slow.ws._socket.resume();
    await slow.closed; // the session was closed as too slow
    assert.match(server.output(), /bytes waiting to be sent/);
    assert.equal(await neighbour.timeout(5000).emitWithAck('echo', 'fine'), 'fine');
  } finally {
    neighbour.disconnect();
    await server.stop();
  }
});

test('drop-oldest: the queue keeps the latest emits and drops the oldest not yet written; the session stays', async () => {
  const server = await startServer('fixture', ['--max-queue', '4000000', '--high-water', '1000000']);
  const client = await rawClient(server);
  try {
    client.ws.send(`42["flood",${COUNT},${SIZE},"drop-oldest"]`);
    client.ws._socket.pause();
    const summary = await observe(server, (r) => r?.flood);
    assert.equal(summary.full ?? 0, 0, 'nothing refused');
    assert.ok(summary.buffered <= 4000000, `the queue stayed bounded: ${summary.buffered}`);
    client.ws._socket.resume();
    await until(() => client.frames.some((f) => f.startsWith('42["drained"')), 15000, 'the drained event');
    const blobs = client.frames.filter((f) => f.startsWith('42["blob"')).map((f) => Number(/^42\["blob",(\d+)/.exec(f)[1]));
    assert.ok(blobs.length < COUNT, `some were dropped: ${blobs.length} of ${COUNT} arrived`);
    assert.equal(blobs.at(-1), COUNT - 1, 'the latest arrived');
    assert.deepEqual(blobs, [...blobs].sort((a, b) => a - b), 'in order');
    // What went: older ones (what the socket had taken before it filled may have arrived); what stayed:
    // an unbroken run of the latest.
    const dropped = [...Array(COUNT).keys()].filter((i) => !blobs.includes(i));
    assert.ok(Math.max(...dropped) < COUNT - 2, `the latest kept, the oldest dropped: ${blobs.join(',')}`);
    assert.equal(client.ws.readyState, WebSocket.OPEN, 'the session stays');
  } finally {
    client.ws.terminate();
    await server.stop();
  }
});
