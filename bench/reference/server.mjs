// The reference for the benchmarks: the official Node.js socket.io 4.8 server with the same three
// handlers as examples/bench (echo, join, broadcast), WebSocket transport; with --redis, a node of the
// official @socket.io/redis-adapter cluster (classic createAdapter), as examples/bench is with --redis.
//   node bench/reference/server.mjs --port 0 [--ping-interval MS] [--redis URL]
//     -> prints "listening on http://127.0.0.1:PORT"
import { createServer } from 'node:http';
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
const http = createServer();
const io = new Server(http, { transports: ['websocket'], pingInterval: Number(flag('--ping-interval', 25000)), adapter });
io.on('connection', (socket) => {
  socket.on('echo', (...args) => {
    const ack = args.pop();
    if (typeof ack === 'function') ack(...args);
  });
  socket.on('join', (room) => { if (typeof room === 'string') socket.join(room); });
  socket.on('broadcast', ({ room, msg } = {}) => { if (typeof room === 'string') socket.to(room).emit('msg', msg); });
});
http.listen(Number(flag('--port', 3000)), flag('--host', '127.0.0.1'), () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
const stop = () => { io.close(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
