// The JS-facing API of the WebAssembly client, appended to Emscripten's ES module (--extern-post-js),
// so that one file (client.mjs, next to client.wasm) is the whole client. It mirrors socket.io-client:
//
//   import { io } from '/switchboard/client.mjs';
//   const socket = io('http://localhost:3000/chat', { auth: { token } });
//   socket.on('message', (text, reply) => reply('got it'));
//   const answer = await socket.timeout(1000).emitWithAck('hello', new Uint8Array([1, 2]));
//
// The protocol runs in C++ (shared/client + wasm-client/src); this file keeps the application's
// listeners and turns binary values into the codec's placeholders and back.

// RESERVED (the reserved event names) is defined just before this file, generated from the C++ list.

class Emitter {
  constructor() { this._listeners = new Map(); }
  on(event, fn) {
    if (!this._listeners.has(event)) this._listeners.set(event, []);
    this._listeners.get(event).push(fn);
    return this;
  }
  once(event, fn) {
    const wrapper = (...args) => { this.off(event, wrapper); fn.apply(this, args); };
    wrapper.fn = fn;
    return this.on(event, wrapper);
  }
  off(event, fn) {
    if (event === undefined) { this._listeners.clear(); return this; }
    if (fn === undefined) { this._listeners.delete(event); return this; }
    const list = this._listeners.get(event);
    if (list) {
      const i = list.findIndex((l) => l === fn || l.fn === fn);
      if (i >= 0) list.splice(i, 1);
    }
    return this;
  }
  listeners(event) { return [...(this._listeners.get(event) || [])]; }
  // As socket.io-client's emitter: the listeners in order, and one that throws ends this emit (the later
  // ones are not called); its error is rethrown asynchronously and the client carries on.
  _emitLocal(event, ...args) { callListeners(this, this.listeners(event), args); }
}

// An application's listener that throws must not stop the client, nor the other listeners: its error
// is rethrown asynchronously, as a browser reports an error thrown in an event handler.
function callListener(self, fn, args) { callListeners(self, [fn], args); }
function callListeners(self, fns, args) {
  try {
    for (const fn of fns) fn.apply(self, args);
  } catch (err) {
    setTimeout(() => { throw err; });
  }
}

// --- binary values <-> placeholders -----------------------------------------------------------------------

const isBinary = (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v);
const toBytes = (v) => (v instanceof ArrayBuffer ? new Uint8Array(v) : new Uint8Array(v.buffer, v.byteOffset, v.byteLength));

function deconstruct(value, attachments) {
  if (isBinary(value)) {
    attachments.push(toBytes(value));
    return { _placeholder: true, num: attachments.length - 1 };
  }
  if (Array.isArray(value)) return value.map((v) => deconstruct(v, attachments));
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    if (typeof value.toJSON === 'function') return value;
    const out = {};
    for (const [k, v] of Object.entries(value)) {
      Object.defineProperty(out, k, { value: deconstruct(v, attachments), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }
  return value;
}

// Received binary arrives as ArrayBuffer in the browser (as socket.io-client); as Buffer under Node.
const wrapBinary = (bytes) => (typeof Buffer === 'function' && typeof window === 'undefined'
  ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  : bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));

// Placeholders become the bytes, in place (as socket-io-parser does): a value JSON.parse made is not
// copied, and an own "__proto__" key stays a key (assigning an own property sets that property).
function reconstruct(value, attachments) {
  if (attachments.length === 0) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; ++i) value[i] = reconstruct(value[i], attachments);
    return value;
  }
  if (value && typeof value === 'object') {
    if (value._placeholder === true && typeof value.num === 'number' && value.num < attachments.length) {
      return wrapBinary(attachments[value.num]);
    }
    for (const k of Object.keys(value)) value[k] = reconstruct(value[k], attachments);
  }
  return value;
}

// Payloads come from the server as text; one that is not JSON is dropped, not thrown into the client.
function parseOrNull(text) {
  try { return JSON.parse(text); } catch { return null; }
}

function hasBinary(value, depth = 0) {
  if (isBinary(value)) return true;
  if (depth > 64 || !value || typeof value !== 'object') return false;
  if (Array.isArray(value)) return value.some((v) => hasBinary(v, depth + 1));
  if (typeof value.toJSON === 'function' || value instanceof Date) return false;
  return Object.keys(value).some((k) => hasBinary(value[k], depth + 1));
}

// Arguments without binary go to JSON.stringify as they are (no copy, and an own "__proto__" key is
// written as the key it is).
function encodeArgs(args) {
  const attachments = [];
  const data = JSON.stringify(hasBinary(args) ? deconstruct(args, attachments) : args);
  return { data, attachments };
}

