// Connection state recovery with the WASM client (README "The WebAssembly client"): against Node's
// socket.io 4.8 with connectionStateRecovery (a cut connection, events sent meanwhile, the client
// comes back recovered and gets them once), and against our server across kill -9 and a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io as officialIo } from 'socket.io-client';
import { io as wasmIo } from '../../build/wasm/switchboard/client.mjs';
import { startServer, until } from '../server/harness.mjs';

const connected = (s) => (s.connected ? Promise.resolve(s) : new Promise((resolve, reject) => { s.once('connect', () => resolve(s)); s.once('connect_error', reject); }));
function recording(s) {
  s.events = [];
  s.onAny((name, ...args) => s.events.push([name, ...args]));
  return s;
}
const named = (s, name) => s.events.filter((e) => e[0] === name);

test("WASM client x Node's socket.io (connectionStateRecovery): a cut connection, missed events replayed once, recovered", async () => {
  const server = await startServer('reference', ['--recovery']);
  const a = recording(wasmIo(server.url, { forceNew: true, transports: ['websocket'], reconnectionDelay: 500, reconnectionDelayMax: 500, randomizationFactor: 0 }));
  const b = officialIo(server.url, { forceNew: true, transports: ['websocket'], reconnection: false });
  try {
    await Promise.all([connected(a), connected(b)]);
    assert.equal(a.recovered, false);
    const id = a.id;
    await b.timeout(5000).emitWithAck('emit', { rooms: [id] }, 'first', 1);
    await until(() => named(a, 'first').length === 1, 5000, 'the first event');
    const gone = new Promise((resolve) => a.once('disconnect', resolve));
    a.emit('cut');
    assert.equal(await gone, 'transport close');
    await b.timeout(5000).emitWithAck('emit', { rooms: [id] }, 'missed', 2);
    await b.timeout(5000).emitWithAck('emit', {}, 'to-all', 3);
    await until(() => a.connected, 5000, 'the reconnection');
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    await until(() => named(a, 'missed').length === 1 && named(a, 'to-all').length === 1, 5000, 'the missed events');
    assert.equal(named(a, 'first').length, 1, 'nothing replayed twice');
    assert.equal(named(a, 'missed')[0][1], 2);
  } finally {
    a.disconnect();
    b.disconnect();
    await server.stop();
  }
});

test('WASM client x our server: recovered after kill -9 and a restart (same id)', async () => {
  const db = join(tmpdir(), `switchboard-wasm-recovery-${process.pid}-${Date.now()}.db`);
  const args = ['--recovery-window', '10000', '--recovery-db', db];
  let server = await startServer('echo', args);
  const port = server.port;
  const a = recording(wasmIo(server.url, { forceNew: true, transports: ['websocket'], reconnectionDelay: 300, reconnectionDelayMax: 300, randomizationFactor: 0 }));
  try {
    await connected(a);
    await until(() => named(a, 'auth').length === 1, 5000, '"auth"');
    assert.equal(a.recovered, false);
    const id = a.id;
    await a.timeout(5000).emitWithAck('join', 'team');
    await new Promise((r) => setTimeout(r, 300)); // the journal writes within milliseconds
    server.proc.kill('SIGKILL');
    await server.exited;
    server = await startServer('echo', args, {}, { port });
    await until(() => a.connected && named(a, 'auth').length === 2, 10000, 'the reconnection');
    assert.equal(a.recovered, true);
    assert.equal(a.id, id);
    assert.equal(named(a, 'auth')[1][2], 'recovered');
    assert.ok((await a.timeout(5000).emitWithAck('join')).includes('team'), 'its room came back');
  } finally {
    a.disconnect();
    await server.stop();
    for (const s of ['', '-wal', '-shm']) rmSync(db + s, { force: true });
  }
});
