// The chat application of the switchboard binary (its protocol, as the README lists it), driven by
// socket.io-client: nicknames, rooms, messages stored before their ack, presence, typing, private
// messages, mentions, limits, and history that survives kill -9.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startServer, until } from './harness.mjs';

let dir;
let server;
const db = () => join(dir, 'chat.db');
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-chat-'));
  server = await startServer('switchboard', ['--db', db()]);
});
after(async () => {
  const { code } = await server.stop();
  rmSync(dir, { recursive: true, force: true });
  assert.equal(code, 0, server.output().slice(-4000));
});

const sockets = [];
async function user(nickname, url = server.url) {
  const s = io(url, { forceNew: true, transports: ['websocket'], reconnection: false });
  sockets.push(s);
  await new Promise((r) => s.once('connect', r));
  if (nickname) {
    const reply = await s.emitWithAck('hello', { nickname });
    assert.deepEqual([reply.ok, reply.nickname], [true, nickname]);
    s.token = reply.token;
  }
  return s;
}
const closeAll = () => { for (const s of sockets.splice(0)) s.disconnect(); };

test('nicknames: validated and unique among connected users', async () => {
  const s = await user();
  for (const bad of ['', 'x'.repeat(33), 'a@b', ' pad']) {
    const r = await s.emitWithAck('hello', { nickname: bad });
    assert.equal(r.ok, false, bad);
    assert.match(r.error, /nickname/);
  }
  assert.equal((await s.emitWithAck('join', { room: 'general' })).error, 'say hello with a nickname first');
  await user('Zed');
  assert.deepEqual(await s.emitWithAck('hello', { nickname: 'zed' }), { ok: false, error: 'that nickname is taken' });
  closeAll();
});

test('nicknames: NFKC-normalised, no invisible or bidi characters, case variants and look-alikes are one', async () => {
  const s = await user();
  const fullwidth = await s.emitWithAck('hello', { nickname: 'ｂｏｂｂｙ' });
  assert.deepEqual([fullwidth.ok, fullwidth.nickname], [true, 'bobby']);
  const other = await user();
  for (const bad of ['al\u200Bice', 'abc\u202Edef', '\u2066x', 'x\u00ADy', 'two  spaces', 'tab\tin']) {
    const r = await other.emitWithAck('hello', { nickname: bad });
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.match(r.error, /nickname/);
  }
  for (const lookalike of ['BOBBY', 'Bobby', 'b\u043Ebby' /* a Cyrillic о */, 'b\u03BFbby' /* a Greek ο */]) {
    assert.deepEqual(await other.emitWithAck('hello', { nickname: lookalike }), { ok: false, error: 'that nickname is taken' }, lookalike);
  }
  // A private message to a look-alike reaches the holder.
  assert.equal((await other.emitWithAck('hello', { nickname: 'carla' })).ok, true);
  const got = new Promise((r) => s.once('private', r));
  assert.equal((await other.emitWithAck('private', { to: 'B\u041EBBY' /* a Cyrillic О */, text: 'hi' })).ok, true);
  assert.equal((await got).text, 'hi');
  closeAll();
});

