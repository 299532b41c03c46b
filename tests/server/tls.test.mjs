// TLS (issue 16): --tls-cert / --tls-key serve HTTPS and WSS on one port. The certificates are made by
// the test with `openssl`; the official client connects over https polling, wss, and the upgrade
// between them; SIGHUP loads a new certificate for new connections while open ones carry on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, copyFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startServer, until, sleep } from './harness.mjs';

let dir;
let server;
const sockets = [];
const certFile = () => join(dir, 'cert.pem');
const keyFile = () => join(dir, 'key.pem');

// A self-signed certificate for 127.0.0.1 whose common name tells the test which one it got.
function makeCertificate(name, cert, key) {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore', timeout: 20000 });
}

// The common name of the certificate a new TLS connection is offered.
function peerName(port) {
  return new Promise((resolve, reject) => {
    const s = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().subject.CN);
      s.destroy();
    });
    s.on('error', reject);
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('no TLS handshake')); });
  });
}

function client(options) {
  const s = io(server.url, { rejectUnauthorized: false, reconnection: false, ...options });
  sockets.push(s);
  return s;
}
// The echo server acknowledges "message-with-ack" with the arguments it got: all of them, here.
const echoed = (s, ...args) => new Promise((resolve, reject) => {
  s.timeout(10000).emit('message-with-ack', ...args, (err, ...back) => (err ? reject(err) : resolve(back)));
});
const connected = (s) => new Promise((resolve, reject) => {
  s.once('connect', resolve);
  s.once('connect_error', reject);
});

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-tls-'));
  makeCertificate('first', certFile(), keyFile());
  server = await startServer('echo', ['--tls-cert', certFile(), '--tls-key', keyFile()]);
});

after(async () => {
  for (const s of sockets) s.disconnect();
  try {
    await server?.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the server announces https and answers an Engine.IO handshake over TLS', async () => {
  assert.match(server.url, /^https:/);
  // The log goes to stderr, which may come after stdout's "listening on" line.
  await until(() => /TLS certificate loaded: \/CN=first/.test(server.output()), 5000, 'the certificate in the log');
  const socket = client({ transports: ['polling'] });
  await connected(socket);
  assert.equal(socket.io.engine.transport.name, 'polling');
});

for (const [label, transports, expected] of [
  ['https long-polling', ['polling'], 'polling'],
  ['wss', ['websocket'], 'websocket'],
  ['https polling upgraded to wss', ['polling', 'websocket'], 'websocket'],
]) {
  test(`the official client over ${label}: large text and binary arguments come back intact`, async () => {
    const socket = client({ transports });
    await connected(socket);
    if (expected === 'websocket') await until(() => socket.io.engine.transport.name === 'websocket', 5000, 'the upgrade');
    // Larger than a TLS record (16 KiB) many times over, so that records are split and gathered.
    const text = 'é'.repeat(150000);
    const bytes = Buffer.alloc(200000, 7);
    bytes[199999] = 42;
    const [backText, backBytes] = await echoed(socket, text, bytes);
    assert.equal(backText, text);
    assert.ok(Buffer.from(backBytes).equals(bytes));
    // Many small messages in a burst (several WebSocket frames per TLS record).
    const replies = await Promise.all(Array.from({ length: 200 }, (_, i) => echoed(socket, i)));
    assert.deepEqual(replies, Array.from({ length: 200 }, (_, i) => [i]));
    assert.equal(socket.io.engine.transport.name, expected);
  });
}

test('plain HTTP and garbage on the TLS port get nothing, and cost a connected client nothing', async () => {
  const neighbour = client({ transports: ['websocket'] });
  await connected(neighbour);
  const plain = await fetch(server.url.replace('https:', 'http:') + '/socket.io/?EIO=4&transport=polling').then(
    () => 'answered', (e) => `refused (${e.cause?.code ?? e.message})`);
  assert.match(plain, /^refused/);
  await new Promise((resolve) => { // bytes that are no TLS at all
    const raw = tcpConnect(server.port, '127.0.0.1', () => raw.write(Buffer.alloc(3000, 0x16)));
    raw.on('error', () => {});
    raw.on('close', resolve);
    raw.setTimeout(5000, () => raw.destroy());
  });
  assert.deepEqual(await echoed(neighbour, 'still here'), ['still here']);
});

test('SIGHUP loads a new certificate for new connections; open connections carry on', async () => {
  const open = client({ transports: ['websocket'] });
  await connected(open);
  assert.equal(await peerName(server.port), 'first');

  // A reload that fails (a key that is not the certificate's) keeps the certificate in use.
  const otherKey = join(dir, 'other-key.pem');
  makeCertificate('unused', join(dir, 'other-cert.pem'), otherKey);
  copyFileSync(otherKey, keyFile());
  server.proc.kill('SIGHUP');
  await until(() => /not reloaded/.test(server.output()), 5000, 'the failed reload to be logged');
  assert.equal(await peerName(server.port), 'first');

  makeCertificate('second', certFile(), keyFile());
  server.proc.kill('SIGHUP');
  await until(() => /TLS certificate reloaded: \/CN=second/.test(server.output()), 5000, 'the reload');
  assert.equal(await peerName(server.port), 'second');
  assert.deepEqual(await echoed(open, 'same connection'), ['same connection']);
  assert.equal(open.connected, true);
  const fresh = client({ transports: ['websocket'] });
  await connected(fresh);
  assert.deepEqual(await echoed(fresh, 'new'), ['new']);
});

test('a server whose certificate cannot be loaded does not start, and says why', async () => {
  const missing = join(dir, 'missing.pem');
  await assert.rejects(startServer('echo', ['--tls-cert', missing, '--tls-key', keyFile()]), /TLS: certificate .*missing\.pem/);
  await assert.rejects(startServer('echo', ['--tls-cert', certFile()]), /--tls-cert and --tls-key go together/);
  writeFileSync(join(dir, 'garbage.pem'), 'not a certificate');
  await assert.rejects(startServer('echo', ['--tls-cert', join(dir, 'garbage.pem'), '--tls-key', keyFile()]), /TLS/);
  await sleep(0);
});
