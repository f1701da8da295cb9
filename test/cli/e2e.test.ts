// End to end: the real CLI as a subprocess against a real `failover up` (three
// nodes on the embedded store, API on a random loopback port, the sample
// configuration). If `failover up` does not start, or its sample groups do not
// come online, these tests fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.join(root, 'bin', 'failover.js');
const UP_START_TIMEOUT_MS = 60_000;
const COMMAND_TIMEOUT_MS = 60_000;
/** The sample groups must be online within about a minute of `up` printing its address. */
const SAMPLE_ONLINE_POLL_INTERVAL_MS = 500;
const SAMPLE_ONLINE_POLLS_MAX = 120;

let dir = '';
let up: ChildProcess | undefined;
let apiUrl: string | undefined;

interface Run {
  code: number | null;
  out: string;
  err: string;
}

function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args, '--data-dir', path.join(dir, 'data')], {
      cwd: dir,
      env: { ...process.env, FAILOVER_URL: '', FAILOVER_TOKEN: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`failover ${args.join(' ')} did not finish within ${COMMAND_TIMEOUT_MS} ms\n${out}\n${err}`));
    }, COMMAND_TIMEOUT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  // A loopback address of its own for the sample mailbox server, so concurrent clusters never collide.
  const sampleAddress = `127.77.${1 + Math.floor(Math.random() * 250)}.${1 + Math.floor(Math.random() * 250)}`;
  const child = spawn(process.execPath, [bin, 'up', '--nodes', '3', '--port', '0', '--sample-address', sampleAddress, '--data-dir', path.join(dir, 'data')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  up = child;
  let output = '';
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  apiUrl = await new Promise<string | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), UP_START_TIMEOUT_MS);
    child.stdout!.on('data', (d: Buffer) => {
      output += d.toString();
      const m = /^API: (\S+)/m.exec(output);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  // Every test below needs the cluster: a `failover up` that does not start fails them all.
  if (!apiUrl) throw new Error(`failover up did not print its API address within ${UP_START_TIMEOUT_MS} ms (exit code ${child.exitCode}):\n${output}`);
});

