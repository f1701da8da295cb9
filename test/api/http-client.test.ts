// The HTTP client against the REST server over the real in-process cluster:
// calls through HTTP give the same answers as the cluster's own API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpApi } from '../../src/api/http-client.ts';
import { startApiServer } from '../../src/api/server.ts';
import { ClusterError } from '../../src/model/errors.ts';
import type { ClusterApi, ClusterEvent, Subscription } from '../../src/api/types.ts';
import { createOwnedGroup, everyGroupOwned, followsOrder, MOVE_PHASES, OFFLINE_THEN_ONLINE, operationEnded, SETTLE_TIMEOUT_MS, startCluster, TYPED_DUMMY } from '../support/cluster.ts';
import { until } from '../support/until.ts';
import { FULL, READ, startServer } from './harness.ts';

const settle = operationEnded;

/** Makes a change of every kind through the API (groups owned before their resources exist, which then stay offline until asked). */
async function scenario(api: ClusterApi): Promise<void> {
  await createOwnedGroup(api, 'Mail', { PreferredOwners: ['node2', 'node1'], Description: 'mailbox' });
  await api.createResource('Disk', TYPED_DUMMY, 'Mail', { parameters: { Blob: new Uint8Array([0, 255, 7]), Tags: ['a', 'b'] } });
  await api.createResource('IP', TYPED_DUMMY, 'Mail', { common: { RestartThreshold: 5 } });
  await api.createResource('Store', 'Dummy', 'Mail', { dependencies: '[Disk] and [IP]' });
  await api.setResourceParameters('IP', { Label: 'front', Weight: 9 });
  await api.setResourceProperties('Disk', { PendingTimeout: 1000 });
  await api.addPossibleOwner('Disk', 'node1');
  await api.addPossibleOwner('Disk', 'node2');
  await api.removePossibleOwner('Disk', 'node1');
  await api.removeDependency('Store', 'IP');
  await api.addDependency('Store', 'IP');
  await api.setGroupProperties('Mail', { Priority: 3000 });
  await settle(api, await api.onlineGroup('Mail'));
  await createOwnedGroup(api, 'Temp');
  await api.renameGroup('Temp', 'Scratch');
  await api.createResource('Tmp', 'Generic Application', 'Scratch');
  await api.renameResource('Tmp', 'Scratch1');
  await createOwnedGroup(api, 'Other');
  await api.changeResourceGroup('Scratch1', 'Other');
  await api.deleteResource('Scratch1');
  await api.deleteGroup('Other');
  await api.pauseNode('node3');
  await api.resumeNode('node3');
  await api.registryCreateKey('Cluster\\Settings');
  await api.registrySetValue('Cluster\\Settings', 'Mode', { type: 'multiString', data: ['x', 'y'] });
  await api.registrySetValue('Cluster\\Settings', 'Raw', { type: 'binary', data: new Uint8Array([1, 2]) });
  await api.registrySetValue('Cluster\\Settings', 'Gone', { type: 'dword', data: 1 });
  await api.registryDeleteValue('Cluster\\Settings', 'Gone');
}

/** What a client would show of the cluster (read once settled: no owner or state changes between two reads). */
async function snapshot(api: ClusterApi) {
  return {
    cluster: { ...(await api.getCluster()), revision: 0 },
    nodes: await api.listNodes(),
    node: await api.getNode('node2'),
    types: await api.listResourceTypes(),
    groups: await api.listGroups(),
    group: await api.getGroup('Mail'),
    resources: await api.listResources({ group: 'Mail' }),
    all: await api.listResources(),
    disk: await api.getResource('Disk'),
    keys: await api.registryEnumKeys(''),
    values: await api.registryEnumValues('Cluster\\Settings'),
    raw: await api.registryGetValue('Cluster\\Settings', 'Raw'),
  };
}

