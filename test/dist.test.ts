// The JavaScript build (scripts/build.ts) and how code finds it (src/dist.ts).
// The build under test goes to a directory of its own, so tests that run
// bin/failover.js at the same time keep using dist/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtFileOf, distEntryPoints, runningBuilt } from '../src/dist.ts';
import { buildDist, requireBanner } from '../scripts/build.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

test('an entry point maps to its file in dist/; anything else is refused', () => {
  assert.equal(fileURLToPath(builtFileOf(new URL('../src/node/watchdog-process.ts', import.meta.url))), path.join(root, 'dist/node/watchdog-process.js'));
  assert.equal(fileURLToPath(builtFileOf(new URL('../src/cli/main.ts', import.meta.url))), path.join(root, 'dist/cli/main.js'));
  assert.throws(() => builtFileOf(new URL('../src/cli/kit.ts', import.meta.url)), /listed in distEntryPoints/);
  assert.throws(() => builtFileOf(new URL('./dist.test.ts', import.meta.url)), /under/);
});

test('the TypeScript run through tsx knows it is not the build', () => {
  assert.equal(runningBuilt, false);
});

test('the build: every entry point, source maps to the .ts files, import.meta.url naming the source, and a command that runs', { timeout: 120_000 }, async () => {
  // Inside the repository (its tmp/ is ignored by git), so the bundles find node_modules as dist/ does.
  mkdirSync(path.join(root, 'tmp'), { recursive: true });
  const out = mkdtempSync(path.join(root, 'tmp', 'dist-test-'));
  try {
    const { files } = await buildDist(out);
    for (const entry of distEntryPoints) assert.ok(existsSync(path.join(out, entry.replace(/\.ts$/, '.js'))), `${entry} was built`);
    const texts = files.map((f) => readFileSync(path.join(root, f), 'utf8'));
    // Only the banner (require for the bundled CommonJS) uses the built file's own URL.
    assert.ok(texts.every((t) => t.startsWith(requireBanner) && !t.slice(requireBanner.length).includes('import.meta.url') && !t.includes('FAILOVER_BUILT')), 'import.meta.url and FAILOVER_BUILT are replaced everywhere');
    assert.ok(texts.some((t) => t.includes(JSON.stringify(pathToFileURL(path.join(root, 'src/console/routes.ts')).href))), "the console's routes find web/ next to their source");

    const mainJs = path.join(out, 'cli/main.js');
    const map = JSON.parse(readFileSync(`${mainJs}.map`, 'utf8')) as { sources: string[] };
    const sources = map.sources.map((s) => path.resolve(path.dirname(mainJs), s));
    assert.ok(sources.includes(path.join(root, 'src/cli/main.ts')), `the map names src/cli/main.ts: ${map.sources.slice(0, 3).join(', ')}`);
    assert.ok(sources.filter((s) => !s.includes('node_modules')).every((s) => s.endsWith('.ts') && existsSync(s)), 'every source in the map is a .ts file that exists');

    const help = spawnSync(process.execPath, ['--enable-source-maps', mainJs, '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: failover/);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
