// The Engine.IO layer of our server (examples/echo at /engine.io/), driven by the official
// engine.io-client and by raw HTTP / WebSocket for what a well-behaved client never does.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Socket } from 'engine.io-client';
import WebSocket from 'ws';
import { startServer, sleep, until, sanitized } from './harness.mjs';

const PATH = '/engine.io/';
let server;
before(async () => { server = await startServer('echo', ['--ping-interval', '300', '--ping-timeout', '200', '--cors-origin', 'http://allowed.example']); });
after(async () => { const { code } = await server.stop(); assert.equal(code, 0, server.output().slice(-4000)); });

const eurl = (query) => `${server.url}${PATH}?${query}`;

function open(transports, opts = {}) {
  const socket = new Socket(server.url, { path: PATH, transports, ...opts });
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function echoes(socket, n) {
  const got = [];
  return new Promise((resolve) => {
    socket.on('message', (m) => { got.push(m); if (got.length === n) resolve(got); });
  });
}

async function handshake() {
  const res = await fetch(eurl('EIO=4&transport=polling'));
  const text = await res.text();
  assert.equal(text[0], '0');
  return JSON.parse(text.slice(1));
}

test('handshake over polling carries sid, upgrades, pingInterval, pingTimeout, maxPayload', async () => {
  const res = await fetch(eurl('EIO=4&transport=polling'));
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  const body = await res.text();
  assert.equal(body[0], '0');
  const open = JSON.parse(body.slice(1));
  assert.match(open.sid, /^[A-Za-z0-9_-]{15}$/); // 90 random bits; socket ids keep the reference's 20 characters
  assert.deepEqual(open.upgrades, ['websocket']);
  assert.equal(open.pingInterval, 300);
  assert.equal(open.pingTimeout, 200);
  assert.equal(open.maxPayload, 1000000);
  assert.deepEqual(Object.keys(open), ['sid', 'upgrades', 'pingInterval', 'pingTimeout', 'maxPayload']);
});

for (const transports of [['polling'], ['websocket']]) {
  test(`${transports[0]} only: text and binary echo both ways`, async () => {
    const socket = await open(transports);
    assert.equal(socket.transport.name, transports[0]);
    const got = echoes(socket, 4);
    socket.send('hello');
    socket.send('€ ünïcödé 😀');
    socket.send(Buffer.from([0, 1, 2, 255]));
    socket.send(new Uint8Array(3000).fill(7));
    const [a, b, c, d] = await got;
    assert.equal(a, 'hello');
    assert.equal(b, '€ ünïcödé 😀');
    assert.deepEqual(Buffer.from(c), Buffer.from([0, 1, 2, 255]));
    assert.equal(Buffer.from(d).length, 3000);
    socket.close();
  });
}

test('upgrade from polling to websocket loses and reorders nothing', async () => {
  const socket = await open(['polling', 'websocket']);
  assert.equal(socket.transport.name, 'polling');
  const N = 200;
  const got = echoes(socket, N);
  const upgraded = new Promise((r) => socket.once('upgrade', r));
  for (let i = 0; i < N; i++) {
    socket.send(`m${i}`);
    if (i % 20 === 0) await sleep(5);
  }
  await upgraded;
  assert.equal(socket.transport.name, 'websocket');
  assert.deepEqual(await got, Array.from({ length: N }, (_, i) => `m${i}`));
  socket.close();
});

test('heartbeat: a healthy client stays; pings arrive every pingInterval', async () => {
  const socket = await open(['websocket']);
  let pings = 0;
  socket.on('ping', () => { pings++; });
  let closed = false;
  socket.on('close', () => { closed = true; });
  await sleep(1600);
  assert.equal(closed, false);
  assert.ok(pings >= 4, `only ${pings} pings`);
  socket.close();
});

test('heartbeat: a WebSocket client that never answers is closed 500 ms after the handshake', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${PATH}?EIO=4&transport=websocket`);
  const opened = await new Promise((r) => ws.once('message', (m) => r(Date.now())));
  const frames = [];
  ws.on('message', (m) => frames.push(String(m)));
  const closedAt = await new Promise((r) => ws.once('close', () => r(Date.now())));
  const elapsed = closedAt - opened;
  assert.ok(elapsed >= 450 && elapsed < 900, `closed after ${elapsed} ms`);
  assert.deepEqual(frames, ['2']);
});

test('heartbeat: a silent polling session is gone after pingInterval + pingTimeout', async () => {
  const { sid } = await handshake();
  await sleep(700);
  const res = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(res.status, 400);
  assert.deepEqual(await res.json(), { code: 1, message: 'Session ID unknown' });
});

test('HTTP errors: unknown transport, unknown sid, bad method, bad request, protocol version', async () => {
  const cases = [
    ['EIO=4&transport=carrier-pigeon', 'GET', 0, 'Transport unknown'],
    ['EIO=4', 'GET', 0, 'Transport unknown'],
    ['EIO=4&transport=polling&sid=nope', 'GET', 1, 'Session ID unknown'],
    ['EIO=4&transport=polling', 'POST', 2, 'Bad handshake method'],
    ['EIO=4&transport=websocket', 'GET', 3, 'Bad request'],
    ['EIO=3&transport=polling', 'GET', 5, 'Unsupported protocol version'],
    ['transport=polling', 'GET', 5, 'Unsupported protocol version'],
  ];
  for (const [query, method, code, message] of cases) {
    const res = await fetch(eurl(query), { method, body: method === 'POST' ? '4x' : undefined });
    assert.equal(res.status, 400, query);
    assert.match(res.headers.get('content-type'), /application\/json/);
    assert.deepEqual(await res.json(), { code, message }, query);
  }
  const { sid } = await handshake();
  const wrong = await fetch(eurl(`EIO=4&transport=websocket&sid=${sid}`));
  assert.deepEqual(await wrong.json(), { code: 3, message: 'Bad request' });
});

test('polling: a second concurrent GET is refused and closes the session', async () => {
  const { sid } = await handshake();
  const first = fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
  await sleep(50);
  const second = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(second.status, 400);
  const firstBody = await (await first).text();
  assert.equal(firstBody, '1'); // the held poll learns that the session closed
  const after = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal((await after.json()).code, 1);
});

test('polling payloads: several packets per POST, binary as base64', async () => {
  const { sid } = await handshake();
  const post = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { method: 'POST', body: '4one\x1e4two\x1ebAQID' });
  assert.equal(post.status, 200);
  assert.equal(await post.text(), 'ok');
  const poll = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(await poll.text(), '4one\x1e4two\x1ebAQID');
  await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { method: 'POST', body: '1' });
});

test('maxPayload: an oversize POST gets 413, an oversize frame closes the WebSocket', async () => {
  const small = await startServer('echo', ['--max-payload', '1000']);
  try {
    const { sid } = JSON.parse((await (await fetch(`${small.url}${PATH}?EIO=4&transport=polling`)).text()).slice(1));
    const res = await fetch(`${small.url}${PATH}?EIO=4&transport=polling&sid=${sid}`, { method: 'POST', body: '4' + 'x'.repeat(2000) });
    assert.equal(res.status, 413);
    const ok = await fetch(`${small.url}${PATH}?EIO=4&transport=polling`);
    assert.equal(ok.status, 200); // the server is fine

    const ws = new WebSocket(`ws://127.0.0.1:${small.port}${PATH}?EIO=4&transport=websocket`);
    await new Promise((r) => ws.once('message', r));
    ws.send('4' + 'y'.repeat(999)); // exactly the limit: fine
    const echo = await new Promise((r) => ws.once('message', (m) => r(String(m))));
    assert.equal(echo.length, 1000);
    ws.send('4' + 'y'.repeat(1000));
    const code = await new Promise((r) => ws.once('close', (c) => r(c)));
    assert.equal(code, 1009);
  } finally {
    await small.stop();
  }
});

