// The soak (issue 16): the chat binary under normal traffic, churn and every abuse the server defends
// against, at once, for MINUTES. What it reports: RSS over time (flat?), acknowledged messages lost
// (must be 0), and the neighbours' latency (a probe's acked round trips) in the first and the last
// minute. Not part of scripts/test: scripts/soak MINUTES runs it (default 10).
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { io } from 'socket.io-client';
import { startServer } from '../tests/server/harness.mjs';

const minutes = Number(process.argv[2] ?? 10);
if (!(minutes > 0 && minutes <= 120)) throw new Error('usage: soak.mjs MINUTES (1 to 120)');
const until = Date.now() + minutes * 60_000;
const running = () => Date.now() < until;
const dir = mkdtempSync(join(tmpdir(), 'switchboard-soak-'));
const server = await startServer('switchboard', ['--db', join(dir, 'chat.db'), '--log-level', 'error']);
const url = server.url;
const port = server.port;

const stats = { acked: new Map(), sent: 0, refused: 0, churned: 0, hostile: 0, oversize: 0, slow: 0, floods: 0 };
const rss = []; // [seconds, KiB]
const probe = []; // [seconds, ms]
const t0 = Date.now();
const since = () => (Date.now() - t0) / 1000;
const closers = [];

function client(options = {}) {
  const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true, ...options });
  s.on('connect_error', () => {});
  return s;
}
const connected = (s) => new Promise((resolve) => { s.once('connect', () => resolve(true)); s.once('connect_error', () => resolve(false)); setTimeout(() => resolve(false), 5000); });
const tokens = new Map(); // nickname -> the token that reclaims it after a reconnect
async function chatter(nickname, room) {
  const s = client();
  if (!(await connected(s))) return null;
  const token = tokens.get(nickname);
  const hello = await s.timeout(5000).emitWithAck('hello', token ? { nickname, token } : { nickname }).catch(() => ({}));
  if (!hello.ok) { s.disconnect(); return null; }
  tokens.set(nickname, hello.token);
  await s.timeout(5000).emitWithAck('join', { room }).catch(() => ({}));
  return s;
}
async function say(s, room, text) {
  stats.sent++;
  const r = await s.timeout(10000).emitWithAck('message', { room, text }).catch(() => ({}));
  if (r.ok) stats.acked.set(r.id, text);
  else stats.refused++;
}

// Normal users: 40, each saying something every 2 s (the chat allows 10 per 5 s).
async function normalUser(i) {
  while (running()) {
    const s = await chatter(`user${i}`, 'general');
    if (!s) { await sleep(1000); continue; }
    closers.push(() => s.disconnect());
    let n = 0;
    while (running() && s.connected) {
      await say(s, 'general', `user${i} says ${n++}`);
      await sleep(1500 + Math.random() * 1000);
    }
    s.disconnect();
  }
}

// Churn: a user arrives, says one thing in a room of their own, leaves; five a second.
async function churn() {
  let k = 0;
  while (running()) {
    const nick = `churn${k++}`;
    chatter(nick, `churn${k % 20}`).then(async (s) => {
      if (!s) return;
      await say(s, `churn${k % 20}`, `${nick} was here`);
      s.disconnect();
      stats.churned++;
    });
    await sleep(200);
  }
}

