// socket.io-client's documented usage, type-checked against the WASM client's declarations
// (wasm-client/js/client.d.mts): a TypeScript project swaps the import and compiles unchanged.
import { io, Manager, Socket, type ConnectError } from '../../../build/wasm/switchboard/client.mjs';

const socket: Socket = io('http://127.0.0.1:3000/chat', {
  auth: (cb) => cb({ token: 'abc' }),
  transports: ['websocket', 'polling'],
  reconnectionDelayMax: 10000,
  ackTimeout: 5000,
  retries: 3,
  query: { room: 'lobby' },
});
socket.on('connect', () => console.log(socket.id, socket.connected, socket.recovered));
socket.on('disconnect', (reason: string) => console.log(reason));
socket.on('connect_error', (err: ConnectError) => console.log(err.message, err.data));
socket.on('chat message', (text: string, reply?: (answer: string) => void) => reply?.('thanks'));
socket.onAny((event, ...args) => console.log(event, args));
socket.prependAny(() => {});
socket.onAnyOutgoing(() => {});
socket.offAny();
socket.emit('chat message', 'hi', { photo: new Uint8Array([1, 2, 3]) });
socket.volatile.emit('typing');
socket.compress(false).emit('big', 'x'.repeat(10));
socket.timeout(1000).emit('question', 42, (err: Error | null, answer: number) => console.log(err, answer));
export async function ask(): Promise<number> {
  return socket.timeout(1000).emitWithAck('question', 42);
}
if (socket.bufferedAmount > 1e6) socket.once('drain', () => {});
const manager: Manager = socket.io;
manager.on('reconnect_attempt', (attempt: number) => console.log(attempt));
manager.on('reconnect', (attempts: number) => console.log(attempts));
manager.on('error', (err: Error) => console.log(err.message));
console.log(manager.engine.transport.name, manager.opts.path);
manager.on('open', () => manager.engine.once('upgrade', () => console.log(manager.engine.transport.name)));
manager.on('close', (reason: string) => console.log(reason));
manager.on('reconnect_error', (err: Error) => console.log(err.message));
manager.engine.on('packet', (packet: { type: string; data?: unknown }) => console.log(packet.type));
const delay: number = manager.reconnectionDelay(500).reconnectionAttempts(3).reconnectionDelay();
console.log(delay, socket.listenersAny().length, socket.prependAnyOutgoing(() => {}).listenersAnyOutgoing().length);
const admin = manager.socket('/admin', { auth: { token: 'secret' } });
admin.connect();
const packed = io({ parser: 'msgpack', forceNew: true });
packed.disconnect();

// What socket.io-client would refuse is refused here too.
// @ts-expect-error a transport that does not exist
io('http://127.0.0.1:3000', { transports: ['carrier-pigeon'] });
// @ts-expect-error the parser is named, not a number
io('http://127.0.0.1:3000', { parser: 42 });
// @ts-expect-error a socket's id is a string (or undefined), not a number
const id: number = socket.id;
console.log(id);
