// CLI tests over the real in-process cluster: output, progress, typing of
// KEY=VALUE, exit codes per error class. The CLI as a process against a real
// `failover up`: test/cli/e2e.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ClusterApi } from '../../src/api/types.ts';
import { connectFromEnvironment } from '../../src/cli/kit.ts';
import { writeLocalCluster } from '../../src/api/tokens.ts';
import { startApiServer } from '../../src/api/server.ts';
import { createOwnedGroup, followsOrder, MOVE_PHASES, OFFLINE_THEN_ONLINE, resourceReaches, SETTLE_TIMEOUT_MS, startCluster, TYPED_DUMMY, type ClusterOptions } from '../support/cluster.ts';
import { runCli } from './harness.ts';

/** A cluster with group Mailbox (preferred on node1, then node2): Store depends on Disk; both offline, the group owned. */
async function cluster(t: { after: (fn: () => Promise<void>) => void }, options: ClusterOptions = {}): Promise<ClusterApi> {
  const running = await startCluster(options);
  t.after(() => running.stop());
  const api = running.api;
  await createOwnedGroup(api, 'Mailbox', { PreferredOwners: ['node1', 'node2'] });
  await api.createResource('Disk', TYPED_DUMMY, 'Mailbox');
  await api.createResource('Store', 'Dummy', 'Mailbox', { dependencies: '[Disk]' });
  return api;
}

/** From now on Store's online call hangs until its PendingTimeout (180 s) aborts it. */
async function hangOnline(api: ClusterApi): Promise<void> {
  await api.setResourceParameters('Store', { OnlineHang: 1 });
}

test('group list prints a table, --json the views', async (t) => {
  const api = await cluster(t);
  const human = await runCli(api, ['group', 'list']);
  assert.equal(human.code, 0);
  assert.match(human.out, /^GROUP\s+STATE\s+OWNER/m);
  assert.match(human.out, /^Mailbox\s+Offline\s+node1\s+2/m);
  const json = await runCli(api, ['group', 'list', '--json']);
  assert.deepEqual(JSON.parse(json.out), await api.listGroups());
});

test('group move waits and prints one line per change, in order, then the outcome', async (t) => {
  const api = await cluster(t);
  assert.equal((await runCli(api, ['group', 'online', 'Mailbox'])).code, 0);
  const r = await runCli(api, ['group', 'move', 'Mailbox', '--to', 'node3']);
  assert.equal(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.match(lines[0]!, /^moveGroup Mailbox: started \(operation \S+\)/);
  const moves = lines.filter((l) => l.includes('move     '));
  assert.match(moves[0]!, /Mailbox: offline-on-source {2}node1 -> node3/);
  // The deadline shows once, where it is first known: the first line if the move had started by then, else the move's first line.
  const deadline = lines.filter((l) => l.includes('deadline in'));
  assert.equal(deadline.length, 1, r.out);
  assert.ok(deadline[0] === lines[0] || deadline[0] === moves[0], r.out);
  assert.match(deadline[0]!, /, deadline in 600 s$/);
  const phases = moves.map((l) => /Mailbox: (\S+)/.exec(l)![1]!);
  assert.ok(followsOrder(phases, MOVE_PHASES) && phases.at(-1) === 'ended', phases.join(' '));
  const store = lines.filter((l) => l.includes('resource Store:')).map((l) => /Store: (\S+)/.exec(l)![1]!);
  assert.ok(followsOrder(store, OFFLINE_THEN_ONLINE) && store.includes('Offline') && store.at(-1) === 'Online', store.join(' '));
  assert.match(lines.at(-1)!, /moveGroup Mailbox: done in .* \(node1 -> node3\)/);
  assert.equal((await api.getGroup('Mailbox')).owner, 'node3');
});

test('--no-wait returns at once with the operation', async (t) => {
  const api = await cluster(t);
  await api.setResourceParameters('Store', { OnlineDelayMs: 60_000 }); // so the operation cannot have ended yet
  const r = await runCli(api, ['group', 'online', 'Mailbox', '--no-wait', '--json']);
  assert.equal(r.code, 0);
  const op = JSON.parse(r.out);
  assert.equal(op.kind, 'onlineGroup');
  assert.equal(op.done, false);
});

test('a move that cannot finish ends at its deadline with its outcome and exit code 6', async (t) => {
  const api = await cluster(t, { rcmLimits: { moveDeadlineMs: 1000 } });
  await runCli(api, ['group', 'online', 'Mailbox']);
  await hangOnline(api);
  const r = await runCli(api, ['group', 'move', 'Mailbox', '--to', 'node2']);
  assert.equal(r.code, 6, r.out + r.err);
  // Normally it is Store, still OnlinePending, that the error names; on a slow machine the deadline may come in an earlier phase.
  assert.match(r.out, /moveGroup Mailbox: failed after .*move of group "Mailbox" to "node2" did not complete within 1000 ms: .*\[ERROR_TIMEOUT 1460\]/);
  assert.equal((await api.getGroup('Mailbox')).moving, false, 'the move has ended');
});

test('--timeout bounds the wait (exit 6) while the operation goes on', async (t) => {
  const api = await cluster(t);
  await runCli(api, ['group', 'online', 'Mailbox']);
  await hangOnline(api);
  const r = await runCli(api, ['group', 'move', 'Mailbox', '--to', 'node2', '--timeout', '200ms']);
  assert.equal(r.code, 6);
  assert.match(r.out, /still running after .* operation op-\S+ goes on/);
  await resourceReaches(api, 'Store', 'OnlinePending');
  assert.equal((await api.getGroup('Mailbox')).moving, true);
});

test('exit codes follow the error classes', async (t) => {
  const api = await cluster(t);
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
    const r = await runCli(api, args);
    assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, message, args.join(' '));
  }
});