test('CORS: preflight and polling responses name an allowed origin, never another', async () => {
  const pre = await fetch(eurl('EIO=4&transport=polling'), {
    method: 'OPTIONS',
    headers: { Origin: 'http://allowed.example', 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
  });
  assert.equal(pre.status, 204);
  assert.equal(pre.headers.get('access-control-allow-origin'), 'http://allowed.example');
  assert.equal(pre.headers.get('access-control-allow-credentials'), 'true');
  assert.match(pre.headers.get('access-control-allow-methods'), /POST/);
  assert.equal(pre.headers.get('access-control-allow-headers'), 'content-type');
  const get = await fetch(eurl('EIO=4&transport=polling'), { headers: { Origin: 'http://allowed.example' } });
  assert.equal(get.headers.get('access-control-allow-origin'), 'http://allowed.example');
  const other = await fetch(eurl('EIO=4&transport=polling'), { method: 'OPTIONS', headers: { Origin: 'http://evil.example' } });
  assert.equal(other.headers.get('access-control-allow-origin'), null);
});

/// Opens a raw WebSocket handshake with `headers`; resolves 'open' or the HTTP status it was refused with.
function upgrade(url, headers = {}) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => { ws.close(); resolve('open'); });
    ws.once('unexpected-response', (req, res) => { resolve(res.statusCode); req.destroy(); });
    ws.once('error', () => resolve('error'));
  });
}

