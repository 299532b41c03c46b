// The official Node.js socket.io 4.8 server with the same test handlers as tests/server/sio_fixture.cpp
// (the ones the interop suite uses), so one suite can run against either server.
//   node tests/interop/reference-server.mjs --port 0   -> prints "listening on http://127.0.0.1:PORT"
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { Server } from 'socket.io';

const portFlag = process.argv.indexOf('--port');
const port = portFlag > 0 ? Number(process.argv[portFlag + 1]) : 3000;
const transportsFlag = process.argv.indexOf('--transports');
const transports = transportsFlag > 0 ? process.argv[transportsFlag + 1].split(',') : ['polling', 'websocket'];

// --recovery: connection state recovery on (its default 2-minute window); "cut" then closes the
// socket's connection under it (a transport close, which the session survives).
const recovery = process.argv.includes('--recovery') ? { connectionStateRecovery: {} } : {};

// --parser msgpack: socket.io-msgpack-parser 3.x, as `--parser msgpack` does on ours.
const parserFlag = process.argv.indexOf('--parser');
const parser = parserFlag > 0 && process.argv[parserFlag + 1] === 'msgpack' ? { parser: createRequire(import.meta.url)('socket.io-msgpack-parser') } : {};

const http = createServer();
const io = new Server(http, { transports, pingInterval: 1000, pingTimeout: 1000, ...recovery, ...parser });
const records = [];

function target(nsp, socket, spec = {}) {
  let op = spec.from_socket ? socket.broadcast : nsp;
  if (spec.rooms) op = op.to(spec.rooms);
  if (spec.except) op = op.except(spec.except);
  return op;
}

function serve(nsp, socket) {
  socket.on('echo', (...args) => { const ack = args.pop(); if (typeof ack === 'function') ack(...args); });
  socket.on('handshake', (ack) => ack({ id: socket.id, nsp: socket.nsp.name, auth: socket.handshake.auth }));
  socket.on('join', (rooms, ack) => { socket.join(rooms); ack([...socket.rooms].sort()); });
  socket.on('emit', (spec, event, ...args) => {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    target(nsp, socket, spec).emit(event, ...args);
    if (ack) ack(null);
  });
  socket.on('ask', (ms, ack) => {
    socket.timeout(ms).emit('question', 'what?', (err, ...reply) => {
      ack({ err: err ? err.message : null, reply: err ? [] : reply });
    });
  });
  socket.on('record', (value) => { records.push(value); });
  socket.on('records', (ack) => ack(records));
  socket.on('disconnect-me', (close) => socket.disconnect(Boolean(close)));
  socket.on('cut', () => socket.conn.close());
  if (socket.recovered) socket.emit('recovered', socket.id);
}

io.on('connection', (socket) => serve(io.of('/'), socket));
const admin = io.of('/admin');
admin.use((socket, next) => {
  if (socket.handshake.auth && socket.handshake.auth.token === 'secret') return next();
  const err = new Error('not authorized');
  err.data = { code: 403 };
  next(err);
});
admin.on('connection', (socket) => { serve(admin, socket); socket.emit('welcome', socket.nsp.name); });

http.listen(port, '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${http.address().port}`);
});
const stop = () => { io.close(() => process.exit(0)); setTimeout(() => process.exit(0), 2000).unref(); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
