// The native load generator works against every bench server: ours, the floor (bench/floor), the Node.js
// reference and the same on uWebSockets.js (a smoke run; scripts/bench measures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startServer, build } from './harness.mjs';

const run = promisify(execFile);

for (const name of ['bench', 'floor', 'referenceBench', 'referenceUws']) {
  test(`loadgen echo against ${name}: every client connects, round trips are counted`, async () => {
    const server = await startServer(name, []);
    try {
      const { stdout } = await run(join(build, 'bench', 'loadgen'),
        ['--url', server.url, '--clients', '8', '--inflight', '4', '--seconds', '0.5', '--pid', String(server.proc.pid)]);
      const r = JSON.parse(stdout);
      assert.equal(r.connected, 8);
      assert.equal(r.failed, 0);
      assert.ok(r.round_trips > 100, `${r.round_trips} round trips`);
      assert.ok(r.p50_us > 0 && r.p99_us >= r.p50_us);
      assert.ok(r.server_cpu_us_per_op > 0);
    } finally {
      await server.stop();
    }
  });

  test(`loadgen churn against ${name}: sessions come and go, none fails`, async () => {
    const server = await startServer(name, []);
    try {
      const { stdout } = await run(join(build, 'bench', 'loadgen'), ['--url', server.url, '--scenario', 'churn',
        '--clients', '4', '--seconds', '0.5', '--pid', String(server.proc.pid)]);
      const r = JSON.parse(stdout);
      assert.ok(r.sessions > 20, `${r.sessions} sessions`);
      assert.equal(r.failed, 0);
      assert.ok(r.rss_before_kib > 0 && r.rss_after_kib > 0);
    } finally {
      await server.stop();
    }
  });

  test(`loadgen idle against ${name}: connections held through heartbeats, memory per connection read`, async () => {
    const server = await startServer(name, ['--ping-interval', '300']);
    try {
      const { stdout } = await run(join(build, 'bench', 'loadgen'), ['--url', server.url, '--scenario', 'idle',
        '--clients', '300', '--seconds', '1', '--pid', String(server.proc.pid)]);
      const r = JSON.parse(stdout);
      assert.equal(r.connected, 300);
      assert.equal(r.dropped, 0);
      assert.ok(r.pings_per_conn >= 2, `${r.pings_per_conn} pings per connection in 1 s at 300 ms`);
      // The server's memory was read at each step (after a warm-up churn, a small crowd may fit in
      // what the warm-up left, so the figure per connection is not asserted to be positive).
      assert.ok(r.rss_before_kib > 0 && r.rss_connected_kib > 0 && r.rss_held_kib > 0 && r.connects_per_s > 0);
      for (const key of ['rss_per_conn_bytes', 'anon_per_conn_bytes', 'held_per_conn_bytes'])
        assert.ok(Number.isFinite(r[key]), `${key}: ${r[key]}`);
    } finally {
      await server.stop();
    }
  });

  test(`loadgen paced echo and flat-out fanout against ${name}`, async () => {
    const server = await startServer(name, []);
    try {
      const paced = JSON.parse((await run(join(build, 'bench', 'loadgen'), ['--url', server.url, '--clients', '10',
        '--rate', '500', '--seconds', '1', '--pid', String(server.proc.pid)])).stdout);
      assert.ok(Math.abs(paced.rate - 500) < 50, `${paced.rate} round trips/s at a pace of 500`);
      const flat = JSON.parse((await run(join(build, 'bench', 'loadgen'), ['--url', server.url, '--scenario', 'fanout',
        '--clients', '20', '--window', '5', '--seconds', '0.5', '--pid', String(server.proc.pid)])).stdout);
      assert.ok(flat.sent > 5, `${flat.sent} broadcasts`);
      assert.equal(flat.deliveries, flat.sent * 20);
      assert.equal(flat.lost, 0);
    } finally {
      await server.stop();
    }
  });

  test(`loadgen fanout against ${name}: every receiver gets every broadcast`, async () => {
    const server = await startServer(name, []);
    try {
      const { stdout } = await run(join(build, 'bench', 'loadgen'), ['--url', server.url, '--scenario', 'fanout',
        '--clients', '20', '--rate', '50', '--seconds', '0.5', '--pid', String(server.proc.pid)]);
      const r = JSON.parse(stdout);
      assert.equal(r.connected, 21);
      assert.ok(r.sent > 5, `${r.sent} broadcasts`);
      assert.equal(r.deliveries, r.sent * 20);
      assert.equal(r.lost, 0);
    } finally {
      await server.stop();
    }
  });
}
