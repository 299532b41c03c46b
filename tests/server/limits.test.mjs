// Limits and logs (README "Reliability"): what a client sees when it hits each limit, and what the
// server logs. examples/echo serves bare Engine.IO at /engine.io/ and Socket.IO at /socket.io/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import WebSocket from 'ws';
import { startServer, sleep, until } from './harness.mjs';

const wsUrl = (server, path = '/engine.io/') => `ws://127.0.0.1:${server.port}${path}?EIO=4&transport=websocket`;

function rawSocket(url) {
  const ws = new WebSocket(url, { maxPayload: 0 });
  const inbox = [];
  ws.on('message', (m, isBinary) => inbox.push(isBinary ? Buffer.from(m) : String(m)));
  ws.on('error', () => {});
  ws.inbox = inbox;
  ws.closed = new Promise((r) => ws.once('close', (code) => r(code)));
  ws.opened = until(() => inbox.length > 0, 5000, 'open packet');
  return ws;
}

test('--max-payload above 1 MB: a 2 MB WebSocket text message is taken; a larger one closes with 1009', async () => {
  const server = await startServer('echo', ['--max-payload', '3000000']);
  const ws = rawSocket(wsUrl(server));
  try {
    await ws.opened;
    const big = `4${'x'.repeat(2_000_000)}`;
    ws.send(big);
    await until(() => ws.inbox.includes(big), 10000, 'the 2 MB echo');
    ws.send(`4${'y'.repeat(3_100_000)}`);
    assert.equal(await ws.closed, 1009);
  } finally {
    ws.terminate();
    await server.stop();
  }
});

