// The native C++ client, through switchboard-cli, against every server we can run here: ours
// (tests/server/sio_fixture), the official Node.js socket.io 4.8 (reference-server.mjs) and
// python-socketio 5 (Debian's, python-server.py), all with the same test handlers. The CLI prints
// what the client sees as JSON lines; the assertions are the same for the three servers.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { binaries, sanitizerEnv, startServer, until } from '../server/harness.mjs';

const servers = { switchboard: 'fixture', 'node socket.io': 'reference', 'python-socketio': 'python' };
const base64 = (bytes) => Buffer.from(bytes).toString('base64');

/// Runs the CLI; `lines` fills as it prints. `done` resolves with the exit code (killed after `ms`).
function cli(args, ms = 20000) {
  const proc = spawn(binaries.cli, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...sanitizerEnv } });
  const lines = [];
  let stderr = '';
  createInterface({ input: proc.stdout }).on('line', (line) => lines.push(JSON.parse(line)));
  proc.stderr.on('data', (chunk) => { stderr += chunk; });
  const timer = setTimeout(() => proc.kill('SIGKILL'), ms);
  const done = new Promise((resolve) => proc.on('close', (code, signal) => {
    clearTimeout(timer);
    resolve({ code, signal, lines, stderr });
  }));
  return { proc, lines, done };
}
const run = (args, ms) => cli(args, ms).done;
const ofType = (lines, type) => lines.filter((l) => l.type === type);

for (const [serverName, binary] of Object.entries(servers)) {
  describe(`switchboard-cli (native client) x ${serverName}`, () => {
    let server;
    before(async () => { server = await startServer(binary); });
    after(async () => { await server.stop(); });

    test('connect with auth; events and acks both ways, binary included', async () => {
      const { code, lines, stderr } = await run([server.url, '--auth', '{"user":"ann","n":1}', '--ack',
        '--emit', 'echo', '"ünïcödé 😀"', '42', `{"$binary":"${base64([0, 1, 255])}"}`, `{"nested":[{"$binary":""}]}`,
        '--emit', 'handshake']);
      assert.equal(code, 0, stderr);
      const [connect] = ofType(lines, 'connect');
      assert.match(connect.id, /^[A-Za-z0-9_-]{20}$/);
      const [echo, handshake] = ofType(lines, 'ack');
      assert.deepEqual(echo, { type: 'ack', event: 'echo',
        args: ['ünïcödé 😀', 42, { $binary: base64([0, 1, 255]) }, { nested: [{ $binary: '' }] }] });
      const { id, nsp, auth } = handshake.args[0];
      assert.deepEqual({ id, nsp, auth }, { id: connect.id, nsp: '/', auth: { user: 'ann', n: 1 } });
      assert.equal(ofType(lines, 'disconnect')[0].reason, 'io client disconnect');
    });

    test('the client-side ack timeout; the server-side one, and the server asking', async () => {
      const late = await run([server.url, '--ack', '--timeout', '150', '--emit', 'no-such-handler']);
      assert.equal(late.code, 1);
      assert.deepEqual(ofType(late.lines, 'ack'), [{ type: 'ack', event: 'no-such-handler', error: 'operation has timed out' }]);
      const answered = await run([server.url, '--ack', '--reply', '"forty-two"', '42', '--emit', 'ask', '2000']);
      assert.equal(answered.code, 0, answered.stderr);
      assert.deepEqual(ofType(answered.lines, 'event'), [{ type: 'event', name: 'question', args: ['what?'] }]);
      assert.deepEqual(ofType(answered.lines, 'ack')[0].args, [{ err: null, reply: ['forty-two', 42] }]);
      const unanswered = await run([server.url, '--ack', '--emit', 'ask', '150']);
      assert.deepEqual(ofType(unanswered.lines, 'ack')[0].args, [{ err: 'operation has timed out', reply: [] }]);
    });

    test('namespaces: refused by the middleware, then admitted', async () => {
      const refused = await run([`${server.url}/admin`, '--auth', '{"token":"nope"}']);
      assert.equal(refused.code, 1);
      assert.deepEqual(ofType(refused.lines, 'connect_error'), [{ type: 'connect_error', message: 'not authorized', data: { code: 403 } }]);
      assert.equal(ofType(refused.lines, 'connect').length, 0);
      const admitted = await run([server.url, '--nsp', '/admin', '--auth', '{"token":"secret"}', '--listen', '--count', '1',
        '--ack', '--emit', 'handshake']);
      assert.equal(admitted.code, 0, admitted.stderr);
      assert.equal(ofType(admitted.lines, 'connect')[0].nsp, '/admin');
      assert.deepEqual(ofType(admitted.lines, 'event'), [{ type: 'event', name: 'welcome', args: ['/admin'] }]);
      assert.equal(ofType(admitted.lines, 'ack')[0].args[0].nsp, '/admin');
    });

    test('rooms: an event through a room reaches the listening client', async () => {
      const listener = cli([server.url, '--listen', '--count', '1', '--ack', '--emit', 'join', '["blue"]']);
      await until(() => ofType(listener.lines, 'ack').length === 1, 10000, 'joined');
      const sender = await run([server.url, '--ack', '--emit', 'emit', '{"rooms":["blue"]}', '"news"', '"to blue"']);
      assert.equal(sender.code, 0, sender.stderr);
      assert.equal(ofType(sender.lines, 'event').length, 0); // not in the room
      const { code, lines } = await listener.done;
      assert.equal(code, 0);
      assert.deepEqual(ofType(lines, 'event'), [{ type: 'event', name: 'news', args: ['to blue'] }]);
    });

    test('polling only; the upgrade to WebSocket', async () => {
      const polling = await run([server.url, '--transport', 'polling', '--ack', '--emit', 'echo', '"over polling"']);
      assert.equal(polling.code, 0, polling.stderr);
      assert.deepEqual(ofType(polling.lines, 'transport').map((l) => l.name), ['polling']);
      assert.deepEqual(ofType(polling.lines, 'ack')[0].args, ['over polling']);
      const emits = Array.from({ length: 20 }, (_, i) => ['--emit', 'echo', String(i)]).flat();
      const upgraded = cli([server.url, '--ack', '--listen', ...emits]);
      await until(() => ofType(upgraded.lines, 'transport').length === 2 && ofType(upgraded.lines, 'ack').length === 20,
        10000, 'upgrade and acks');
      upgraded.proc.kill('SIGINT');
      const { code, lines } = await upgraded.done;
      assert.equal(code, 0);
      assert.deepEqual(ofType(lines, 'transport').map((l) => l.name), ['polling', 'websocket']);
      assert.deepEqual(ofType(lines, 'ack').map((l) => l.args[0]), Array.from({ length: 20 }, (_, i) => i));
    });

    test('polling fallback when WebSocket is refused', async () => {
      const pollingOnly = await startServer(binary, ['--transports', 'polling']);
      try {
        const { code, lines, stderr } = await run([pollingOnly.url, '--transport', 'websocket', '--transport', 'polling',
          '--ack', '--emit', 'echo', `{"$binary":"${base64([7])}"}`]);
        assert.equal(code, 0, stderr);
        assert.deepEqual(ofType(lines, 'transport').map((l) => l.name), ['websocket', 'polling']);
        assert.deepEqual(ofType(lines, 'ack')[0].args, [{ $binary: base64([7]) }]);
      } finally {
        await pollingOnly.stop();
      }
    });

    test('reconnection after the server restarts', async () => {
      const first = await startServer(binary);
      const port = first.port;
      const client = cli([first.url, '--listen', '--transport', 'websocket', '--reconnect-delay', '100'], 30000);
      let second;
      try {
        await until(() => ofType(client.lines, 'connect').length === 1, 10000, 'connected');
        await first.stop();
        await until(() => ofType(client.lines, 'disconnect').length === 1, 10000, 'disconnected');
        second = await startServer(binary, [], {}, { port });
        await until(() => ofType(client.lines, 'connect').length === 2, 15000, 'connected again');
        client.proc.kill('SIGINT');
        const { code, lines } = await client.done;
        assert.equal(code, 0);
        assert.equal(ofType(lines, 'disconnect')[0].reason, 'transport close');
        assert.ok(ofType(lines, 'reconnect_attempt').length >= 1);
        assert.equal(ofType(lines, 'reconnect').length, 1);
        const [a, b] = ofType(lines, 'connect');
        assert.notEqual(a.id, b.id);
      } finally {
        client.proc.kill('SIGKILL');
        if (second) await second.stop();
      }
    });
  });
}

