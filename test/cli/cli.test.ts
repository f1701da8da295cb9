// CLI tests against the in-memory ClusterApi double: output, progress, typing of
// KEY=VALUE, exit codes per error class. The real cluster: test/cli/e2e.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createMemoryApi, type MemoryClusterApi } from '../../src/api/memory.ts';
import { connectFromEnvironment } from '../../src/cli/kit.ts';
import { writeLocalCluster } from '../../src/api/tokens.ts';
import { startApiServer } from '../../src/api/server.ts';
import { runCli } from './harness.ts';

async function cluster(t: { after: (fn: () => void) => void }, options: Parameters<typeof createMemoryApi>[0] = {}): Promise<MemoryClusterApi> {
  const mem = createMemoryApi({ stepDelayMs: 2, ...options });
  t.after(() => mem.dispose());
  await mem.createGroup('Mailbox', { PreferredOwners: ['node1', 'node2'] });
  await mem.createResource('Disk', 'Dummy', 'Mailbox');
  await mem.createResource('Store', 'Dummy', 'Mailbox', { dependencies: '[Disk]' });
  return mem;
}

test('double: group list prints a table, --json the views', async (t) => {
  const mem = await cluster(t);
  const human = await runCli(mem, ['group', 'list']);
  assert.equal(human.code, 0);
  assert.match(human.out, /^GROUP\s+STATE\s+OWNER/m);
  assert.match(human.out, /^Mailbox\s+Offline\s+-\s+2/m);
  const json = await runCli(mem, ['group', 'list', '--json']);
  assert.deepEqual(JSON.parse(json.out), await mem.listGroups());
});

test('double: group move waits and prints one line per change, in order, then the outcome', async (t) => {
  const mem = await cluster(t);
  assert.equal((await runCli(mem, ['group', 'online', 'Mailbox'])).code, 0);
  const r = await runCli(mem, ['group', 'move', 'Mailbox', '--to', 'node3']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0]!, /moveGroup Mailbox: started .*deadline in 60 s/);
  const phases = lines.filter((l) => l.includes('move     ')).map((l) => /Mailbox: (\S+)/.exec(l)![1]);
  assert.deepEqual(phases, ['offline-on-source', 'transfer', 'online-on-target', 'ended']);
  const store = lines.filter((l) => l.includes('resource Store:')).map((l) => /Store: (\S+)/.exec(l)![1]);
  assert.deepEqual(store.slice(-4), ['WaitingToComeOnline', 'OnlineCallIssued', 'OnlinePending', 'Online']);
  assert.match(lines.at(-1)!, /moveGroup Mailbox: done in .* \(node1 -> node3\)/);
  assert.equal((await mem.getGroup('Mailbox')).owner, 'node3');
});

test('double: --no-wait returns at once with the operation', async (t) => {
  const mem = await cluster(t, { stepDelayMs: 50 });
  const r = await runCli(mem, ['group', 'online', 'Mailbox', '--no-wait', '--json']);
  assert.equal(r.code, 0);
  const op = JSON.parse(r.out);
  assert.equal(op.kind, 'onlineGroup');
  assert.equal(op.done, false);
});

test('double: a move that cannot finish ends at its deadline with its outcome and exit code 6', async (t) => {
  const mem = await cluster(t, { operationTimeoutMs: 300 });
  await runCli(mem, ['group', 'online', 'Mailbox']);
  mem.hangOnline('Store');
  const r = await runCli(mem, ['group', 'move', 'Mailbox', '--to', 'node2']);
  assert.equal(r.code, 6, r.out + r.err);
  assert.match(r.out, /moveGroup Mailbox: failed after .*did not end .*\[(ERROR_TIMEOUT|WAIT_TIMEOUT) \d+\]/);
  assert.equal((await mem.getGroup('Mailbox')).moving, false, 'the move has ended');
});

test('double: --timeout bounds the wait (exit 6) while the operation goes on', async (t) => {
  const mem = await cluster(t);
  await runCli(mem, ['group', 'online', 'Mailbox']);
  mem.hangOnline('Store');
  const r = await runCli(mem, ['group', 'move', 'Mailbox', '--to', 'node2', '--timeout', '200ms']);
  assert.equal(r.code, 6);
  assert.match(r.out, /still running after .* operation op-\d+ goes on/);
  assert.equal((await mem.getGroup('Mailbox')).moving, true);
});

