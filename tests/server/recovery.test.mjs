// Connection state recovery (README "Connection state recovery") with the official socket.io-client 4.8:
// a cut connection, events emitted meanwhile to the socket and to its rooms, the reconnection →
// `recovered`, every missed event once and in order; the same across kill -9 of the server and a
// restart; a socket that was quiet for longer than the window; the expiry event; what does not recover.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { sleep, startServer, until } from './harness.mjs';

let dbCount = 0;
function tempDb() {
  const path = join(tmpdir(), `switchboard-recovery-${process.pid}-${Date.now()}-${dbCount++}.db`);
  return { path, remove: () => { for (const s of ['', '-wal', '-shm']) rmSync(path + s, { force: true }); } };
}

// A client that reconnects after a fixed half second (time for the test to emit while it is away),
// recording every event with its arguments (the offset, a string, is the last of them).
function client(url, opts = {}) {
  const s = io(url, {
    forceNew: true, transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 500,
    randomizationFactor: 0, ...opts,
  });
  s.events = [];
  s.onAny((name, ...args) => s.events.push([name, ...args]));
  return s;
}
const connected = (s) => new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
// The client's TCP connection dies under it (as when the network drops): both ends see a transport close.
function cut(s) {
  const gone = new Promise((resolve) => s.once('disconnect', resolve));
  s.io.engine.transport.ws._socket.destroy();
  return gone;
}
const named = (s, name) => s.events.filter((e) => e[0] === name);

test('a cut connection recovers: same id, rooms, and every event sent meanwhile, once, in order, before connect', async () => {
  const db = tempDb();
  const server = await startServer('echo', ['--recovery-window', '5000', '--recovery-db', db.path]);
  const a = client(server.url);
  const b = client(server.url);
  try {
    await Promise.all([connected(a), connected(b)]);
    // The CONNECT answer carried a pid; the "auth" event an offset (its last argument).
    await until(() => named(a, 'auth').length === 1, 5000, '"auth"');
    assert.equal(typeof named(a, 'auth')[0].at(-1), 'string');
    assert.deepEqual((await a.timeout(5000).emitWithAck('join', 'room-1')).sort(), [a.id, 'room-1'].sort());
    const id = a.id;

    const reason = await cut(a);
    assert.equal(reason, 'transport close');
    // While it is away: to its id, to its room, to a room it is not in, and a volatile one.
    for (let i = 1; i <= 3; i++) assert.equal(await b.timeout(5000).emitWithAck('to', id, 'direct', i), null);
    assert.equal(await b.timeout(5000).emitWithAck('to', 'room-1', 'in-room', 4, { binary: Buffer.from([1, 2, 3]) }), null);
    assert.equal(await b.timeout(5000).emitWithAck('to', 'room-2', 'elsewhere', 5), null);

    const order = [];
    a.once('connect', () => order.push('connect'));
    a.onAny((name) => order.push(name));
    await until(() => a.connected, 5000, 'the reconnection');
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    // Replayed before the CONNECT answer (the client hands them out right after its connect event).
    await until(() => named(a, 'auth').length === 2, 5000, 'the second "auth"');
    assert.equal(named(a, 'auth')[1][2], 'recovered');
    assert.deepEqual(named(a, 'direct').map((e) => e[1]), [1, 2, 3]);
    assert.equal(named(a, 'in-room').length, 1);
    assert.deepEqual([...named(a, 'in-room')[0][2].binary], [1, 2, 3]);
    assert.equal(named(a, 'elsewhere').length, 0);
    const offsets = a.events.map((e) => e.at(-1)).filter((o) => typeof o === 'string' && /^\d+$/.test(o)).map(Number);
    assert.deepEqual([...offsets].sort((x, y) => x - y), offsets, 'offsets rise');
    assert.equal(new Set(offsets).size, offsets.length, 'nothing twice');
    assert.deepEqual(order.slice(0, 4), ['direct', 'direct', 'direct', 'in-room']);
    // Its rooms came back: a broadcast to room-1 reaches it live.
    assert.equal(await b.timeout(5000).emitWithAck('to', 'room-1', 'live', 6), null);
    await until(() => named(a, 'live').length === 1, 5000, 'the live event');
  } finally {
    a.close();
    b.close();
    await server.stop();
    db.remove();
  }
});

