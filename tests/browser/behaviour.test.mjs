// socket.io-client 4.8's behaviour (tests/interop/behaviour-cases.mjs) in Debian's Chromium, for the
// official client (its ESM build) and ours, with the same assertions as under Node. The page comes from
// our test server; the cases ask this side to start and stop servers (exposed functions).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { chromiumOptions } from './chromium.mjs';
import { root, startServer } from '../server/harness.mjs';
import { behaviourCases } from '../interop/behaviour-cases.mjs';

// Polling from the page to a server of another port is a cross-origin request.
const withCors = (binary, args) => (binary === 'fixture' ? [...args, '--cors-origin', '*'] : args);

let dir;
let server;
let reference;
let context;
let page;
const started = new Map(); // the servers the cases started, by id
let nextId = 1;
const problems = [];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'switchboard-behaviour-'));
  copyFileSync(join(root, 'tests', 'browser', 'behaviour', 'page.html'), join(dir, 'index.html'));
  copyFileSync(join(root, 'tests', 'browser', 'behaviour', 'assert.mjs'), join(dir, 'assert.mjs'));
  copyFileSync(join(root, 'tests', 'interop', 'behaviour-cases.mjs'), join(dir, 'behaviour-cases.mjs'));
  copyFileSync(join(root, 'node_modules', 'socket.io-client', 'dist', 'socket.io.esm.min.js'), join(dir, 'socket.io.esm.min.js'));
  server = await startServer('fixture', withCors('fixture', ['--static', dir, '--client-dir', join(root, 'build', 'wasm', 'switchboard')]));
  reference = await startServer('reference', []);
  const profile = mkdtempSync(join(tmpdir(), 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, chromiumOptions);
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.exposeFunction('nodeStartServer', async (binary, args, port) => {
    const s = await startServer(binary, withCors(binary, args), {}, { port });
    const id = nextId++;
    started.set(id, s);
    return { id, url: s.url, port: s.port };
  });
  await page.exposeFunction('nodeStopServer', async (id) => {
    const s = started.get(id);
    started.delete(id);
    if (s) await s.stop();
  });
  await page.goto(`${server.url}/`);
  await page.waitForFunction(() => window.ready === true, null, { timeout: 20000 });
  await page.evaluate(([a, b]) => window.setup({ url: a }, { url: b }), [server.url, reference.url]);
});

after(async () => {
  await page?.evaluate(() => window.closeAll()).catch(() => {});
  await context?.close();
  for (const s of started.values()) await s.stop();
  await server?.stop();
  await reference?.stop();
  rmSync(dir, { recursive: true, force: true });
});

// The titles and skips, from the same module (its cases are not run here).
for (const name of ['socket.io-client', 'wasm client']) {
  const { cases } = behaviourCases({ name, inBrowser: true });
  describe(`${name} in Chromium`, () => {
    for (const c of cases) {
      test(c.title, { skip: c.skip }, async () => {
        const result = await page.evaluate(([client, title]) => window.runCase(client, title), [name, c.title]);
        assert.ok(result.ok, result.error);
      });
    }
  });
}

test('no page error escaped the cases', () => {
  assert.deepEqual(problems, []);
});

