// The admin UI's namespace (README "The admin UI"), spoken to with the official socket.io-client as
// the dashboard of @socket.io/admin-ui speaks it: login and sessions, config, all_sockets, server_stats,
// the per-socket events, and the dashboard's actions (emit, join, leave, _disconnect).
// tests/browser/admin-ui.test.mjs shows the dashboard itself in Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, until } from './harness.mjs';

function client(url, opts = {}) {
  const s = io(url, { forceNew: true, reconnection: false, transports: ['websocket'], ...opts });
  s.events = [];
  s.onAny((name, ...args) => s.events.push([name, ...args]));
  return s;
}
const connected = (s) => (s.connected ? Promise.resolve() : new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); }));
const named = (s, name) => s.events.filter((e) => e[0] === name);

test('login: wrong credentials are refused with "invalid credentials"; a login earns a session that logs in again', async () => {
  const server = await startServer('echo', ['--admin-ui', 'admin:s3cret']);
  const sockets = [];
  try {
    const wrong = client(`${server.url}/admin`, { auth: { username: 'admin', password: 's3cre' } });
    sockets.push(wrong);
    await assert.rejects(connected(wrong), { message: 'invalid credentials' });
    const none = client(`${server.url}/admin`);
    sockets.push(none);
    await assert.rejects(connected(none), { message: 'invalid credentials' });

    const admin = client(`${server.url}/admin`, { auth: { username: 'admin', password: 's3cret' } });
    sockets.push(admin);
    await connected(admin);
    await until(() => named(admin, 'session').length === 1, 5000, 'the session event');
    const session = named(admin, 'session')[0][1];
    assert.match(session, /^[0-9a-f]{16}$/);
    const again = client(`${server.url}/admin`, { auth: { sessionId: session } });
    sockets.push(again);
    await connected(again);
    const forged = client(`${server.url}/admin`, { auth: { sessionId: '0123456789abcdef' } });
    sockets.push(forged);
    await assert.rejects(connected(forged), { message: 'invalid credentials' });
  } finally {
    for (const s of sockets) s.close();
    await server.stop();
  }
});