test('a group moving refuses online with 5908 and exit code 4', async (t) => {
  const api = await cluster(t);
  await runCli(api, ['group', 'online', 'Mailbox']);
  await hangOnline(api);
  assert.equal((await runCli(api, ['group', 'move', 'Mailbox', '--to', 'node2', '--no-wait'])).code, 0);
  // Online pending on the target: the move is in its last phase, which the target's RCM knows.
  await resourceReaches(api, 'Store', 'OnlinePending');
  assert.equal((await api.getGroup('Mailbox')).moving, true);
  const r = await runCli(api, ['group', 'online', 'Mailbox']);
  // The group's owner refuses the request: the operation ends with the error.
  assert.equal(r.code, 4, r.out + r.err);
  assert.match(r.out, /onlineGroup Mailbox: failed after .*is moving to "node2" .*\[ERROR_CLUSTER_GROUP_MOVING 5908\]/);
});

test('set types values by the schema: dword numbers, multi-string lists, parameters with --private', async (t) => {
  const api = await cluster(t);
  assert.equal((await runCli(api, ['resource', 'set', 'Disk', 'RestartThreshold=0x10', 'PossibleOwners=node1,node2'])).code, 0);
  assert.equal((await runCli(api, ['resource', 'set', 'Disk', '--private', 'weight=42', 'Tags=a, b', 'Label=x=y'])).code, 0);
  const disk = await api.getResource('Disk');
  assert.equal(disk.common.RestartThreshold, 16);
  assert.deepEqual(disk.common.PossibleOwners, ['node1', 'node2']);
  assert.equal(disk.parameters.Weight, 42);
  assert.deepEqual(disk.parameters.Tags, ['a', 'b']);
  assert.equal(disk.parameters.Label, 'x=y');
});

