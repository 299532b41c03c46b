// Cross-check of our codec against the official npm parsers (engine.io-parser, socket.io-parser):
// every corpus packet is encoded by both and must be byte-identical, decoded by them from our bytes
// and by us from theirs, and must come back equal to what went in. Malformed input must be refused
// by both. Run by scripts/test (node --test); needs the native build's codec_tool.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as eioParser from 'engine.io-parser';
import { Encoder, Decoder } from 'socket.io-parser';
import {
  SIO, socketIoPackets, engineIoPackets, engineIoPayloads, malformedSocketIo, stricterThanReference, malformedEngineIo,
} from './codec-corpus.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tool = process.env.SWITCHBOARD_CODEC_TOOL ?? join(root, 'build', 'native', 'tests', 'conformance', 'codec_tool');
if (!existsSync(tool)) throw new Error(`${tool} is missing: build the native preset first`);

// --- our side: one batch of JSON-line requests to codec_tool -------------------------------------
const requests = [];
const ask = (req) => requests.push(req) - 1;
let replies = null;
function reply(i) {
  if (!replies) {
    const run = spawnSync(tool, { input: requests.map((r) => JSON.stringify(r)).join('\n') + '\n', maxBuffer: 1 << 28 });
    assert.equal(run.status, 0, `codec_tool failed: ${run.stderr}`);
    replies = run.stdout.toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(replies.length, requests.length);
  }
  return replies[i];
}

// --- helpers ----------------------------------------------------------------------------------------
const isBuf = (v) => Buffer.isBuffer(v) || v instanceof ArrayBuffer || ArrayBuffer.isView(v);
function deconstruct(data, buffers) {
  if (isBuf(data)) { buffers.push(Buffer.from(data)); return { _placeholder: true, num: buffers.length - 1 }; }
  if (Array.isArray(data)) return data.map((d) => deconstruct(d, buffers));
  if (data && typeof data === 'object') return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, deconstruct(v, buffers)]));
  return data;
}
function reconstruct(data, buffers) {
  if (data && typeof data === 'object' && data._placeholder === true) return buffers[data.num];
  if (Array.isArray(data)) return data.map((d) => reconstruct(d, buffers));
  if (data && typeof data === 'object') return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, reconstruct(v, buffers)]));
  return data;
}
const norm = (p) => ({ type: p.type === SIO.BINARY_EVENT ? SIO.EVENT : p.type === SIO.BINARY_ACK ? SIO.ACK : p.type,
  nsp: p.nsp, id: p.id ?? null, data: p.data ?? null });
const toWire = (frames) => frames.map((f) => (typeof f === 'string' ? { text: f } : { binary: Buffer.from(f).toString('base64') }));
const fromWire = (frames) => frames.map((f) => ('text' in f ? f.text : Buffer.from(f.binary, 'base64')));
function referenceDecode(frames) {
  const decoder = new Decoder();
  const out = [];
  decoder.on('decoded', (p) => out.push(p));
  for (const f of frames) decoder.add(f);
  return out;
}
function ourPacket(p) {
  const buffers = p.attachments.map((a) => Buffer.from(a, 'base64'));
  return { type: p.type, nsp: p.nsp, id: p.id, data: p.data === undefined ? undefined : reconstruct(JSON.parse(p.data), buffers) };
}
const label = (p) => JSON.stringify(p, (k, v) => (v && v.type === 'Buffer' ? `<${v.data.length} bytes>` : v)).slice(0, 90);

// --- Socket.IO packets --------------------------------------------------------------------------------
const sioCases = socketIoPackets().map((packet) => {
  const buffers = [];
  const data = packet.data === undefined ? undefined : JSON.stringify(deconstruct(packet.data, buffers));
  const ours = ask({ op: 'sio.encode', packet: { type: packet.type, nsp: packet.nsp, id: packet.id, data,
    attachments: buffers.map((b) => b.toString('base64')) } });
  const theirs = new Encoder().encode({ ...packet });
  const decodeTheirs = ask({ op: 'sio.decode', frames: toWire(theirs) });
  return { packet, ours, theirs, decodeTheirs };
});

for (const { packet, ours, theirs, decodeTheirs } of sioCases) {
  test(`socket.io ${label(packet)}`, () => {
    const encoded = reply(ours);
    assert.ok(encoded.frames, encoded.error);
    const ourFrames = fromWire(encoded.frames);
    assert.deepEqual(ourFrames.map((f) => (typeof f === 'string' ? f : f.toString('hex'))),
      theirs.map((f) => (typeof f === 'string' ? f : Buffer.from(f).toString('hex'))), 'encodings differ');
    const theyDecoded = referenceDecode(ourFrames);
    assert.equal(theyDecoded.length, 1);
    assert.deepEqual(norm(theyDecoded[0]), norm(packet));
    const decoded = reply(decodeTheirs);
    assert.ok(decoded.packets, decoded.error);
    assert.equal(decoded.packets.length, 1);
    assert.deepEqual(norm(ourPacket(decoded.packets[0])), norm(packet));
  });
}