test("the dashboard's view: config, all_sockets, server_stats every 2 s, sockets and rooms as they change", async () => {
  const server = await startServer('echo', ['--admin-ui-no-auth']);
  const user = client(server.url, { transports: ['polling'], query: { app: 'test' } });
  let admin;
  try {
    await connected(user);
    await user.timeout(5000).emitWithAck('join', 'team');
    admin = client(`${server.url}/admin`); // after: its all_sockets lists the user in its room
    await connected(admin);
    await until(() => named(admin, 'all_sockets').length === 1 && named(admin, 'config').length === 1, 5000, 'config and all_sockets');
    assert.deepEqual(named(admin, 'config')[0][1].supportedFeatures,
      ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS', 'ALL_EVENTS']);
    const all = named(admin, 'all_sockets')[0][1];
    const mine = all.find((s) => s.id === user.id);
    assert.ok(mine, 'the user socket is listed');
    assert.equal(mine.nsp, '/');
    assert.equal(mine.transport, 'polling');
    assert.equal(mine.clientId, user.io.engine.id.slice(0, 12));
    assert.deepEqual(mine.rooms.sort(), [user.id, 'team'].sort());
    assert.equal(mine.handshake.query.app, 'test');
    assert.equal(mine.handshake.address, '127.0.0.1');
    assert.ok(!Number.isNaN(Date.parse(mine.handshake.time)));
    assert.ok(all.some((s) => s.id === admin.id && s.nsp === '/admin'));

    // server_stats: at once, then every 2 s with the traffic since the last.
    await until(() => named(admin, 'server_stats').length >= 2, 5000, 'a periodic server_stats');
    const stats = named(admin, 'server_stats').at(-1)[1];
    assert.equal(typeof stats.serverId, 'string');
    assert.equal(stats.clientsCount, 2);
    assert.equal(stats.pollingClientsCount, 1);
    assert.ok(stats.uptime > 0);
    assert.deepEqual(stats.namespaces.find((n) => n.name === '/'), { name: '/', socketsCount: 1 });
    const types = new Set(named(admin, 'server_stats').flatMap((e) => e[1].aggregatedEvents.map((a) => a.type)));
    for (const type of ['rawConnection', 'packetsIn', 'packetsOut', 'bytesIn', 'bytesOut']) assert.ok(types.has(type), type);

    // A client that starts on polling and upgrades: the dashboard learns its transport is WebSocket
    // (socket_updated, or already in socket_connected when the upgrade came before the namespace).
    const upgrading = client(server.url, { transports: ['polling', 'websocket'] });
    await connected(upgrading);
    await until(() => upgrading.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    await until(() => named(admin, 'socket_updated').some((e) => e[1].id === upgrading.id && e[1].nsp === '/' && e[1].transport === 'websocket') ||
      named(admin, 'socket_connected').some((e) => e[1].id === upgrading.id && e[1].transport === 'websocket'), 5000, 'the transport');
    upgrading.close();

    // Per-socket events: a newcomer, its event both ways, its room, its departure.
    const other = client(server.url);
    await connected(other);
    await until(() => named(admin, 'socket_connected').some((e) => e[1].id === other.id), 5000, 'socket_connected');
    assert.equal(await other.timeout(5000).emitWithAck('message-with-ack', 'hi'), 'hi');
    await other.timeout(5000).emitWithAck('join', 'lobby');
    await until(() => named(admin, 'room_joined').some((e) => e[1] === '/' && e[2] === 'lobby' && e[3] === other.id), 5000, 'room_joined');
    await until(() => named(admin, 'event_received').some((e) => e[2] === other.id && e[3][0] === 'message-with-ack' && e[3][1] === 'hi'), 5000, 'event_received');
    const otherId = other.id; // (the client forgets it once closed)
    other.close();
    await until(() => named(admin, 'socket_disconnected').some((e) => e[1] === '/' && e[2] === otherId && typeof e[3] === 'string'), 5000, 'socket_disconnected');
    assert.ok(named(admin, 'room_left').some((e) => e[2] === 'lobby' && e[3] === otherId));
  } finally {
    user.close();
    admin?.close();
    await server.stop();
  }
});

test("the dashboard's actions: emit to a room, join and leave for a socket, disconnect it", async () => {
  const server = await startServer('echo', ['--admin-ui', 'admin:s3cret']);
  const a = client(server.url);
  const b = client(server.url);
  const admin = client(`${server.url}/admin`, { auth: { username: 'admin', password: 's3cret' } });
  try {
    await Promise.all([connected(a), connected(b), connected(admin)]);
    admin.emit('join', '/', 'picked', a.id);
    await until(async () => (await a.timeout(5000).emitWithAck('join')).includes('picked'), 5000, 'a in "picked"');
    assert.ok(!(await b.timeout(5000).emitWithAck('join')).includes('picked'));
    admin.emit('emit', '/', 'picked', 'notice', 'to picked', 2);
    admin.emit('emit', '/', null, 'notice', 'to all');
    admin.emit('emit', '/nowhere', null, 'notice', 'a namespace that does not exist');
    await until(() => named(a, 'notice').length === 2 && named(b, 'notice').length === 1, 5000, 'the notices');
    assert.deepEqual(named(a, 'notice').map((e) => e.slice(1)), [['to picked', 2], ['to all']]);
    admin.emit('leave', '/', 'picked', a.id);
    await until(async () => !(await a.timeout(5000).emitWithAck('join')).includes('picked'), 5000, 'a out of "picked"');
    const gone = new Promise((resolve) => b.once('disconnect', resolve));
    admin.emit('_disconnect', '/', false, b.id);
    assert.equal(await gone, 'io server disconnect');
    assert.ok(a.connected);
  } finally {
    a.close();
    b.close();
    admin.close();
    await server.stop();
  }
});

test('--admin-ui-production: stats and actions, no socket details and no per-socket events', async () => {
  const server = await startServer('echo', ['--admin-ui-no-auth', '--admin-ui-production']);
  const user = client(server.url);
  let admin;
  try {
    await connected(user);
    admin = client(`${server.url}/admin`);
    await connected(admin);
    await until(() => named(admin, 'config').length === 1 && named(admin, 'server_stats').length >= 1, 5000, 'config and server_stats');
    assert.deepEqual(named(admin, 'config')[0][1].supportedFeatures,
      ['EMIT', 'JOIN', 'LEAVE', 'DISCONNECT', 'MJOIN', 'MLEAVE', 'MDISCONNECT', 'AGGREGATED_EVENTS']);
    assert.ok(named(admin, 'server_stats')[0][1].clientsCount >= 1);
    await user.timeout(5000).emitWithAck('join', 'team');
    user.emit('message', 'hi');
    const other = client(server.url);
    await connected(other);
    other.close();
    await until(() => named(admin, 'server_stats').length >= 2, 5000, 'the next server_stats');
    for (const name of ['all_sockets', 'socket_connected', 'room_joined', 'event_received', 'socket_disconnected'])
      assert.equal(named(admin, name).length, 0, `no ${name}`);
    // Its actions still work: an emit to the namespace reaches the user.
    const news = new Promise((resolve) => user.once('news', resolve));
    admin.emit('emit', '/', null, 'news', 'from the dashboard');
    assert.equal(await news, 'from the dashboard');
  } finally {
    user.close();
    admin?.close();
    await server.stop();
  }
});
