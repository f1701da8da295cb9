// npm test: type-check the whole tree, build dist/, then run every test file with node:test.
// Services that tests need (etcd) are started here and stopped afterwards;
// the browser the console's tests drive (chromium) is installed if missing.
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { startTestRunEtcd } from './etcd.ts';
import { prepareTestRunChromium } from './chromium.ts';
import { prepareTestRunResourceAgents } from './resource-agents.ts';

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env });
  return r.status ?? 1;
}

/** Like run, but asynchronous, so a signal to this process can stop etcd while tests run. */
function runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'inherit', env });
    // If this process is told to stop, the tests stop too (etcd's own handler stops etcd and exits).
    const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward);
    child.on('error', () => resolve(1));
    child.on('exit', (code) => resolve(code ?? 1));
  });
}

console.log('type-check: tsc -p tsconfig.json');
if (run('node_modules/.bin/tsc', ['-p', 'tsconfig.json']) !== 0) process.exit(1);
// Tests that start the command (bin/failover.js) run the build, as users do; it must match the sources.
console.log('build: scripts/build.ts');
if (run(process.execPath, ['--import', 'tsx', 'scripts/build.ts']) !== 0) process.exit(1);

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test');
await prepareTestRunChromium();
await prepareTestRunResourceAgents();
const etcd = await startTestRunEtcd();
let code = 1;
try {
  code = await runAsync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files], { ...process.env, ...etcd.env });
} finally {
  await etcd.stop();
}
process.exit(code);