// --- the module -------------------------------------------------------------------------------------------

let modulePromise;
async function loadModule() {
  if (!modulePromise) {
    const options = {};
    const wasmUrl = new URL('client.wasm', import.meta.url);
    if (typeof process === 'object' && process.versions && process.versions.node && typeof window === 'undefined') {
      // Node: read the .wasm from disk (Emscripten would fetch() the file URL), and give Emscripten's
      // WebSocket code the `ws` package when this Node has no global WebSocket.
      const { readFile } = await import('node:fs/promises');
      options.wasmBinary = await readFile(wasmUrl);
      if (typeof globalThis.WebSocket !== 'function') globalThis.WebSocket = (await import('ws')).WebSocket;
    } else {
      options.locateFile = () => wasmUrl.href;
    }
    modulePromise = createSwitchboardModule(options);
  }
  return modulePromise;
}

// Connection (C++) reports each effect as (type, nsp, a, b, c); named here once.
function effectOf(type, nsp, a, b, c) {
  switch (type) {
    case 'connect': return { type, nsp, id: a, recovered: b === true };
    case 'disconnect': return { type, nsp, reason: a };
    case 'connect_error': return { type, nsp, message: a, data: b };
    case 'event': return { type, nsp, data: a, id: b, attachments: c || [] };
    case 'ack': return { type, nsp, id: a, data: b, attachments: c || [] };
    case 'ack_timeout': return { type, nsp, id: a };
    case 'reconnect_attempt': return { type, attempt: a };
    case 'reconnect': return { type, attempts: a };
    case 'error': return { type, message: a };
    case 'transport': return { type, name: a };
    case 'upgrade': return { type, name: a };
    case 'open': return { type };
    case 'close': return { type, reason: a };
    case 'packet': case 'packetCreate': return { type, name: a, data: b };
    case 'auth': return { type, nsp };
    default: return { type };
  }
}

const DEFAULTS = {
  path: '/socket.io', transports: ['polling', 'websocket'], upgrade: true, reconnection: true, reconnectionAttempts: Infinity, reconnectionDelay: 1000,
  reconnectionDelayMax: 5000, randomizationFactor: 0.5, timeout: 20000, autoConnect: true, ackTimeout: undefined,
};

// engine.io-client's socket, as far as applications look at it: the transport in use, and the events
// 'upgrade', 'close', 'packet' and 'packetCreate' (the last two told by the C++ side only while listened to).
class Engine extends Emitter {
  constructor(manager) {
    super();
    this._manager = manager;
    this.transport = { name: undefined };
  }
  on(event, fn) { super.on(event, fn); this._observe(); return this; }
  off(event, fn) { super.off(event, fn); this._observe(); return this; }
  _observe() {
    const on = this.listeners('packet').length + this.listeners('packetCreate').length > 0;
    if (on !== Boolean(this._observing)) {
      this._observing = on;
      this._manager._call((c) => c.observePackets(on));
    }
  }
}

/** One connection to a server, shared by the sockets of its namespaces (socket.io-client's Manager). */
export class Manager extends Emitter {
  constructor(uri, opts = {}) {
    super();
    // As socket.io-client: `opts` holds what was given (and the path); the settings, their defaults.
    this.opts = { ...opts, path: opts.path || DEFAULTS.path };
    this._settings = { ...DEFAULTS, ...this.opts };
    // socket.io-client's `parser` is a module object; the WASM client's parsers are built in, by name.
    if (this.opts.parser !== undefined && this.opts.parser !== 'default' && this.opts.parser !== 'msgpack')
      throw new TypeError("parser: 'default' or 'msgpack' (socket.io-msgpack-parser's packets, built in)");
    const url = new URL(uri);
    const secure = url.protocol === 'https:' || url.protocol === 'wss:';
    let path = this.opts.path;
    if (!path.endsWith('/')) path += '/';
    const query = new URLSearchParams(this.opts.query || {});
    query.set('EIO', '4');
    this.uri = `//${url.host}${path}?${query}`;
    this.nsps = new Map();
    this.engine = new Engine(this);
    this._pending = [];
    this._connection = null;
    this._ready = loadModule().then((module) => {
      const options = { ...this._settings, seed: Math.random() };
      this._connection = new module.Connection(this.uri, secure, options,
        (type, nsp, a, b, c) => this._onEffect(effectOf(type, nsp, a, b, c)));
      for (const call of this._pending.splice(0)) call();
    });
  }