test('double: exit codes follow the error classes', async (t) => {
  const mem = await cluster(t);
  const cases: Array<[string[], number, RegExp]> = [
    [['group', 'show', 'Nope'], 3, /ERROR_GROUP_NOT_FOUND 5013/],
    [['group', 'move', 'Mailbox', '--to', 'node9'], 3, /ERROR_CLUSTER_NODE_NOT_FOUND 5042/],
    [['resource', 'add-dependency', 'Store', 'Disk'], 4, /ERROR_DEPENDENCY_ALREADY_EXISTS 5003/],
    [['resource', 'remove-dependency', 'Disk', 'Store'], 3, /ERROR_DEPENDENCY_NOT_FOUND 5002/],
    [['resource', 'depend', 'Disk', '[Store]'], 2, /ERROR_CIRCULAR_DEPENDENCY 1059/],
    [['resource', 'depend', 'Disk', '[Store'], 2, /ERROR_CLUSTER_INVALID_STRING_FORMAT 5917/],
    [['group', 'create', 'Mailbox'], 4, /ERROR_OBJECT_ALREADY_EXISTS 5010/],
    [['group', 'set', 'Mailbox', 'Priority=high'], 2, /Priority is a number/],
    [['group', 'set', 'Mailbox', 'Colour=red'], 2, /unknown group property "Colour"; known: PersistentState/],
    [['resource', 'set', 'Disk', '--private', 'Weight=500'], 2, /ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS 5913/],
    [['group', 'move'], 2, /missing required argument/],
    [['group', 'move', 'Mailbox', '--bogus'], 2, /unknown option/],
    [['events', '--type', 'nope'], 2, /--type "nope"/],
  ];
  for (const [args, code, message] of cases) {
    const r = await runCli(mem, args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message, args.join(' '));
  }
});

test('double: a group moving refuses online with 5908 and exit code 4', async (t) => {
  const mem = await cluster(t);
  await runCli(mem, ['group', 'online', 'Mailbox']);
  mem.hangOnline('Store');
  await runCli(mem, ['group', 'move', 'Mailbox', '--no-wait']);
  const r = await runCli(mem, ['group', 'online', 'Mailbox']);
  assert.equal(r.code, 4);
  assert.match(r.err, /ERROR_CLUSTER_GROUP_MOVING 5908/);
});

test('double: set types values by the schema: dword numbers, multi-string lists, parameters with --private', async (t) => {
  const mem = await cluster(t);
  assert.equal((await runCli(mem, ['resource', 'set', 'Disk', 'RestartThreshold=0x10', 'PossibleOwners=node1,node2'])).code, 0);
  assert.equal((await runCli(mem, ['resource', 'set', 'Disk', '--private', 'weight=42', 'Tags=a, b', 'Label=x=y'])).code, 0);
  const disk = await mem.getResource('Disk');
  assert.equal(disk.common.RestartThreshold, 16);
  assert.deepEqual(disk.common.PossibleOwners, ['node1', 'node2']);
  assert.equal(disk.parameters.Weight, 42);
  assert.deepEqual(disk.parameters.Tags, ['a', 'b']);
  assert.equal(disk.parameters.Label, 'x=y');
});

test('double: resource create, db and events follow', async (t) => {
  const mem = await cluster(t);
  const c = await runCli(mem, ['resource', 'create', 'IP', '--type', 'Dummy', '--group', 'Mailbox', '--set', 'RestartThreshold=5', '--param', 'Label=front']);
  assert.equal(c.code, 0, c.err);
  assert.equal((await mem.getResource('IP')).parameters.Label, 'front');
  assert.equal((await runCli(mem, ['db', 'set', 'Cluster\\Settings', 'Retries', '5', '--type', 'dword'])).code, 3, 'the key does not exist yet');
  assert.equal((await runCli(mem, ['db', 'create', 'Cluster\\Settings'])).code, 0);
  assert.equal((await runCli(mem, ['db', 'set', 'Cluster\\Settings', 'Retries', '5', '--type', 'dword'])).code, 0);
  const show = await runCli(mem, ['db', 'show', 'Cluster\\Settings', 'Retries', '--json']);
  assert.deepEqual(JSON.parse(show.out), { type: 'dword', data: 5 });
  const follow = runCli(mem, ['events', '--group', 'Mailbox', '--count', '3', '--json']);
  await new Promise((r) => setTimeout(r, 20));
  await mem.onlineResource('Disk');
  const ev = await follow;
  assert.equal(ev.code, 0);
  const events = ev.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.length, 3);
  assert.deepEqual(events.map((e) => e.group), ['Mailbox', 'Mailbox', 'Mailbox']);
});