test('changes made through HTTP take effect, and every read through HTTP answers as the cluster\'s own API (binary values included)', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const viaHttp = createHttpApi({ url: h.url, token: FULL });
  await scenario(viaHttp);
  await everyGroupOwned(h.api);
  const direct = await snapshot(h.api);
  assert.deepEqual(await snapshot(viaHttp), direct);
  // The scenario's changes are there.
  assert.equal(direct.group.state, 'Online');
  assert.equal(direct.group.owner, 'node2');
  assert.deepEqual(direct.disk.common.PossibleOwners, ['node2']);
  assert.deepEqual(direct.disk.parameters.Blob, new Uint8Array([0, 255, 7]));
  assert.deepEqual(direct.disk.parameters.Tags, ['a', 'b']);
  assert.equal(direct.resources.find((r) => r.name === 'Store')?.dependencies, '[Disk] and [IP]');
  assert.deepEqual(direct.groups.map((g) => g.name).sort(), ['Mail', 'Scratch']);
  assert.deepEqual(direct.values.map((v) => v.name), ['Mode', 'Raw']);
  assert.ok((await viaHttp.getResource('Disk')).parameters.Blob instanceof Uint8Array);
});

test('failures reject with ClusterError carrying the server\'s code, name and message', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const api = createHttpApi({ url: h.url, token: FULL });
  await assert.rejects(api.getGroup('Nope'), (e: unknown) => e instanceof ClusterError && e.code === 5013 && e.name === 'ERROR_GROUP_NOT_FOUND' && /"Nope"/.test(e.message));
  const ro = createHttpApi({ url: h.url, token: READ });
  await assert.rejects(ro.createGroup('X'), (e: unknown) => e instanceof ClusterError && e.name === 'ERROR_ACCESS_DENIED' && /read-only/.test(e.message));
  const wrong = createHttpApi({ url: h.url, token: 'nope' });
  await assert.rejects(wrong.listNodes(), { name: 'ERROR_ACCESS_DENIED' });
});

test('an unreachable server is ERROR_CLUSTER_NODE_UNREACHABLE naming the URL', async () => {
  const api = createHttpApi({ url: 'http://127.0.0.1:9', token: FULL });
  await assert.rejects(api.listNodes(), (e: unknown) => e instanceof ClusterError && e.code === 5051 && /127\.0\.0\.1:9/.test(e.message));
});

test('subscribe sees a move\'s transitions in order, filtered by group', async (t) => {
  const h = await startServer();
  t.after(() => h.close());
  const api = createHttpApi({ url: h.url, token: FULL });
  await createOwnedGroup(api, 'G');
  await createOwnedGroup(api, 'Quiet');
  await api.createResource('A', 'Dummy', 'G');
  await api.createResource('B', 'Dummy', 'G', { dependencies: '[A]' });
  await api.createResource('Q', 'Dummy', 'Quiet');
  await settle(api, await api.onlineGroup('G'));
  const seen: ClusterEvent[] = [];
  // The filter names the group in another case: names compare case-insensitively, events carry the configured spelling.
  const sub = await api.subscribe({ group: 'g', types: ['resourceState', 'move'] }, (e) => seen.push(e));
  t.after(() => sub.close());
  await settle(api, await api.onlineGroup('Quiet'));
  const to = (await api.getGroup('G')).owner === 'node3' ? 'node1' : 'node3';
  const op = await settle(api, await api.moveGroup('G', { to }));
  assert.equal(op.ok, true, JSON.stringify(op));
  await until('the move\'s end and B online on the new node', () => seen.some((e) => e.type === 'move' && e.move.phase === 'ended') && seen.some((e) => e.type === 'resourceState' && e.resource === 'B' && e.node === to && e.state === 'Online'), SETTLE_TIMEOUT_MS);
  assert.ok(seen.every((e) => (e.type === 'resourceState' ? e.group === 'G' : e.type === 'move' && e.move.group === 'G')), 'only G\'s events of the chosen types');
  const phases = seen.filter((e) => e.type === 'move').map((e) => (e.type === 'move' ? e.move.phase : ''));
  assert.ok(followsOrder(phases, MOVE_PHASES) && phases[0] === 'offline-on-source' && phases.at(-1) === 'ended', phases.join(' '));
  for (const r of ['A', 'B']) {
    const states = seen.filter((e) => e.type === 'resourceState' && e.resource === r).map((e) => (e.type === 'resourceState' ? `${e.node}:${e.state}` : ''));
    const from = states.filter((s) => !s.startsWith(`${to}:`)).map((s) => s.split(':')[1]!);
    const on = states.filter((s) => s.startsWith(`${to}:`)).map((s) => s.split(':')[1]!);
    assert.ok(followsOrder([...from, ...on], OFFLINE_THEN_ONLINE) && from.at(-1) === 'Offline' && on.at(-1) === 'Online', `${r}: ${states.join(' ')}`);
    assert.equal(states.findIndex((s) => s.startsWith(`${to}:`)), from.length, `${r}: offline on the source before anything on the target`);
  }
  const revisions = seen.map((e) => e.revision);
  assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y), 'in revision order');
  // Dependencies order the transitions: B is offline before A's offline call, A online before B's online call.
  const first = (r: string, states: readonly string[]): number => seen.findIndex((e) => e.type === 'resourceState' && e.resource === r && states.includes(e.state));
  assert.ok(first('B', ['Offline']) < first('A', ['OfflineCallIssued', 'OfflinePending', 'Offline']));
  assert.ok(first('A', ['Online']) < first('B', ['OnlineCallIssued', 'OnlinePending', 'Online']));
});