test('rooms: join gives history and members; messages are acked with their id and reach the room', async () => {
  const alice = await user('alice');
  const bob = await user('bob');
  const carol = await user('carol');
  assert.equal((await alice.emitWithAck('join', { room: 'bad room!' })).ok, false);
  const joined = await alice.emitWithAck('join', { room: 'general' });
  assert.deepEqual([joined.ok, joined.room, joined.members], [true, 'general', ['alice']]);
  const presence = new Promise((r) => alice.on('presence', (p) => { if (p.members.length === 2) r(p); }));
  const notified = new Promise((r) => alice.once('notification', r));
  await bob.emitWithAck('join', { room: 'general' });
  assert.deepEqual(await presence, { room: 'general', members: ['alice', 'bob'] });
  assert.deepEqual(await notified, { kind: 'joined', room: 'general', nickname: 'bob' });

  const heard = [];
  bob.on('message', (m) => heard.push(m));
  carol.on('message', (m) => heard.push(m)); // not in the room
  const ack = await alice.emitWithAck('message', { room: 'general', text: '<img src=x onerror=alert(1)> hi' });
  assert.equal(ack.ok, true);
  assert.ok(Number.isInteger(ack.id) && ack.ts > 0);
  await until(() => heard.length === 1, 2000, 'message');
  assert.deepEqual(heard[0], { id: ack.id, room: 'general', author: 'alice', text: '<img src=x onerror=alert(1)> hi', ts: ack.ts });
  assert.equal((await carol.emitWithAck('message', { room: 'general', text: 'x' })).error, 'join the room first');
  assert.equal((await alice.emitWithAck('message', { room: 'general', text: '' })).ok, false);
  assert.equal((await alice.emitWithAck('message', { room: 'general', text: 'y'.repeat(2001) })).ok, false);

  const typing = new Promise((r) => bob.once('typing', r));
  alice.emit('typing', { room: 'general' });
  assert.deepEqual(await typing, { room: 'general', nickname: 'alice' });

  const mention = new Promise((r) => bob.once('notification', r));
  await alice.emitWithAck('message', { room: 'general', text: 'hey @bob, look' });
  assert.deepEqual(await mention, { kind: 'mention', room: 'general', from: 'alice', text: 'hey @bob, look' });

  const rooms = await carol.emitWithAck('rooms');
  assert.deepEqual(rooms.rooms, [{ name: 'general', members: 2 }]);
  const page = await carol.emitWithAck('history', { room: 'general' });
  assert.deepEqual(page.messages.map((m) => m.author), ['alice', 'alice']);
  closeAll();
});

test('private messages reach only their target; unknown targets are refused', async () => {
  const alice = await user('alice2');
  const bob = await user('bob2');
  const eve = await user('eve2');
  let eveHeard = 0;
  eve.on('private', () => eveHeard++);
  const got = new Promise((r) => bob.once('private', r));
  assert.equal((await alice.emitWithAck('private', { to: 'bob2', text: 'psst' })).ok, true);
  const pm = await got;
  assert.deepEqual([pm.from, pm.to, pm.text], ['alice2', 'bob2', 'psst']);
  assert.equal((await alice.emitWithAck('private', { to: 'nobody', text: 'x' })).error, 'nobody by that nickname is online');
  await alice.emitWithAck('rooms'); // a round trip: eve would have had it by now
  assert.equal(eveHeard, 0);
  closeAll();
});

// A page coming back (a reload, a reconnect) as the user it was: its nickname reclaimed with the token.
async function again(previous, nickname) {
  const s = await user();
  const reply = await s.emitWithAck('hello', { nickname, token: previous.token });
  assert.equal(reply.ok, true, reply.error);
  s.token = reply.token;
  s.hello = reply;
  return s;
}

test('read marks: hello lists the user\'s rooms with how far they read; join tells it; marks only move forward', async () => {
  const reader = await user('reader');
  const writer = await user('writer');
  assert.equal((await reader.emitWithAck('join', { room: 'books' })).lastRead, 0);
  await writer.emitWithAck('join', { room: 'books' });
  const ids = [];
  for (const text of ['one', 'two', 'three']) ids.push((await writer.emitWithAck('message', { room: 'books', text })).id);
  assert.deepEqual(await reader.emitWithAck('read', { room: 'books', id: ids[1] }), { ok: true });
  assert.deepEqual(await reader.emitWithAck('read', { room: 'books', id: ids[0] }), { ok: true }); // not backwards
  assert.equal((await reader.emitWithAck('read', { room: 'nope', id: 1 })).error, 'join the room first');
  assert.equal((await reader.emitWithAck('read', { room: 'books', id: -1 })).error, "'id' is the id of a message");
  assert.equal((await reader.emitWithAck('read', { id: 1 })).error, 'read which room or conversation?');

  reader.disconnect();
  const back = await again(reader, 'reader');
  assert.deepEqual(back.hello.rooms.find((r) => r.room === 'books'), { room: 'books', lastRead: ids[1] });
  assert.deepEqual(back.hello.conversations, []);
  const joined = await back.emitWithAck('join', { room: 'books' });
  assert.equal(joined.lastRead, ids[1]);
  assert.deepEqual(joined.history.filter((m) => m.id > joined.lastRead).map((m) => m.text), ['three']);

  // A room left is not the user's any more: the next hello does not list it.
  assert.equal((await back.emitWithAck('leave', { room: 'books' })).ok, true);
  back.disconnect();
  const later = await again(back, 'reader');
  assert.equal(later.hello.rooms.some((r) => r.room === 'books'), false);
  closeAll();
});

