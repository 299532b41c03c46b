// The Socket.IO layer and its C++ API (tests/server/sio_fixture.cpp), driven by the official
// socket.io-client 4.8: namespaces, middleware, events, acks, rooms, every broadcast variant checked
// client by client, binary, transports, reconnection, many clients at once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect } from 'socket.io-client';
import WebSocket from 'ws';
import { startServer, sleep, until } from './harness.mjs';

let server;
before(async () => { server = await startServer('fixture', ['--ping-interval', '1000', '--ping-timeout', '1000']); });
after(async () => { const { code } = await server.stop(); assert.equal(code, 0, server.output().slice(-4000)); });

const clients = new Set();
function client(nsp = '/', opts = {}) {
  const socket = connect(`${server.url}${nsp}`, { forceNew: true, reconnection: false, ...opts });
  clients.add(socket);
  return socket;
}
const connected = (socket) => new Promise((resolve, reject) => {
  if (socket.connected) return resolve(socket);
  socket.once('connect', () => resolve(socket));
  socket.once('connect_error', reject);
});
async function clientsReady(n, nsp = '/', opts = {}) {
  return Promise.all(Array.from({ length: n }, () => connected(client(nsp, opts))));
}
// Closes the clients and their connections (other namespaces may share a connection).
function closeAll() {
  for (const s of clients) { s.close(); s.io.engine?.close(); }
  clients.clear();
}

/// Records every event a socket receives, by name.
function record(socket) {
  const got = [];
  socket.onAny((name, ...args) => got.push([name, ...args]));
  return got;
}
const newsOf = (got) => got.filter(([name]) => name === 'news').map(([, payload]) => payload);

/// Waits until every socket has seen a sentinel broadcast sent after `action`: events arrive in order,
/// so whatever a socket has not received by then it will never receive.
async function settle(sockets, sender) {
  const token = `sentinel-${Math.random()}`;
  const seen = sockets.map((s) => new Promise((resolve) => {
    const on = (name, payload) => { if (name === 'sentinel' && payload === token) { s.offAny(on); resolve(); } };
    s.onAny(on);
  }));
  await sender.emitWithAck('emit', {}, 'sentinel', token);
  await Promise.all(seen);
}

test('connect: a socket id distinct from the Engine.IO sid; the handshake is visible to handlers', async () => {
  const s = await connected(client('/', { auth: { user: 'ann' }, query: { room: 'x' } }));
  assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
  assert.notEqual(s.id, s.io.engine.id);
  const h = await s.emitWithAck('handshake');
  assert.equal(h.id, s.id);
  assert.equal(h.nsp, '/');
  assert.deepEqual(h.auth, { user: 'ann' });
  assert.equal(h.query.room, 'x');
  assert.equal(h.query.EIO, '4');
  assert.equal(h.address, '127.0.0.1');
  closeAll();
});

test('handshake headers come back as received: known names in any case, unknown ones, values intact', async () => {
  const sent = {
    'Accept-Language': 'fr-CH, fr;q=0.9', // a name HTTP knows, as it is usually written
    'cache-control': 'no-cache', // known, in lower case
    'ACCEPT-CHARSET': 'utf-8', // known, in a case of its own
    'X-Mixed-CaSe': 'a value: with, punctuation', // unknown
    'x-empty': '',
  };
  const s = await connected(client('/', { transports: ['websocket'], extraHeaders: sent }));
  const { headers } = await s.emitWithAck('handshake');
  for (const [name, value] of Object.entries(sent)) {
    assert.ok(headers.some(([n, v]) => n === name && v === value), `${name}: ${value} in ${JSON.stringify(headers)}`);
  }
  // The ones the WebSocket client adds itself, as it wrote them.
  for (const name of ['Sec-WebSocket-Key', 'Sec-WebSocket-Version', 'Upgrade', 'Connection', 'Host'])
    assert.ok(headers.some(([n]) => n === name), `${name} in ${JSON.stringify(headers)}`);
  closeAll();
});

