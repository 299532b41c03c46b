// Client size and speed: our WASM client beside socket.io-client, in one run, same server.
//   scripts/bench-client [EVENTS]   (default 20000 ack'd echoes per client and round, at most 64 in
//   flight; 5 rounds alternating between the clients, median reported)
// Size: gzip -9 of what a browser downloads (client.mjs + client.wasm; socket.io.min.js).
// Speed: ack'd round trips per second through examples/echo's Socket.IO side over loopback WebSocket.
import { readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { io as officialIo } from 'socket.io-client';
import { io as wasmIo } from '../build/wasm/switchboard/client.mjs';
import { startServer, root } from '../tests/server/harness.mjs';

const events = Number(process.argv[2] || 20000);
const window = 64;

const gz = (files) => files.reduce((sum, f) => sum + gzipSync(readFileSync(f), { level: 9 }).length, 0);
const raw = (files) => files.reduce((sum, f) => sum + readFileSync(f).length, 0);
const ours = [join(root, 'build/wasm/switchboard/client.mjs'), join(root, 'build/wasm/switchboard/client.wasm')];
const theirs = [join(root, 'node_modules/socket.io-client/dist/socket.io.min.js')];

async function roundTrips(io, url) {
  const socket = io(url, { forceNew: true, transports: ['websocket'] });
  await new Promise((r) => socket.once('connect', r));
  // Warm-up, then the measured run: `events` acks with at most `window` outstanding.
  for (let i = 0; i < 500; i++) await socket.emitWithAck('message-with-ack', i);
  const start = process.hrtime.bigint();
  let sent = 0;
  let done = 0;
  await new Promise((resolve) => {
    const pump = () => {
      while (sent < events && sent - done < window) {
        socket.emit('message-with-ack', sent++, 'payload', () => {
          if (++done === events) resolve();
          else pump();
        });
      }
    };
    pump();
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  socket.disconnect();
  return events / seconds;
}

const rounds = 5;
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const server = await startServer('echo', []);
try {
  const clients = [['Switchboard WASM client', wasmIo, ours], ['socket.io-client 4.8', officialIo, theirs]];
  // Rounds alternate between the clients, and the median is kept: this machine is noisy.
  const rates = clients.map(() => []);
  for (let r = 0; r < rounds; r++) {
    for (const [i, [, io]] of clients.entries()) rates[i].push(await roundTrips(io, server.url));
  }
  const rows = clients.map(([name, , files], i) => ({ name, gzip: gz(files), raw: raw(files), rate: median(rates[i]) }));
  console.log(`| client | download (gzip -9) | raw | ack'd echoes/s (${events}, ${window} in flight, median of ${rounds}) |`);
  console.log('|---|---|---|---|');
  for (const r of rows) {
    console.log(`| ${r.name} | ${(r.gzip / 1024).toFixed(1)} KB | ${(r.raw / 1024).toFixed(1)} KB | ${Math.round(r.rate)} |`);
  }
  console.log(`\nsize ratio (ours / theirs, gzip): ${(rows[0].gzip / rows[1].gzip).toFixed(2)}; speed ratio: ${(rows[0].rate / rows[1].rate).toFixed(2)}`);
} finally {
  await server.stop();
}
process.exit(0);
