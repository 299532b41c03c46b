// --deflate (README "WebSocket compression"): permessage-deflate negotiated with ws's offer (the official
// client's transport in Node), compressed frames on the wire read back with Node's zlib, compressed
// frames from the client inflated by the server, the limits on what a message inflates to, and the
// official client through it. tests/browser/client.test.mjs has Chromium's side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { io } from 'socket.io-client';
import { startServer, until } from './harness.mjs';

const tail = Buffer.from([0x00, 0x00, 0xff, 0xff]);

// A WebSocket client by hand, to see the frames themselves: RSV1 and the compressed bytes.
async function rawSocket(port, extensions) {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
  sock.write(['GET /socket.io/?EIO=4&transport=websocket HTTP/1.1', `Host: 127.0.0.1:${port}`, 'Upgrade: websocket',
    'Connection: Upgrade', `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`, 'Sec-WebSocket-Version: 13',
    ...(extensions ? [`Sec-WebSocket-Extensions: ${extensions}`] : []), '', ''].join('\r\n'));
  let buffer = Buffer.alloc(0);
  const frames = [];
  let head = null;
  sock.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    if (!head) {
      const end = buffer.indexOf('\r\n\r\n');
      if (end < 0) return;
      head = buffer.subarray(0, end).toString();
      buffer = buffer.subarray(end + 4);
    }
    for (;;) {
      if (buffer.length < 2) return;
      let length = buffer[1] & 0x7f;
      let at = 2;
      if (length === 126) { if (buffer.length < 4) return; length = buffer.readUInt16BE(2); at = 4; }
      if (length === 127) { if (buffer.length < 10) return; length = Number(buffer.readBigUInt64BE(2)); at = 10; }
      if (buffer.length < at + length) return;
      const payload = buffer.subarray(at, at + length);
      const rsv1 = (buffer[0] & 0x40) !== 0;
      const opcode = buffer[0] & 0x0f;
      frames.push({ opcode, rsv1, size: length, raw: Buffer.from(payload), text: rsv1 ? inflateRawSync(Buffer.concat([payload, tail]), { finishFlush: 2 }).toString() : payload.toString() });
      buffer = buffer.subarray(at + length);
    }
  });
  const send = (text, { compress = false } = {}) => {
    let payload = Buffer.from(text);
    if (compress) { payload = deflateRawSync(payload, { finishFlush: 2 /* Z_SYNC_FLUSH: ends with 00 00 FF FF */ }); payload = payload.subarray(0, payload.length - 4); }
    const mask = randomBytes(4);
    const header = payload.length < 126 ? Buffer.from([0x81 | (compress ? 0x40 : 0), 0x80 | payload.length])
      : payload.length < 65536 ? Buffer.from([0x81 | (compress ? 0x40 : 0), 0x80 | 126, payload.length >> 8, payload.length & 0xff])
        : (() => { const h = Buffer.alloc(10); h[0] = 0x81 | (compress ? 0x40 : 0); h[1] = 0x80 | 127; h.writeBigUInt64BE(BigInt(payload.length), 2); return h; })();
    const masked = Buffer.from(payload.map((b, i) => b ^ mask[i % 4]));
    sock.write(Buffer.concat([header, mask, masked]));
  };
  await until(() => head !== null, 5000, 'the upgrade answer');
  const closed = new Promise((resolve) => sock.once('close', resolve));
  return { sock, head, frames, send, closed };
}