test('namespaces: static, dynamic, unknown; several multiplexed over one connection', async () => {
  const main = await connected(client('/'));
  const manager = main.io;
  const admin = manager.socket('/admin', { auth: { token: 'secret' } });
  const dyn = manager.socket('/dyn-42');
  const welcomes = Promise.all([admin, dyn].map((s) => new Promise((r) => s.once('welcome', r))));
  assert.deepEqual(await welcomes, ['/admin', '/dyn-42']);
  assert.equal(manager.engine.id, main.io.engine.id); // one Engine.IO session carries all three
  assert.notEqual(admin.id, dyn.id);
  assert.equal((await dyn.emitWithAck('handshake')).nsp, '/dyn-42');

  const unknown = manager.socket('/nowhere');
  const err = new Promise((r) => unknown.once('connect_error', r));
  assert.equal((await err).message, 'Invalid namespace');
  const notDynamic = manager.socket('/dyn-x');
  const err2 = new Promise((r) => notDynamic.once('connect_error', r));
  assert.equal((await err2).message, 'Invalid namespace');
  assert.ok(main.connected && admin.connected && dyn.connected); // the refusals cost the others nothing
  assert.equal(await main.emitWithAck('echo', 'still here'), 'still here');
  closeAll();
});

test('middleware: rejection reaches the client as connect_error with message and data; async acceptance', async () => {
  const refused = client('/admin', { auth: { token: 'wrong' } });
  const err = await new Promise((r) => refused.once('connect_error', r));
  assert.equal(err.message, 'not authorized');
  assert.deepEqual(err.data, { code: 403 });
  assert.equal(refused.connected, false);

  const slow = client('/slow');
  const welcome = new Promise((r) => slow.once('welcome', r));
  await connected(slow);
  assert.equal(await welcome, '/slow');
  closeAll();
});

test('events and acks: client to server, server to client, and the server-side ack timeout', async () => {
  const s = await connected(client());
  const values = [1, 'two', { three: [3, null, true] }, -0.5, 'ünïcödé 😀'];
  assert.deepEqual(await s.timeout(2000).emitWithAck('echo', ...values), values[0]);
  const all = await new Promise((r) => s.emit('echo', ...values, (...reply) => r(reply)));
  assert.deepEqual(all, values);

  s.once('question', (text, answer) => { assert.equal(text, 'what?'); answer('forty-two', 42); });
  assert.deepEqual(await s.emitWithAck('ask', 1000), { err: null, reply: ['forty-two', 42] });

  s.once('question', () => { /* never answers */ });
  const t0 = Date.now();
  assert.deepEqual(await s.emitWithAck('ask', 200), { err: 'operation has timed out', reply: [] });
  assert.ok(Date.now() - t0 >= 190);
  closeAll();
});