after(async () => {
  if (up && up.exitCode === null) {
    const exited = new Promise((r) => up!.once('exit', r));
    up.kill('SIGINT'); // `up` stops resources in order on Ctrl-C
    const killTimer = setTimeout(() => up?.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(killTimer);
  }
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test('e2e: up wrote api.json with mode 0600; list shows the nodes and the sample groups', async () => {
  assert.equal(fs.statSync(path.join(dir, 'data', 'api.json')).mode & 0o777, 0o600);
  const nodes = await cli(['node', 'list', '--json']);
  assert.equal(nodes.code, 0, nodes.err);
  assert.equal(JSON.parse(nodes.out).length, 3);
  const groups = await cli(['group', 'list']);
  assert.equal(groups.code, 0, groups.err);
  assert.match(groups.out, /^GROUP\s+STATE\s+OWNER/m);
  assert.ok(JSON.parse((await cli(['group', 'list', '--json'])).out).length >= 2);
});

test('e2e: the sample groups of `failover up` come online', async () => {
  const sample = ['CMS01', 'Web'];
  let groups: GroupJson[] = [];
  for (let i = 0; i < SAMPLE_ONLINE_POLLS_MAX; i++) {
    groups = JSON.parse((await cli(['group', 'list', '--json'])).out) as GroupJson[];
    if (sample.every((name) => groups.some((g) => g.name === name && g.state === 'Online' && g.owner !== undefined))) return;
    await new Promise((r) => setTimeout(r, SAMPLE_ONLINE_POLL_INTERVAL_MS));
  }
  assert.fail(`the sample groups ${sample.join(', ')} did not all come online: ${JSON.stringify(groups.map((g) => ({ name: g.name, state: g.state, owner: g.owner })))}`);
});

interface GroupJson {
  name: string;
  owner?: string;
  state: string;
  moving: boolean;
  resources: string[];
}

/** The sample group with the most resources, once it has settled (owned, online, not moving). */
async function firstGroup(): Promise<GroupJson & { owner: string }> {
  for (let i = 0; ; i++) {
    const groups = JSON.parse((await cli(['group', 'list', '--json'])).out) as GroupJson[];
    const g = [...groups].sort((a, b) => b.resources.length - a.resources.length)[0]!;
    if ((g.owner !== undefined && g.state === 'Online' && !g.moving) || i >= 60) return g as GroupJson & { owner: string };
    await new Promise((r) => setTimeout(r, 500));
  }
}

test('e2e: move with progress, and the event stream sees its transitions in order', async () => {
  const g = await firstGroup();
  const nodes = (JSON.parse((await cli(['node', 'list', '--json'])).out) as Array<{ name: string }>).map((n) => n.name);
  const to = nodes.find((n) => n !== g.owner)!;
  // Follow the group's events in another process while the move runs.
  const follower = spawn(process.execPath, [bin, 'events', '--group', g.name, '--json', '--timeout', '60s', '--data-dir', path.join(dir, 'data')], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let events = '';
  follower.stdout.on('data', (d: Buffer) => (events += d.toString()));
  await new Promise<void>((resolve, reject) => {
    let said = '';
    const timer = setTimeout(() => reject(new Error(`failover events did not start following within ${COMMAND_TIMEOUT_MS} ms: ${said}`)), COMMAND_TIMEOUT_MS);
    follower.stderr.on('data', (d: Buffer) => {
      said += d.toString();
      if (!said.includes('following events')) return;
      clearTimeout(timer);
      resolve();
    });
    follower.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`failover events exited (${code}) before following: ${said}`));
    });
  });
  const move = await cli(['group', 'move', g.name, '--to', to]);
  assert.equal(move.code, 0, move.out + move.err);
  const lines = move.out.trim().split('\n');
  assert.match(lines[0]!, new RegExp(`moveGroup ${g.name.replace(/[()]/g, '\\$&')}: started`));
  assert.ok(lines.some((l) => /move .*offline-on-source/.test(l)));
  assert.ok(lines.some((l) => /resource .*: Offline on /.test(l)));
  assert.ok(lines.some((l) => new RegExp(`resource .*: Online on ${to}`).test(l)));
  assert.match(lines.at(-1)!, new RegExp(`done in .* -> ${to}\\)`));
  await new Promise((r) => setTimeout(r, 500));
  const exited = new Promise((r) => follower.once('exit', r));
  follower.kill('SIGINT');
  await exited;
  const seen = events.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
  const order = ['offline-on-source', 'transfer', 'online-on-target', 'ended'];
  const phases = seen.filter((e) => e.type === 'move').map((e) => order.indexOf(e.move.phase));
  assert.ok(phases.length >= 2, `move events: ${JSON.stringify(seen.filter((e) => e.type === 'move'))}`);
  assert.equal(phases[0], 0);
  assert.equal(phases.at(-1), 3);
  assert.deepEqual(phases, [...phases].sort((a, b) => a - b), 'phases in order');
  const revisions = seen.map((e) => e.revision);
  assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b), 'revisions in order');
  for (const r of g.resources) {
    const states = seen.filter((e) => e.type === 'resourceState' && e.resource === r);
    // Sequence numbers increase with every transition, across the move from one node to the other.
    const seqs = states.map((e) => e.stateSeq);
    assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), `${r}: state sequence numbers strictly increase`);
    const offline = states.findIndex((e) => e.state === 'Offline' && e.node === g.owner);
    const online = states.findIndex((e) => e.state === 'Online' && e.node === to);
    if (online >= 0) assert.ok(offline >= 0 && offline < online, `${r}: offline on ${g.owner} before online on ${to}`);
  }
  assert.equal(JSON.parse((await cli(['group', 'show', g.name, '--json'])).out).owner, to);
});

test('e2e: offline and online a group', async () => {
  const g = await firstGroup();
  const off = await cli(['group', 'offline', g.name]);
  assert.equal(off.code, 0, off.out + off.err);
  assert.equal(JSON.parse((await cli(['group', 'show', g.name, '--json'])).out).state, 'Offline');
  const on = await cli(['group', 'online', g.name]);
  assert.equal(on.code, 0, on.out + on.err);
  assert.equal(JSON.parse((await cli(['group', 'show', g.name, '--json'])).out).state, 'Online');
});

