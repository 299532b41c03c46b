// The native load generator works against both bench servers (a smoke run; scripts/bench measures).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startServer, build } from './harness.mjs';

const run = promisify(execFile);

for (const name of ['bench', 'referenceBench']) {
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