test('allow_request: the application turns a handshake away (403, Forbidden), before any session exists', async () => {
  const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling&refuse=yes`);
  assert.equal(res.status, 403);
  assert.deepEqual(await res.json(), { code: 4, message: 'Forbidden' });
  for (const transports of [['polling'], ['websocket']]) {
    const s = client('/', { transports, query: { refuse: 'yes' } });
    await assert.rejects(connected(s), `refused over ${transports[0]}`);
  }
  assert.ok(await connected(client('/', { query: { refuse: 'no' } })));
  closeAll();
});

test('reserved event names are refused both ways', async () => {
  const s = await connected(client());
  assert.equal(await s.emitWithAck('emit-to-self', 'disconnecting'), 'reserved event name');
  assert.equal(await s.emitWithAck('emit-to-self', 'connect'), 'reserved event name');
  assert.equal(await s.emitWithAck('emit', {}, 'connect_error', 1), 'reserved event name');

  // A client that sends one anyway (the official client refuses to) loses its connection, alone.
  const bystander = await connected(client());
  const raw = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  await new Promise((r) => raw.once('message', r)); // open
  raw.send('40');
  await new Promise((r) => raw.once('message', r)); // CONNECT answer
  raw.send('42["disconnect"]');
  await new Promise((r) => raw.once('close', r));
  assert.equal(await bystander.emitWithAck('echo', 'fine'), 'fine');
  closeAll();
});

for (const transports of [['polling'], ['websocket']]) {
  test(`volatile (${transports[0]}): what the transport cannot take at once is dropped; the rest is not`, async () => {
    const s = await connected(client('/', { transports }));
    let got = 0;
    s.on('burst', () => { got++; });
    await s.emitWithAck('burst', 50, false);
    assert.equal(got, 50);
    got = 0;
    await s.emitWithAck('burst', 50, true);
    // WebSocket: the first finds the writer idle, the rest do not. Polling: only while a GET is held,
    // which it may not be at that moment (so possibly none).
    const least = transports[0] === 'websocket' ? 1 : 0;
    assert.ok(got >= least && got < 50, `${got} of 50 volatile packets arrived`);
    closeAll();
  });
}

test('catch-all listeners see incoming and outgoing events on the server', async () => {
  const s = await connected(client());
  const got = record(s);
  await s.emitWithAck('echo', 1);
  await s.emitWithAck('emit-to-self', 'ping-me');
  const stats = await s.emitWithAck('stats');
  assert.deepEqual(stats.incoming, ['echo', 'emit-to-self', 'stats']);
  assert.deepEqual(stats.outgoing, ['ping-me']);
  assert.deepEqual(got, [['ping-me', 'self']]);
  // A broadcast this socket receives is an outgoing event of this socket too (as in Node's adapter).
  const other = await connected(client());
  await other.emitWithAck('emit', {}, 'for-everyone', 1);
  await until(async () => (await s.emitWithAck('stats')).outgoing.includes('for-everyone'), 2000, 'outgoing broadcast');
  closeAll();
});

test('a numeric event name reaches the handlers of its string form, as with the Node server', async () => {
  const s = await connected(client());
  assert.equal(await s.emitWithAck(7), 'seven');
  closeAll();
});

test('a handler that throws disconnects its own socket only; the server and everyone else go on', async () => {
  const [victim, bystander] = await clientsReady(2);
  const reason = new Promise((r) => victim.once('disconnect', r));
  victim.emit('throw');
  assert.equal(await reason, 'io server disconnect');
  assert.equal(await bystander.emitWithAck('echo', 'still here'), 'still here');
  assert.match(server.output(), /127\.0\.0\.1: the handler of an event threw \(a handler that throws\)/);
  // What a client sent can reach a log line (here, through the exception's text): it is escaped, so
  // it cannot start a line of its own.
  const forger = await connected(client());
  const gone = new Promise((r) => forger.once('disconnect', r));
  forger.emit('throw', 'x\n2026-01-01T00:00:00.000Z error forged\u001b[31m');
  await gone;
  await until(() => server.output().includes('forged'), 2000, 'the log line');
  assert.match(server.output(), /threw \(x\\n2026-01-01T00:00:00\.000Z error forged\\u001b\[31m\)/);
  assert.ok(!server.output().split('\n').some((l) => l.startsWith('2026-01-01')), 'a forged line');
  closeAll();
});

test('an ACK without an id is refused: the connection closes', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  try {
    const closed = new Promise((r) => ws.once('close', r));
    await new Promise((r) => ws.once('message', r));
    ws.send('40');
    ws.send('43["no id"]');
    await closed;
  } finally {
    ws.terminate();
  }
});

test('pending acks learn of the disconnect; a socket that has left joins no room', async () => {
  const [asker, observer] = await clientsReady(2);
  await asker.emitWithAck('ask-and-record');
  asker.disconnect();
  await until(async () => (await observer.emitWithAck('records')).includes('socket is disconnected'), 2000, 'ack error');
  // Every socket's disconnect handler tries to join "ghost": no such room may exist.
  assert.ok(!(await observer.emitWithAck('all-rooms')).includes('ghost'));
  closeAll();
});

test('rooms and every broadcast variant reach exactly the sockets they target', async () => {
  const [a, b, c, d] = await clientsReady(4);
  const got = new Map([a, b, c, d].map((s) => [s, record(s)]));
  assert.deepEqual(await a.emitWithAck('join', 'r1'), [a.id, 'r1'].sort());
  await b.emitWithAck('join', ['r1', 'r2']);
  await c.emitWithAck('join', 'r2');

  const cases = [
    [a, { }, [a, b, c, d]],
    [a, { rooms: ['r1'] }, [a, b]],
    [a, { rooms: ['r1', 'r2'] }, [a, b, c]], // b is in both, and receives once
    [a, { rooms: ['r1'], except: ['r2'] }, [a]],
    [a, { except: [b.id] }, [a, c, d]],
    [a, { from_socket: true }, [b, c, d]],
    [a, { from_socket: true, rooms: ['r1'] }, [b]],
    [d, { rooms: [a.id, c.id] }, [a, c]], // a socket's id is a room
    [d, { rooms: ['nobody'] }, []],
    [a, { volatile: true }, [a, b, c, d]], // idle transports take volatile packets
    [a, { local: true, rooms: ['r2'] }, [b, c]],
  ];
  for (const [i, [sender, spec, expected]] of cases.entries()) {
    for (const g of got.values()) g.length = 0;
    assert.equal(await sender.emitWithAck('emit', spec, 'news', i, { case: i }), null);
    await settle([a, b, c, d], d);
    for (const [s, g] of got) {
      const want = expected.includes(s) ? [i] : [];
      assert.deepEqual(newsOf(g), want, `case ${i} ${JSON.stringify(spec)}: socket ${[a, b, c, d].indexOf(s)}`);
    }
  }

  assert.deepEqual(await a.emitWithAck('leave', 'r1'), [a.id]);
  for (const g of got.values()) g.length = 0;
  await d.emitWithAck('emit', { rooms: ['r1'] }, 'news', 'after leave');
  await settle([a, b, c, d], d);
  assert.deepEqual(newsOf(got.get(a)), []);
  assert.deepEqual(newsOf(got.get(b)), ['after leave']);
  closeAll();
});

test('operators: socketsJoin, socketsLeave, fetchSockets, disconnectSockets', async () => {
  const [a, b, c] = await clientsReady(3);
  await a.emitWithAck('join', 'r1');
  await b.emitWithAck('join', 'r1');
  await a.emitWithAck('sockets-join', { rooms: ['r1'] }, ['r3', 'r4']);
  const fetched = await a.emitWithAck('fetch-sockets', { rooms: ['r3'] });
  assert.deepEqual(fetched, [
    { id: a.id, rooms: [a.id, 'r1', 'r3', 'r4'].sort() },
    { id: b.id, rooms: [b.id, 'r1', 'r3', 'r4'].sort() },
  ].sort((x, y) => (x.id < y.id ? -1 : 1)));
  await a.emitWithAck('sockets-leave', { rooms: ['r3'], except: [b.id] }, ['r4']);
  assert.deepEqual((await a.emitWithAck('fetch-sockets', { rooms: ['r4'] })).map((s) => s.id), [b.id]);

  const reasons = [a, b, c].map((s) => new Promise((r) => s.once('disconnect', r)));
  await c.emitWithAck('disconnect-sockets', { rooms: ['r1'] });
  assert.equal(await reasons[0], 'io server disconnect');
  assert.equal(await reasons[1], 'io server disconnect');
  assert.ok(c.connected);
  assert.deepEqual(await c.emitWithAck('fetch-sockets', { rooms: ['r1'] }), []);
  closeAll();
});

test('disconnect: reasons on both sides; disconnecting still sees the rooms', async () => {
  const observer = await connected(client());
  await observer.emitWithAck('join', 'observers');
  const events = [];
  observer.on('leaving', (id, reason, rooms) => events.push(['leaving', id, reason, rooms]));
  observer.on('left', (id, reason, rooms) => events.push(['left', id, reason, rooms]));

  const byClient = await connected(client());
  const byClientId = byClient.id;
  await byClient.emitWithAck('join', 'r9');
  byClient.disconnect();
  await until(() => events.length === 2, 3000, 'disconnect events');
  assert.deepEqual(events, [
    ['leaving', byClientId, 'client namespace disconnect', [byClientId, 'r9'].sort()],
    ['left', byClientId, 'client namespace disconnect', []],
  ]);

  events.length = 0;
  const byServer = await connected(client());
  const id = byServer.id;
  const reason = new Promise((r) => byServer.once('disconnect', r));
  byServer.emit('disconnect-me', false);
  assert.equal(await reason, 'io server disconnect');
  await until(() => events.length === 2, 3000, 'disconnect events');
  assert.deepEqual(events.map((e) => [e[0], e[1], e[2]]), [
    ['leaving', id, 'server namespace disconnect'], ['left', id, 'server namespace disconnect'],
  ]);

  events.length = 0;
  // WebSocket only: a polling client caught mid-upgrade when its connection is closed stays paused
  // until its ping timeout (engine.io-client's behaviour, the same against the reference server).
  const closed = await connected(client('/', { transports: ['websocket'] }));
  const closedId = closed.id;
  const reason2 = new Promise((r) => closed.once('disconnect', r));
  closed.emit('disconnect-me', true); // the whole connection
  assert.equal(await reason2, 'io server disconnect');
  await until(() => events.length === 2, 3000, 'disconnect events');
  assert.deepEqual(events.map((e) => [e[0], e[1], e[2]]), [
    ['leaving', closedId, 'server namespace disconnect'], ['left', closedId, 'server namespace disconnect'],
  ]);
  await until(() => !closed.io.engine || closed.io.engine.readyState !== 'open', 3000, 'transport closed');

  events.length = 0;
  const dropped = await connected(client());
  const droppedId = dropped.id;
  dropped.io.engine.close(); // the transport goes away without a Socket.IO goodbye
  await until(() => events.length === 2, 3000, 'disconnect events');
  assert.deepEqual(events.map((e) => [e[0], e[1], e[2]]), [
    ['leaving', droppedId, 'transport close'], ['left', droppedId, 'transport close'],
  ]);
  assert.notEqual(closedId, droppedId);
  closeAll();
});

test('broadcast with ack gathers every answer, or reports the timeout with those that came', async () => {
  const [a, b, c] = await clientsReady(3);
  for (const s of [a, b]) await s.emitWithAck('join', 'r1');
  a.on('question', (text, answer) => answer('a'));
  b.on('question', (text, answer) => answer('b'));
  c.on('question', () => { /* silent */ });
  assert.deepEqual(await c.emitWithAck('ask-all', { rooms: ['r1'] }, 2000), { err: null, replies: ['a', 'b'] });
  assert.deepEqual(await c.emitWithAck('ask-all', { rooms: ['nobody'] }, 2000), { err: null, replies: [] });
  const partial = await c.emitWithAck('ask-all', {}, 200);
  assert.equal(partial.err, 'operation has timed out');
  assert.deepEqual(partial.replies, ['a', 'b']);
  closeAll();
});

test('broadcast with ack: one ack id for every recipient (encoded once, as the Node server does)', async () => {
  // Raw clients, to see the ids. Client i is first asked i questions of its own (the server waits for
  // those answers): were ids per socket, the broadcast's would differ from one client to the next.
  const raws = [];
  for (let i = 0; i < 3; ++i) {
    const raw = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
    raw.frames = [];
    raw.on('message', (m) => raw.frames.push(m.toString()));
    await until(() => raw.frames.length >= 1, 3000, 'open');
    raw.send('40');
    await until(() => raw.frames.some((f) => f.startsWith('40')), 3000, 'connect');
    raw.send('42["join","shared-ack"]');
    for (let q = 0; q < i; ++q) raw.send('42["ask",5000]');
    await until(() => raw.frames.filter((f) => f.includes('"what?"')).length === i, 3000, 'own questions');
    raws.push(raw);
  }
  try {
    const c = await connected(client());
    const asked = c.emitWithAck('ask-all', { rooms: ['shared-ack'] }, 1000);
    const broadcast = (r) => r.frames.find((f) => f.includes('"all of you?"'));
    await until(() => raws.every(broadcast), 3000, 'the question');
    const ids = raws.map((r) => /^42(\d+)\["question"/.exec(broadcast(r))[1]);
    assert.equal(new Set(ids).size, 1, `ids ${ids}`);
    raws[0].send(`43${ids[0]}["first"]`);
    raws[1].send(`43${ids[0]}["second"]`);
    const answer = await asked; // the third never answers: its wait expires with the timeout
    assert.equal(answer.err, 'operation has timed out');
    assert.deepEqual(answer.replies.sort(), ['first', 'second']);
    raws[2].send(`43${ids[0]}["late"]`); // ignored: that wait is gone
    assert.equal(await c.emitWithAck('echo', 'still here'), 'still here');
  } finally {
    for (const r of raws) r.close();
    closeAll();
  }
});

test('binary: Buffer and Uint8Array, top level and nested, through acks and broadcasts', async () => {
  const [a, b] = await clientsReady(2);
  const payload = [
    Buffer.from([0, 1, 2, 255]),
    { file: new Uint8Array([10, 20, 30]), meta: { parts: [Buffer.from('x'), 'text', new Uint8Array(0)] } },
  ];
  const back = await new Promise((r) => a.emit('echo', ...payload, (...reply) => r(reply)));
  assert.deepEqual(back[0], Buffer.from([0, 1, 2, 255]));
  assert.deepEqual(back[1].file, Buffer.from([10, 20, 30]));
  assert.deepEqual(back[1].meta.parts, [Buffer.from('x'), 'text', Buffer.alloc(0)]);

  const big = Buffer.alloc(200_000, 7);
  const received = new Promise((r) => b.once('blob', (...args) => r(args)));
  await a.emitWithAck('emit', { from_socket: true }, 'blob', big, { again: big });
  const [x, y] = await received;
  assert.ok(Buffer.compare(x, big) === 0 && Buffer.compare(y.again, big) === 0);
  closeAll();
});

for (const transports of [['polling'], ['websocket']]) {
  test(`${transports[0]}-only clients: events, acks, broadcasts, binary`, async () => {
    const [a, b] = await clientsReady(2, '/', { transports });
    assert.equal(a.io.engine.transport.name, transports[0]);
    const got = record(b);
    assert.deepEqual(await a.emitWithAck('echo', 'hi', Buffer.from([1, 2])), 'hi');
    await a.emitWithAck('emit', { from_socket: true }, 'news', 'to b', Buffer.from([3]));
    await until(() => got.length === 1, 3000, 'broadcast');
    assert.deepEqual(got[0], ['news', 'to b', Buffer.from([3])]);
    closeAll();
  });
}

test('upgrade: a default client moves from polling to WebSocket and keeps talking', async () => {
  const s = client('/', { transports: ['polling', 'websocket'] });
  await connected(s);
  await until(() => s.io.engine.transport.name === 'websocket', 5000, 'upgrade');
  const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => s.emitWithAck('echo', i)));
  assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => i));
  closeAll();
});

test('a client reconnects by itself after the server restarts', async () => {
  const first = await startServer('fixture', [], {}, {});
  const port = first.port;
  const s = connect(`http://127.0.0.1:${port}`, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  let second;
  try { // from the first line: a failed assertion must not leave a client reconnecting forever
    await connected(s);
    // Stopped mid-upgrade (the probe answered, polling paused), engine.io-client notices nothing
    // until its ping timeout (45 s here): a load that slows the upgrade made that race likely. The
    // restart comes once the client is on WebSocket.
    await until(() => s.io.engine.transport.name === 'websocket', 5000, 'upgrade');
    const firstId = s.id;
    const gone = new Promise((r) => s.once('disconnect', r));
    await first.stop();
    assert.equal(await gone, 'transport close');
    second = await startServer('fixture', [], {}, { port });
    await new Promise((r) => s.once('connect', r));
    assert.notEqual(s.id, firstId);
    assert.equal(await s.emitWithAck('echo', 'back'), 'back');
  } finally {
    s.close();
    await first.stop();
    await second?.stop();
  }
});

test('10 namespaces x 100 clients at once, each namespace its own audience', async () => {
  // 100 connections, each carrying one socket in each of 10 dynamic namespaces: 1,000 sockets.
  const managers = await Promise.all(Array.from({ length: 100 }, () => connected(client('/dyn-0'))));
  const sockets = [managers];
  for (let n = 1; n < 10; n++) {
    const group = managers.map((m) => m.io.socket(`/dyn-${n}`)); // connects by itself (autoConnect)
    await Promise.all(group.map(connected));
    sockets.push(group);
  }
  const counts = sockets.map(() => 0);
  const wrong = [];
  sockets.forEach((group, n) => group.forEach((s) => s.on('news', (from) => { if (from === n) counts[n]++; else wrong.push([n, from]); })));
  await Promise.all(sockets.map((group, n) => group[0].emitWithAck('emit', {}, 'news', n)));
  await until(() => counts.every((c) => c === 100), 10000, 'every namespace hears its own news');
  assert.deepEqual(wrong, []);
  assert.equal(new Set(managers.map((m) => m.io.engine.id)).size, 100);
  closeAll();
});