test('origins: a WebSocket upgrade from a foreign page is refused; its own, a listed one and non-browsers pass', async () => {
  const ws = eurl('EIO=4&transport=websocket').replace('http:', 'ws:');
  assert.equal(await upgrade(ws, { Origin: 'http://evil.example' }), 403);
  assert.equal(await upgrade(ws, { Origin: 'http://allowed.example' }), 'open');
  assert.equal(await upgrade(ws, { Origin: server.url }), 'open'); // the server's own page
  assert.equal(await upgrade(ws), 'open'); // no Origin: not a browser
  // --cors-origin '*': any origin, and CORS answered with a literal * and never with credentials.
  const open = await startServer('echo', ['--cors-origin', '*']);
  try {
    const url = `${open.url}${PATH}?EIO=4&transport=polling`;
    const get = await fetch(url, { headers: { Origin: 'http://anyone.example' } });
    assert.equal(get.headers.get('access-control-allow-origin'), '*');
    assert.equal(get.headers.get('access-control-allow-credentials'), null);
    assert.equal(await upgrade(url.replace('http:', 'ws:').replace('polling', 'websocket'), { Origin: 'http://anyone.example' }), 'open');
  } finally {
    await open.stop();
  }
});

test('abuse: garbage and invalid UTF-8 frames close only their own session', async () => {
  const bystander = await open(['websocket']);
  const garbage = new WebSocket(`ws://127.0.0.1:${server.port}${PATH}?EIO=4&transport=websocket`);
  await new Promise((r) => garbage.once('message', r));
  garbage.send('this is not a packet');
  await new Promise((r) => garbage.once('close', r));

  const badUtf8 = new WebSocket(`ws://127.0.0.1:${server.port}${PATH}?EIO=4&transport=websocket`, { skipUTF8Validation: true });
  await new Promise((r) => badUtf8.once('message', r));
  badUtf8.send(Buffer.from([0x34, 0xff, 0xfe]), { binary: false });
  const code = await new Promise((r) => badUtf8.once('close', (c) => r(c)));
  assert.equal(code, 1007);

  const got = echoes(bystander, 1);
  bystander.send('still here');
  assert.deepEqual(await got, ['still here']);
  bystander.close();
});