test('private conversations: stored and paged, listed for both, told to the recipient and to the sender\'s pages', async () => {
  const pia = await user('pia');
  const quin = await user('quin');
  const toQuin = [];
  const toPia = [];
  quin.on('private', (m) => toQuin.push(m));
  pia.on('private', (m) => toPia.push(m));
  const sent = [];
  for (const text of ['one', 'two', 'three']) {
    const reply = await pia.emitWithAck('private', { to: 'QUIN', text });
    assert.deepEqual([reply.ok, reply.to], [true, 'quin']); // the recipient's own spelling
    sent.push(reply.id);
  }
  await until(() => toQuin.length === 3 && toPia.length === 3, 5000, 'the three messages, on both sides');
  assert.deepEqual(toQuin.map((m) => [m.id, m.from, m.to, m.text]), sent.map((id, i) => [id, 'pia', 'quin', ['one', 'two', 'three'][i]]));
  assert.deepEqual(toPia.map((m) => m.id), sent);

  const page = await quin.emitWithAck('conversation', { with: 'pia' });
  assert.deepEqual([page.ok, page.with, page.lastRead], [true, 'pia', 0]);
  assert.deepEqual(page.messages.map((m) => [m.author, m.text]), [['pia', 'one'], ['pia', 'two'], ['pia', 'three']]);
  const older = await pia.emitWithAck('conversation', { with: 'quin', before: sent[2] });
  assert.deepEqual(older.messages.map((m) => m.text), ['one', 'two']);
  assert.equal(older.lastRead, sent[2], 'what the sender wrote counts as read');
  assert.deepEqual(await quin.emitWithAck('read', { with: 'pia', id: sent[1] }), { ok: true });
  assert.equal((await quin.emitWithAck('read', { with: 'nobody', id: 1 })).error, 'no such conversation');

  // Both find the conversation again after a reload; nobody else can read it.
  quin.disconnect();
  const quinBack = await again(quin, 'quin');
  assert.deepEqual(quinBack.hello.conversations, [{ with: 'pia', lastRead: sent[1] }]);
  const rex = await user('rex');
  assert.deepEqual((await rex.emitWithAck('conversation', { with: 'pia' })).messages, []);
  assert.equal((await rex.emitWithAck('private', { to: 'Rex', text: 'me' })).error, 'that is you');
  closeAll();
});

test('"joined" and "left" only when membership changes: a page back within the leave grace tells nobody', async () => {
  const watcher = await user('watcher');
  await watcher.emitWithAck('join', { room: 'porch' });
  const told = [];
  watcher.on('notification', (n) => { if (n.nickname === 'uma') told.push(n.kind); });
  const uma = await user('uma');
  await uma.emitWithAck('join', { room: 'porch' });
  await until(() => told.length === 1, 5000, 'uma joined');

  uma.disconnect(); // a reload: back within a second, in the same room
  const back = await again(uma, 'uma');
  await back.emitWithAck('join', { room: 'porch' });
  await new Promise((r) => setTimeout(r, 4000)); // past the leave grace (3 s)
  assert.deepEqual(told, ['joined']);

  back.disconnect(); // gone for good
  await until(() => told.length === 2, 8000, 'uma left');
  assert.deepEqual(told, ['joined', 'left']);
  closeAll();
});

