// Connection state recovery on a cluster (README "Connection state recovery", "on several nodes"): two
// Switchboard nodes (examples/cluster --redis --recovery-window) on one redis-server, and the official
// socket.io-client reaching them through a TCP relay started here, which a load balancer's failover
// stands for: the client's connection is cut on node A and comes back on node B, or node A is killed.
// Either way it comes back recovered (same id, its rooms) and gets every event it missed once, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect } from 'node:net';
import { io } from 'socket.io-client';
import { createClient } from 'redis';
import { startServer, until, sleep } from '../server/harness.mjs';
import { startRedis } from './infra.mjs';

let redis;

before(async () => { redis = await startRedis(); });
after(async () => { await redis.stop(); });

/// A TCP relay on a loopback port to whichever node `target` names; cut() drops every connection.
async function startRelay(port) {
  const relay = { target: port, open: new Set() };
  const server = createServer((inbound) => {
    const outbound = connect(relay.target, '127.0.0.1');
    relay.open.add(inbound);
    relay.open.add(outbound);
    inbound.pipe(outbound);
    outbound.pipe(inbound);
    const close = () => { inbound.destroy(); outbound.destroy(); relay.open.delete(inbound); relay.open.delete(outbound); };
    inbound.on('error', close).on('close', close);
    outbound.on('error', close).on('close', close);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  relay.url = `http://127.0.0.1:${server.address().port}`;
  relay.cut = () => { for (const s of relay.open) s.destroy(); };
  relay.stop = async () => { relay.cut(); await new Promise((resolve) => server.close(resolve)); };
  return relay;
}

const nodeArgs = () => ['--redis', redis.url(), '--recovery-window', '10000'];

function recording(url, opts = {}) {
  const s = io(url, { forceNew: true, transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 500, randomizationFactor: 0, ...opts });
  s.events = [];
  s.onAny((name, ...args) => s.events.push([name, ...args.filter((a) => typeof a !== 'string' || !/^\d+$/.test(a))]));
  return s;
}
const connected = (s) => (s.connected ? Promise.resolve(s) : new Promise((resolve, reject) => { s.once('connect', () => resolve(s)); s.once('connect_error', reject); }));
const named = (s, ...names) => s.events.filter((e) => names.includes(e[0]));

test('cut on node A, back on node B: recovered, same id and rooms, the missed events once and in order', async () => {
  const a = await startServer('cluster', nodeArgs());
  const b = await startServer('cluster', nodeArgs());
  const relay = await startRelay(a.port);
  const c = recording(relay.url);
  const onA = recording(a.url, { reconnection: false });
  const onB = recording(b.url, { reconnection: false });
  try {
    await Promise.all([connected(c), connected(onA), connected(onB)]);
    assert.equal(c.recovered, false);
    const id = c.id;
    assert.equal(await c.timeout(5000).emitWithAck('join', 'team'), true);
    // An event with its offset first: a client without one does not try to recover.
    await until(async () => { onB.emit('to', 'team', 'first', 0); await sleep(100); return named(c, 'first').length > 0; }, 10000, 'the cluster reaches the room');

    const gone = new Promise((resolve) => c.once('disconnect', resolve));
    relay.target = b.port;
    relay.cut();
    assert.equal(await gone, 'transport close');
    onB.emit('to', 'team', 'missed', 1);
    onA.emit('to', 'team', 'missed', 2);
    onB.emit('to', id, 'missed', 3); // a socket id is a room
    onA.emit('all', 'missed', 4);
    onB.emit('to', 'elsewhere', 'not for it', 5);

    await until(() => c.connected, 10000, 'the reconnection through the relay');
    assert.equal(c.recovered, true, 'recovered on the other node');
    assert.equal(c.id, id);
    await until(() => named(c, 'missed').length >= 4, 5000, `the missed events: ${JSON.stringify(c.events)}`);
    await sleep(300);
    assert.deepEqual(named(c, 'missed').map((e) => e[1]).sort(), [1, 2, 3, 4], 'each once');
    assert.deepEqual(named(c, 'missed').filter((e) => e[1] === 1 || e[1] === 3).map((e) => e[1]), [1, 3], "one node's events in their order");
    assert.deepEqual(named(c, 'missed').filter((e) => e[1] === 2 || e[1] === 4).map((e) => e[1]), [2, 4], "the other's too");
    assert.equal(named(c, 'not for it').length, 0);
    assert.equal(named(c, 'first').length, 1, 'nothing before its offset again');

    // Live on B now, in its room, from either node.
    onA.emit('to', 'team', 'after', 6);
    await until(() => named(c, 'after').length === 1, 5000, 'a room broadcast after the recovery');
    await sleep(200);
    assert.equal(named(c, 'after').length, 1);
  } finally {
    for (const s of [c, onA, onB]) s.disconnect();
    await relay.stop();
    await a.stop();
    await b.stop();
  }
});

test('node A killed (-9) with the client connected: recovered on node B, with what B delivered meanwhile', async () => {
  const a = await startServer('cluster', nodeArgs());
  const b = await startServer('cluster', nodeArgs());
  const relay = await startRelay(a.port);
  const c = recording(relay.url, { reconnection: false });
  const onB = recording(b.url, { reconnection: false });
  const observer = createClient({ url: redis.url() });
  try {
    await observer.connect();
    await Promise.all([connected(c), connected(onB)]);
    const id = c.id;
    assert.equal(await c.timeout(5000).emitWithAck('join', 'crew'), true);
    await until(async () => { onB.emit('to', 'crew', 'first', 0); await sleep(100); return named(c, 'first').length > 0; }, 10000, 'the cluster reaches the room');
    await sleep(300); // node A's journal writes within milliseconds

    const gone = new Promise((resolve) => c.once('disconnect', resolve));
    relay.target = b.port;
    a.proc.kill('SIGKILL');
    await a.exited;
    await gone;
    onB.emit('to', 'crew', 'missed', 1);
    onB.emit('to', id, 'missed', 2);
    // Node A's sessions can be taken once it is known to be gone (its alive key lapses within 3 s).
    await until(async () => (await observer.keys('{socket.io-recovery}:alive:*')).length === 1, 10000, "node A's alive key to lapse");
    c.connect();
    await until(() => c.connected, 10000, 'the reconnection through the relay');
    assert.equal(c.recovered, true);
    assert.equal(c.id, id);
    await until(() => named(c, 'missed').length >= 2, 5000, 'the missed events');
    await sleep(300);
    assert.deepEqual(named(c, 'missed').map((e) => e[1]), [1, 2]);
    onB.emit('to', 'crew', 'after', 3);
    await until(() => named(c, 'after').length === 1, 5000, 'its room on node B');
  } finally {
    c.disconnect();
    onB.disconnect();
    await observer.quit().catch(() => {});
    await relay.stop();
    await a.stop();
    await b.stop();
  }
});

test('a session recovered on node B does not expire on node A; one nobody took back does, once', async () => {
  const args = ['--redis', redis.url(), '--recovery-window', '1500'];
  const a = await startServer('cluster', [...args, '--log-level', 'debug']);
  const b = await startServer('cluster', args);
  const relay = await startRelay(a.port);
  const back = recording(relay.url);
  const away = recording(a.url, { reconnection: false });
  try {
    await Promise.all([connected(back), connected(away)]);
    const awayId = away.id;
    const backId = back.id;
    for (const s of [back, away]) await until(async () => { s.emit('to', s.id, 'first', 0); await sleep(100); return named(s, 'first').length > 0; }, 10000, 'an offset');
    away.io.engine.close(); // a transport close: kept for the window, never taken back
    relay.target = b.port;
    relay.cut();
    await until(() => back.connected && back.recovered, 10000, 'the recovery on node B');
    assert.equal(back.id, backId);
    await until(() => a.output().includes(`session of socket ${awayId}`), 10000, "node A's expiry of the session nobody took back");
    await sleep(2000);
    assert.ok(!a.output().includes(`session of socket ${backId}`), 'the recovered one did not expire');
  } finally {
    back.disconnect();
    away.disconnect();
    await relay.stop();
    await a.stop();
    await b.stop();
  }
});
