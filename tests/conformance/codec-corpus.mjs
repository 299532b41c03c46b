// The cross-check corpus: packets as the official npm parsers model them (Buffers for binary).
// Generated from small tables so that every packet type meets every kind of data.

const SIO = { CONNECT: 0, DISCONNECT: 1, EVENT: 2, ACK: 3, CONNECT_ERROR: 4, BINARY_EVENT: 5, BINARY_ACK: 6 };
export { SIO };

const namespaces = ['/', '/admin', '/admin™', '/ñ/sub', '/with space', '/chat-room_1'];
const ackIds = [undefined, 0, 1, 456, 9007199254740991];

const bytes = (n, seed = 1) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

// Argument lists for events and acks: every JSON kind, unicode, escapes, numbers JS writes in odd ways.
const argLists = [
  [],
  ['plain'],
  ['hello', 1],
  [1, 2.5, -3, 0.1 + 0.2, 1e21, 1e-7, 123456789012, -1.5e-300, 5e-324],
  [true, false, null],
  ['€ 日本語 😀 ünïcödé', 'emoji 🎉🎉'],
  ['quote " backslash \\ slash / tab \t newline \n cr \r', '\u0000\u0001\u001f\u007f\u2028\u2029'],
  [{ text: 'hi', room: 'general', ts: 1732400000000 }],
  [{ nested: { deeper: { deepest: [1, [2, [3, [4]]]] } }, list: [{}, [], '', 0] }],
  [{ message: 'x'.repeat(4000) }],
  ['', { '': '' }, [[]]],
  [-0.5, 1.7976931348623157e308, 2 ** 53 - 1, -(2 ** 31), 1e-6, 123.456e10],
  [{ 'key with "quotes"': 'v', 'ключ': 'значение', '🔑': ['🗝️'] }],
  ['typing', { room: 'general', user: 'bob' }],
  [{ id: 'm-1', room: 'general', author: 'alice', text: 'Hello @bob <img src=x onerror=alert(1)>', ts: 1732400000123 }],
  ['a\u0000b', '\ud83d\ude00 as escape text', 'tab\there'],
  [{ user: { id: 'u1', name: 'Ada', tags: ['a', 'b'], active: true, score: 98.6 } }],
];

const binaryArgLists = [
  [bytes(3)],
  [bytes(0)],
  ['file', bytes(16), { name: 'a.bin' }],
  [{ blob: bytes(1024, 7), meta: { size: 1024 } }],
  [[bytes(1), bytes(2, 3)], { deep: { x: [bytes(5, 9)] } }],
  ['big', bytes(65536, 11)],
  [{ a: bytes(4), b: 'text', c: [1, bytes(8, 2)] }],
];

export function socketIoPackets() {
  const packets = [];
  for (const nsp of namespaces) {
    packets.push({ type: SIO.CONNECT, nsp });
    packets.push({ type: SIO.CONNECT, nsp, data: { token: 'abc', n: 1 } });
    packets.push({ type: SIO.CONNECT, nsp, data: { sid: 'oSO0OpakMV_3jnilAAAA' } });
    packets.push({ type: SIO.DISCONNECT, nsp });
    packets.push({ type: SIO.CONNECT_ERROR, nsp, data: { message: 'Not authorized' } });
    packets.push({ type: SIO.CONNECT_ERROR, nsp, data: { message: 'Invalid namespace', data: { code: 42 } } });
  }
  packets.push({ type: SIO.CONNECT_ERROR, nsp: '/', data: 'legacy string error' });
  argLists.forEach((args, i) => {
    const nsp = namespaces[i % namespaces.length];
    const id = ackIds[i % ackIds.length];
    packets.push({ type: SIO.EVENT, nsp, data: ['event ' + i, ...args] });
    packets.push({ type: SIO.EVENT, nsp: '/', id: 12, data: ['chat message', ...args] });
    packets.push({ type: SIO.EVENT, nsp: namespaces[(i + 2) % namespaces.length], id, data: ['ünï €vent', ...args] });
    packets.push({ type: SIO.ACK, nsp, id: id ?? 7, data: args });
    packets.push({ type: SIO.ACK, nsp: '/', id: 9007199254740991, data: [{ result: args }] });
  });
  packets.push({ type: SIO.EVENT, nsp: '/', data: [42, 'numeric event name'] });
  packets.push({ type: SIO.EVENT, nsp: '/', data: ['connection'] });
  binaryArgLists.forEach((args, i) => {
    const nsp = namespaces[(i + 1) % namespaces.length];
    packets.push({ type: SIO.EVENT, nsp, data: ['upload', ...args] });
    packets.push({ type: SIO.EVENT, nsp: '/', id: 100 + i, data: ['with ack', ...args] });
    packets.push({ type: SIO.ACK, nsp, id: 200 + i, data: args });
    packets.push({ type: SIO.ACK, nsp: '/admin™', id: 0, data: [{ wrapped: args }] });
  });
  return packets;
}

