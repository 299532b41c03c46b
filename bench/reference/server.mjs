// The reference for the benchmarks: the official Node.js socket.io 4.8 server with the same three
// handlers as examples/bench (echo, join, broadcast), WebSocket transport; with --redis, a node of the
// official @socket.io/redis-adapter cluster (classic createAdapter), as examples/bench is with --redis.
// With --uws, the fastest setup socket.io offers a Node user: the same server attached to
// uWebSockets.js (`io.attachApp`) instead of Node's HTTP server and `ws`. uWebSockets.js is not on the
// npm registry under its own name; @trufflesuite/uws-js-unofficial republishes its prebuilt binaries
// (v20.30.0). Its JavaScript fallback is refused here: --uws runs the native binary or exits 3.
//   node bench/reference/server.mjs --port 0 [--ping-interval MS] [--redis URL] [--uws]
//     -> prints "listening on http://127.0.0.1:PORT"
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const flag = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const redisUrl = flag('--redis', '');
let adapter;
if (redisUrl) {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on('error', () => {});
  await Promise.all([pub.connect(), sub.connect()]);
  adapter = createAdapter(pub, sub);
}
const options = { transports: ['websocket'], pingInterval: Number(flag('--ping-interval', 25000)), adapter };
const uwsWanted = process.argv.includes('--uws');
const uWS = uwsWanted ? loadNativeUws() : null;
const http = uWS ? null : createServer();
const io = http ? new Server(http, options) : new Server(options);
io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('join', (room) => { if (typeof room === 'string') socket.join(room); });
  socket.on('broadcast', ({ room, msg } = {}) => { if (typeof room === 'string') socket.to(room).emit('msg', msg); });
});
const port = Number(flag('--port', 3000));
const host = flag('--host', '127.0.0.1');
let listenSocket = null;
if (uWS) {
  const app = uWS.App();
  io.attachApp(app);
  app.listen(host, port, (token) => {
    if (!token) { console.error(`cannot listen on ${host}:${port}`); process.exit(1); }
    listenSocket = token;
    console.log(`listening on http://127.0.0.1:${uWS.us_socket_local_port(token)}`);
  });
} else {
  http.listen(port, host, () => {
    console.log(`listening on http://127.0.0.1:${http.address().port}`);
  });
}
const stop = () => {
  if (listenSocket) uWS.us_listen_socket_close(listenSocket);
  io.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

/// uWebSockets.js's native addon for this Node.js, or exit 3 (the package would fall back to JavaScript).
function loadNativeUws() {
  const require = createRequire(import.meta.url);
  const binary = `@trufflesuite/uws-js-unofficial/binaries/uws_${process.platform}_${process.arch}_${process.versions.modules}.node`;
  try {
    return require(binary);
  } catch (e) {
    console.error(`uWebSockets.js does not run here: ${e.message}`);
    process.exit(3);
  }
}