test('--max-attachments: a packet announcing more closes its connection; up to the limit is served', async () => {
  const server = await startServer('echo', ['--max-attachments', '2']);
  const ws = rawSocket(wsUrl(server, '/socket.io/'));
  try {
    await ws.opened;
    ws.send('40');
    await until(() => ws.inbox.some((m) => typeof m === 'string' && m.startsWith('40{')), 2000, 'CONNECT answer');
    ws.send('452-1["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    ws.send(Buffer.from([1]));
    ws.send(Buffer.from([2]));
    await until(() => ws.inbox.some((m) => typeof m === 'string' && m.startsWith('462-1[')), 2000, 'the binary ack');
    ws.send('453-["message",{"_placeholder":true,"num":0}]');
    await ws.closed;
    assert.match(server.output(), /Socket\.IO protocol error \(too many attachments/);
  } finally {
    ws.terminate();
    await server.stop();
  }
});

test('--request-timeout: a polling POST whose body does not arrive in time is answered 408', async () => {
  const server = await startServer('echo', ['--request-timeout', '500']);
  let sock;
  try {
    const open = await (await fetch(`${server.url}/engine.io/?EIO=4&transport=polling`)).text();
    const { sid } = JSON.parse(open.slice(1));
    let answer = '';
    sock = net.connect(server.port, '127.0.0.1');
    sock.on('data', (d) => { answer += d; });
    sock.on('error', () => {});
    await new Promise((r) => sock.once('connect', r));
    sock.write(`POST /engine.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4hel`);
    await until(() => answer.includes('\r\n\r\n'), 3000, 'an answer');
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(server.output(), /did not arrive within 500 ms \(408\)/);
  } finally {
    sock?.destroy();
    await server.stop();
  }
});

test('--write-timeout: a peer that stops reading is closed; the server and a neighbour go on', async () => {
  const server = await startServer('echo', ['--write-timeout', '500', '--max-queue', '200000000']);
  const reader = rawSocket(wsUrl(server));
  const stalled = rawSocket(wsUrl(server));
  try {
    await Promise.all([reader.opened, stalled.opened]);
    stalled._socket.pause(); // reads nothing from now on: its receive window fills, then the server's send buffer
    const chunk = `4${'z'.repeat(100_000)}`;
    for (let i = 0; i < 300; i++) stalled.send(chunk); // 30 MB to echo
    await until(() => /write timeout: the peer took no data for 500 ms/.test(server.output()), 10000, 'the write timeout');
    reader.send('4still here');
    await until(() => reader.inbox.includes('4still here'), 2000, 'the neighbour\'s echo');
    stalled._socket.resume();
    await stalled.closed; // what was in flight drains, then the connection ends
  } finally {
    reader.terminate();
    stalled.terminate();
    await server.stop();
  }
});

test('logs: --log-format json gives one JSON object per line; refused requests are warnings with the address', async () => {
  const server = await startServer('echo', ['--log-format', 'json', '--log-level', 'debug']);
  try {
    assert.equal((await fetch(`${server.url}/engine.io/?EIO=3&transport=polling`)).status, 400);
    const ws = rawSocket(wsUrl(server));
    await ws.opened;
    ws.send('4hello');
    ws.close();
    await ws.closed;
    await until(() => /session [\w-]+ closed/.test(server.output()), 2000, 'the close logged');
    const lines = server.output().split('\n').filter((l) => l.startsWith('{'));
    const entries = lines.map((l) => JSON.parse(l));
    assert.ok(entries.every((e) => e.time && e.level && typeof e.msg === 'string'));
    assert.ok(entries.some((e) => e.level === 'info' && /listening on http/.test(e.msg)), 'the configuration at info');
    assert.ok(entries.some((e) => e.level === 'warning' && /127\.0\.0\.1 GET .*EIO=3.*Engine\.IO error 5/.test(e.msg)));
    assert.ok(entries.some((e) => e.level === 'debug' && /session [\w-]+ open/.test(e.msg)));
  } finally {
    await server.stop();
  }
});

test('logs: --log-level error keeps the warnings out; a bad level or format is refused at start', async () => {
  const server = await startServer('echo', ['--log-level', 'error']);
  try {
    await fetch(`${server.url}/engine.io/?EIO=3&transport=polling`);
    await sleep(100);
    assert.doesNotMatch(server.output(), /warn|info/);
  } finally {
    await server.stop();
  }
  await assert.rejects(startServer('echo', ['--log-level', 'loud']), /unknown log level 'loud'/);
  await assert.rejects(startServer('echo', ['--log-format', 'xml']), /unknown log format 'xml'/);
});

/// Opens a WebSocket from `source` (a loopback address); resolves 'open' or the HTTP status it got.
function upgradeFrom(server, source) {
  return new Promise((resolve) => {
    const ws = new WebSocket(wsUrl(server), { localAddress: source });
    ws.once('open', () => resolve(ws));
    ws.once('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
    ws.once('error', () => resolve('error'));
  });
}

test('--max-connections-per-ip and --max-connections: one more is answered 503; others and freed places go on', async () => {
  const server = await startServer('echo', ['--max-connections-per-ip', '3', '--max-connections', '5']);
  const open = [];
  try {
    for (let i = 0; i < 3; ++i) open.push(await upgradeFrom(server, '127.0.0.1'));
    assert.ok(open.every((ws) => ws instanceof WebSocket), 'three from one address');
    assert.equal(await upgradeFrom(server, '127.0.0.1'), 503, 'a fourth from it');
    const polling = await fetch(`${server.url}/engine.io/?EIO=4&transport=polling`).catch((e) => e);
    assert.ok(polling instanceof Error || polling.status === 503, 'polling from it too');
    // Another address still gets in, up to the total.
    open.push(await upgradeFrom(server, '127.0.0.2'), await upgradeFrom(server, '127.0.0.3'));
    assert.ok(open.every((ws) => ws instanceof WebSocket), 'two from other addresses');
    assert.equal(await upgradeFrom(server, '127.0.0.4'), 503, 'past --max-connections');
    // A connection that goes gives its place back.
    const gone = new Promise((r) => open[0].once('close', r));
    open.shift().close();
    await gone;
    await until(async () => {
      const again = await upgradeFrom(server, '127.0.0.1');
      if (again instanceof WebSocket) { open.push(again); return true; }
      return false;
    }, 3000, 'a freed place');
    // The ones inside were never disturbed.
    for (const ws of open) assert.equal(ws.readyState, WebSocket.OPEN);
    assert.match(server.output(), /connection refused \(--max-connections-per-ip reached/);
  } finally {
    for (const ws of open) if (ws instanceof WebSocket) ws.close();
    await server.stop();
  }
});

test('--handshakes-per-ip: past the rate a new session is answered 429; sessions already open go on', async () => {
  const server = await startServer('echo', ['--handshakes-per-ip', '5']);
  try {
    const handshake = () => fetch(`${server.url}/engine.io/?EIO=4&transport=polling`);
    const first = await handshake();
    assert.equal(first.status, 200);
    const sid = JSON.parse((await first.text()).slice(1)).sid;
    const statuses = [];
    for (let i = 0; i < 10; ++i) statuses.push((await handshake()).status);
    assert.ok(statuses.filter((s) => s === 429).length >= 5, `statuses ${statuses}`);
    const refused = await handshake();
    assert.equal(refused.status, 429);
    assert.deepEqual(await refused.json(), { code: 3, message: 'Too many handshakes from this address' });
    // The session opened before is not affected (its requests are not handshakes).
    const post = await fetch(`${server.url}/engine.io/?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '4hello' });
    assert.equal(post.status, 200);
    await sleep(1100); // the bucket refills
    assert.equal((await handshake()).status, 200);
  } finally {
    await server.stop();
  }
});

test('--max-namespaces: one namespace more than allowed gets connect_error, the connection keeps the others', async () => {
  const { io } = await import('socket.io-client');
  const server = await startServer('fixture', ['--max-namespaces', '2']);
  const sockets = [];
  try {
    const join = (nsp) => new Promise((resolve) => {
      const s = io(`${server.url}${nsp}`, { transports: ['websocket'], reconnection: false });
      sockets.push(s);
      s.once('connect', () => resolve('connected'));
      s.once('connect_error', (e) => resolve(e.message));
    });
    assert.equal(await join('/'), 'connected');
    assert.equal(await join('/dyn-1'), 'connected');
    assert.equal(await join('/dyn-2'), 'too many namespaces');
    assert.equal(await sockets[0].emitWithAck('echo', 'still'), 'still');
  } finally {
    for (const s of sockets) s.disconnect();
    await server.stop();
  }
});

test('--events-per-second: past the burst events are not delivered, the client is told, a lasting flood is cut', async () => {
  const { io } = await import('socket.io-client');
  const server = await startServer('fixture', ['--events-per-second', '5']);
  const connect = () => new Promise((resolve) => {
    const s = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    s.once('connect', () => resolve(s));
  });
  const [flooder, neighbour] = [await connect(), await connect()];
  try {
    const told = [];
    flooder.on('error', (e) => told.push(e));
    for (let i = 0; i < 60; ++i) flooder.emit('record', `f${i}`);
    await until(() => told.length > 0, 3000, 'the error event');
    const delivered = (await neighbour.emitWithAck('records')).filter((r) => String(r).startsWith('f'));
    assert.ok(delivered.length >= 25 && delivered.length <= 28, `${delivered.length} of 60 delivered (burst 25)`);
    assert.deepEqual(told[0], { message: 'rate limit', limit: 5, burst: 25, unit: 'events' });
    await sleep(300);
    assert.equal(told.length, 1, 'told once, not once per refused event');
    // An event that asks for an ack gets the error as its answer.
    await until(async () => {
      const answer = await flooder.emitWithAck('echo', 'x');
      return answer?.message === 'rate limit';
    }, 3000, 'an ack carrying the error');
    assert.equal(await neighbour.emitWithAck('echo', 'fine'), 'fine', 'the neighbour is not slowed');
    // Over the rate for 10 s without a pause: the connection goes.
    const gone = new Promise((r) => flooder.once('disconnect', r));
    const flood = setInterval(() => { for (let i = 0; i < 5; ++i) flooder.emit('record', 'again'); }, 100);
    try {
      assert.equal(await gone, 'io server disconnect');
    } finally {
      clearInterval(flood);
    }
    assert.equal(await neighbour.emitWithAck('echo', 'still'), 'still');
    assert.match(server.output(), /over --events-per-second \(5\) for 10 s: disconnected/);
  } finally {
    flooder.disconnect();
    neighbour.disconnect();
    await server.stop();
  }
});

test('--bytes-per-second: past the byte burst events are not delivered; the ack says so; a neighbour is not slowed', async () => {
  const { io } = await import('socket.io-client');
  const server = await startServer('fixture', ['--bytes-per-second', '10000']);
  const connect = () => new Promise((resolve) => {
    const s = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
    s.once('connect', () => resolve(s));
  });
  const [heavy, neighbour] = [await connect(), await connect()];
  try {
    const chunk = 'y'.repeat(9000); // ~9 KB an event: the burst (50 KB) takes five of them
    for (let i = 0; i < 8; ++i) heavy.emit('record', `b${i}${chunk}`);
    const answer = await heavy.timeout(5000).emitWithAck('echo', chunk);
    assert.deepEqual(answer, { message: 'rate limit', limit: 10000, burst: 50000, unit: 'bytes' });
    const delivered = (await neighbour.emitWithAck('records')).filter((r) => String(r).startsWith('b'));
    assert.equal(delivered.length, 5, `${delivered.length} of 8 delivered (burst 50 KB)`);
    // Small events still pass once the bucket refills; the neighbour never waited.
    assert.equal(await neighbour.emitWithAck('echo', chunk), chunk);
    await sleep(1100);
    assert.equal(await heavy.timeout(5000).emitWithAck('echo', 'small'), 'small');
  } finally {
    heavy.disconnect();
    neighbour.disconnect();
    await server.stop();
  }
});

test('--max-rooms-per-socket: joins past the cap are refused, rooms already joined cost nothing', async () => {
  const { io } = await import('socket.io-client');
  const server = await startServer('fixture', ['--max-rooms-per-socket', '4']);
  const s = io(server.url, { transports: ['websocket'], reconnection: false, forceNew: true });
  try {
    await new Promise((r) => s.once('connect', r));
    // The socket is in its own room: three more fit.
    let rooms = await s.emitWithAck('join', ['a', 'b']);
    assert.equal(rooms.length, 3);
    rooms = await s.emitWithAck('join', ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(rooms.filter((r) => r !== s.id).sort(), ['a', 'b', 'c']);
    rooms = await s.emitWithAck('leave', ['a']);
    rooms = await s.emitWithAck('join', ['e']);
    assert.deepEqual(rooms.filter((r) => r !== s.id).sort(), ['b', 'c', 'e']);
  } finally {
    s.disconnect();
    await server.stop();
  }
});

test('dynamic namespaces: a child whose last socket left is removed; its name can be joined again', async () => {
  const { io } = await import('socket.io-client');
  const server = await startServer('fixture', ['--log-level', 'debug']);
  const connect = (nsp) => new Promise((resolve, reject) => {
    const s = io(server.url + nsp, { transports: ['websocket'], reconnection: false, forceNew: true });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
  try {
    const [a, b, other] = [await connect('/dyn-1'), await connect('/dyn-1'), await connect('/dyn-2')];
    a.disconnect();
    await sleep(200);
    assert.doesNotMatch(server.output(), /dynamic namespace \/dyn-1 is empty/, 'one socket is still in it');
    b.disconnect();
    await until(() => /dynamic namespace \/dyn-1 is empty: removed/.test(server.output()), 3000, 'the removal');
    assert.equal(await other.emitWithAck('echo', 'still'), 'still', '/dyn-2 is not touched');
    const again = await connect('/dyn-1');
    assert.equal(await again.emitWithAck('echo', 'back'), 'back');
    again.disconnect();
    other.disconnect();
  } finally {
    await server.stop();
  }
});

test('--trust-proxy: behind a proxy the client address is the last X-Forwarded-For entry, and only then', async () => {
  const { io } = await import('socket.io-client');
  for (const [args, expected] of [[['--trust-proxy'], '203.0.113.9'], [[], '127.0.0.1']]) {
    const server = await startServer('fixture', args);
    const s = io(server.url, { transports: ['polling'], reconnection: false, forceNew: true,
      extraHeaders: { 'X-Forwarded-For': '10.9.9.9, 203.0.113.9' } });
    try {
      await new Promise((r) => s.once('connect', r));
      const { address } = await s.emitWithAck('handshake');
      assert.equal(address, expected, args.join(' '));
    } finally {
      s.disconnect();
      await server.stop();
    }
  }
});
