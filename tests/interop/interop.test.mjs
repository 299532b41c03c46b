// One interop suite, run six ways: {our WASM client, the official socket.io-client} x {our server
// (tests/server/sio_fixture), the official Node.js socket.io 4.8 server (reference-server.mjs),
// python-socketio 5 (python-server.py)}. The native client meets the same servers in native-*.test.mjs.
// The assertions are the same for all four. With INTEROP_PARSER=msgpack every client and server speaks
// socket.io-msgpack-parser's packets (the official client with the npm parser, ours built in).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { io as officialIo } from 'socket.io-client';
import { io as wasmIo } from '../../build/wasm/switchboard/client.mjs';
import { startServer, until } from '../server/harness.mjs';

const msgpack = process.env.INTEROP_PARSER === 'msgpack';
const parserArgs = msgpack ? ['--parser', 'msgpack'] : [];
const withParser = (io, parser) => (msgpack ? (url, opts) => io(url, { parser, ...opts }) : io);
const clients = {
  'wasm client': withParser(wasmIo, 'msgpack'),
  'socket.io-client': withParser(officialIo, msgpack ? createRequire(import.meta.url)('socket.io-msgpack-parser') : undefined),
};
const servers = {
  switchboard: 'fixture',
  'node socket.io': 'reference',
  ...(msgpack ? {} : { 'python-socketio': 'python' }), // python-socketio 5 (Debian's): default parser only
};

const bytesOf = (v) => new Uint8Array(v instanceof ArrayBuffer ? v : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength));