  /** A socket for namespace `nsp` on this connection. */
  socket(nsp, opts = {}) {
    let socket = this.nsps.get(nsp);
    if (!socket) {
      socket = new Socket(this, nsp, opts);
      this.nsps.set(nsp, socket);
    }
    return socket;
  }

  _call(fn) {
    if (this._connection) fn(this._connection);
    else this._pending.push(() => fn(this._connection));
  }

  _onEffect(effect) {
    const socket = effect.nsp !== undefined ? this.nsps.get(effect.nsp) : undefined;
    switch (effect.type) {
      case 'reconnect_attempt':
        this._reconnecting = true;
        this._emitLocal('reconnect_attempt', effect.attempt);
        return;
      case 'reconnect': this._reconnecting = false; this._emitLocal('reconnect', effect.attempts); return;
      case 'reconnect_failed': this._reconnecting = false; this._emitLocal('reconnect_failed'); return;
      case 'error': {
        // As socket.io-client: a transport failure is the manager's error, and a connect_error for every
        // socket not connected yet; during a reconnection, then 'reconnect_error' (after 'reconnect_failed'
        // when it was the last attempt: socket.io-client tells that one first).
        const err = new Error(effect.message);
        this._emitLocal('error', err);
        for (const socket of this.nsps.values()) if (!socket.connected) socket._emitLocal('connect_error', err);
        if (this._reconnecting) queueMicrotask(() => this._emitLocal('reconnect_error', err));
        return;
      }
      case 'close':
        this._emitLocal('close', effect.reason);
        this.engine._emitLocal('close', effect.reason);
        return;
      case 'packet': case 'packetCreate':
        this.engine._emitLocal(effect.type, { type: effect.name, data: effect.data });
        return;
      case 'transport': this.engine.transport = { name: effect.name }; return;
      case 'upgrade':
        this.engine.transport = { name: effect.name };
        this.engine._emitLocal('upgrade', this.engine.transport);
        return;
      case 'open': this._emitLocal('open'); return;
      default: if (socket) socket._onEffect(effect);
    }
  }

  // socket.io-client's getters/setters of the reconnection settings (they apply to a connection made after).
  reconnection(v) { return this._setting('reconnection', v); }
  reconnectionAttempts(v) { return this._setting('reconnectionAttempts', v); }
  reconnectionDelay(v) { return this._setting('reconnectionDelay', v); }
  reconnectionDelayMax(v) { return this._setting('reconnectionDelayMax', v); }
  randomizationFactor(v) { return this._setting('randomizationFactor', v); }
  timeout(v) { return this._setting('timeout', v); }
  _setting(name, v) {
    if (v === undefined) return this._settings[name];
    this._settings[name] = v;
    return this;
  }

  /** Closes the connection (every socket disconnects). */
  close() { this._call((c) => c.close()); }

  /** Bytes emitted and not yet sent (the WebSocket's bufferedAmount, or polling's pending POST). */
  get bufferedAmount() { return this._connection ? this._connection.bufferedAmount() : 0; }

  // After an emit leaves bytes waiting, 'drain' (on the manager and every socket) once they are sent.
  // Browsers have no drain event for a WebSocket: its bufferedAmount is watched while it is not zero.
  _watchDrain() {
    if (this._drainTimer || this.bufferedAmount === 0) return;
    const check = () => {
      if (this.bufferedAmount > 0) { this._drainTimer = setTimeout(check, 10); return; }
      this._drainTimer = undefined;
      this._emitLocal('drain');
      for (const socket of this.nsps.values()) socket._emitLocal('drain');
    };
    this._drainTimer = setTimeout(check, 10);
  }
}

/** One namespace over a Manager (socket.io-client's Socket). */
export class Socket extends Emitter {
  constructor(manager, nsp, opts = {}) {
    super();
    this.io = manager;
    this.nsp = nsp;
    this.auth = opts.auth || manager.opts.auth || {};
    this.connected = false;
    this.recovered = false;
    this.id = undefined;
    this._acks = new Map();
    this._any = [];
    this._anyOutgoing = [];
    this._flags = {};
    this._queue = []; // `retries`: emits waiting for their ack, sent one at a time
    this._queueSeq = 0;
  }

  get disconnected() { return !this.connected; }
  get active() { return this._active === true; }

  connect() {
    this._active = true;
    // An auth function is asked before every CONNECT (the first and each reconnection's), as
    // socket.io-client does, so that it can hand a fresh token.
    const asked = typeof this.auth === 'function';
    this.io._call((c) => c.connectSocket(this.nsp, asked ? '{}' : JSON.stringify(this.auth || {}), asked));
    return this;
  }

