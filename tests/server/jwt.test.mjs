// Token authentication (--jwt-*): the official socket.io-client presents a JWT in its CONNECT auth
// payload or an Authorization header; tokens signed by node:crypto (HS256, RS256, ES256). A refused
// token reaches the client as connect_error naming the reason; accepted claims reach the handlers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { startServer } from './harness.mjs';

const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra = {}) => ({ sub: 'ann', aud: 'chat', iss: 'tests', exp: now() + 60, ...extra });

function hs256(payload, secret = 's3cret', alg = 'HS256') {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}
function signed(payload, alg, privateKey) {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(payload)}`;
  const signature = sign('sha256', Buffer.from(input), alg === 'ES256' ? { key: privateKey, dsaEncoding: 'ieee-p1363' } : privateKey);
  return `${input}.${signature.toString('base64url')}`;
}

let dir;
const servers = {};
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const pem = (k) => k.export({ type: 'spki', format: 'pem' });

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-jwt-'));
  writeFileSync(join(dir, 'rsa.pem'), pem(rsa.publicKey));
  writeFileSync(join(dir, 'ec.pem'), pem(ec.publicKey));
  const checks = ['--jwt-audience', 'chat', '--jwt-issuer', 'tests'];
  servers.hs = await startServer('fixture', ['--jwt-secret', 's3cret', ...checks]);
  servers.rs = await startServer('fixture', ['--jwt-public-key', join(dir, 'rsa.pem'), ...checks]);
  servers.es = await startServer('fixture', ['--jwt-public-key', join(dir, 'ec.pem'), ...checks]);
});
after(async () => {
  for (const s of Object.values(servers)) await s.stop();
  rmSync(dir, { recursive: true, force: true });
});

const sockets = [];
/// Connects with `options`; resolves {socket} or {error} (the connect_error's message).
function attempt(server, options = {}, nsp = '/') {
  const socket = io(`${server.url}${nsp}`, { forceNew: true, reconnection: false, transports: ['websocket'], ...options });
  sockets.push(socket);
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ socket }));
    socket.once('connect_error', (e) => resolve({ error: e.message }));
  });
}
after(() => { for (const s of sockets) s.disconnect(); });

test('HS256: a valid token connects and its claims reach the handlers; every refusal names its reason', async () => {
  const { socket } = await attempt(servers.hs, { auth: { token: hs256(claims()) } });
  assert.ok(socket, 'valid token');
  const data = await socket.emitWithAck('stats');
  assert.equal(data.jwt.sub, 'ann');
  assert.equal(data.jwt.aud, 'chat');

  const cases = [
    [{}, 'missing token'],
    [{ auth: { token: hs256(claims({ exp: now() - 10 })) } }, 'token expired'],
    [{ auth: { token: hs256(claims({ aud: 'other' })) } }, 'wrong audience'],
    [{ auth: { token: hs256(claims({ iss: 'someone' })) } }, 'wrong issuer'],
    [{ auth: { token: hs256(claims(), 'not the secret') } }, 'bad signature'],
    [{ auth: { token: hs256(claims({ nbf: now() + 3600 })) } }, 'token not valid yet'],
    [{ auth: { token: 'not.a.token!' } }, 'malformed token'],
    [{ auth: { token: `${b64({ alg: 'none' })}.${b64(claims())}.` } }, 'unsupported algorithm'],
  ];
  for (const [options, reason] of cases) assert.deepEqual(await attempt(servers.hs, options), { error: reason }, reason);
});

test('the token may come in an Authorization: Bearer header; every namespace asks for it', async () => {
  const header = { extraHeaders: { Authorization: `Bearer ${hs256(claims({ sub: 'bob' }))}` } };
  const { socket } = await attempt(servers.hs, header);
  assert.equal((await socket.emitWithAck('stats')).jwt.sub, 'bob');
  assert.deepEqual(await attempt(servers.hs, {}, '/dyn-1'), { error: 'missing token' });
  const other = await attempt(servers.hs, { auth: { token: hs256(claims()) } }, '/dyn-1');
  assert.ok(other.socket, 'a dynamic namespace with a token');
});

test('RS256 and ES256 with a public key; a token cannot pick another algorithm than the key\'s', async () => {
  assert.ok((await attempt(servers.rs, { auth: { token: signed(claims(), 'RS256', rsa.privateKey) } })).socket, 'RS256');
  assert.ok((await attempt(servers.es, { auth: { token: signed(claims(), 'ES256', ec.privateKey) } })).socket, 'ES256');
  assert.deepEqual(await attempt(servers.rs, { auth: { token: signed(claims(), 'RS256', generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey) } }),
    { error: 'bad signature' });
  // The public key used as an HMAC secret (the classic algorithm confusion) is refused.
  assert.deepEqual(await attempt(servers.rs, { auth: { token: hs256(claims(), pem(rsa.publicKey)) } }), { error: 'unsupported algorithm' });
  assert.deepEqual(await attempt(servers.es, { auth: { token: signed(claims(), 'RS256', rsa.privateKey) } }), { error: 'unsupported algorithm' });
});

test('a server whose key cannot be read does not start', async () => {
  await assert.rejects(startServer('fixture', ['--jwt-public-key', join(dir, 'missing.pem')]), /cannot read/);
});
