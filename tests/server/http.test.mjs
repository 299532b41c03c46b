// The switchboard binary's HTTP side: flags and environment, static files (MIME, ETag, no path
// traversal), and the Engine.IO endpoint at --path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Socket } from 'engine.io-client';
import { startServer, binaries } from './harness.mjs';

let server;
let dir;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-static-'));
  mkdirSync(join(dir, 'switchboard')); // given as --client-dir, served at /switchboard/
  mkdirSync(join(dir, 'docs'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>chat</title>');
  writeFileSync(join(dir, 'switchboard', 'client.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0]));
  writeFileSync(join(dir, 'switchboard', 'client.mjs'), 'export default 1;');
  writeFileSync(join(dir, 'style.css'), 'body{}');
  writeFileSync(join(dir, 'docs', 'index.html'), 'docs');
  writeFileSync(join(tmpdir(), 'switchboard-secret.txt'), 'secret');
  server = await startServer('switchboard', ['--static', dir, '--client-dir', join(dir, 'switchboard'), '--path', '/rt']);
});
after(async () => {
  assert.equal((await server.stop()).code, 0);
  rmSync(dir, { recursive: true, force: true });
});

test('--help lists every flag; bad flags are refused', () => {
  const help = execFileSync(binaries.switchboard, ['--help'], { encoding: 'utf8' });
  for (const flag of ['--host', '--port', '--path', '--ping-interval', '--ping-timeout', '--max-payload', '--transports',
    '--cors-origin', '--static', '--client-dir', '--threads', '--connect-timeout', '--redis', '--redis-key']) assert.ok(help.includes(flag), flag);
  assert.throws(() => execFileSync(binaries.switchboard, ['--no-such-flag'], { stdio: 'pipe' }));
  assert.throws(() => execFileSync(binaries.switchboard, ['--transports', 'smoke-signals'], { stdio: 'pipe' }));
  for (const url of ['http://127.0.0.1:6379', 'redis://user:secret@127.0.0.1', 'redis://h:70000']) {
    assert.throws(() => execFileSync(binaries.switchboard, ['--redis', url], { stdio: 'pipe' }), /--redis wants redis:\/\/host/, url);
  }
});

test('flags also come from SWITCHBOARD_* environment variables; flags win', async () => {
  const own = await startServer('switchboard', ['--ping-timeout', '777'], { SWITCHBOARD_PING_INTERVAL: '1234', SWITCHBOARD_PING_TIMEOUT: '5' });
  try {
    const open = JSON.parse((await (await fetch(`${own.url}/socket.io/?EIO=4&transport=polling`)).text()).slice(1));
    assert.equal(open.pingInterval, 1234);
    assert.equal(open.pingTimeout, 777);
  } finally {
    await own.stop();
  }
});

test('static files: index, MIME types (application/wasm), ETag and 304', async () => {
  const index = await fetch(`${server.url}/`);
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(await index.text(), '<!doctype html><title>chat</title>');
  const wasm = await fetch(`${server.url}/switchboard/client.wasm`);
  assert.equal(wasm.headers.get('content-type'), 'application/wasm');
  assert.equal((await wasm.arrayBuffer()).byteLength, 8);
  assert.match((await fetch(`${server.url}/switchboard/client.mjs`)).headers.get('content-type'), /^text\/javascript/);
  assert.match((await fetch(`${server.url}/style.css`)).headers.get('content-type'), /^text\/css/);
  const head = await fetch(`${server.url}/switchboard/client.wasm`, { method: 'HEAD' }); // the GET's headers, no body
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-type'), 'application/wasm');
  assert.equal(head.headers.get('content-length'), '8');
  assert.equal(head.headers.get('etag'), wasm.headers.get('etag'));
  assert.equal((await head.arrayBuffer()).byteLength, 0);
  assert.equal(await (await fetch(`${server.url}/docs`)).text(), 'docs');
  const etag = index.headers.get('etag');
  assert.ok(etag);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const again = await fetch(`${server.url}/`, { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal((await fetch(`${server.url}/missing.js`)).status, 404);
  assert.equal((await fetch(`${server.url}/`, { method: 'DELETE' })).status, 405);
});

test('static files: no way out of the directory', async () => {
  // fetch() normalises "..", so these go over a raw socket exactly as written.
  const raw = (path) => new Promise((resolve, reject) => {
    const s = net.connect(server.port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`));
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('end', () => resolve(data));
    s.on('error', reject);
  });
  for (const path of ['/../switchboard-secret.txt', '/%2e%2e/switchboard-secret.txt', '/docs/../../switchboard-secret.txt',
    '/..%2fswitchboard-secret.txt', '/%2e%2e%5cswitchboard-secret.txt', '/%00']) {
    const response = await raw(path);
    assert.match(response, /^HTTP\/1\.1 (400|404)/, path);
    assert.ok(!response.includes('secret'), path);
  }
});

test('the Engine.IO endpoint is at --path', async () => {
  const socket = new Socket(server.url, { path: '/rt/', transports: ['polling', 'websocket'] });
  await new Promise((r) => socket.once('upgrade', r));
  assert.equal(socket.transport.name, 'websocket');
  socket.close();
});