  _onAuthNeeded() {
    if (typeof this.auth !== 'function') return;
    callListener(this, this.auth, [(data) => {
      if (this._active) this.io._call((c) => c.connectSocket(this.nsp, JSON.stringify(data || {}), true));
    }]);
  }
  open() { return this.connect(); }

  disconnect() {
    this._active = false;
    this.io._call((c) => c.disconnectSocket(this.nsp));
    return this;
  }
  close() { return this.disconnect(); }

  get volatile() { this._flags.volatile = true; return this; }
  timeout(ms) { this._flags.timeout = ms; return this; }
  // Accepted as socket.io-client's (chainable); whether a message is compressed is the WebSocket's
  // permessage-deflate negotiation with the server.
  compress(compress) { this._flags.compress = compress; return this; }

  onAny(fn) { this._any.push(fn); return this; }
  prependAny(fn) { this._any.unshift(fn); return this; }
  offAny(fn) { this._any = fn ? this._any.filter((f) => f !== fn) : []; return this; }
  listenersAny() { return [...this._any]; }
  onAnyOutgoing(fn) { this._anyOutgoing.push(fn); return this; }
  prependAnyOutgoing(fn) { this._anyOutgoing.unshift(fn); return this; }
  offAnyOutgoing(fn) { this._anyOutgoing = fn ? this._anyOutgoing.filter((f) => f !== fn) : []; return this; }
  listenersAnyOutgoing() { return [...this._anyOutgoing]; }

  send(...args) { return this.emit('message', ...args); }

  emit(event, ...args) {
    if (RESERVED.has(event)) throw new Error(`"${String(event)}" is a reserved event name`);
    if (this.io.opts.retries && !this._flags.fromQueue && !this._flags.volatile) {
      this._addToQueue([event, ...args]);
      return this;
    }
    const flags = this._flags;
    this._flags = {};
    let ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    const timeout = flags.timeout !== undefined ? flags.timeout : this.io.opts.ackTimeout;
    if (ack && timeout !== undefined) {
      const userAck = ack;
      ack = (err, ...res) => (err ? userAck(err) : userAck(null, ...res));
      ack.withError = true;
    }
    const { data, attachments } = encodeArgs([event, ...args]);
    for (const fn of [...this._anyOutgoing]) fn(event, ...args);
    this.io._call((c) => {
      const id = c.emit(this.nsp, data, attachments, Boolean(ack), ack && timeout !== undefined ? timeout : -1,
        Boolean(flags.volatile));
      if (ack && id >= 0) {
        ack.buffered = !this.connected; // sent once connected: a disconnection does not fail it
        this._acks.set(id, ack);
      }
      this.io._watchDrain();
    });
    return this;
  }

  // socket.io-client 4.6's delivery retries (`retries`, with `ackTimeout`): each emit waits for an ack
  // and is sent again when it does not come, up to `retries` more times, one emit at a time in order.
  _addToQueue(args) {
    const ack = typeof args[args.length - 1] === 'function' ? args.pop() : undefined;
    const packet = { id: this._queueSeq++, tryCount: 0, pending: false, args, flags: { ...this._flags, fromQueue: true } };
    this._flags = {};
    args.push((err, ...response) => {
      if (packet !== this._queue[0]) return; // acknowledged already
      if (err !== null && err !== undefined) {
        if (packet.tryCount > this.io.opts.retries) {
          this._queue.shift();
          if (ack) ack(err);
        }
      } else {
        this._queue.shift();
        if (ack) ack(null, ...response);
      }
      packet.pending = false;
      this._drainQueue();
    });
    this._queue.push(packet);
    this._drainQueue();
  }

  _drainQueue(force = false) {
    if (!this.connected || this._queue.length === 0) return;
    const packet = this._queue[0];
    if (packet.pending && !force) return;
    packet.pending = true;
    packet.tryCount++;
    this._flags = packet.flags;
    this.emit(...packet.args);
  }

  /** Bytes this socket's connection has not sent yet (every namespace shares the connection). */
  get bufferedAmount() { return this.io.bufferedAmount; }

  emitWithAck(event, ...args) {
    const withTimeout = this._flags.timeout !== undefined || this.io.opts.ackTimeout !== undefined;
    return new Promise((resolve, reject) => {
      args.push(withTimeout ? (err, arg) => (err ? reject(err) : resolve(arg)) : resolve);
      this.emit(event, ...args);
    });
  }