for (const [serverName, binary] of Object.entries(servers)) {
  for (const [clientName, io] of Object.entries(clients)) {
    describe(`${clientName} x ${serverName}${msgpack ? ' (msgpack parser)' : ''}`, () => {
      let server;
      const opened = [];
      const open = (nsp = '/', opts = {}) => {
        const s = io(`${server.url}${nsp}`, { forceNew: true, transports: ['websocket'], reconnection: false, ...opts });
        opened.push(s);
        return s;
      };
      const connected = (s) => new Promise((resolve, reject) => {
        if (s.connected) return resolve(s);
        s.once('connect', () => resolve(s));
        s.once('connect_error', reject);
      });

      before(async () => { server = await startServer(binary, ['--ping-interval', '1000', '--ping-timeout', '1000', ...parserArgs]); });
      after(async () => {
        for (const s of opened) s.disconnect();
        await server.stop();
      });

      test('connect with auth; the server sees it', async () => {
        const s = await connected(open('/', { auth: { user: 'ann', n: 1 } }));
        assert.match(s.id, /^[A-Za-z0-9_-]{20}$/);
        const h = await s.emitWithAck('handshake');
        assert.equal(h.id, s.id);
        assert.deepEqual(h.auth, { user: 'ann', n: 1 });
      });

      test('emitting a reserved event name throws, before anything is sent', async () => {
        const s = await connected(open());
        for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
          assert.throws(() => s.emit(name, 1), new RegExp(`"${name}" is a reserved event name`));
        }
        assert.equal(await s.emitWithAck('echo', 'still connected'), 'still connected');
      });

      test('connect_error from a rejecting middleware, with message and data', async () => {
        const s = open('/admin', { auth: { token: 'nope' } });
        const err = await new Promise((r) => s.once('connect_error', r));
        assert.equal(err.message, 'not authorized');
        assert.deepEqual(err.data, { code: 403 });
        assert.equal(s.connected, false);
      });

      test('namespaces: a second namespace with its middleware passed', async () => {
        const s = open('/admin', { auth: { token: 'secret' } });
        const welcome = new Promise((r) => s.once('welcome', r));
        await connected(s);
        assert.equal(await welcome, '/admin');
        assert.equal((await s.emitWithAck('handshake')).nsp, '/admin');
      });

      test('events and acks both ways; the client-side ack timeout', async () => {
        const s = await connected(open());
        const values = [1, 'two', { three: [3, null, true] }, 'ünïcödé 😀'];
        assert.deepEqual(await new Promise((r) => s.emit('echo', ...values, (...reply) => r(reply))), values);
        s.once('question', (text, answer) => { assert.equal(text, 'what?'); answer('forty-two', 42); });
        assert.deepEqual(await s.emitWithAck('ask', 1000), { err: null, reply: ['forty-two', 42] });
        await assert.rejects(s.timeout(100).emitWithAck('no-such-handler'), /operation has timed out/);
      });

      test('the server-side ack timeout', async () => {
        const s = await connected(open());
        s.once('question', () => { /* never answers */ });
        assert.deepEqual(await s.emitWithAck('ask', 150), { err: 'operation has timed out', reply: [] });
      });

      test('rooms via server handlers', async () => {
        const [a, b, c] = await Promise.all([open(), open(), open()].map(connected));
        assert.deepEqual(await a.emitWithAck('join', 'blue'), [a.id, 'blue'].sort());
        await b.emitWithAck('join', 'blue');
        const got = { a: [], b: [], c: [] };
        a.on('news', (x) => got.a.push(x));
        b.on('news', (x) => got.b.push(x));
        c.on('news', (x) => got.c.push(x));
        await c.emitWithAck('emit', { rooms: ['blue'] }, 'news', 'to blue');
        await a.emitWithAck('emit', { rooms: ['blue'], from_socket: true }, 'news', 'from a');
        await c.emitWithAck('emit', {}, 'news', 'everyone'); // delivered after the others, to all three
        await until(() => got.c.length === 1 && got.a.length === 2 && got.b.length === 3, 3000, 'news');
        assert.deepEqual(got, { a: ['to blue', 'everyone'], b: ['to blue', 'from a', 'everyone'], c: ['everyone'] });
      });

      test('binary round trip: ArrayBuffer / Uint8Array / Buffer, nested', async () => {
        const s = await connected(open());
        const sent = [new Uint8Array([0, 1, 255]), { file: new Uint8Array([9, 8]).buffer, list: [new Uint8Array(0), 'x'] }];
        const back = await new Promise((r) => s.emit('echo', ...sent, (...reply) => r(reply)));
        assert.deepEqual(bytesOf(back[0]), new Uint8Array([0, 1, 255]));
        assert.deepEqual(bytesOf(back[1].file), new Uint8Array([9, 8]));
        assert.deepEqual(bytesOf(back[1].list[0]), new Uint8Array(0));
        assert.equal(back[1].list[1], 'x');
      });

      test('polling fallback when WebSocket is refused', async () => {
        const pollingOnly = await startServer(binary, ['--transports', 'polling', ...parserArgs]);
        try {
          const s = io(pollingOnly.url, {
            forceNew: true, transports: ['websocket', 'polling'], tryAllTransports: true, reconnection: false,
          });
          opened.push(s);
          await connected(s);
          assert.equal(s.io.engine.transport.name, 'polling');
          assert.deepEqual(await new Promise((r) => s.emit('echo', 'over', new Uint8Array([7]), (...a) => r(a))).then(
            ([text, bytes]) => [text, [...bytesOf(bytes)]]), ['over', [7]]);
          s.disconnect();
        } finally {
          await pollingOnly.stop();
        }
      });

      test('upgrade from polling to WebSocket when the server allows it', async () => {
        const s = await connected(open('/', { transports: ['polling', 'websocket'] }));
        await until(() => s.io.engine.transport.name === 'websocket', 5000, 'upgrade');
        const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => s.emitWithAck('echo', i)));
        assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => i));
      });

      test('reconnection after a server restart; emits buffered meanwhile arrive exactly once', async () => {
        const first = await startServer(binary, parserArgs);
        const port = first.port;
        const s = io(`http://127.0.0.1:${port}`, {
          forceNew: true, transports: ['websocket'], reconnectionDelay: 100, reconnectionDelayMax: 200,
        });
        opened.push(s);
        await connected(s);
        const firstId = s.id;
        const attempts = [];
        s.io.on('reconnect_attempt', (n) => attempts.push(n));
        const reconnected = new Promise((r) => s.io.once('reconnect', r));
        const gone = new Promise((r) => s.once('disconnect', r));
        await first.stop();
        assert.equal(await gone, 'transport close');
        for (const n of [1, 2, 3]) s.emit('record', n); // buffered while disconnected
        const second = await startServer(binary, parserArgs, {}, { port });
        try {
          await reconnected;
          await connected(s);
          assert.ok(attempts.length >= 1);
          assert.notEqual(s.id, firstId);
          await until(async () => (await s.emitWithAck('records')).length >= 3, 3000, 'records');
          assert.deepEqual(await s.emitWithAck('records'), [1, 2, 3]);
        } finally {
          s.disconnect();
          await second.stop();
        }
      });
    });
  }
}

if (!msgpack) test('the switchboard binary serves the WASM client at /switchboard/ with the right types', async () => {
  const { readFile } = await import('node:fs/promises');
  const server = await startServer('switchboard', []);
  try {
    for (const [file, type] of [['client.mjs', /^text\/javascript/], ['client.wasm', /^application\/wasm$/]]) {
      const res = await fetch(`${server.url}/switchboard/${file}`);
      assert.equal(res.status, 200, file);
      assert.match(res.headers.get('content-type'), type);
      const served = Buffer.from(await res.arrayBuffer());
      const built = await readFile(new URL(`../../build/wasm/switchboard/${file}`, import.meta.url));
      assert.ok(served.equals(built), `${file} is the built one`);
    }
    assert.equal((await fetch(`${server.url}/switchboard/nothing.js`)).status, 404);
  } finally {
    await server.stop();
  }
});
