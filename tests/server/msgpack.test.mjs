// --parser msgpack (README "Running the server"): the official socket.io-client with the official
// socket.io-msgpack-parser 3.x against our server — events and acks both ways, binary both ways,
// namespaces, a refused connection, broadcasts — and the wire checked with notepack.io, the parser's own
// MessagePack. A client with the default parser is turned away.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startServer, until, sleep } from './harness.mjs';

const require = createRequire(import.meta.url);
const parser = require('socket.io-msgpack-parser');
const notepack = require('notepack.io');

function client(url, opts = {}) {
  const s = io(url, { forceNew: true, reconnection: false, parser, ...opts });
  s.events = [];
  s.onAny((name, ...args) => s.events.push([name, ...args]));
  return s;
}
const connected = (s) => (s.connected ? Promise.resolve() : new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); }));
const named = (s, name) => s.events.filter((e) => e[0] === name);

for (const transports of [['websocket'], ['polling']]) {
  test(`${transports[0]}: events, acks and binary both ways, namespaces, MessagePack on the wire`, async () => {
    const server = await startServer('echo', ['--parser', 'msgpack']);
    const s = client(server.url, { transports, auth: { token: 'abc', n: 1.5 } });
    const custom = client(`${server.url}/custom`, { transports });
    try {
      const wire = [];
      s.io.on('open', () => s.io.engine.on('packet', (p) => { if (p.type === 'message') wire.push(p.data); }));
      await Promise.all([connected(s), connected(custom)]);
      await until(() => named(s, 'auth').length === 1, 5000, '"auth"');
      assert.deepEqual(named(s, 'auth')[0][1], { token: 'abc', n: 1.5 });

      const payload = { text: 'héllo', list: [1, -2, 2 ** 40, 0.25, null, true], bytes: Buffer.from([0, 1, 2, 255]) };
      const answer = await s.timeout(5000).emitWithAck('message-with-ack', payload, Buffer.from('raw'));
      assert.deepEqual(answer.text, payload.text);
      assert.deepEqual(answer.list, payload.list);
      assert.deepEqual([...answer.bytes], [0, 1, 2, 255]);
      s.emit('message', 'plain', Buffer.from([9]));
      await until(() => named(s, 'message-back').length === 1, 5000, 'message-back');
      assert.equal(named(s, 'message-back')[0][1], 'plain');
      assert.deepEqual([...named(s, 'message-back')[0][2]], [9]);
      assert.equal(await custom.timeout(5000).emitWithAck('message-with-ack', 'ns'), 'ns');

      // Broadcast to a room (encoded once by the server, in MessagePack).
      await s.timeout(5000).emitWithAck('join', 'team');
      assert.equal(await custom.timeout(5000).emitWithAck('to', 'team', 'nobody there', 1), null); // /custom's "team": empty
      const other = client(server.url, { transports });
      await connected(other);
      assert.equal(await other.timeout(5000).emitWithAck('to', 'team', 'news', { n: 7 }, Buffer.from([4, 2])), null);
      await until(() => named(s, 'news').length === 1, 5000, 'the room broadcast');
      assert.deepEqual(named(s, 'news')[0][1], { n: 7 });
      assert.deepEqual([...named(s, 'news')[0][2]], [4, 2]);
      assert.equal(named(s, 'nobody there').length, 0);
      other.close();

      // Every message the server sent was one MessagePack map {type, nsp, data?, id?}.
      assert.ok(wire.length >= 5);
      for (const data of wire) {
        assert.notEqual(typeof data, 'string');
        const packet = notepack.decode(Buffer.from(data));
        assert.ok(Number.isInteger(packet.type) && packet.type >= 0 && packet.type <= 4);
        assert.equal(packet.nsp, '/');
      }
    } finally {
      s.close();
      custom.close();
      await server.stop();
    }
  });
}

test('the server asks (ack from the client), a middleware refuses with data, a broadcast with acks', async () => {
  const server = await startServer('fixture', ['--parser', 'msgpack']);
  const a = client(server.url, { transports: ['websocket'] });
  const b = client(server.url, { transports: ['polling'] });
  try {
    a.on('question', (text, ack) => ack({ answer: 42, echo: text }));
    b.on('question', (text, ack) => ack('b'));
    await Promise.all([connected(a), connected(b)]);
    const asked = await a.timeout(5000).emitWithAck('ask', 2000);
    assert.equal(asked.err, null);
    assert.equal(asked.reply[0].answer, 42);
    assert.equal(asked.reply[0].echo, 'what?');
    const all = await a.timeout(5000).emitWithAck('ask-all', { all: true }, 2000);
    assert.equal(all.err, null);
    assert.equal(all.replies.length, 2);

    const refused = client(`${server.url}/admin`, { transports: ['websocket'] });
    const error = await connected(refused).then(() => null, (e) => e);
    assert.equal(error.message, 'not authorized');
    assert.deepEqual(error.data, { code: 403 });
    refused.close();
  } finally {
    a.close();
    b.close();
    await server.stop();
  }
});

test('a client with the default parser is turned away; the server says why', async () => {
  const server = await startServer('echo', ['--parser', 'msgpack']);
  const s = io(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
  try {
    const outcome = await new Promise((resolve) => {
      s.once('connect', () => resolve('connected'));
      s.once('connect_error', () => resolve('refused'));
      s.io.once('close', () => resolve('closed'));
    });
    assert.notEqual(outcome, 'connected');
    await until(() => /not a socket\.io-msgpack-parser packet|a text message/.test(server.output()), 5000, 'the log line');
  } finally {
    s.close();
    await server.stop();
  }
});

test('connection state recovery with this parser: the offset inside MessagePack, missed events kept binary across kill -9', async () => {
  const db = join(tmpdir(), `switchboard-msgpack-recovery-${process.pid}-${Date.now()}.db`);
  const args = ['--parser', 'msgpack', '--recovery-window', '10000', '--recovery-db', db];
  let server = await startServer('echo', args);
  const port = server.port;
  const away = client(server.url, { transports: ['websocket'] });
  const b = client(server.url, { transports: ['websocket'] });
  try {
    await Promise.all([connected(away), connected(b)]);
    const id = away.id;
    await away.timeout(5000).emitWithAck('join', 'team');
    assert.equal(await b.timeout(5000).emitWithAck('to', 'team', 'first', 1), null);
    await until(() => named(away, 'first').length === 1, 5000, 'an event with its offset');
    const gone = new Promise((resolve) => away.once('disconnect', resolve));
    away.io.engine.transport.ws._socket.destroy(); // the connection dies under it
    await gone;
    assert.equal(await b.timeout(5000).emitWithAck('to', 'team', 'missed', { n: 2 }, Buffer.from([7, 8])), null);
    await sleep(300); // the journal writes within milliseconds
    server.proc.kill('SIGKILL');
    await server.exited;
    server = await startServer('echo', args, {}, { port });
    away.connect();
    await until(() => away.connected, 10000, 'the reconnection after the restart');
    assert.equal(away.recovered, true);
    assert.equal(away.id, id);
    await until(() => named(away, 'missed').length === 1, 5000, 'the missed event');
    const [, value, bytes, offset] = named(away, 'missed')[0];
    assert.deepEqual(value, { n: 2 });
    assert.deepEqual([...bytes], [7, 8]);
    assert.match(offset, /^\d+$/);
  } finally {
    away.close();
    b.close();
    await server.stop();
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  }
});