test('recovery survives kill -9 of the server: sessions and missed events come back from the database', async () => {
  const db = tempDb();
  const args = ['--recovery-window', '10000', '--recovery-db', db.path];
  let server = await startServer('echo', args);
  const port = server.port;
  const away = client(server.url, { reconnectionDelay: 300, reconnectionDelayMax: 300 });
  const present = client(server.url, { reconnectionDelay: 300, reconnectionDelayMax: 300 });
  const b = client(server.url, { reconnection: false });
  try {
    await Promise.all([connected(away), connected(present), connected(b)]);
    await until(() => named(away, 'auth').length === 1 && named(present, 'auth').length === 1, 5000, '"auth"');
    await away.timeout(5000).emitWithAck('join', 'team');
    await present.timeout(5000).emitWithAck('join', 'team');
    const ids = { away: away.id, present: present.id };
    away.io.reconnection(false); // it stays away until the new server is up
    await cut(away);
    assert.equal(await b.timeout(5000).emitWithAck('to', 'team', 'news', 'before the crash'), null);
    await until(() => named(present, 'news').length === 1, 5000, 'the live news');
    await sleep(300); // the journal writes within milliseconds; give it the benefit of a loaded machine
    server.proc.kill('SIGKILL');
    await server.exited;
    server = await startServer('echo', args, {}, { port });
    // away (disconnected), present and b (connected when it died): all three kept.
    await until(() => /3 session\(s\) and \d+ packet\(s\) kept/.test(server.output()), 5000, 'the log line');

    // The one that was connected when the server died comes back by itself; the one away, now.
    await until(() => present.connected, 10000, 'the reconnection after the restart');
    away.io.reconnection(true);
    away.connect();
    await until(() => away.connected, 10000, 'the reconnection of the one away');
    assert.equal(present.recovered, true);
    assert.equal(present.id, ids.present);
    assert.equal(away.recovered, true);
    assert.equal(away.id, ids.away);
    assert.deepEqual(named(away, 'news').map((e) => e[1]), ['before the crash']);
    assert.equal(named(present, 'news').length, 1, 'not replayed to the one that had it');
    // Both are in "team" again on the new server.
    const c = client(server.url, { reconnection: false });
    await connected(c);
    assert.equal(await c.timeout(5000).emitWithAck('to', 'team', 'after', 1), null);
    await until(() => named(away, 'after').length === 1 && named(present, 'after').length === 1, 5000, 'the room broadcast');
    c.close();
  } finally {
    away.close();
    present.close();
    b.close();
    await server.stop();
    db.remove();
  }
});

test('a socket quiet for longer than the window still recovers (socket.io #5282)', async () => {
  const server = await startServer('echo', ['--recovery-window', '1500', '--recovery-db', '']);
  const a = client(server.url, { reconnectionDelay: 300, reconnectionDelayMax: 300 });
  const b = client(server.url);
  try {
    await Promise.all([connected(a), connected(b)]);
    await until(() => named(a, 'auth').length === 1, 5000, '"auth"');
    await sleep(2200); // its last event ("auth") is purged from the buffer by now
    const id = a.id;
    await cut(a);
    assert.equal(await b.timeout(5000).emitWithAck('to', id, 'missed', 1), null);
    await until(() => a.connected, 5000, 'the reconnection');
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    await until(() => named(a, 'missed').length === 1, 2000, 'the missed event');
  } finally {
    a.close();
    b.close();
    await server.stop();
  }
});

test('a session whose client does not come back expires: the application hears of it, with its rooms', async () => {
  const server = await startServer('fixture', ['--recovery-window', '600', '--recovery-db', '']);
  const observer = client(server.url, { reconnection: false });
  const a = client(server.url, { reconnection: false });
  try {
    await Promise.all([connected(observer), connected(a)]);
    await observer.timeout(5000).emitWithAck('join', ['observers']);
    await a.timeout(5000).emitWithAck('join', ['r1']);
    await a.timeout(5000).emitWithAck('echo', 'an offset for it'); // an ack: nothing stored
    const id = a.id;
    const started = Date.now();
    await cut(a);
    await until(() => named(observer, 'expired').length === 1, 5000, 'the expiry event');
    const [, sid, nsp, rooms] = named(observer, 'expired')[0];
    assert.equal(sid, id);
    assert.equal(nsp, '/');
    assert.deepEqual(rooms.sort(), [id, 'r1'].sort());
    assert.ok(Date.now() - started >= 550, 'not before the window');
  } finally {
    observer.close();
    a.close();
    await server.stop();
  }
});

test('no recovery after an explicit disconnect, past the window, or with an unknown pid', async () => {
  const server = await startServer('echo', ['--recovery-window', '700', '--recovery-db', '']);
  const a = client(server.url, { reconnectionDelay: 1200, reconnectionDelayMax: 1200 });
  try {
    await connected(a);
    await until(() => named(a, 'auth').length === 1, 5000, '"auth"');
    // Past the window: the client comes back after 1.2 s, the session waited 0.7 s.
    const first = a.id;
    await cut(a);
    await until(() => a.connected, 5000, 'the reconnection');
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, first);
    // An explicit disconnect ends the session: a manual reconnect gets a new one.
    await until(() => named(a, 'auth').length === 2, 5000, '"auth" again');
    const second = a.id;
    a.disconnect();
    a.connect();
    await connected(a);
    assert.equal(a.recovered, false);
    assert.notEqual(a.id, second);
    // A made-up pid and offset: a new session, no error.
    const forged = io(server.url, { forceNew: true, transports: ['websocket'], reconnection: false, auth: { pid: 'nope', offset: '1' } });
    await connected(forged);
    assert.equal(forged.recovered, false);
    forged.close();
  } finally {
    a.close();
    await server.stop();
  }
});