test('negotiated without context takeover; large packets go compressed (once), small ones as they are; compressed input is read', async () => {
  const server = await startServer('echo', ['--deflate', '--deflate-threshold', '512']);
  const ws = await rawSocket(server.port, 'permessage-deflate; client_max_window_bits');
  try {
    assert.match(ws.head, /^HTTP\/1\.1 101/);
    assert.match(ws.head, /\r\nSec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover/i);
    await until(() => ws.frames.length === 1, 5000, 'the open packet');
    ws.send('40');
    await until(() => ws.frames.some((f) => f.text.startsWith('40{')), 5000, 'the CONNECT answer');
    const big = 'compress me '.repeat(400);
    // A compressed message from the client (as browsers send large ones), answered compressed.
    ws.send(`421${JSON.stringify(['message-with-ack', big])}`, { compress: true });
    await until(() => ws.frames.some((f) => f.text.startsWith('431')), 5000, 'the ack');
    const ack = ws.frames.find((f) => f.text.startsWith('431'));
    assert.equal(ack.rsv1, true);
    assert.equal(ack.text, `431${JSON.stringify([big])}`);
    assert.ok(ack.size < ack.text.length / 10, `compressed to ${ack.size} of ${ack.text.length} bytes`);
    // Small: not compressed.
    ws.send(`422${JSON.stringify(['message-with-ack', 'small'])}`);
    await until(() => ws.frames.some((f) => f.text.startsWith('432')), 5000, 'the small ack');
    assert.equal(ws.frames.find((f) => f.text.startsWith('432')).rsv1, false);
    // A room broadcast to two compressed clients and one that did not negotiate.
    const plain = await rawSocket(server.port);
    assert.doesNotMatch(plain.head, /Sec-WebSocket-Extensions/i);
    plain.send('40');
    await until(() => plain.frames.some((f) => f.text.startsWith('40{')), 5000, 'CONNECT (plain)');
    const sidOf = (w) => JSON.parse(w.frames.find((f) => f.text.startsWith('40{')).text.slice(2)).sid;
    ws.send('423["join","r"]');
    plain.send('423["join","r"]');
    await until(() => ws.frames.some((f) => f.text.startsWith('433')) && plain.frames.some((f) => f.text.startsWith('433')), 5000, 'joins');
    ws.send(`424${JSON.stringify(['to', 'r', 'news', big])}`);
    await until(() => plain.frames.some((f) => f.text.startsWith('42["news"')) && ws.frames.some((f) => f.text.startsWith('42["news"')), 5000, 'the broadcast');
    assert.equal(ws.frames.find((f) => f.text.startsWith('42["news"')).rsv1, true);
    assert.equal(plain.frames.find((f) => f.text.startsWith('42["news"')).rsv1, false);
    assert.ok(sidOf(plain));
    plain.sock.destroy();
  } finally {
    ws.sock.destroy();
    await server.stop();
  }
});

test('a compressed message that inflates past --max-payload closes with 1009; bad DEFLATE data with 1007; RSV1 without negotiation is a protocol error', async () => {
  const server = await startServer('echo', ['--deflate', '--max-payload', '100000']);
  try {
    const bomb = await rawSocket(server.port, 'permessage-deflate');
    bomb.send(`42${JSON.stringify(['message', 'a'.repeat(1_000_000)])}`, { compress: true }); // ~1 KB on the wire
    await bomb.closed;
    assert.deepEqual(bomb.frames.filter((f) => f.opcode === 8).map((f) => f.text.length > 0), [true]);
    const closeOf = (w) => { const f = w.frames.find((x) => x.opcode === 8); return f ? f.raw.readUInt16BE(0) : null; };
    assert.equal(closeOf(bomb), 1009);

    const garbage = await rawSocket(server.port, 'permessage-deflate');
    const mask = randomBytes(4);
    const junk = Buffer.from([0xff, 0xfe, 0xfd, 0xfc, 0x00]);
    garbage.sock.write(Buffer.concat([Buffer.from([0xc1, 0x80 | junk.length]), mask, Buffer.from(junk.map((b, i) => b ^ mask[i % 4]))]));
    await garbage.closed;
    assert.equal(closeOf(garbage), 1007);

    const unasked = await rawSocket(server.port);
    unasked.send('40', { compress: true });
    await unasked.closed;
    assert.equal(closeOf(unasked), 1002);

    // The server is fine: a new client is served.
    const s = io(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
    s.close();
  } finally {
    await server.stop();
  }
});

test('the official client (ws offers permessage-deflate): large payloads both ways, over a server with and without --deflate', async () => {
  for (const args of [['--deflate'], []]) {
    const server = await startServer('echo', args);
    const s = io(server.url, { forceNew: true, reconnection: false, transports: ['websocket'] });
    try {
      await new Promise((resolve, reject) => { s.once('connect', resolve); s.once('connect_error', reject); });
      const big = { text: 'é'.repeat(50_000), list: Array.from({ length: 2000 }, (_, i) => i) };
      assert.deepEqual(await s.timeout(5000).emitWithAck('message-with-ack', big), big);
      assert.equal(await s.timeout(5000).emitWithAck('message-with-ack', 'small'), 'small');
    } finally {
      s.close();
      await server.stop();
    }
  }
});
