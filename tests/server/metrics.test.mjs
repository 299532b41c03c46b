// /metrics, /healthz and /readyz (README "Operations"): the scrape is read by the official Python
// client's parser (Debian's python3-prometheus-client) and its values are checked against the traffic
// the test made with the official socket.io-client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { root, startServer, until } from './harness.mjs';

// Debian's Python, where apt installed the parser (not whatever python3 comes first on PATH).
const python = '/usr/bin/python3';

async function scrape(base) {
  const res = await fetch(`${base}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  const parsed = spawnSync(python, [join(root, 'tests', 'server', 'parse-metrics.py')], { input: text, timeout: 20000 });
  assert.equal(parsed.status, 0, `the parser refused the scrape: ${parsed.stderr}`);
  return JSON.parse(parsed.stdout);
}

/// The value of `sample` (a family's own name or its _bucket/_sum/_count) with these labels.
function value(families, family, labels = {}, sample = family) {
  const f = families[family];
  assert.ok(f, `no family ${family}`);
  const found = f.samples.find((s) => s.name === sample &&
    Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  assert.ok(found, `no sample ${sample} ${JSON.stringify(labels)} in ${family}`);
  return found.value;
}

function client(url, opts = {}) {
  return io(url, { reconnection: false, forceNew: true, transports: ['websocket'], ...opts });
}
const connected = (s) => new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });

// Every Engine.IO message packet a client receives, with its size as the server counts it: the type
// digit and the data (text), or the bytes (binary).
function countIncoming(socket) {
  const seen = { packets: 0, bytes: 0 };
  const watch = () => socket.io.engine.on('packet', (p) => {
    if (p.type !== 'message') return;
    seen.packets += 1;
    seen.bytes += typeof p.data === 'string' ? 1 + Buffer.byteLength(p.data) : p.data.byteLength;
  });
  if (socket.io.engine) watch(); else socket.io.once('open', watch);
  return seen;
}

test('/metrics: connections by transport, sockets by namespace, packets and bytes both ways, handshakes', async () => {
  const server = await startServer('echo');
  const sockets = [];
  try {
    const before = await scrape(server.url);
    // The parser names a counter's family without its _total (the sample keeps it).
    assert.equal(value(before, 'switchboard_packets_received', {}, 'switchboard_packets_received_total'), 0);
    const counters = [];
    for (let i = 0; i < 3; i++) {
      const s = client(server.url);
      counters.push(countIncoming(s));
      sockets.push(s);
    }
    const polling = client(server.url, { transports: ['polling'] });
    counters.push(countIncoming(polling));
    sockets.push(polling);
    const custom = client(`${server.url}/custom`);
    counters.push(countIncoming(custom));
    sockets.push(custom);
    await Promise.all(sockets.map(connected));

    // Each socket: its CONNECT ("40", 2 bytes), then 5 events with an ack id and a payload.
    let sentPackets = 0;
    let sentBytes = 0;
    for (const s of sockets) {
      sentPackets += 1;
      sentBytes += 2 + (s.nsp === '/' ? 0 : `${s.nsp},`.length);
      for (let i = 0; i < 5; i++) {
        const payload = { n: i, text: 'héllo'.repeat(i + 1) };
        const answer = await s.timeout(5000).emitWithAck('message-with-ack', payload);
        assert.deepEqual(answer, payload);
        sentPackets += 1;
        sentBytes += Buffer.byteLength(`42${s.nsp === '/' ? '' : `${s.nsp},`}${i}${JSON.stringify(['message-with-ack', payload])}`);
      }
    }
    // The server's packets as the clients received them (the CONNECT answer, "auth", the 5 acks).
    await until(() => counters.every((c) => c.packets === 7), 5000, 'every answer');
    const received = counters.reduce((a, c) => ({ packets: a.packets + c.packets, bytes: a.bytes + c.bytes }), { packets: 0, bytes: 0 });

    const m = await scrape(server.url);
    assert.equal(m.switchboard_connections.type, 'gauge');
    assert.equal(value(m, 'switchboard_connections', { transport: 'websocket' }), 4);
    assert.equal(value(m, 'switchboard_connections', { transport: 'polling' }), 1);
    assert.equal(value(m, 'switchboard_sockets', { namespace: '/' }), 4);
    assert.equal(value(m, 'switchboard_sockets', { namespace: '/custom' }), 1);
    assert.equal(value(m, 'switchboard_rooms', { namespace: '/' }), 0);
    assert.equal(m.switchboard_packets_received.type, 'counter');
    assert.equal(value(m, 'switchboard_packets_received', {}, 'switchboard_packets_received_total'), sentPackets);
    assert.equal(value(m, 'switchboard_bytes_received', {}, 'switchboard_bytes_received_total'), sentBytes);
    assert.equal(value(m, 'switchboard_packets_sent', {}, 'switchboard_packets_sent_total'), received.packets);
    assert.equal(value(m, 'switchboard_bytes_sent', {}, 'switchboard_bytes_sent_total'), received.bytes);
    assert.equal(m.switchboard_handshake_duration_seconds.type, 'histogram');
    assert.equal(value(m, 'switchboard_handshake_duration_seconds', {}, 'switchboard_handshake_duration_seconds_count'), 5);
    assert.equal(value(m, 'switchboard_handshake_duration_seconds', { le: '+Inf' }, 'switchboard_handshake_duration_seconds_bucket'), 5);
    assert.equal(value(m, 'switchboard_queued_bytes'), 0);
    assert.ok(value(m, 'process_resident_memory_bytes') > 1e6);

    // Sockets leave: the gauges follow.
    custom.disconnect();
    polling.disconnect();
    await until(async () => {
      const after = await scrape(server.url);
      return value(after, 'switchboard_connections', { transport: 'polling' }) === 0 &&
        value(after, 'switchboard_sockets', { namespace: '/custom' }) === 0;
    }, 5000, 'the gauges to fall');
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
});

test('/metrics: rooms, ack timeouts, volatile drops, refusals by limit, a slow middleware in the histogram', async () => {
  const server = await startServer('fixture', ['--events-per-second', '2', '--max-rooms-per-socket', '3']);
  const sockets = [];
  try {
    const a = client(server.url);
    const b = client(server.url, { transports: ['polling'] });
    const slow = client(`${server.url}/slow`);
    sockets.push(a, b, slow);
    await Promise.all(sockets.map(connected));

    // Rooms: "x" and "y" from a, "y" and "z" from b: three rooms; a fourth for a is refused.
    assert.deepEqual((await a.timeout(5000).emitWithAck('join', ['x', 'y'])).sort(), [a.id, 'x', 'y'].sort());
    assert.deepEqual((await b.timeout(5000).emitWithAck('join', ['y', 'z'])).sort(), [b.id, 'y', 'z'].sort());
    await new Promise((r) => setTimeout(r, 1200)); // the event budget refills (2/s, bursts of 10)
    assert.deepEqual((await a.timeout(5000).emitWithAck('join', ['w'])).sort(), [a.id, 'x', 'y'].sort());

    // An ack that never comes: the server asks, the client does not answer.
    const asked = await a.timeout(5000).emitWithAck('ask', 100);
    assert.equal(asked.err, 'operation has timed out');

    // Over --events-per-second: each refused event's ack carries the error.
    let refused = 0;
    await new Promise((r) => setTimeout(r, 1200));
    const answers = await Promise.all(Array.from({ length: 30 }, () => a.timeout(5000).emitWithAck('echo', 1)));
    for (const answer of answers) if (answer?.message === 'rate limit') refused += 1;
    assert.ok(refused > 0, 'some events were over the rate');

    // Volatile emits to a polling client between its polls are dropped (or some are, if a poll is held).
    await new Promise((r) => setTimeout(r, 1200));
    const burst = await b.timeout(5000).emitWithAck('burst', 50, true);
    assert.equal(burst, 50);

    const m = await scrape(server.url);
    assert.equal(value(m, 'switchboard_rooms', { namespace: '/' }), 3);
    assert.equal(value(m, 'switchboard_sockets', { namespace: '/slow' }), 1);
    assert.equal(value(m, 'switchboard_ack_timeouts', {}, 'switchboard_ack_timeouts_total'), 1);
    assert.equal(value(m, 'switchboard_refused', { limit: 'events-per-second' }, 'switchboard_refused_total'), refused);
    assert.equal(value(m, 'switchboard_refused', { limit: 'max-rooms-per-socket' }, 'switchboard_refused_total'), 1);
    assert.equal(value(m, 'switchboard_refused', { limit: 'max-payload' }, 'switchboard_refused_total'), 0);
    assert.ok(value(m, 'switchboard_dropped_packets', { reason: 'volatile' }, 'switchboard_dropped_packets_total') > 0);
    // The /slow namespace's middleware answers after 50 ms: that handshake is not in the 25 ms bucket.
    const h = 'switchboard_handshake_duration_seconds';
    assert.equal(value(m, h, {}, `${h}_count`), 3);
    assert.ok(value(m, h, { le: '0.025' }, `${h}_bucket`) <= 2);
    assert.ok(value(m, h, {}, `${h}_sum`) >= 0.05);
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
});

test('/healthz and /readyz: alive and ready; HEAD answers, other methods get 405', async () => {
  const server = await startServer('echo');
  try {
    const health = await fetch(`${server.url}/healthz`);
    assert.equal(health.status, 200);
    assert.equal(await health.text(), 'ok\n');
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(await ready.text(), 'ready\n');
    const head = await fetch(`${server.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.ok(Number(head.headers.get('content-length')) > 1000);
    const post = await fetch(`${server.url}/metrics`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  } finally {
    await server.stop();
  }
});

test('/readyz: 503 while the cluster adapter cannot reach Redis; the rest is served', async () => {
  // A port where nothing listens: the adapter keeps retrying; local clients are served meanwhile.
  const unused = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  const server = await startServer('echo', ['--redis', `redis://127.0.0.1:${unused}`]);
  const s = client(server.url);
  try {
    await connected(s);
    const ready = await fetch(`${server.url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /^not ready: namespace \/: the cluster adapter cannot reach the other nodes/);
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    s.close();
    await server.stop();
  }
});

test('--metrics-port moves the three off the main port; --no-metrics turns them off', async () => {
  const port = await new Promise((resolve) => {
    const probe = net.createServer().listen(0, '127.0.0.1', () => {
      const { port: p } = probe.address();
      probe.close(() => resolve(p));
    });
  });
  const moved = await startServer('echo', ['--metrics-port', String(port)]);
  const off = await startServer('echo', ['--no-metrics']);
  try {
    await until(() => moved.output().includes(`/metrics, /healthz and /readyz on http://127.0.0.1:${port}`), 5000, 'the log line');
    assert.equal((await fetch(`${moved.url}/metrics`)).status, 404);
    const m = await scrape(`http://127.0.0.1:${port}`);
    assert.equal(value(m, 'switchboard_connections', { transport: 'websocket' }), 0);
    assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200);
    assert.equal((await fetch(`http://127.0.0.1:${port}/socket.io/?EIO=4&transport=polling`)).status, 404);
    for (const path of ['/metrics', '/healthz', '/readyz']) assert.equal((await fetch(`${off.url}${path}`)).status, 404);
  } finally {
    await moved.stop();
    await off.stop();
  }
});

