// What the command line loads before it does anything: `failover --help` and a
// cluster command's help must not load the REST server, etcd's client, the
// mail stack or the other heavy packages (they cost most of a second at every
// start; see src/cli/main.ts). The child records every module it resolves
// through a loader hook, so a static import anywhere on the path shows up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin/failover.js');

/** Packages the help and the cluster commands must not load. */
const heavyPackages = ['etcd3', 'fastify', '@fastify/swagger', 'smtp-server', 'nodemailer', 'yaml'];

/** Loader hooks (run in the loader's thread): append each resolved URL to the file named in the data. */
const recorderHooks = `
import { appendFileSync } from 'node:fs';
let file;
export function initialize(data) { file = data.file; }
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(file, resolved.url + '\\n');
  return resolved;
}`;
/** Preloaded with --import: registers the hooks before the program's first import. */
const recorder = (file: string): string =>
  `data:text/javascript,${encodeURIComponent(
    `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(recorderHooks)}`)}, { data: { file: ${JSON.stringify(file)} } });`,
  )}`;

interface Loaded {
  code: number | null;
  out: string;
  /** Every module URL the child resolved. */
  urls: string[];
  /** The packages whose modules the child resolved. */
  packages: Set<string>;
}

async function loadedBy(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Loaded> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'failover-startup-'));
  try {
    const file = path.join(dir, 'resolved.txt');
    const child = spawn(process.execPath, ['--import', recorder(file), ...args], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.ok(code !== null, `the child ended by a signal: ${err}`);
    const urls = readFileSync(file, 'utf8').split('\n').filter((u) => u !== '');
    const packages = new Set<string>();
    for (const url of urls) {
      const m = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
      if (m) packages.add(m[1]!);
    }
    return { code, out: out + err, urls, packages };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function assertLight(run: Loaded): void {
  // The recorder works: the program's main module (built or not) shows up.
  assert.ok(run.urls.some((u) => /\/(dist|src)\/cli\/main\.(js|ts)$/.test(u)), `the main module was not recorded; recorded: ${run.urls.join(', ')}`);
  const heavy = heavyPackages.filter((p) => run.packages.has(p));
  assert.deepEqual(heavy, [], `loaded ${heavy.join(', ')}; import it inside the command's action instead (see src/cli/main.ts)`);
}

test('failover --help lists every command without loading the server, etcd, mail or YAML', async () => {
  const run = await loadedBy([bin, '--help']);
  assert.equal(run.code, 0, run.out);
  for (const command of ['up', 'status', 'node', 'group', 'resource', 'type', 'db', 'events', 'apply', 'export', 'validate', 'log', 'mailbox', 'agent', 'simulate']) {
    assert.match(run.out, new RegExp(`^  ${command} `, 'm'), `--help lists ${command}`);
  }
  assertLight(run);
});

test('failover status --help and group list --help load none of them either', async () => {
  for (const args of [['status', '--help'], ['group', 'list', '--help']]) {
    const run = await loadedBy([bin, ...args]);
    assert.equal(run.code, 0, run.out);
    assert.match(run.out, /--cluster <url>/);
    assertLight(run);
  }
});

test('failover status and group list run on the HTTP client alone', async () => {
  // Nothing listens on the discard port of loopback: the command connects, fails, and says so (exit 5).
  for (const args of [['status'], ['group', 'list', '--json']]) {
    const run = await loadedBy([bin, ...args, '--cluster', 'http://127.0.0.1:9'], { FAILOVER_TOKEN: 'unused' });
    assert.equal(run.code, 5, run.out);
    assert.match(run.out, /ERROR_CLUSTER_NODE_UNREACHABLE|5051/);
    assertLight(run);
  }
});

test('the help of the heavy commands is there without loading them', async () => {
  const run = await loadedBy([bin, 'mailbox', 'send', '--help']);
  assert.equal(run.code, 0, run.out);
  assert.match(run.out, /Send a message to a server over SMTP/);
  assertLight(run);
});

test('the recorder sees a heavy package that is imported', async () => {
  const main = new URL('../../src/cli/main.ts', import.meta.url).href;
  // Resolves the main module (without running it: the import fails for want of tsx) and loads nodemailer.
  const program = `await import(${JSON.stringify(main)}).catch(() => {}); await import(${JSON.stringify(import.meta.resolve('nodemailer'))});`;
  const run = await loadedBy(['--import', `data:text/javascript,${encodeURIComponent(program)}`, '-e', '0']);
  assert.equal(run.code, 0, run.out);
  assert.ok(run.packages.has('nodemailer'));
  assert.throws(() => assertLight(run), /loaded nodemailer/);
});
