// scripts/bench: every scenario against Switchboard (examples/bench), the floor (bench/floor: the least a
// server can do for the same work on this kernel), the Node.js reference (bench/reference/server.mjs)
// and the same reference on uWebSockets.js (--uws, where its prebuilt binary runs), in one run,
// alternating, server pinned to core 0 and the generator to core 1 (taskset). Prints JSON lines, then
// a side-by-side Markdown table with ratios: Switchboard ÷ floor, ÷ Node, ÷ Node on uWS.
//   scripts/bench [--quick] [--only echo,churn,...]   (cases: echo, echo-1, echo-paced, fanout, fanout-flat, churn, idle, idle-max,
//                                                      cluster-fanout, cluster-fanout-flat)
// The cluster cases run two nodes of each server on one redis-server (Switchboard --redis; Node on
// @socket.io/redis-adapter), all on core 0: receivers spread over both nodes, the sender on the first;
// the CPU per delivery is the two nodes' together. The floor has no cluster: those rows compare to Node.
import { spawn, execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { startServer, build } from '../tests/server/harness.mjs';
import { startRedis } from '../tests/cluster/infra.mjs';

const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt > 0 ? new Set(process.argv[onlyAt + 1].split(',')) : null;
const rounds = quick ? 1 : 3;
const seconds = quick ? '2' : '10';
const receivers = quick ? 200 : 1000;
const idleClients = quick ? 2000 : 10000;
// Every connection is a descriptor in the server and in the generator: the most this machine's
// per-process limit (ulimit -Hn) lets both hold, capped at the 50,000 the targets ask for.
const fdLimit = Number(execFileSync('sh', ['-c', 'ulimit -Hn']).toString().trim()) || 1024;
const maxIdle = Math.min(50000, Math.floor((fdLimit - 200) / 1000) * 1000);
const heartbeat = ['--ping-interval', quick ? '2000' : '10000']; // several heartbeats while idle
const idleHold = quick ? '5' : '30';
const cases = [
  { name: 'echo', args: ['--clients', '50', '--inflight', '16', '--seconds', seconds] },
  { name: 'echo-1', args: ['--clients', '50', '--inflight', '1', '--seconds', seconds] },
  { name: 'echo-paced', args: ['--clients', '50', '--rate', '10000', '--seconds', seconds] },
  { name: 'fanout', args: ['--scenario', 'fanout', '--clients', String(receivers), '--rate', '100', '--seconds', seconds] },
  { name: 'fanout-flat', args: ['--scenario', 'fanout', '--clients', String(receivers), '--window', '20', '--seconds', seconds] },
  { name: 'churn', args: ['--scenario', 'churn', '--clients', '20', '--seconds', seconds] },
  { name: 'cluster-fanout', cluster: true, args: ['--scenario', 'fanout', '--clients', String(receivers), '--rate', '100', '--seconds', seconds] },
  { name: 'cluster-fanout-flat', cluster: true, args: ['--scenario', 'fanout', '--clients', String(receivers), '--window', '20', '--seconds', seconds] },
  { name: 'idle', server: heartbeat, args: ['--scenario', 'idle', '--clients', String(idleClients), '--seconds', idleHold] },
  ...(quick ? [] : [{ name: 'idle-max', once: true, server: heartbeat, args: ['--scenario', 'idle', '--clients', String(maxIdle), '--seconds', idleHold] }]),
];
const servers = [
  { label: 'switchboard', name: 'bench' },
  { label: 'floor', name: 'floor', noCluster: true },
  // Plain is what `npm install socket.io` gives: ws without its optional native helpers.
  { label: 'node socket.io', name: 'referenceBench', env: { WS_NO_BUFFER_UTIL: '1', WS_NO_UTF_8_VALIDATE: '1' } },
  { label: 'node socket.io + uWS', name: 'referenceUws' },
];
// uWebSockets.js ships prebuilt binaries for some platforms and Node.js versions only: without one the
// reference on it is left out (said in the output), not replaced by its JavaScript fallback.
try {
  const probe = await startServer('referenceUws', []);
  await probe.stop();
} catch (e) {
  console.log(`# node socket.io + uWS left out: ${String(e.message).split('\n')[0]}`);
  servers.splice(servers.findIndex((s) => s.name === 'referenceUws'), 1);
}

const hasTaskset = (() => { try { execFileSync('taskset', ['-V']); return true; } catch { return false; } })();
const pinned = (core, command, args) => (hasTaskset ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

/// Runs the generator against `nodes` (one server, or the nodes of a cluster).
function loadgen(nodes, label, args) {
  const targets = nodes.flatMap((n, i) => (i === 0 ? ['--url', n.url, '--pid', String(n.proc.pid)] : ['--also-url', n.url, '--also-pid', String(n.proc.pid)]));
  const [command, argv] = pinned(1, join(build, 'bench', 'loadgen'), [...targets, '--label', label, ...args]);
  return new Promise((resolve, reject) => {
    const p = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => {
      try { resolve(JSON.parse(out)); } catch { reject(new Error(`loadgen exited ${code}: ${out}`)); }
    });
  });
}

const results = [];
for (let round = 0; round < rounds; round++) {
  for (const c of cases) {
    if ((c.once && round > 0) || (only && !only.has(c.name))) continue;
    for (const server of servers) {
      if (c.cluster && server.noCluster) continue;
      const redis = c.cluster ? await startRedis() : null;
      const started = [];
      try {
        const extra = redis ? ['--redis', redis.url()] : [];
        for (let i = 0; i < (c.cluster ? 2 : 1); ++i)
          started.push(await startServer(server.name, [...(c.server ?? []), ...extra], server.env ?? {}, { taskset: hasTaskset ? 0 : undefined }));
        const r = { case: c.name, ...(await loadgen(started, server.label, c.args)) };
        console.log(JSON.stringify(r));
        results.push(r);
      } finally {
        for (const s of started) await s.stop();
        await redis?.stop();
      }
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pick = (label, name, key) => median(results.filter((r) => r.server === label && r.case === name).map((r) => r[key]));
const rows = [
  ['echo: round trips/s (50 clients x 16 in flight)', 'echo', 'rate'],
  ['echo: server CPU µs per round trip', 'echo', 'server_cpu_us_per_op'],
  ['echo: latency p99 µs (16 in flight)', 'echo', 'p99_us'],
  ['echo, 50 clients x 1 in flight: round trips/s', 'echo-1', 'rate'],
  ['echo, 50 clients x 1 in flight: server CPU µs per round trip', 'echo-1', 'server_cpu_us_per_op'],
  ['echo at 10,000 round trips/s: latency p50 µs', 'echo-paced', 'p50_us'],
  ['echo at 10,000 round trips/s: latency p99 µs', 'echo-paced', 'p99_us'],
  ['echo at 10,000 round trips/s: server CPU µs per round trip', 'echo-paced', 'server_cpu_us_per_op'],
  [`fanout, ${receivers} receivers, 100 msg/s: server CPU µs per delivery`, 'fanout', 'server_cpu_us_per_op'],
  [`fanout, ${receivers} receivers, 100 msg/s: latency p99 µs`, 'fanout', 'p99_us'],
  [`fanout, ${receivers} receivers, 100 msg/s: lost deliveries`, 'fanout', 'lost'],
  [`fanout flat out, ${receivers} receivers: deliveries/s`, 'fanout-flat', 'deliveries_per_s'],
  [`fanout flat out, ${receivers} receivers: server CPU µs per delivery`, 'fanout-flat', 'server_cpu_us_per_op'],
  [`fanout flat out, ${receivers} receivers: lost deliveries`, 'fanout-flat', 'lost'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers over both, 100 msg/s: server CPU µs per delivery (both nodes)`, 'cluster-fanout', 'server_cpu_us_per_op'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers over both, 100 msg/s: latency p99 µs`, 'cluster-fanout', 'p99_us'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers over both, 100 msg/s: lost deliveries`, 'cluster-fanout', 'lost'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers, flat out: deliveries/s`, 'cluster-fanout-flat', 'deliveries_per_s'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers, flat out: server CPU µs per delivery (both nodes)`, 'cluster-fanout-flat', 'server_cpu_us_per_op'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers, flat out: latency p99 µs`, 'cluster-fanout-flat', 'p99_us'],
  [`cluster of 2 nodes on Redis, ${receivers} receivers, flat out: lost deliveries`, 'cluster-fanout-flat', 'lost'],
  ['churn: sessions/s (20 lanes: connect, one ack\'d echo, disconnect)', 'churn', 'sessions_per_s'],
  ['churn: server RSS KiB fresh (before any connection)', 'churn', 'rss_fresh_kib'],
  ['churn: server RSS KiB after a 1 s warm-up churn (settled 1 s)', 'churn', 'rss_before_kib'],
  ['churn: server RSS KiB after the measured churn (settled 1 s)', 'churn', 'rss_after_kib'],
  [`idle, ${idleClients} connections: connects/s`, 'idle', 'connects_per_s'],
  [`idle, ${idleClients} connections: server RSS bytes per connection (after a 1 s warm-up churn)`, 'idle', 'rss_per_conn_bytes'],
  [`idle, ${idleClients} connections: server anonymous RSS bytes per connection (heap, no code)`, 'idle', 'anon_per_conn_bytes'],
  [`idle, ${idleClients} connections: server RSS bytes per connection at the end of the hold (after heartbeats)`, 'idle', 'held_per_conn_bytes'],
  [`idle, ${idleClients} connections: server CPU % at rest (heartbeats)`, 'idle', 'server_cpu_pct_at_rest'],
  [`idle, ${idleClients} connections: connections dropped`, 'idle', 'dropped'],
  ...(quick ? [] : [
    [`idle, ${maxIdle} connections: server RSS bytes per connection (after a 1 s warm-up churn)`, 'idle-max', 'rss_per_conn_bytes'],
    [`idle, ${maxIdle} connections: server anonymous RSS bytes per connection (heap, no code)`, 'idle-max', 'anon_per_conn_bytes'],
    [`idle, ${maxIdle} connections: server RSS bytes per connection at the end of the hold (after heartbeats)`, 'idle-max', 'held_per_conn_bytes'],
    [`idle, ${maxIdle} connections: server CPU % at rest (heartbeats)`, 'idle-max', 'server_cpu_pct_at_rest'],
    [`idle, ${maxIdle} connections: connections dropped`, 'idle-max', 'dropped'],
  ]),
];
const others = servers.filter((s) => s.label !== 'switchboard');
console.log(`\n| figure | Switchboard | ${others.map((s) => s.label).join(' | ')} | ${others.map((s) => `÷ ${s.label}`).join(' | ')} |`);
console.log(`|---|---|${others.map(() => '---|').join('')}${others.map(() => '---|').join('')}`);
for (const [title, name, key] of rows) {
  if (only && !only.has(name)) continue;
  const ours = pick('switchboard', name, key);
  const theirs = others.map((s) => pick(s.label, name, key));
  const ratios = theirs.map((t) => (t ? (ours / t).toFixed(2) : '—'));
  console.log(`| ${title} | ${ours ?? '—'} | ${theirs.map((t) => t ?? '—').join(' | ')} | ${ratios.join(' | ')} |`);
}
console.log(`\n${rounds} round(s), median; ${hasTaskset ? 'server on core 0, generator on core 1' : 'no taskset: unpinned'}; ` +
  `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}); open files limit ${fdLimit}; ${new Date().toISOString().slice(0, 10)}`);
process.exit(0);
