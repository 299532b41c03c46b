// The npm parsers' side of scripts/bench-codec: the same packets and the same steps as
// bench/codec_bench.cpp (encode: Socket.IO packet -> Engine.IO WebSocket frames; decode: frames ->
// complete packet), timed in-process. Prints JSON: { "<op>/<case>": ns_per_packet, ... }.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePacket, decodePacket } from 'engine.io-parser';
import { Encoder, Decoder, PacketType } from 'socket.io-parser';

const cases = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'codec-cases.json'), 'utf8'));

function packetOf(name) {
  const c = cases[name];
  const data = structuredClone(c.data);
  if (c.binary_bytes) data.push(Buffer.from(Array.from({ length: c.binary_bytes }, (_, i) => (i * 31 + 1) & 0xff)));
  return { type: PacketType.EVENT, nsp: c.nsp, data };
}

function encodeFrames(encoder, packet) {
  const frames = [];
  for (const part of encoder.encode({ ...packet })) encodePacket({ type: 'message', data: part }, true, (f) => frames.push(f));
  return frames;
}

// Median over `rounds` of the mean time per call of `fn` over ~`ms` milliseconds.
function measure(fn, rounds = 5, ms = 400) {
  for (let i = 0; i < 2000; i++) fn(); // warm up the JIT
  const results = [];
  for (let r = 0; r < rounds; r++) {
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed = 0n;
    while (elapsed < BigInt(ms) * 1000000n) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
      elapsed = process.hrtime.bigint() - start;
    }
    results.push(Number(elapsed) / n);
  }
  results.sort((a, b) => a - b);
  return results[Math.floor(results.length / 2)];
}

const out = {};
for (const name of ['small_event', 'medium_event', 'binary_event']) {
  const packet = packetOf(name);
  const encoder = new Encoder();
  out[`encode/${name}`] = measure(() => encodeFrames(encoder, packet));
  const frames = encodeFrames(encoder, packet);
  const decoder = new Decoder();
  let last;
  decoder.on('decoded', (p) => { last = p; });
  out[`decode/${name}`] = measure(() => {
    for (const f of frames) decoder.add(decodePacket(f, 'nodebuffer').data);
    return last;
  });
}
console.log(JSON.stringify(out));