test('resource create, db and events follow', async (t) => {
  const api = await cluster(t);
  const c = await runCli(api, ['resource', 'create', 'IP', '--type', TYPED_DUMMY, '--group', 'Mailbox', '--set', 'RestartThreshold=5', '--param', 'Label=front']);
  assert.equal(c.code, 0, c.err);
  assert.equal((await api.getResource('IP')).parameters.Label, 'front');
  assert.equal((await runCli(api, ['db', 'set', 'Cluster\\Settings', 'Retries', '5', '--type', 'dword'])).code, 3, 'the key does not exist yet');
  assert.equal((await runCli(api, ['db', 'create', 'Cluster\\Settings'])).code, 0);
  assert.equal((await runCli(api, ['db', 'set', 'Cluster\\Settings', 'Retries', '5', '--type', 'dword'])).code, 0);
  const show = await runCli(api, ['db', 'show', 'Cluster\\Settings', 'Retries', '--json']);
  assert.deepEqual(JSON.parse(show.out), { type: 'dword', data: 5 });
  // The follower subscribes in the background: the group changes until it has seen three events (bounded).
  // It names the group in another case: names compare case-insensitively.
  let followed = false;
  const follow = runCli(api, ['events', '--group', 'mailbox', '--count', '3', '--json']).finally(() => (followed = true));
  const end = Date.now() + SETTLE_TIMEOUT_MS;
  for (let i = 0; !followed; i++) {
    assert.ok(Date.now() < end, `the follower saw three events within ${SETTLE_TIMEOUT_MS} ms`);
    await api.setGroupProperties('Mailbox', { Description: `change ${i}` });
    await Promise.race([follow, new Promise((r) => setTimeout(r, 50))]);
  }
  const ev = await follow;
  assert.equal(ev.code, 0, ev.err);
  const events = ev.out.trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(events.length, 3);
  assert.deepEqual(events.map((e) => e.group ?? e.name), ['Mailbox', 'Mailbox', 'Mailbox']);
});

test('--help explains the exit codes and how the cluster is chosen', async (t) => {
  const api = await cluster(t);
  const r = await runCli(api, ['--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /Exit codes:\n\s+0\s+ok[\s\S]*5908[\s\S]*6\s+timed out/);
  assert.match(r.out, /FAILOVER_URL/);
  const move = await runCli(api, ['group', 'move', '--help']);
  assert.match(move.out, /Example:\n\s+failover group move/);
});

test('cluster selection: --cluster beats FAILOVER_URL beats the local api.json; tokens from FAILOVER_TOKEN or api.json', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const running = await startCluster({ clusterName: 'local' });
  t.after(() => running.stop());
  const server = await startApiServer({ api: running.api, tokens: { full: 'F', read: 'R' } });
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
  const api = await cluster(t);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-apply-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const lines = ['version: 1', 'groups:'];
  for (let i = 0; i < 60; i++) lines.push(`  G${i}:`, `    state: ${i % 10 === 0 ? 'offline' : 'online'}`, `    resources: { G${i}a: { type: Dummy }, G${i}b: { type: Dummy, dependencies: "[G${i}a]" } }`);
  fs.writeFileSync(path.join(dir, 'big.yaml'), `${lines.join('\n')}\n`);
  const first = await runCli(api, ['apply', '-f', 'big.yaml'], dir);
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
  assert.equal((await api.getResource('G10a')).common.PersistentState, 0);
  const again = await runCli(api, ['apply', '-f', 'big.yaml'], dir);
  assert.match(again.out, /No changes: the cluster matches the file\./);
  const exported = await runCli(api, ['export'], dir);
  assert.match(exported.out, /G10:\n {4}state: offline/);
  assert.match(exported.out, /G11:\n {4}state: online/);
});

test('status sums up a cluster of more than 50 groups and lists only the groups not Online', async (t) => {
  const api = await cluster(t);
  for (let i = 0; i < 52; i++) await api.createGroup(`Bulk${String(i).padStart(2, '0')}`);
  const groups = await api.listGroups();
  const r = await runCli(api, ['status']);
  assert.equal(r.code, 0, r.err);
  const byState = new Map<string, number>();
  for (const g of groups) byState.set(g.state, (byState.get(g.state) ?? 0) + 1);
  for (const [state, n] of byState) assert.match(r.out, new RegExp(`^Groups: .*\\b${n} ${state}\\b`, 'm'));
  assert.match(r.out, /^Owners: /m);
  const notOnline = groups.filter((g) => g.state !== 'Online').length;
  assert.ok(notOnline > 50, 'empty groups are not Online');
  assert.match(r.out, new RegExp(`^\\.\\.\\. and ${notOnline - 50} more not Online$`, 'm'));
  assert.equal(r.out.split('\n').filter((l) => /^Bulk\d\d\s/.test(l)).length, 50, 'at most 50 groups listed');
  assert.match(r.out, /Every group: failover group list/);
});