// --- Engine.IO packets and payloads -----------------------------------------------------------------
const eioJson = (p) => (isBuf(p.data) ? { type: p.type, binary: Buffer.from(p.data).toString('base64') }
  : p.data === undefined ? { type: p.type } : { type: p.type, text: p.data });
const eioNorm = (p) => ({ type: p.type, data: isBuf(p.data) ? Buffer.from(p.data).toString('hex') : p.data ?? '' });
const ourEio = (p) => ({ type: p.type, data: 'binary' in p ? Buffer.from(p.binary, 'base64').toString('hex') : p.text ?? '' });

for (const packet of engineIoPackets()) {
  const ours = ask({ op: 'eio.encode', packet: eioJson(packet) });
  let theirs;
  eioParser.encodePacket(packet, true, (e) => { theirs = e; });
  const decodeTheirs = ask({ op: 'eio.decode', frame: toWire([theirs])[0] });
  let theirsText;
  eioParser.encodePacket(packet, false, (e) => { theirsText = e; });
  const decodeTheirsText = ask({ op: 'eio.decode', frame: { text: theirsText } });
  test(`engine.io ${label(packet)}`, () => {
    const [frame] = fromWire([reply(ours).frame]);
    assert.deepEqual(isBuf(frame) ? frame.toString('hex') : frame, isBuf(theirs) ? Buffer.from(theirs).toString('hex') : theirs);
    assert.deepEqual(eioNorm(eioParser.decodePacket(frame, 'nodebuffer')), eioNorm(packet));
    assert.deepEqual(ourEio(reply(decodeTheirs).packet), eioNorm(packet));
    assert.deepEqual(ourEio(reply(decodeTheirsText).packet), eioNorm(packet)); // `b` + base64 form
  });
}

for (const packets of engineIoPayloads()) {
  const ours = ask({ op: 'eio.encode_payload', packets: packets.map(eioJson) });
  let theirs;
  eioParser.encodePayload(packets, (e) => { theirs = e; });
  const decodeTheirs = ask({ op: 'eio.decode_payload', payload: theirs });
  test(`engine.io payload of ${packets.length}: ${label(packets)}`, () => {
    const payload = reply(ours).payload;
    assert.equal(payload, theirs);
    assert.deepEqual(eioParser.decodePayload(payload, 'nodebuffer').map(eioNorm), packets.map(eioNorm));
    const decoded = reply(decodeTheirs);
    assert.equal(decoded.error, undefined);
    assert.deepEqual(decoded.packets.map(ourEio), packets.map(eioNorm));
  });
}

test('the corpus holds at least 200 packets', () => {
  const payloadPackets = engineIoPayloads().reduce((n, p) => n + p.length, 0);
  const total = sioCases.length + engineIoPackets().length + payloadPackets;
  assert.ok(total >= 200, `only ${total}`);
});

// --- refusals ------------------------------------------------------------------------------------------
for (const wire of malformedSocketIo) {
  // A binary packet's placeholders are only checked once its attachment has arrived: send one.
  const frames = /^[56]1-/.test(wire) ? [wire, Buffer.from([1])] : [wire];
  const ours = ask({ op: 'sio.decode', frames: toWire(frames) });
  test(`socket.io refuses ${JSON.stringify(wire)}`, () => {
    assert.throws(() => referenceDecode(frames));
    assert.match(reply(ours).error ?? '', /^socket\.io: /);
  });
}
for (const wire of stricterThanReference) {
  const ours = ask({ op: 'sio.decode', frames: [{ text: wire }] });
  test(`socket.io: we refuse ${JSON.stringify(wire)}, which socket.io-parser lets through`, () => {
    assert.equal(referenceDecode([wire]).length, 1);
    assert.match(reply(ours).error ?? '', /^socket\.io: (invalid payload|empty packet)$/);
  });
}
for (const wire of malformedEngineIo) {
  const ours = ask({ op: 'eio.decode', frame: { text: wire } });
  test(`engine.io refuses ${JSON.stringify(wire)}`, () => {
    assert.equal(eioParser.decodePacket(wire).type, 'error');
    assert.match(reply(ours).error ?? '', /^engine\.io: /);
  });
}
