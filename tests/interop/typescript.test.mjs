// The WASM client's TypeScript declarations (wasm-client/js/client.d.mts, built beside client.mjs):
// socket.io-client's documented usage compiles against them with `tsc --strict`, and what
// socket.io-client's types refuse is refused (tests/interop/typescript/usage.mts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { root } from '../server/harness.mjs';

test('socket.io-client usage type-checks against client.d.mts', () => {
  assert.ok(existsSync(join(root, 'build', 'wasm', 'switchboard', 'client.d.mts')), 'built beside client.mjs');
  const tsc = spawnSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', join(root, 'tests', 'interop', 'typescript')], { encoding: 'utf8', timeout: 120000 });
  assert.equal(tsc.status, 0, tsc.stdout + tsc.stderr);
});