  _onEffect(effect) {
    switch (effect.type) {
      case 'auth': this._onAuthNeeded(); return;
      case 'connect':
        this.connected = true;
        this.id = effect.id;
        // Connection state recovery: the server gave back this session (its id, rooms, missed events).
        this.recovered = effect.recovered;
        for (const ack of this._acks.values()) ack.buffered = false;
        // As socket.io-client, 'connect' comes after what the connection brought with it: the events a
        // recovery replayed, then the emits buffered meanwhile (the effects that follow this one, carried
        // out before this microtask), so that an emit in a connect listener goes after them.
        queueMicrotask(() => {
          if (!this.connected || this.id !== effect.id) return;
          this._emitLocal('connect');
          this._drainQueue(true);
        });
        return;
      case 'disconnect': {
        this.connected = false;
        this.id = undefined;
        if (effect.reason === 'io server disconnect' || effect.reason === 'io client disconnect') this._active = false;
        // Acks that can never be answered now are forgotten, and those that take an error fail (as
        // socket.io-client ≥ 4.7); one still buffered waits for the next connection.
        for (const [id, ack] of this._acks) {
          if (ack.buffered) continue;
          this._acks.delete(id);
          if (ack.withError) callListener(this, ack, [new Error('socket has been disconnected')]);
        }
        this._emitLocal('disconnect', effect.reason);
        return;
      }
      case 'connect_error': {
        this._active = false;
        const err = new Error(effect.message);
        const data = parseOrNull(effect.data);
        if (data !== null) err.data = data;
        this._emitLocal('connect_error', err);
        return;
      }
      case 'event': {
        const decoded = parseOrNull(effect.data);
        // An event's name is a string, or a number (socket.io-parser accepts both).
        if (!Array.isArray(decoded) || (typeof decoded[0] !== 'string' && typeof decoded[0] !== 'number')) return;
        const [name, ...args] = reconstruct(decoded, effect.attachments);
        if (effect.id >= 0) {
          let sent = false;
          args.push((...reply) => {
            if (sent) return;
            sent = true;
            const encoded = encodeArgs(reply);
            this.io._call((c) => c.ack(this.nsp, effect.id, encoded.data, encoded.attachments));
          });
        }
        // Any-listeners first, then the event's (one throw ends both, as in socket.io-client).
        callListeners(this, [...this._any.map((fn) => (...a) => fn.call(this, name, ...a)), ...this.listeners(name)], args);
        return;
      }
      case 'ack': {
        const ack = this._acks.get(effect.id);
        if (!ack) return;
        this._acks.delete(effect.id);
        const decoded = parseOrNull(effect.data);
        const args = reconstruct(Array.isArray(decoded) ? decoded : [], effect.attachments);
        callListener(this, ack, ack.withError ? [null, ...args] : args);
        return;
      }
      case 'ack_timeout': {
        const ack = this._acks.get(effect.id);
        if (!ack) return;
        this._acks.delete(effect.id);
        if (ack.withError) callListener(this, ack, [new Error('operation has timed out')]);
        return;
      }
      default:
    }
  }
}

const managers = new Map();

/**
 * io(url[, opts]): a Socket for the URL's namespace ("/" when the path is empty), sharing one
 * connection per server unless `forceNew` (or `multiplex: false`) asks for a new one.
 */
export function io(uri, opts = {}) {
  if (typeof uri === 'object') { opts = uri; uri = undefined; }
  if (uri === undefined) uri = typeof location === 'object' ? location.origin : 'http://localhost';
  const url = new URL(uri, typeof location === 'object' ? location.href : undefined);
  const nsp = url.pathname && url.pathname !== '/' ? url.pathname : '/';
  // The URL's query string is the handshake's query (engine.io-client takes it over opts.query).
  if (url.search) opts = { ...opts, query: Object.fromEntries(url.searchParams) };
  const key = `${url.protocol}//${url.host}${opts.path || DEFAULTS.path}`;
  const fresh = opts.forceNew || opts['force new connection'] || opts.multiplex === false;
  // A second socket for a namespace already open gets a connection of its own; the cached one stays
  // for the other namespaces (as socket.io-client's cache).
  const cached = managers.get(key);
  let manager = fresh ? undefined : cached;
  if (!manager || manager.nsps.has(nsp)) {
    manager = new Manager(`${url.protocol}//${url.host}`, opts);
    if (!fresh && !cached) managers.set(key, manager);
  }
  const socket = manager.socket(nsp, opts);
  if (manager.opts.autoConnect !== false) socket.connect();
  return socket;
}

export { io as connect };