/** The API with a count of its open subscriptions (to see that the server lets go of them). */
function countingSubscriptions(api: ClusterApi): { api: ClusterApi; open: () => number } {
  let open = 0;
  const counted = new Proxy(api, {
    get(target, prop, receiver) {
      if (prop !== 'subscribe') return Reflect.get(target, prop, receiver);
      return async (...args: Parameters<ClusterApi['subscribe']>): Promise<Subscription> => {
        const sub = await target.subscribe(...args);
        open++;
        let closed = false;
        return {
          close() {
            if (!closed) open--;
            closed = true;
            sub.close();
          },
        };
      };
    },
  });
  return { api: counted, open: () => open };
}

test('a dropped event stream is re-opened and the caller is told with a reconnect event', async (t) => {
  const running = await startCluster();
  t.after(() => running.stop());
  await createOwnedGroup(running.api, 'G');
  await running.api.createResource('A', 'Dummy', 'G');
  const { api: served, open } = countingSubscriptions(running.api);
  let server = await startApiServer({ api: served, tokens: { full: FULL, read: READ } });
  t.after(() => server.close());
  const port = Number(new URL(server.url).port);
  const api = createHttpApi({ url: server.url, token: FULL, reconnectDelayMs: 20 });
  const seen: ClusterEvent[] = [];
  const sub = await api.subscribe({ types: ['config'] }, (e) => seen.push(e));
  const changesOfA = (): number => seen.filter((e) => e.type === 'config' && e.name === 'A').length;
  await running.api.setResourceParameters('A', { OnlineDelayMs: 1 });
  await until('the first change\'s event', () => changesOfA() === 1, SETTLE_TIMEOUT_MS);
  await server.close(); // the stream drops
  server = await startApiServer({ api: served, tokens: { full: FULL, read: READ }, port });
  await until('a reconnect event after the stream came back', () => seen.some((e) => e.type === 'reconnect'), SETTLE_TIMEOUT_MS);
  await running.api.setResourceParameters('A', { OnlineDelayMs: 2 });
  await until('events flowing again after the reconnect', () => changesOfA() === 2, SETTLE_TIMEOUT_MS);
  sub.close();
  await until('the server closed its subscriptions', () => open() === 0, SETTLE_TIMEOUT_MS);
});