test('websocket framing (ours, RFC 6455): fragments, WebSocket pings, bursts in order, the close code echoed', async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${PATH}?EIO=4&transport=websocket`);
  const inbox = [];
  ws.on('message', (m, isBinary) => inbox.push(isBinary ? m : m.toString()));
  await until(() => inbox.length === 1, 2000, 'open packet');
  // One message in three frames, a WebSocket ping among them.
  ws.send('4hel', { fin: false });
  const pong = new Promise((r) => ws.once('pong', (data) => r(data.toString())));
  ws.ping('are you there');
  ws.send('lo ', { fin: false });
  ws.send('€', { fin: true });
  assert.equal(await pong, 'are you there');
  await until(() => inbox.includes('4hello €'), 2000, 'the joined message echoed');
  // A burst: every echo comes back, in order (the server writes queued frames together).
  const burst = Array.from({ length: 200 }, (_, i) => `4burst ${i}`);
  for (const m of burst) ws.send(m);
  await until(() => inbox.filter((m) => m.startsWith('4burst')).length === 200, 5000, 'burst echoes');
  assert.deepEqual(inbox.filter((m) => m.startsWith('4burst')), burst);
  const code = new Promise((r) => ws.once('close', (c) => r(c)));
  ws.close(4001, 'bye');
  assert.equal(await code, 4001);
});

test('abuse: half-open connections and garbage HTTP do not stop the server', async () => {
  const half = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => half.once('connect', r));
  half.write('GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n'); // never finished
  const junk = net.connect(server.port, '127.0.0.1');
  await new Promise((r) => junk.once('connect', r));
  junk.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0xff, 0, 0, 0, 1, 2, 3]) + '\r\n\r\n');
  const junkClosed = new Promise((r) => junk.once('close', r));
  junk.on('error', () => {});
  await junkClosed;
  const res = await fetch(eurl('EIO=4&transport=polling'));
  assert.equal(res.status, 200);
  half.destroy();
});

// Under the sanitizers the server is several times slower: that run is for memory and thread errors,
// so it churns fewer clients.
const churnClients = sanitized ? 200 : 1000;

test('abuse: 1,000 clients connecting and leaving, repeatedly; memory returns; a bystander never notices', async () => {
  // A server of its own, with a heartbeat people use: under load, this process (which also opens the
  // 1,000 clients) may answer a ping later than the suite server's 200 ms ping timeout allows, and the
  // bystander would be closed for that, not for anything the churn did.
  const own = await startServer('echo', ['--ping-interval', '5000', '--ping-timeout', '5000']);
  try {
    await churn(own);
  } finally {
    await own.stop();
  }
});

async function churn(server) {
  const bystander = await new Promise((resolve, reject) => {
    const socket = new Socket(server.url, { path: PATH, transports: ['websocket'] });
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
  let sent = 0;
  let received = 0;
  bystander.on('message', () => { received++; });
  const ticker = setInterval(() => { bystander.send(`tick ${sent++}`); }, 10);
  try {
    const round = async () => {
      const clients = await Promise.all(Array.from({ length: churnClients }, () => new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${server.port}${PATH}?EIO=4&transport=websocket`);
        ws.once('message', () => resolve(ws));
        ws.once('error', reject);
      })));
      await Promise.all(clients.map((ws) => new Promise((r) => {
        if (ws.readyState === WebSocket.CLOSED) return r();
        ws.once('close', r);
        ws.close();
      })));
    };
    await round(); // warm-up: the allocator's pools grow once
    await sleep(300);
    const baseline = server.rssKiB();
    for (let i = 0; i < 3; i++) await round();
    await sleep(300);
    const afterChurn = server.rssKiB();
    clearInterval(ticker);
    await until(() => received === sent, 5000, 'bystander echoes');
    assert.equal(bystander.readyState, 'open');
    // ASan holds freed memory in quarantine, so RSS says nothing there; LSan checks leaks at exit instead.
    // With several I/O threads glibc gives each its own malloc arena, which keeps a few MB it does not
    // hand back at once: the multi-threaded run allows for that.
    const arenas = process.env.SWITCHBOARD_TEST_THREADS ? 4096 : 0;
    if (!sanitized) assert.ok(afterChurn <= baseline * 1.1 + 1024 + arenas, `RSS ${baseline} KiB -> ${afterChurn} KiB`);
  } finally {
    clearInterval(ticker);
    bystander.close();
  }
}

