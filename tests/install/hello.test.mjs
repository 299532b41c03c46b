// The README's example built against the installed package (tests/install) runs and serves Socket.IO;
// the installed binary finds its page beside it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io as connect } from 'socket.io-client';
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { binaries, root, startServer } from '../server/harness.mjs';

test('the README example, built with find_package(switchboard), does what it says', async () => {
  const server = await startServer('hello');
  assert.match(server.output(), /the application's own Asio timer fired/);
  const opts = { forceNew: true, transports: ['websocket'], reconnection: false };
  try {
    const sockets = [0, 1].map(() => connect(server.url, opts));
    // "ready?" with an ack: one answers, the other learns nothing and the server reports the timeout later.
    sockets[0].on('ready?', (answer) => answer('yes'));
    const result = new Promise((r) => sockets[0].once('ready-result', r));
    await Promise.all(sockets.map((s) => new Promise((r) => s.once('connect', r))));
    assert.equal(await result, 'yes');

    const relayed = new Promise((r) => sockets[1].once('chat message', (...args) => r(args)));
    assert.equal(await sockets[0].emitWithAck('chat message', 'hi', { from: 'ann' }), 'delivered');
    assert.deepEqual(await relayed, ['hi', { from: 'ann' }]);

    const left = new Promise((r) => sockets[1].once('left', (...args) => r(args)));
    const id = sockets[0].id;
    sockets[0].close();
    assert.deepEqual(await left, [id, 'client namespace disconnect']);

    const refused = connect(`${server.url}/admin`, opts);
    const err = await new Promise((r) => refused.once('connect_error', r));
    assert.equal(err.message, 'not authorized');
    assert.deepEqual(err.data, { code: 403 });
    const team = connect(`${server.url}/team-blue`, opts);
    assert.equal(await new Promise((r) => team.once('welcome', r)), '/team-blue');
    for (const s of [sockets[1], refused, team]) s.close();
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('the installed switchboard binary serves the page installed beside it (share/switchboard/web)', async () => {
  const help = execFileSync(binaries.installed, ['--help'], { encoding: 'utf8' });
  assert.match(help, /install-check\/share\/switchboard\/web/);
  const server = await startServer('installed');
  try {
    const page = await fetch(`${server.url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
  } finally {
    assert.equal((await server.stop()).code, 0);
  }
});

test('the README native client example, built with find_package(switchboard), talks to the server example', async () => {
  const server = await startServer('hello');
  const opts = { forceNew: true, transports: ['websocket'], reconnection: false };
  const listener = connect(server.url, opts);
  try {
    await new Promise((r) => listener.once('connect', r));
    const relayed = new Promise((r) => listener.once('chat message', (...args) => r(args)));
    const client = join(root, 'build', 'install-user', 'hello_client');
    const { stdout } = await promisify(execFile)(client, [server.url], { timeout: 20000 });
    const lines = stdout.trim().split('\n');
    assert.match(lines[0], /^connected as [A-Za-z0-9_-]{20}$/);
    assert.ok(lines.includes('chat message: delivered'), stdout);
    assert.ok(lines.includes('ready-result: yes'), stdout); // the server's question, answered by the client
    assert.equal(lines.at(-1), 'disconnected: io client disconnect');
    assert.deepEqual(await relayed, ['hi', { from: 'ann' }]);
  } finally {
    listener.close();
    assert.equal((await server.stop()).code, 0);
  }
});
