// The native client's C++ API (tests/client/native_client_test.cpp, Catch2) against each server we can
// run here: ours, the official Node.js socket.io 4.8 and python-socketio 5, all with the interop handlers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { binaries, sanitizerEnv, startServer } from '../server/harness.mjs';

const servers = { switchboard: 'fixture', 'node socket.io': 'reference', 'python-socketio': 'python' };

for (const [serverName, binary] of Object.entries(servers)) {
  test(`native client API x ${serverName}`, async () => {
    const server = await startServer(binary);
    try {
      const result = await new Promise((resolve) => {
        execFile(binaries.nativeClientTests, ['--use-colour', 'no'], {
          env: { ...process.env, ...sanitizerEnv, SWITCHBOARD_TEST_URL: server.url }, timeout: 120000,
        }, (error, stdout, stderr) => resolve({ code: error ? error.code ?? error.signal : 0, stdout, stderr }));
      });
      assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
      assert.match(result.stdout, /All tests passed \(\d+ assertions in 11 test cases\)/);
      // The one handler that throws on purpose is reported, and nothing else is.
      assert.deepEqual(result.stderr.match(/\[error\].*/g), ['[error] switchboard client: event handler threw: handler bug']);
    } finally {
      await server.stop();
    }
  });
}