test('joining a room again tells nobody; a user is in at most 50 rooms', async () => {
  const amy = await user('amy');
  const ben = await user('ben');
  await amy.emitWithAck('join', { room: 'again' });
  const both = new Promise((r) => amy.on('presence', (p) => { if (p.members.length === 2) r(); }));
  await ben.emitWithAck('join', { room: 'again' });
  await both;
  let heard = 0;
  amy.on('presence', () => heard++);
  amy.on('notification', () => heard++);
  const again = await ben.emitWithAck('join', { room: 'again' });
  assert.deepEqual([again.ok, again.members.sort()], [true, ['amy', 'ben']]);
  await ben.emitWithAck('rooms');
  await amy.emitWithAck('rooms'); // round trips: a presence or notification would have come by now
  assert.equal(heard, 0, 'nothing re-announced');
  for (let i = 0; i < 49; ++i) assert.equal((await amy.emitWithAck('join', { room: `r${i}` })).ok, true);
  assert.deepEqual(await amy.emitWithAck('join', { room: 'one-more' }), { ok: false, error: 'too many rooms (at most 50)' });
  assert.equal((await amy.emitWithAck('join', { room: 'r3' })).ok, true, 'a room she is in still answers');
  closeAll();
});

test('presence: a crowd arriving at once is announced in a few lists, not one per arrival', async () => {
  const host = await user('host');
  await host.emitWithAck('join', { room: 'crowd' });
  const lists = [];
  host.on('presence', (p) => { if (p.room === 'crowd') lists.push(p.members); });
  const crowd = [];
  for (let i = 0; i < 20; i++) crowd.push(await user(`guest${i}`));
  await Promise.all(crowd.map((g) => g.emitWithAck('join', { room: 'crowd' })));
  await until(() => lists.at(-1)?.length === 21, 5000, 'the whole crowd in one list');
  await new Promise((r) => setTimeout(r, 400));
  assert.ok(lists.length <= 5, `${lists.length} presence lists for 20 arrivals`);
  closeAll();
});

test('mentions: one notification per mentioned user however often named, at most 10 users per message', async () => {
  const names = Array.from({ length: 12 }, (_, i) => `m${i}x`);
  const users = [];
  for (const n of names) users.push(await user(n));
  const counts = names.map(() => 0);
  users.forEach((u, i) => u.on('notification', (n) => { if (n.kind === 'mention') counts[i]++; }));
  const author = await user('talker');
  await author.emitWithAck('join', { room: 'mentions' });
  const text = names.map((n) => `@${n} @${n}`).join(' ');
  assert.equal((await author.emitWithAck('message', { room: 'mentions', text })).ok, true);
  await until(() => counts.reduce((a, b) => a + b) >= 10, 3000, 'the mentions');
  await Promise.all(users.map((u) => u.emitWithAck('rooms')));
  assert.deepEqual(counts, [...Array(10).fill(1), 0, 0]);
  closeAll();
});

test('a nickname is kept for its owner a moment after a disconnect; the hello token reclaims it', async () => {
  const owner = await user('keeper');
  assert.match(owner.token, /^[A-Za-z0-9_-]{20}$/);
  owner.disconnect();
  await new Promise((r) => setTimeout(r, 100));
  const other = await user();
  const taken = await other.emitWithAck('hello', { nickname: 'Keeper' });
  assert.equal(taken.ok, false);
  assert.match(taken.error, /kept for its owner for \d+ more seconds/);
  assert.equal((await other.emitWithAck('hello', { nickname: 'keeper', token: 'a guess' })).ok, false);
  const back = await user();
  const reclaimed = await back.emitWithAck('hello', { nickname: 'keeper', token: owner.token });
  assert.deepEqual([reclaimed.ok, reclaimed.token], [true, owner.token]);
  closeAll();
});