test('e2e: dependency errors carry the right codes and exit codes', async () => {
  const resources = JSON.parse((await cli(['resource', 'list', '--json'])).out) as Array<{ name: string; group: string; dependencies: string }>;
  const dependent = resources.find((r) => r.dependencies.startsWith('['))!;
  const provider = /^\[([^\]]+)\]/.exec(dependent.dependencies)![1]!;
  const other = resources.find((r) => r.group !== dependent.group)!;
  const again = await cli(['resource', 'add-dependency', dependent.name, provider]);
  assert.equal(again.code, 4);
  assert.match(again.err, /ERROR_DEPENDENCY_ALREADY_EXISTS 5003/);
  const cycle = await cli(['resource', 'depend', provider, `[${dependent.name}]`]);
  assert.equal(cycle.code, 2);
  assert.match(cycle.err, /ERROR_CIRCULAR_DEPENDENCY 1059/);
  const missing = await cli(['resource', 'remove-dependency', provider, other.name]);
  assert.equal(missing.code, 3);
  assert.match(missing.err, /ERROR_DEPENDENCY_NOT_FOUND 5002/);
  const cross = await cli(['resource', 'add-dependency', other.name, provider]);
  assert.equal(cross.code, 2);
  assert.match(cross.err, /ERROR_INVALID_PARAMETER 87/);
  const unknown = await cli(['resource', 'add-dependency', dependent.name, 'No Such Resource']);
  assert.equal(unknown.code, 3);
  assert.match(unknown.err, /5007/);
});

test('e2e: export then apply is a no-op; apply creates what a file adds, then is a no-op again', async () => {
  const file = path.join(dir, 'cluster.yaml');
  assert.equal((await cli(['export', '-o', file])).code, 0);
  const same = await cli(['apply', '-f', file]);
  assert.equal(same.code, 0, same.err);
  assert.match(same.out, /No changes/);
  fs.appendFileSync(file, '  Extra:\n    properties:\n      Priority: 1000\n    resources:\n      Extra Dummy:\n        type: Dummy\n');
  const dry = await cli(['apply', '-f', file, '--dry-run']);
  assert.match(dry.out, /\+ group "Extra"/);
  assert.equal(JSON.parse((await cli(['group', 'list', '--json'])).out).some((g: { name: string }) => g.name === 'Extra'), false, 'dry run changes nothing');
  const applied = await cli(['apply', '-f', file]);
  assert.equal(applied.code, 0, applied.err);
  assert.match(applied.out, /\+ resource "Extra Dummy"/);
  assert.match((await cli(['apply', '-f', file])).out, /No changes/);
  const bad = path.join(dir, 'bad.yaml');
  fs.writeFileSync(bad, 'version: 1\ngroups:\n  Extra:\n    resources:\n      Extra Dummy: { type: Dummy, dependencies: "[Extra Dummy]" }\n');
  const refused = await cli(['apply', '-f', bad]);
  assert.equal(refused.code, 2);
  assert.match(refused.out, /cannot depend on itself|cycle/);
});

test('e2e: the read-only token reads but is refused on a mutation', async () => {
  const { tokens } = JSON.parse(fs.readFileSync(path.join(dir, 'data', 'api.json'), 'utf8')) as { tokens: { read: string } };
  const env = { FAILOVER_URL: apiUrl!, FAILOVER_TOKEN: tokens.read };
  assert.equal((await cli(['status'], env)).code, 0);
  const g = await firstGroup();
  const refused = await cli(['group', 'offline', g.name], env);
  assert.equal(refused.code, 5);
  assert.match(refused.err, /read-only token may only read.*needs the full token \[ERROR_ACCESS_DENIED 5\]/);
  const wrong = await cli(['status'], { FAILOVER_URL: apiUrl!, FAILOVER_TOKEN: 'not-a-token' });
  assert.equal(wrong.code, 5);
  assert.match(wrong.err, /unknown token/);
});