test('double: --help explains the exit codes and how the cluster is chosen', async (t) => {
  const mem = await cluster(t);
  const r = await runCli(mem, ['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /Exit codes:\n\s+0\s+ok[\s\S]*5908[\s\S]*6\s+timed out/);
  assert.match(r.out, /FAILOVER_URL/);
  const move = await runCli(mem, ['group', 'move', '--help']);
  assert.match(move.out, /Example:\n\s+failover group move/);
});

test('cluster selection: --cluster beats FAILOVER_URL beats the local api.json; tokens from FAILOVER_TOKEN or api.json', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const mem = createMemoryApi({ clusterName: 'local' });
  t.after(() => mem.dispose());
  const server = await startApiServer({ api: mem, tokens: { full: 'F', read: 'R' } });
  t.after(() => server.close());
  writeLocalCluster(dir, { url: server.url, tokens: { full: 'F', read: 'R' } });
  assert.equal((await (await connectFromEnvironment({ dataDir: dir }, {})).getCluster()).name, 'local');
  const readOnly = await connectFromEnvironment({ dataDir: dir }, { FAILOVER_TOKEN: 'R' });
  await assert.rejects(readOnly.createGroup('X'), { name: 'ERROR_ACCESS_DENIED' });
  await assert.rejects(connectFromEnvironment({ dataDir: path.join(dir, 'none') }, {}), /failover up/);
  await assert.rejects(connectFromEnvironment({ dataDir: path.join(dir, 'none'), cluster: 'http://127.0.0.1:1' }, {}), /set FAILOVER_TOKEN/);
  const viaEnv = await connectFromEnvironment({ dataDir: path.join(dir, 'none') }, { FAILOVER_URL: server.url, FAILOVER_TOKEN: 'F' });
  assert.equal((await viaEnv.getCluster()).name, 'local');
  const flagWins = await connectFromEnvironment({ dataDir: dir, cluster: 'http://127.0.0.1:9' }, { FAILOVER_URL: server.url, FAILOVER_TOKEN: 'F' });
  await assert.rejects(flagWins.getCluster(), { name: 'ERROR_CLUSTER_NODE_UNREACHABLE' });
});

test('apply of a large file: the plan is summed up, progress goes to stderr, and a second run says nothing remains', async (t) => {
  const mem = await cluster(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-apply-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines = ['version: 1', 'groups:'];
  for (let i = 0; i < 60; i++) lines.push(`  G${i}:`, `    state: ${i % 10 === 0 ? 'offline' : 'online'}`, `    resources: { G${i}a: { type: Dummy }, G${i}b: { type: Dummy, dependencies: "[G${i}a]" } }`);
  fs.writeFileSync(path.join(dir, 'big.yaml'), `${lines.join('\n')}\n`);
  const first = await runCli(mem, ['apply', '-f', 'big.yaml'], dir);
  assert.equal(first.code, 0, first.err);
  assert.match(first.out, /294 change\(s\) remain to make the cluster match the file/);
  assert.match(first.out, /60 {2}groups to create/);
  assert.match(first.out, /120 {2}resources to create/);
  assert.doesNotMatch(first.out, /\+ resource "G0a"/, 'a large plan is not listed line by line');
  assert.match(first.out, /Applied 294 change\(s\)\./);
  // Not a terminal: plain progress lines, the last one complete.
  // Batches end at whole new groups, so near every 100 changes.
  assert.match(first.err, /apply: 10\d\/294 changes \(3\d%\), batch 1\/3/);
  assert.match(first.err, /apply: 294\/294 changes \(100%\), batch 3\/3/);
  assert.equal((await mem.getResource('G10a')).common.PersistentState, 0);
  const again = await runCli(mem, ['apply', '-f', 'big.yaml'], dir);
  assert.match(again.out, /No changes: the cluster matches the file\./);
  const exported = await runCli(mem, ['export'], dir);
  assert.match(exported.out, /G10:\n {4}state: offline/);
  assert.match(exported.out, /G11:\n {4}state: online/);
});
