// scripts/bench: every scenario against Switchboard (examples/bench) and the Node.js reference
// (bench/reference/server.mjs) in one run, alternating, server pinned to core 0 and the generator to
// core 1 (taskset). Prints JSON lines, then a side-by-side Markdown table with ratios.
//   scripts/bench [--quick]
import { spawn, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { startServer, root, build } from '../tests/server/harness.mjs';

const quick = process.argv.includes('--quick');
const rounds = quick ? 1 : 3;
const scenarios = [
  { name: 'echo', args: ['--clients', '50', '--inflight', '16', '--seconds', quick ? '2' : '10'] },
  { name: 'fanout', args: ['--scenario', 'fanout', '--clients', quick ? '200' : '1000', '--rate', '100', '--seconds', quick ? '2' : '10'] },
  { name: 'churn', args: ['--scenario', 'churn', '--clients', '20', '--seconds', quick ? '2' : '10'] },
];
const servers = [
  { label: 'switchboard', name: 'bench' },
  { label: 'node socket.io', name: 'referenceBench' },
];

const hasTaskset = (() => { try { execFileSync('taskset', ['-V']); return true; } catch { return false; } })();
const pinned = (core, command, args) => (hasTaskset ? ['taskset', ['-c', String(core), command, ...args]] : [command, args]);

function loadgen(url, pid, label, args) {
  const [command, argv] = pinned(1, join(build, 'bench', 'loadgen'), ['--url', url, '--pid', String(pid), '--label', label, ...args]);
  return new Promise((resolve, reject) => {
    const p = spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    p.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`loadgen exited ${code}: ${out}`))));
  });
}

const results = [];
for (let round = 0; round < rounds; round++) {
  for (const scenario of scenarios) {
    for (const server of servers) {
      const s = await startServer(server.name, [], {}, { taskset: hasTaskset ? 0 : undefined });
      try {
        const r = await loadgen(s.url, s.proc.pid, server.label, scenario.args);
        console.log(JSON.stringify(r));
        results.push(r);
      } finally {
        await s.stop();
      }
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const pick = (label, scenario, key) => median(results.filter((r) => r.server === label && r.scenario === scenario).map((r) => r[key]));
const receivers = quick ? 200 : 1000;
const rows = [
  ['echo: round trips/s (50 clients x 16 in flight)', 'echo', 'rate'],
  ['echo: server CPU µs per round trip', 'echo', 'server_cpu_us_per_op'],
  ['echo: latency p50 µs', 'echo', 'p50_us'],
  ['echo: latency p99 µs', 'echo', 'p99_us'],
  [`fanout: deliveries/s (${receivers} receivers, 100 msg/s)`, 'fanout', 'deliveries_per_s'],
  ['fanout: server CPU µs per delivery', 'fanout', 'server_cpu_us_per_op'],
  ['fanout: latency p50 µs', 'fanout', 'p50_us'],
  ['fanout: latency p99 µs', 'fanout', 'p99_us'],
  ['fanout: lost deliveries', 'fanout', 'lost'],
  ['churn: sessions/s (20 lanes: connect, one ack\'d echo, disconnect)', 'churn', 'sessions_per_s'],
  ['churn: server RSS KiB before', 'churn', 'rss_before_kib'],
  ['churn: server RSS KiB after (settled 1 s)', 'churn', 'rss_after_kib'],
];
console.log(`\n| figure | Switchboard | Node.js socket.io 4.8 | ratio (ours / theirs) |`);
console.log('|---|---|---|---|');
for (const [title, scenario, key] of rows) {
  const ours = pick('switchboard', scenario, key);
  const theirs = pick('node socket.io', scenario, key);
  const ratio = theirs ? (ours / theirs).toFixed(2) : '—';
  console.log(`| ${title} | ${ours} | ${theirs} | ${ratio} |`);
}
console.log(`\n${rounds} round(s), median; ${hasTaskset ? 'server on core 0, generator on core 1' : 'no taskset: unpinned'}; ${new Date().toISOString().slice(0, 10)}`);
process.exit(0);