// Abuse, all the time: a message flood (refused, then cut after 10 s), an event flood, hostile frames,
// oversize payloads, a reader that stops reading, nickname look-alikes, invented namespaces.
async function flooder() {
  while (running()) {
    const s = await chatter(`flood${stats.floods++}`, 'general');
    if (!s) { await sleep(500); continue; }
    const timer = setInterval(() => { for (let i = 0; i < 20; i++) { s.emit('message', { room: 'general', text: 'spam' }); s.emit('rooms'); } }, 100);
    await new Promise((r) => { s.once('disconnect', r); setTimeout(r, Math.max(0, until - Date.now())); });
    clearInterval(timer);
    s.disconnect();
  }
}
async function hostile() {
  const frames = ['42[1]', '4', '42', '2probe', '42["message",{"room":"general","text":', '451-["x",{"_placeholder":true,"num":9}]', '\u0000\u00ff', '40/nope,', '42/admin,["x"]', '41', '0'];
  while (running()) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    ws.on('error', () => {});
    ws.on('open', () => { ws.send('40'); for (const f of frames) ws.send(f); ws.send(Buffer.from([0xff, 0x00, 0x13])); stats.hostile++; });
    await sleep(100);
    ws.terminate();
  }
}
async function oversize() {
  while (running()) {
    const s = await chatter(`big${stats.oversize}`, 'general');
    if (s) {
      s.emit('message', { room: 'general', text: 'x'.repeat(2_000_000) }); // over --max-payload: the connection goes
      await sleep(500);
      s.disconnect();
    }
    stats.oversize++;
    await sleep(1000);
  }
}
async function slowReader() {
  while (running()) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`);
    ws.on('error', () => {});
    ws.on('message', (m) => {
      const t = String(m);
      if (t.startsWith('0{')) ws.send('40');
      if (t.startsWith('40{')) {
        ws.send(`42["hello",{"nickname":"slow${stats.slow++}"}]`);
        ws.send('42["join",{"room":"general"}]');
        setTimeout(() => ws._socket?.pause(), 200); // and never reads again
      }
    });
    await sleep(30_000);
    ws.terminate();
  }
}
async function squatter() {
  const lookalikes = ['USER1', 'uѕer2', 'user\u200b3', 'user\u202e4', 'ｕｓｅｒ5'];
  while (running()) {
    for (const nickname of lookalikes) {
      const s = client();
      if (await connected(s)) await s.timeout(5000).emitWithAck('hello', { nickname }).catch(() => {});
      s.disconnect();
    }
    await sleep(1000);
  }
}
async function inventor() {
  let k = 0;
  while (running()) {
    const s = io(`${url}/invented-${k++}`, { transports: ['websocket'], reconnection: false, forceNew: true });
    s.on('connect_error', () => s.disconnect());
    await sleep(200);
    s.disconnect();
  }
}

// The neighbour's view: an acked round trip every 250 ms.
async function prober() {
  const s = await chatter('probe', 'probe');
  let n = 0;
  while (running() && s) {
    const start = performance.now();
    const r = await s.timeout(10000).emitWithAck('rooms').catch(() => ({}));
    if (r.ok) probe.push([since(), performance.now() - start]);
    if (++n % 4 === 0) await say(s, 'probe', `probe ${n}`);
    await sleep(250);
  }
  s?.disconnect();
}
async function sampler() {
  while (running()) {
    rss.push([since(), server.rssKiB()]);
    await sleep(10_000);
  }
  rss.push([since(), server.rssKiB()]);
}

// Every acknowledged message must be in the history (paged, slowly: the checker is a user too).
async function verify() {
  const s = await chatter('checker', 'general');
  const seen = new Set();
  for (const room of ['general', 'probe', ...Array.from({ length: 20 }, (_, i) => `churn${i}`)]) {
    let before = 0;
    for (;;) {
      const page = await s.timeout(10000).emitWithAck('history', { room, before }).catch(() => ({}));
      if (!page.ok) { await sleep(1000); continue; }
      for (const m of page.messages) seen.add(m.id);
      if (page.messages.length < 50) break;
      before = page.messages[0].id;
      await sleep(60); // under the chat's 20 events a second
    }
  }
  s.disconnect();
  return [...stats.acked.keys()].filter((id) => !seen.has(id)).length;
}

const percentile = (values, p) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN;
};
try {
  const work = [sampler(), prober(), churn(), flooder(), hostile(), oversize(), slowReader(), squatter(), inventor()];
  for (let i = 0; i < 40; i++) work.push(normalUser(i));
  await Promise.all(work);
  for (const close of closers) close();
  await sleep(2000);
  const lost = await verify();
  const first = probe.filter(([t]) => t < 60).map(([, ms]) => ms);
  const last = probe.filter(([t]) => t >= minutes * 60 - 60).map(([, ms]) => ms);
  const kib = rss.map(([, k]) => k);
  const settled = rss.filter(([t]) => t >= 60).map(([, k]) => k);
  console.log(`soak: ${minutes} min against ${url}`);
  console.log(`  messages: ${stats.sent} sent, ${stats.acked.size} acknowledged, ${stats.refused} refused (rate limits, flood), ${lost} acknowledged and lost`);
  console.log(`  churn: ${stats.churned} users came, spoke and left; abuse: ${stats.floods} flooders, ${stats.hostile} hostile connections, ${stats.oversize} oversize payloads, ${stats.slow} readers that stopped`);
  console.log(`  RSS: ${kib[0]} KiB at start, ${Math.min(...settled)}–${Math.max(...settled)} KiB after the first minute, ${kib.at(-1)} KiB at the end`);
  console.log(`  neighbour round trip p50/p99: first minute ${percentile(first, 0.5).toFixed(1)}/${percentile(first, 0.99).toFixed(1)} ms, last minute ${percentile(last, 0.5).toFixed(1)}/${percentile(last, 0.99).toFixed(1)} ms`);
  console.log(`  RSS samples (s, KiB): ${rss.map(([t, k]) => `${t.toFixed(0)}:${k}`).join(' ')}`);
  if (lost > 0) process.exitCode = 1;
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
