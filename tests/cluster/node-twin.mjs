// The Node.js twin of examples/cluster: socket.io 4.8 on @socket.io/redis-adapter 8.3 (classic
// createAdapter, or createShardedAdapter with --redis-sharded), serving the same event table on "/"
// and "/chat", so that a cluster test can mix Switchboard nodes and Node nodes on one Redis.
//   node tests/cluster/node-twin.mjs --port 0 --redis redis://127.0.0.1:6379 [--redis-key socket.io] [--redis-sharded]
import { createServer } from 'node:http';
import { Server } from 'socket.io';
import { createAdapter, createShardedAdapter } from '@socket.io/redis-adapter';
import { createClient } from 'redis';

const flag = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const url = flag('--redis', 'redis://127.0.0.1:6379');
const key = flag('--redis-key', 'socket.io');
const requestsTimeout = Number(flag('--redis-requests-timeout', '5000'));

const pub = createClient({ url });
const sub = pub.duplicate();
for (const c of [pub, sub]) c.on('error', () => {}); // it reconnects by itself; the tests restart Redis
await Promise.all([pub.connect(), sub.connect()]);

const http = createServer();
const adapter = process.argv.includes('--redis-sharded')
  ? createShardedAdapter(pub, sub, { channelPrefix: key, subscriptionMode: 'dynamic' })
  : createAdapter(pub, sub, { key, requestsTimeout });
const io = new Server(http, { adapter });

const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

function serve(nsp) {
  nsp.on('note', (payload) => nsp.local.emit('note-seen', payload));
  nsp.on('poll', (payload, ack) => ack(`pong:${payload}`));
  nsp.on('connection', (socket) => {
    socket.on('join', (room, ack) => { socket.join(room); ack?.(true); });
    socket.on('leave', (room, ack) => { socket.leave(room); ack?.(true); });
    socket.on('to', (room, event, ...args) => nsp.to(room).emit(event, ...args));
    socket.on('all', (event, ...args) => nsp.emit(event, ...args));
    socket.on('others', (event, ...args) => socket.broadcast.emit(event, ...args));
    socket.on('fetch', async (room, ack) => {
      try {
        const sockets = await nsp.in(room).fetchSockets();
        ack(sockets.map((s) => ({ id: s.id, rooms: [...s.rooms].sort() })).sort(byId));
      } catch (e) {
        ack({ error: e.message });
      }
    });
    socket.on('ask-all', (event, ms, ack) => {
      nsp.timeout(ms).emit(event, (err, replies) => ack({ timedOut: !!err, replies }));
    });
    socket.on('server-side', (payload) => nsp.serverSideEmit('note', payload));
    socket.on('poll', (payload, ack) => {
      nsp.serverSideEmit('poll', payload, (err, answers) => ack({ timedOut: !!err, answers }));
    });
    socket.on('move', (fromRoom, toRoom) => nsp.in(fromRoom).socketsJoin(toRoom));
    socket.on('kick', (room) => nsp.in(room).disconnectSockets(true));
    socket.on('poke', async (room, event) => {
      for (const s of await nsp.in(room).fetchSockets()) s.emit(event);
    });
    socket.on('rooms', async (ack) => {
      try {
        ack([...(await nsp.adapter.allRooms())].sort());
      } catch (e) {
        ack({ error: e.message });
      }
    });
  });
}
serve(io.of('/'));
serve(io.of('/chat'));

http.listen(Number(flag('--port', '3000')), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
process.on('SIGTERM', () => { io.close(); pub.quit().catch(() => {}); sub.quit().catch(() => {}); process.exit(0); });