export function engineIoPackets() {
  const packets = [
    { type: 'open', data: '{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}' },
    { type: 'close' },
    { type: 'ping' },
    { type: 'ping', data: 'probe' },
    { type: 'pong' },
    { type: 'pong', data: 'probe' },
    { type: 'upgrade' },
    { type: 'noop' },
    { type: 'message', data: 'hello' },
    { type: 'message', data: '€ 😀 日本' },
    { type: 'message', data: '2["chat",{"text":"hi"}]' },
    { type: 'message', data: 'x'.repeat(10000) },
    { type: 'message', data: 'with \u001e separator-like \u001f chars' },
    { type: 'message', data: bytes(4) },
    { type: 'message', data: bytes(1) },
    { type: 'message', data: bytes(2) },
    { type: 'message', data: bytes(3) },
    { type: 'message', data: bytes(0) },
    { type: 'message', data: bytes(4096, 5) },
  ];
  return packets;
}

export function engineIoPayloads() {
  const all = engineIoPackets().filter((p) => !(typeof p.data === 'string' && p.data.includes('\u001e')));
  const payloads = [];
  for (let size = 1; size <= 6; size++) {
    for (let start = 0; start + size <= all.length; start += 3) payloads.push(all.slice(start, start + size));
  }
  payloads.push([{ type: 'message', data: 'hello' }, { type: 'message', data: '€' }]);
  payloads.push([{ type: 'message', data: '€' }, { type: 'message', data: Buffer.from([1, 2, 3, 4]) }]);
  return payloads;
}

// Socket.IO wire strings the reference parser refuses; ours must refuse them too.
export const malformedSocketIo = [
  '7', 'x', '9["a"]', '2[', '2["a"', '2{"a":}', '2["a"]junk', '2[]', '2{}', '2"str"', '2[null]', '2[true]',
  '2["connect"]', '2["connect_error"]', '2["disconnect"]', '2["disconnecting"]', '2["newListener"]',
  '2["removeListener"]', '0[]', '0"str"', '0null', '0/admin,[1]', '1{}', '1/admin,"x"', '3{}', '31{"a":1}',
  '4[]', '4null', '5', '5-["a"]', '50-["a"]', '5a-["a"]', '511-["a"]', '61["a"]',
  '51-["a",{"_placeholder":true,"num":1}]', '51-["a",{"_placeholder":true,"num":-1}]',
];

// Wire strings socket.io-parser lets through but that carry nothing a peer can act on (it even reads
// an empty message as a CONNECT); we refuse them on purpose (documented in the README). The test
// keeps this list honest.
export const stricterThanReference = ['', '2', '3', '31', '4', '2/admin,', '3/admin,5'];

// Engine.IO texts the reference decoder turns into its error packet.
export const malformedEngineIo = ['', '7', '9hello', 'x', '\u00ff', 'Z'];