test('one bucket over every chat event of a user, kept across a reconnect', async () => {
  const busy = await user('busy');
  const replies = await Promise.all(Array.from({ length: 130 }, () => busy.emitWithAck('rooms')));
  const slowed = replies.filter((r) => r.error === 'slow down: too many requests').length;
  assert.ok(slowed >= 25 && slowed <= 32, `${slowed} of 130 refused (burst 100)`);
  busy.disconnect();
  const again = await user();
  assert.equal((await again.emitWithAck('hello', { nickname: 'busy', token: busy.token })).ok, true);
  const after = await Promise.all(Array.from({ length: 20 }, () => again.emitWithAck('rooms')));
  const stillSlowed = after.filter((r) => r.error === 'slow down: too many requests').length;
  assert.ok(stillSlowed >= 10, `${stillSlowed} of 20 refused after the reconnect: the bucket came along`);
  closeAll();
});

test('at most 10 messages per 5 seconds; the excess is refused with a clear error, nothing else lost', async () => {
  const s = await user('fast');
  await s.emitWithAck('join', { room: 'rate' });
  const acks = await Promise.all(Array.from({ length: 12 }, (_, i) => s.emitWithAck('message', { room: 'rate', text: `m${i}` })));
  assert.equal(acks.filter((a) => a.ok).length, 10);
  assert.deepEqual(acks.slice(10).map((a) => a.error), Array(2).fill('too many messages: at most 10 per 5 seconds'));
  const page = await s.emitWithAck('history', { room: 'rate' });
  assert.deepEqual(page.messages.map((m) => m.text), Array.from({ length: 10 }, (_, i) => `m${i}`));
  const older = await s.emitWithAck('history', { room: 'rate', before: page.messages[5].id });
  assert.deepEqual(older.messages.map((m) => m.text), ['m0', 'm1', 'm2', 'm3', 'm4']); // the page before an id
  closeAll();
});

test('an acked message survives kill -9; history comes back on join', async () => {
  const own = await startServer('switchboard', ['--db', join(dir, 'crash.db')]);
  const s = await user('durable', own.url);
  await s.emitWithAck('join', { room: 'vault' });
  const ack = await s.emitWithAck('message', { room: 'vault', text: 'keep me' });
  assert.equal(ack.ok, true);
  own.proc.kill('SIGKILL');
  await own.exited;
  const again = await startServer('switchboard', ['--db', join(dir, 'crash.db')]);
  try {
    const t = await user('durable', again.url);
    const joined = await t.emitWithAck('join', { room: 'vault' });
    assert.deepEqual(joined.history.map((m) => [m.id, m.text]), [[ack.id, 'keep me']]);
  } finally {
    closeAll();
    await again.stop();
  }
});

test('connection state recovery: a page whose connection drops comes back with its nickname and rooms, and gets the messages it missed', async () => {
  const a = io(server.url, { forceNew: true, transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 500, randomizationFactor: 0 });
  sockets.push(a);
  try {
    await new Promise((r) => a.once('connect', r));
    assert.equal((await a.emitWithAck('hello', { nickname: 'roamer' })).ok, true);
    assert.equal((await a.emitWithAck('join', { room: 'lobby' })).ok, true);
    // The client presents the offset of the last event it received: it must have had one.
    const heard = new Promise((r) => a.on('notification', (n) => { if (n.kind === 'joined' && n.nickname === 'stayer') r(); }));
    const b = await user('stayer');
    assert.equal((await b.emitWithAck('join', { room: 'lobby' })).ok, true);
    await heard;
    const seen = [];
    a.on('message', (m) => seen.push(m.text));
    const id = a.id;
    const gone = new Promise((r) => a.once('disconnect', r));
    a.io.engine.transport.ws._socket.destroy(); // the network drops under the page
    await gone;
    assert.equal((await b.emitWithAck('message', { room: 'lobby', text: 'while you were away' })).ok, true);
    await until(() => a.connected, 5000, 'the reconnection');
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    await until(() => seen.includes('while you were away'), 5000, 'the missed message');
    // No hello again: the session is the same user, in the same room.
    assert.equal((await a.emitWithAck('message', { room: 'lobby', text: 'back' })).ok, true);
    assert.deepEqual(seen.filter((t) => t === 'while you were away').length, 1);
  } finally {
    closeAll();
  }
});
