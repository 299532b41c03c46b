// Starts our binaries for the Node.js tests: a real process on a free loopback port, stopped by the
// test. Nothing here talks the protocol; the tests use the official clients or raw HTTP/WebSocket.
import { spawn } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const build = process.env.SWITCHBOARD_BUILD ?? join(root, 'build', 'native');
// The sanitizer builds (SWITCHBOARD_BUILD=build/asan, ASan+UBSan; build/tsan, ThreadSanitizer): slower,
// and their RSS is no measure of leaks. A report from either fails the test that stops the server.
export const sanitized = /asan|tsan/.test(build);
// TSan's suppressions (tests/tsan-suppressions.txt says why each is there), for every process a test starts.
export const sanitizerEnv = /tsan/.test(build) ? { TSAN_OPTIONS: `suppressions=${join(root, 'tests', 'tsan-suppressions.txt')}` } : {};
const sanitizerReport = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|WARNING: ThreadSanitizer|runtime error:/;
export const binaries = {
  echo: join(build, 'examples', 'echo'),
  switchboard: join(build, 'server', 'switchboard'),
  fixture: join(build, 'tests', 'server', 'sio_fixture'),
  hello: join(root, 'build', 'install-user', 'hello_switchboard'), // tests/install, built by scripts/test
  installed: join(root, 'build', 'install-check', 'bin', 'switchboard'), // the binary, installed by scripts/test
  reference: [process.execPath, join(root, 'tests', 'interop', 'reference-server.mjs')], // Node socket.io 4.8
  bench: join(build, 'examples', 'bench'),
  cluster: join(build, 'examples', 'cluster'),
  nodeTwin: [process.execPath, join(root, 'tests', 'cluster', 'node-twin.mjs')], // Node socket.io on the Redis adapter
  referenceBench: [process.execPath, join(root, 'bench', 'reference', 'server.mjs')], // the benchmarks' reference
  referenceUws: [process.execPath, join(root, 'bench', 'reference', 'server.mjs'), '--uws'], // the same on uWebSockets.js
  floor: join(build, 'bench', 'floor'), // the least a server can do for the benchmarks' work (bench/floor)
  python: ['/usr/bin/python3', join(root, 'tests', 'interop', 'python-server.py')], // python-socketio 5 (Debian's)
  cli: join(build, 'native-client', 'switchboard-cli'), // the native client's command line
  nativeClientTests: join(build, 'tests', 'client', 'native_client_tests'), // its API, against a live server
};

// SWITCHBOARD_TEST_THREADS=N runs every server of a suite with N I/O threads.
const threadArgs = process.env.SWITCHBOARD_TEST_THREADS ? ['--threads', process.env.SWITCHBOARD_TEST_THREADS] : [];

// A fixed `port` lets a test restart a server where its clients expect it.
export async function startServer(name, args = [], env = {}, { port: fixedPort = 0, taskset } = {}) {
  let [command, ...leading] = [binaries[name]].flat();
  if (taskset !== undefined) { // pinned to one core (the benchmarks)
    leading = ['-c', String(taskset), command, ...leading];
    command = 'taskset';
  }
  const threads = ['reference', 'referenceBench', 'referenceUws', 'floor', 'nodeTwin', 'python'].includes(name) ? [] : threadArgs;
  // The chat's database goes to a temporary file unless the test names one.
  const chat = name === 'switchboard' || name === 'installed';
  const db = chat && !args.includes('--db') ? { SWITCHBOARD_DB: join(tmpdir(), `switchboard-test-${process.pid}-${Date.now()}.db`) } : {};
  // The chat keeps connection state recovery's sessions in a database too: one per server started here.
  const recoveryDb = chat && !args.includes('--recovery-db') ? { SWITCHBOARD_RECOVERY_DB: join(tmpdir(), `switchboard-test-recovery-${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2)}.db`) } : {};
  const proc = spawn(command, [...leading, '--port', String(fixedPort), ...threads, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...sanitizerEnv, ...db, ...recoveryDb, ...env } });
  let output = '';
  let scheme = 'http';
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start: ${output}`)), 10000);
    proc.stdout.on('data', (chunk) => {
      output += chunk;
      const m = /listening on (https?):\/\/[^:]+:(\d+)/.exec(output);
      if (m) { clearTimeout(timer); scheme = m[1]; resolve(Number(m[2])); }
    });
    proc.stderr.on('data', (chunk) => { output += chunk; });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`${name} exited (${code}): ${output}`)); });
  });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  // The recovery database made here is this process's alone: gone with it (also after a kill -9).
  if (recoveryDb.SWITCHBOARD_RECOVERY_DB)
    proc.on('exit', () => { for (const suffix of ['', '-wal', '-shm']) rmSync(recoveryDb.SWITCHBOARD_RECOVERY_DB + suffix, { force: true }); });
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    proc,
    exited,
    output: () => output,
    rssKiB: () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'))[1]),
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      const status = await exited;
      if (db.SWITCHBOARD_DB) for (const suffix of ['', '-wal', '-shm']) rmSync(db.SWITCHBOARD_DB + suffix, { force: true });
      // The report itself, not the log lines after it.
      const report = output.search(sanitizerReport);
      if (report >= 0) throw new Error(`${name}: sanitizer report\n${output.slice(report, report + 8000)}`);
      return status;
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(predicate, ms = 5000, what = 'condition') {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await predicate()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}
