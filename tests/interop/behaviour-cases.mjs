// socket.io-client 4.8's behaviour, asserted the same way for the official client and for ours (the WASM
// client), so that every divergence is a failing test (wasm-client/README.md lists what remains). The
// cases run under Node (behaviour.test.mjs) and in Chromium (tests/browser/behaviour.test.mjs): they use
// only what `env` gives them. Both clients talk to our server (tests/server/sio_fixture), or to Node's
// socket.io where only it can send what the behaviour needs.
//
// env: { name, io, assert, until, sleep, startServer(binary, args, env, opts) -> { url, port, stop() },
//        capturingUncaught(body), inBrowser, server, reference } (server and reference are set before
//        the first case runs).

/** The cases for one client; `opened` lists the sockets they opened (the runner disconnects them). */
export function behaviourCases(env) {
  const { name, io, assert, until, sleep, startServer, capturingUncaught } = env;
  const cases = [];
  const test = (title, options, fn) => {
    if (typeof options === 'function') [fn, options] = [options, {}];
    cases.push({ title, skip: options.skip || false, run: fn });
  };
  const opened = [];
  const open = (url, opts = {}) => {
    const s = io(url, { forceNew: true, transports: ['websocket'], reconnection: false, ...opts });
    opened.push(s);
    return s;
  };
  const connected = (s) => (s.connected ? Promise.resolve(s) : new Promise((resolve, reject) => {
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  }));

  test('emits buffered before the connection go out before those made in a connect listener', async () => {
    const tag = `${name}-${Date.now()}`;
    const s = open(env.server.url);
    s.emit('record', `${tag}-1`);
    s.emit('record', `${tag}-2`);
    s.once('connect', () => s.emit('record', `${tag}-3`));
    await connected(s);
    await until(async () => (await s.emitWithAck('records')).filter((r) => String(r).startsWith(tag)).length === 3, 5000, 'the records');
    assert.deepEqual((await s.emitWithAck('records')).filter((r) => String(r).startsWith(tag)), [`${tag}-1`, `${tag}-2`, `${tag}-3`]);
  });

  // socket.io-client does this in a browser; in Node the error escapes from inside the `ws` package's
  // message handler, which loses the connection's later messages (not a behaviour to copy).
  const inNodeOnly = name === 'socket.io-client' && !env.inBrowser ? 'socket.io-client under Node loses later messages (ws)' : false;
  test('a listener that throws: the error is rethrown asynchronously, that emit ends, the client keeps working', { skip: inNodeOnly }, async () => {
    const s = await connected(open(env.server.url));
    const seen = [];
    s.onAny((event, n) => seen.push(`any ${event} ${n}`));
    s.on('news', () => { throw new Error('a listener failed'); });
    s.on('news', (n) => seen.push(`after the throw ${n}`)); // not called: the throw ends the emit (socket.io-client's emitter)
    s.on('other', (n) => seen.push(`other ${n}`));
    await capturingUncaught(async (caught) => {
      await s.emitWithAck('emit', { rooms: [s.id] }, 'news', 1);
      await until(() => caught.length >= 1, 5000, 'the error reported');
      await s.emitWithAck('emit', { rooms: [s.id] }, 'news', 2);
      await s.emitWithAck('emit', { rooms: [s.id] }, 'other', 3);
      await until(() => seen.includes('other 3') && caught.length >= 2, 5000, 'the next events, the error reported');
      assert.deepEqual(caught.map((e) => e.message), ['a listener failed', 'a listener failed']);
    });
    assert.deepEqual(seen, ['any news 1', 'any news 2', 'any other 3', 'other 3']);
    assert.equal(await s.timeout(5000).emitWithAck('echo', 'still working'), 'still working');
  });

  test('a disconnection fails the pending acks that take an error; plain callbacks are dropped', async () => {
    const s = await connected(open(env.server.url));
    const failed = s.timeout(10000).emitWithAck('no-such-handler');
    let plainCalled = false;
    s.emit('no-such-handler', () => { plainCalled = true; });
    await sleep(100);
    s.emit('disconnect-me', false);
    await assert.rejects(failed, { message: 'socket has been disconnected' });
    assert.equal(plainCalled, false);
  });

  test('a transport that cannot connect reaches the socket as connect_error', async () => {
    const gone = await startServer('fixture', []);
    const url = gone.url;
    await gone.stop();
    const s = open(url);
    const err = await new Promise((resolve) => s.once('connect_error', resolve));
    assert.ok(err instanceof Error);
    assert.equal(s.connected, false);
  });

  test('received objects keep an own "__proto__" key as a key (no prototype is set)', async () => {
    const s = await connected(open(env.server.url));
    const sent = JSON.parse('{"__proto__": {"polluted": true}, "plain": 1}');
    const [back] = await new Promise((resolve) => s.emit('echo', sent, (...reply) => resolve(reply)));
    assert.equal(Object.getPrototypeOf(back), Object.prototype);
    assert.equal(back.polluted, undefined);
    assert.deepEqual(Object.keys(back).sort(), ['__proto__', 'plain']);
  });

  test('an event with a numeric name is delivered (Node\'s server may send one)', async () => {
    const s = await connected(open(env.reference.url));
    const any = [];
    s.onAny((event, ...args) => any.push([event, ...args]));
    const got = new Promise((resolve) => s.on(42, resolve));
    await s.emitWithAck('emit', { rooms: [s.id] }, 42, 'answer');
    assert.equal(await got, 'answer');
    assert.deepEqual(any, [[42, 'answer']]);
  });

  test('an auth function is asked before every CONNECT: a reconnection presents a fresh token', async () => {
    const first = await startServer('fixture', []);
    const port = first.port;
    let second;
    let issued = 0;
    const s = open(first.url, { reconnection: true, reconnectionDelay: 100, reconnectionDelayMax: 200, auth: (cb) => cb({ token: `t${++issued}` }) });
    try {
      await connected(s);
      assert.deepEqual((await s.emitWithAck('handshake')).auth, { token: 't1' });
      const gone = new Promise((resolve) => s.once('disconnect', resolve));
      await first.stop();
      await gone;
      second = await startServer('fixture', [], {}, { port });
      await until(() => s.connected, 10000, 'the reconnection');
      assert.deepEqual((await s.emitWithAck('handshake')).auth, { token: `t${issued}` });
      assert.ok(issued >= 2, 'asked again');
    } finally {
      s.disconnect();
      await first.stop();
      await second?.stop();
    }
  });

  test("polling: a backlog larger than the server's maxPayload goes in several POSTs", async () => {
    const small = await startServer('fixture', ['--max-payload', '10000']);
    const s = open(small.url, { transports: ['polling'] });
    try {
      await connected(s);
      const tag = `${name}-${Date.now()}`;
      for (let i = 0; i < 20; ++i) s.emit('record', `${tag}-${i}-${'x'.repeat(1500)}`); // 30 KB at once
      await until(async () => (await s.timeout(2000).emitWithAck('records')).filter((r) => String(r).startsWith(tag)).length === 20, 10000, 'every record');
      assert.equal(s.connected, true);
      const got = (await s.emitWithAck('records')).filter((r) => String(r).startsWith(tag)).map((r) => Number(r.split('-').at(-2)));
      assert.deepEqual(got, Array.from({ length: 20 }, (_, i) => i));
    } finally {
      s.disconnect();
      await small.stop();
    }
  });

  test('retries: an emit is sent again until acknowledged, up to `retries` more times, one at a time', async () => {
    const s = open(env.server.url, { retries: 2, ackTimeout: 200 });
    await connected(s);
    const tag = `${name}-retried-${Date.now()}`;
    const failed = new Promise((resolve) => s.emit('record', tag, (err) => resolve(err))); // never acknowledged
    const echoed = new Promise((resolve) => s.emit('echo', 'after', (err, value) => resolve([err, value])));
    const err = await failed;
    assert.equal(err.message, 'operation has timed out');
    assert.deepEqual(await echoed, [null, 'after']);
    const records = (await s.timeout(2000).emitWithAck('records')).filter((r) => r === tag);
    assert.equal(records.length, 3, 'the first try and two retries');
  });

  for (const transport of ['websocket', 'polling']) {
    test(`volatile emits are dropped while the transport is busy (${transport}), the others wait`, async () => {
      const s = await connected(open(env.server.url, { transports: [transport] }));
      await sleep(200); // nothing in flight
      const tag = `${name}-volatile-${transport}-${Date.now()}`;
      s.volatile.emit('record', `${tag}-1`); // sent at once: the transport is busy with it
      s.volatile.emit('record', `${tag}-2`); // dropped
      s.emit('record', `${tag}-3`); //          waits, not dropped
      s.volatile.emit('record', `${tag}-4`); // dropped
      await sleep(300);
      s.volatile.emit('record', `${tag}-5`); // idle again: sent
      await sleep(300);
      const got = (await s.timeout(2000).emitWithAck('records')).filter((r) => String(r).startsWith(tag));
      assert.deepEqual(got, [`${tag}-1`, `${tag}-3`, `${tag}-5`]);
    });
  }

  test('compress(false) chains and the emit is delivered', async () => {
    const s = await connected(open(env.server.url));
    assert.equal(await s.compress(false).timeout(2000).emitWithAck('echo', 'plain'), 'plain');
  });

  test("the manager's open event, and socket.io.engine's upgrade to WebSocket", async () => {
    const s = open(env.server.url, { transports: ['polling', 'websocket'] });
    const upgraded = new Promise((resolve) => s.io.on('open', () => s.io.engine.once('upgrade', (transport) => resolve(transport.name))));
    await connected(s);
    assert.equal(await upgraded, 'websocket');
    assert.equal(s.io.engine.transport.name, 'websocket');
  });

  test("the URL's query string is sent with the handshake", async () => {
    const s = await connected(open(`${env.server.url}/?token=abc&n=1`));
    const h = await s.emitWithAck('handshake');
    assert.equal(h.query.token, 'abc');
    assert.equal(h.query.n, '1');
  });

  test('io() twice for one namespace: a second connection, and the cached one stays for the others', async () => {
    const first = io(env.server.url, { transports: ['websocket'], reconnection: false });
    const second = io(env.server.url, { transports: ['websocket'], reconnection: false });
    const other = io(`${env.server.url}/admin`, { transports: ['websocket'], reconnection: false, auth: { token: 'secret' } });
    opened.push(first, second, other);
    assert.notEqual(second.io, first.io);
    assert.equal(other.io, first.io);
    await Promise.all([first, second, other].map(connected));
    assert.notEqual(second.id, first.id);
  });

  test('disconnect reasons and `active`: the client, the server, the transport', async () => {
    const a = await connected(open(env.server.url));
    assert.equal(a.active, true);
    assert.ok(!a.recovered); // socket.io-client: undefined when the server offers no recovery (pid)
    const byClient = new Promise((r) => a.once('disconnect', r));
    a.disconnect();
    assert.equal(await byClient, 'io client disconnect');
    assert.equal(a.active, false);
    assert.equal(a.connected, false);
    const b = await connected(open(env.server.url, { reconnection: true }));
    const byServer = new Promise((r) => b.once('disconnect', r));
    b.emit('disconnect-me', false);
    assert.equal(await byServer, 'io server disconnect');
    assert.equal(b.active, false); // the server's decision: no reconnection
  });

  test("the manager's reconnection events: close, reconnect_attempt, reconnect_error, reconnect_failed", async () => {
    const own = await startServer('fixture', []);
    const s = open(own.url, { reconnection: true, reconnectionAttempts: 2, reconnectionDelay: 50, reconnectionDelayMax: 50 });
    await connected(s);
    const events = [];
    s.io.on('close', (reason) => events.push(`close: ${reason}`));
    s.io.on('reconnect_attempt', (n) => events.push(`attempt ${n}`));
    s.io.on('reconnect_error', () => events.push('reconnect_error'));
    s.io.on('reconnect_failed', () => events.push('reconnect_failed'));
    s.on('disconnect', (reason) => events.push(`disconnect: ${reason}`));
    await own.stop();
    await until(() => events.includes('reconnect_failed'), 10000, 'reconnect_failed');
    assert.deepEqual(events, ['disconnect: transport close', 'close: transport close', 'attempt 1', 'reconnect_error',
      'attempt 2', 'reconnect_failed', 'reconnect_error']);
    assert.equal(s.active, true); // as socket.io-client: still subscribed to its manager
    assert.equal(s.connected, false);
  });

  test('any-listeners: onAny in order, prependAny first, offAny, listenersAny; the outgoing ones too', async () => {
    const s = await connected(open(env.server.url));
    const seen = [];
    const first = (event, ...args) => seen.push(`any ${event} ${args.join(',')}`);
    const before = (event) => seen.push(`prepended ${event}`);
    s.onAny(first);
    s.prependAny(before);
    assert.deepEqual(s.listenersAny(), [before, first]);
    const out = (event, ...args) => seen.push(`out ${event} ${args.length}`);
    const outFirst = (event) => seen.push(`out first ${event}`);
    s.onAnyOutgoing(out);
    s.prependAnyOutgoing(outFirst);
    assert.deepEqual(s.listenersAnyOutgoing(), [outFirst, out]);
    const got = new Promise((r) => s.once('news', r));
    await s.emitWithAck('emit', { rooms: [s.id] }, 'news', 1, 2);
    await got;
    assert.deepEqual(seen, ['out first emit', 'out emit 4', 'prepended news', 'any news 1,2']);
    s.offAny(before);
    s.offAnyOutgoing();
    assert.deepEqual(s.listenersAny(), [first]);
    assert.deepEqual(s.listenersAnyOutgoing(), []);
    seen.length = 0;
    const again = new Promise((r) => s.once('news', r));
    await s.emitWithAck('emit', { rooms: [s.id] }, 'news', 3);
    await again;
    assert.deepEqual(seen, ['any news 3']);
  });

  test("socket.io.opts: the options given, path defaulted; the manager's reconnection settings", async () => {
    const s = open(env.server.url, { reconnectionDelay: 300, timeout: 5000 });
    assert.equal(s.io.opts.path, '/socket.io');
    assert.deepEqual(s.io.opts.transports, ['websocket']);
    assert.equal(s.io.opts.reconnectionDelay, 300);
    assert.equal(s.io.reconnection(), false);
    assert.equal(s.io.reconnectionDelay(), 300);
    assert.equal(s.io.reconnectionDelayMax(), 5000);
    assert.equal(s.io.randomizationFactor(), 0.5);
    assert.equal(s.io.timeout(), 5000);
    assert.equal(s.io.reconnectionAttempts(), Infinity);
    assert.equal(s.io.reconnectionAttempts(3), s.io); // setters chain
    assert.equal(s.io.reconnectionAttempts(), 3);
    await connected(s);
  });

  test("socket.io.engine's packet, packetCreate and close events", async () => {
    const s = await connected(open(env.server.url));
    const incoming = [];
    const outgoing = [];
    const onPacket = (p) => incoming.push(p);
    const onCreate = (p) => outgoing.push(p);
    s.io.engine.on('packet', onPacket);
    s.io.engine.on('packetCreate', onCreate);
    assert.equal(await s.emitWithAck('echo', 'hi'), 'hi');
    s.io.engine.off('packet', onPacket);
    s.io.engine.off('packetCreate', onCreate);
    assert.deepEqual(outgoing.filter((p) => p.type === 'message').map((p) => p.data.replace(/^2\d+/, '2')), ['2["echo","hi"]']);
    assert.deepEqual(incoming.filter((p) => p.type === 'message').map((p) => p.data.replace(/^3\d+/, '3')), ['3["hi"]']);
    const closed = new Promise((r) => s.io.engine.once('close', r));
    s.disconnect();
    assert.equal(await closed, 'forced close');
  });
  return { cases, opened };
}