test('graceful shutdown: clients get a close packet and the process exits 0', async () => {
  const own = await startServer('echo');
  const socket = new Socket(own.url, { path: PATH, transports: ['websocket'] });
  await new Promise((r) => socket.once('open', r));
  const frames = [];
  socket.transport.ws.addEventListener('message', (e) => frames.push(String(e.data)));
  const closed = new Promise((r) => socket.once('close', (reason) => r(reason)));
  const { code } = await own.stop();
  assert.equal(code, 0);
  assert.equal(await closed, 'transport close');
  assert.ok(frames.includes('1'), `frames: ${frames}`);
});

// --- The behaviours the protocol's public v4 test suite checks, by hand ------------------------------

function rawSocket(query) {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}${PATH}?${query}`);
  const messages = [];
  const waiters = [];
  ws.on('message', (data, isBinary) => {
    const m = isBinary ? Buffer.from(data) : String(data);
    if (waiters.length) waiters.shift()(m); else messages.push(m);
  });
  ws.next = () => (messages.length ? Promise.resolve(messages.shift()) : new Promise((r) => waiters.push(r)));
  ws.closed = new Promise((r) => ws.once('close', (code) => r(code)));
  ws.on('error', () => {});
  return ws;
}

test('polling heartbeat: ping, pong, three times over', async () => {
  const { sid } = await handshake();
  for (let i = 0; i < 3; i++) {
    const poll = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
    assert.equal(await poll.text(), '2');
    const pong = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { method: 'POST', body: '3' });
    assert.equal(pong.status, 200);
  }
});

test('polling: a client close packet ends the held long-poll with a noop and the session', async () => {
  const { sid } = await handshake();
  const [poll] = await Promise.all([
    fetch(eurl(`EIO=4&transport=polling&sid=${sid}`)),
    sleep(20).then(() => fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { method: 'POST', body: '1' })),
  ]);
  assert.equal(await poll.text(), '6');
  assert.equal((await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`))).status, 400);
});

test('polling: a bad payload is refused with 400 and ends the session', async () => {
  const { sid } = await handshake();
  const post = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { method: 'POST', body: 'abc' });
  assert.equal(post.status, 400);
  assert.equal((await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`))).status, 400);
});

test('polling: a cancelled long-poll ends the session', async () => {
  const { sid } = await handshake();
  const controller = new AbortController();
  fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { signal: controller.signal }).catch(() => {});
  await sleep(20);
  controller.abort();
  await sleep(50);
  // A POST (not a GET, which would also be refused as a second long-poll) shows the session is gone.
  const post = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`), { method: 'POST', body: '4x' });
  assert.equal(post.status, 400);
  assert.equal((await post.json()).code, 1);
});

test('websocket: the handshake offers no upgrades; a close packet ends the session', async () => {
  const ws = rawSocket('EIO=4&transport=websocket');
  const open = JSON.parse((await ws.next()).slice(1));
  assert.deepEqual(open.upgrades, []);
  ws.send('1');
  await ws.closed;
});

test('websocket: a bad EIO or transport on the upgrade request is refused', async () => {
  for (const query of ['transport=websocket', 'EIO=abc&transport=websocket', 'EIO=4', 'EIO=4&transport=abc']) {
    const ws = rawSocket(query);
    const unexpected = new Promise((r) => ws.once('unexpected-response', (req, res) => r(res.statusCode)));
    assert.equal(await unexpected, 400, query);
  }
});

test('upgrade by hand: 2probe/3probe, the held poll released with a noop, 5, then WebSocket only', async () => {
  const { sid } = await handshake();
  const ws = rawSocket(`EIO=4&transport=websocket&sid=${sid}`);
  await new Promise((r) => ws.once('open', r));
  ws.send('2probe');
  assert.equal(await ws.next(), '3probe');
  const poll = await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`));
  assert.equal(await poll.text(), '6');
  ws.send('5');
  ws.send('4hello');
  assert.equal(await ws.next(), '4hello');
  // The session is now WebSocket only: polling requests and a second WebSocket are refused.
  assert.equal((await fetch(eurl(`EIO=4&transport=polling&sid=${sid}`))).status, 400);
  const second = rawSocket(`EIO=4&transport=websocket&sid=${sid}`);
  await second.closed;
  ws.send('4still');
  assert.equal(await ws.next(), '4still');
  ws.close();
});
