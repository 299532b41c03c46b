// The chat served by two switchboard nodes on one Redis (--redis: the cluster adapter, and the history
// in Redis), with nginx in front (examples/nginx/chat-cluster.conf): official socket.io-client users on
// either node, or through nginx, share nicknames, rooms, presence, typing, private messages, mentions
// and history as on one node.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { startServer, until, sleep } from '../server/harness.mjs';
import { startNginx, startRedis } from './infra.mjs';

let redis;
let nginx;
const nodes = {};

before(async () => {
  redis = await startRedis();
  for (const name of ['a', 'b']) nodes[name] = await startServer('switchboard', ['--redis', redis.url(), '--redis-requests-timeout', '2000']);
  nginx = await startNginx([`127.0.0.1:${nodes.a.port}`, `127.0.0.1:${nodes.b.port}`]);
});

after(async () => {
  for (const s of sockets) s.disconnect();
  await nginx?.stop();
  for (const n of Object.values(nodes)) {
    const { code } = await n.stop();
    assert.equal(code, 0, n.output().slice(-3000));
  }
  await redis?.stop();
});

const sockets = [];
/// A chat user on `url` (a node, or nginx), with `nickname` said; events it receives are kept.
async function user(url, nickname, transports = ['websocket']) {
  const s = io(url, { forceNew: true, transports, reconnection: false });
  sockets.push(s);
  s.received = [];
  s.onAny((event, ...args) => s.received.push([event, ...args]));
  await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
  if (nickname) {
    const reply = await s.emitWithAck('hello', { nickname });
    assert.deepEqual([reply.ok, reply.nickname], [true, nickname]);
  }
  return s;
}
const got = (s, event, pred = () => true) => s.received.filter(([e, p]) => e === event && pred(p)).map(([, p]) => p);

test('two nodes, one chat: nicknames, presence, messages, typing, private messages, mentions, history', async () => {
  const ann = await user(nodes.a.url, 'ann');
  // The nickname is taken on the other node too (case-insensitively).
  const other = await user(nodes.b.url);
  assert.deepEqual(await other.emitWithAck('hello', { nickname: 'ANN' }), { ok: false, error: 'that nickname is taken' });
  const bob = await user(nodes.b.url, 'bob');

  assert.deepEqual((await ann.emitWithAck('join', { room: 'lobby' })).members, ['ann']);
  const joined = await bob.emitWithAck('join', { room: 'lobby' });
  assert.deepEqual(joined.members, ['ann', 'bob'], 'presence counts the other node');
  await until(() => got(ann, 'presence', (p) => p.members.length === 2).length > 0, 5000, 'ann sees bob arrive');
  assert.deepEqual(got(ann, 'notification', (p) => p.kind === 'joined')[0], { kind: 'joined', room: 'lobby', nickname: 'bob' });

  const sent = await ann.emitWithAck('message', { room: 'lobby', text: 'hi from node a' });
  assert.equal(sent.ok, true);
  await until(() => got(bob, 'message').some((m) => m.text === 'hi from node a' && m.author === 'ann' && m.id === sent.id), 5000, 'the message crosses');
  await bob.emitWithAck('message', { room: 'lobby', text: 'and back from b' });
  await until(() => got(ann, 'message').some((m) => m.text === 'and back from b'), 5000, 'and back');

  bob.emit('typing', { room: 'lobby' });
  await until(() => got(ann, 'typing').some((t) => t.nickname === 'bob'), 5000, 'typing crosses');

  assert.equal((await ann.emitWithAck('private', { to: 'Bob', text: 'psst' })).ok, true);
  await until(() => got(bob, 'private').some((p) => p.from === 'ann' && p.text === 'psst'), 5000, 'private message');
  assert.deepEqual(await ann.emitWithAck('private', { to: 'nobody', text: 'x' }), { ok: false, error: 'nobody by that nickname is online' });

  await bob.emitWithAck('message', { room: 'lobby', text: '@ann look at this' });
  await until(() => got(ann, 'notification', (p) => p.kind === 'mention').some((p) => p.from === 'bob'), 5000, 'mention');

  // The history is shared: a newcomer on node b sees what ann said on node a, in order.
  const cat = await user(nodes.b.url, 'cat');
  const history = (await cat.emitWithAck('join', { room: 'lobby' })).history.map((m) => m.text);
  assert.deepEqual(history, ['hi from node a', 'and back from b', '@ann look at this']);
  const rooms = (await cat.emitWithAck('rooms')).rooms;
  assert.deepEqual(rooms.find((r) => r.name === 'lobby'), { name: 'lobby', members: 3 });

  // ann leaves (disconnects from node a): node b's users hear it. The nickname's grace period (kept
  // for its owner's reconnect) is per node: on node b it is free at once.
  ann.disconnect();
  await until(() => got(bob, 'presence', (p) => p.members.length === 2 && !p.members.includes('ann')).length > 0, 5000, 'presence without ann');
  // "ann left" waits the chat's leave grace (3 s) for a reload to come back first.
  await until(() => got(bob, 'notification', (p) => p.kind === 'left' && p.nickname === 'ann').length > 0, 8000, 'ann left');
  const again = await user(nodes.b.url);
  const reclaimed = await again.emitWithAck('hello', { nickname: 'ann' });
  assert.deepEqual([reclaimed.ok, reclaimed.nickname], [true, 'ann']);
  // Read marks are in Redis beside the history: on node b, ann finds the room and the private
  // conversation she had on node a, and the conversation's history.
  assert.deepEqual(reclaimed.rooms, [{ room: 'lobby', lastRead: 0 }]);
  assert.equal(reclaimed.conversations.length, 1);
  assert.equal(reclaimed.conversations[0].with, 'bob');
  assert.ok(reclaimed.conversations[0].lastRead > 0, 'what she wrote counts as read');
  const talk = await again.emitWithAck('conversation', { with: 'bob' });
  assert.deepEqual(talk.messages.map((m) => [m.author, m.text]), [['ann', 'psst']]);
});

test('the same nickname said on both nodes at once: never both', async () => {
  for (let round = 0; round < 5; ++round) {
    const nick = `race${round}`;
    const [x, y] = [await user(nodes.a.url), await user(nodes.b.url)];
    const answers = await Promise.all([x.emitWithAck('hello', { nickname: nick }), y.emitWithAck('hello', { nickname: nick })]);
    assert.ok(answers.filter((r) => r.ok).length <= 1, JSON.stringify(answers));
  }
});

test('through nginx: long-polling (kept on one node by ip_hash) and WebSocket users join the same chat', async () => {
  const direct = await user(nodes.a.url, 'dan');
  await direct.emitWithAck('join', { room: 'proxied' });
  const polling = await user(nginx.url, 'poll', ['polling']);
  const ws = await user(nginx.url, 'sock', ['websocket']);
  assert.deepEqual((await polling.emitWithAck('join', { room: 'proxied' })).ok, true);
  const joined = await ws.emitWithAck('join', { room: 'proxied' });
  assert.deepEqual(joined.members, ['dan', 'poll', 'sock']);
  await direct.emitWithAck('message', { room: 'proxied', text: 'through the proxy' });
  await until(() => [polling, ws].every((s) => got(s, 'message').some((m) => m.text === 'through the proxy')), 5000, 'both proxied users hear it');
  await sleep(1500); // several long-poll cycles through nginx: the session stays on its node
  await polling.emitWithAck('message', { room: 'proxied', text: 'from a poller' });
  await until(() => got(direct, 'message').some((m) => m.text === 'from a poller'), 5000, 'the poller is heard');
  assert.equal(polling.connected, true);
});