for (const binary of ['fixture', 'reference']) {
  test(`switchboard-cli with the msgpack parser x ${binary === 'fixture' ? 'switchboard' : 'node socket.io'}`, async () => {
    const server = await startServer(binary, ['--parser', 'msgpack']);
    try {
      const { code, lines, stderr } = await run([server.url, '--parser', 'msgpack', '--ack',
        '--emit', 'echo', '{"a":[1,2.5,null,true]}', `{"$binary":"${base64([1, 2, 3])}"}`]);
      assert.equal(code, 0, stderr);
      assert.deepEqual(ofType(lines, 'ack')[0].args, [{ a: [1, 2.5, null, true] }, { $binary: base64([1, 2, 3]) }]);
    } finally {
      await server.stop();
    }
  });
}

test('switchboard-cli: bad usage is refused with the reason', async () => {
  const { code, stderr } = await run(['http://127.0.0.1:1', '--emit', 'connect']);
  assert.equal(code, 2);
  assert.match(stderr, /"connect" is a reserved event name/);
  const noUrl = await run(['--listen']);
  assert.equal(noUrl.code, 2);
  assert.match(noUrl.stderr, /no URL/);
  const badScheme = await run(['ftp://127.0.0.1:1']);
  assert.equal(badScheme.code, 1);
  assert.match(badScheme.stderr, /not an http\(s\):\/\/ or ws\(s\):\/\/ URL/);
});

test('switchboard-cli over TLS: https polling, the upgrade to wss, wss alone; the certificate is checked', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=cli-test',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore', timeout: 20000 });
  const server = await startServer('echo', ['--tls-cert', cert, '--tls-key', key]);
  try {
    assert.match(server.url, /^https:/);
    const big = 'x'.repeat(100000); // far over one TLS record
    for (const transports of [[], ['--transport', 'websocket']]) {
      const { code, lines, stderr } = await run([server.url, '--ca', cert, ...transports, '--ack',
        '--emit', 'message-with-ack', `"${big}"`, `{"$binary":"${base64([1, 2, 3])}"}`]);
      assert.equal(code, 0, stderr);
      assert.deepEqual(ofType(lines, 'ack')[0].args, [big, { $binary: base64([1, 2, 3]) }]);
      assert.deepEqual(ofType(lines, 'transport').map((l) => l.name), transports.length ? ['websocket'] : ['polling', 'websocket']);
    }
    // A self-signed certificate nobody vouched for: refused, unless told not to check.
    const untrusted = await run([server.url, '--no-reconnect', '--wait', '5000']);
    assert.equal(untrusted.code, 1);
    assert.match(ofType(untrusted.lines, 'error')[0].message, /certificate/);
    const insecure = await run([server.url.replace('https:', 'wss:'), '--insecure', '--ack', '--emit', 'message-with-ack', '1']);
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.deepEqual(ofType(insecure.lines, 'ack')[0].args, [1]);
  } finally {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
