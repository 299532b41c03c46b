// Idle memory per WebSocket connection: starts a server binary, opens N Engine.IO sessions over
// WebSocket (raw `ws` clients that answer every ping), holds them through a few heartbeats, and
// reports the server's RSS growth per connection.
//   node bench/idle-rss.mjs [N=10000] [binary=build/native/examples/echo]
// Run it through scripts/measure-idle, which raises the file-descriptor limit first.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

const n = Number(process.argv[2] ?? 10000);
const binary = process.argv[3] ?? 'build/native/examples/echo';
const path = binary.endsWith('echo') ? '/engine.io/' : '/socket.io/';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const server = spawn(binary, ['--port', '0', '--ping-interval', '2000', '--ping-timeout', '5000'], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = /:(\d+)\s*$/m.exec(out); if (m) resolve(Number(m[1])); });
});
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${server.pid}/status`, 'utf8'))[1]);

await sleep(300);
const before = rss();
const sockets = [];
let closed = 0;
const started = Date.now();
for (let i = 0; i < n; i += 500) {
  await Promise.all(Array.from({ length: Math.min(500, n - i) }, (_, k) => new Promise((resolve, reject) => {
    // Spread source addresses over 127.0.0.x so that large N does not exhaust ephemeral ports.
    const ws = new WebSocket(`ws://127.0.0.1:${port}${path}?EIO=4&transport=websocket`,
      { localAddress: `127.0.0.${1 + ((i + k) % 250)}`, perMessageDeflate: false });
    ws.on('message', (m) => { if (String(m) === '2') ws.send('3'); else resolve(); });
    ws.on('close', () => { closed++; });
    ws.on('error', reject);
    sockets.push(ws);
  })));
}
const connectSeconds = (Date.now() - started) / 1000;
await sleep(6500); // three heartbeats
const during = rss();
const result = {
  connections: n,
  still_open: n - closed,
  connect_rate_per_s: Math.round(n / connectSeconds),
  rss_before_kib: before,
  rss_with_connections_kib: during,
  rss_per_connection_bytes: Math.round(((during - before) * 1024) / n),
};
for (const ws of sockets) ws.terminate();
server.kill('SIGTERM');
console.log(JSON.stringify(result));
process.exit(0);
