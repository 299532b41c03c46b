// What the cluster suites start besides our binaries: Debian's redis-server and nginx, on loopback
// ports, stopped by the tests.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, sleep } from '../server/harness.mjs';

const reachable = (port) => new Promise((resolve) => {
  const s = connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
  s.on('error', () => resolve(false));
});

/// Spawns `command` listening on a random port (`args(port)`), retrying elsewhere when the port is taken.
async function listening(command, args) {
  for (let attempt = 0; attempt < 10; ++attempt) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const proc = spawn(command, args(port), { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((r) => proc.once('exit', () => r(false)));
    for (let i = 0; i < 100; ++i) {
      if (await Promise.race([reachable(port), exited])) return { proc, port };
      if (proc.exitCode !== null) break;
      await sleep(50);
    }
    proc.kill('SIGKILL');
    if (attempt === 9) throw new Error(`${command} did not start: ${stderr}`);
  }
  throw new Error(`${command} did not start`);
}

async function kill(proc) {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const gone = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await gone;
}

/// redis-server on 127.0.0.1 and a free port; restart() brings it back on the same port.
export async function startRedis() {
  const args = (port) => ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  let { proc, port } = await listening('redis-server', args);
  return {
    url: () => `redis://127.0.0.1:${port}`,
    stop: () => kill(proc),
    async restart() {
      await kill(proc);
      proc = spawn('redis-server', args(port), { stdio: 'ignore' });
      for (let i = 0; i < 100 && !(await reachable(port)); ++i) await sleep(50);
      assert.ok(await reachable(port), 'redis-server restarted');
    },
  };
}

/// nginx in front of `upstreams` (host:port), with examples/nginx/chat-cluster.conf.
export async function startNginx(upstreams) {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-nginx-'));
  const template = readFileSync(join(root, 'examples', 'nginx', 'chat-cluster.conf'), 'utf8');
  const { proc, port } = await listening('nginx', (p) => {
    writeFileSync(join(dir, 'nginx.conf'), template.replaceAll('{{DIR}}', dir).replaceAll('{{LISTEN}}', `127.0.0.1:${p}`)
      .replaceAll('{{NODE_A}}', upstreams[0]).replaceAll('{{NODE_B}}', upstreams[1]));
    return ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  });
  return {
    url: `http://127.0.0.1:${port}`,
    async stop() {
      await kill(proc);
      // What nginx said (warn and above), for a failed test's log: the directory goes with it.
      let said = '';
      try { said = readFileSync(join(dir, 'error.log'), 'utf8').trim(); } catch { /* never written */ }
      if (said) console.error(`nginx error.log:\n${said}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
