// The HTTP client against the REST server over the in-memory ClusterApi double:
// the same calls give the same answers as calling the double directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHttpApi } from '../../src/api/http-client.ts';
import { createMemoryApi } from '../../src/api/memory.ts';
import { startApiServer } from '../../src/api/server.ts';
import { ClusterError } from '../../src/model/errors.ts';
import type { ClusterApi, ClusterEvent, OperationView } from '../../src/api/types.ts';
import { FULL, READ, startDouble } from './harness.ts';

async function settle(api: ClusterApi, op: OperationView): Promise<OperationView> {
  for (let i = 0; i < 1000 && !op.done; i++) {
    await new Promise((r) => setTimeout(r, 5));
    op = await api.getOperation(op.id);
  }
  return op;
}

/** A scenario touching every kind of call; returns what a client would show. */
async function scenario(api: ClusterApi): Promise<unknown> {
  await api.createGroup('Mail', { PreferredOwners: ['node2', 'node1'], Description: 'mailbox' });
  await api.createResource('Disk', 'Dummy', 'Mail', { parameters: { Blob: new Uint8Array([0, 255, 7]), Tags: ['a', 'b'] } });
  await api.createResource('IP', 'Dummy', 'Mail', { common: { RestartThreshold: 5 } });
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
  await api.createGroup('Temp');
  await api.renameGroup('Temp', 'Scratch');
  await api.createResource('Tmp', 'Generic Application', 'Scratch');
  await api.renameResource('Tmp', 'Scratch1');
  await api.createGroup('Other');
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
  return {
    cluster: { ...(await api.getCluster()), revision: 0 },
    nodes: await api.listNodes(),
    node: await api.getNode('node2'),
    types: await api.listResourceTypes(),
    groups: (await api.listGroups()).map((g) => ({ ...g, move: undefined })),
    group: await api.getGroup('Mail'),
    resources: await api.listResources({ group: 'Mail' }),
    all: await api.listResources(),
    disk: await api.getResource('Disk'),
    keys: await api.registryEnumKeys(''),
    values: await api.registryEnumValues('Cluster\\Settings'),
    raw: await api.registryGetValue('Cluster\\Settings', 'Raw'),
  };
}

test('double: every call through HTTP answers as the ClusterApi itself does (binary values included)', async (t) => {
  const h = await startDouble();
  t.after(() => h.close());
  const direct = createMemoryApi({ stepDelayMs: 1 });
  t.after(() => direct.dispose());
  const viaHttp = await scenario(createHttpApi({ url: h.url, token: FULL }));
  const expected = await scenario(direct);
  assert.deepEqual(viaHttp, expected);
  const disk = (viaHttp as { disk: { parameters: { Blob: unknown } } }).disk;
  assert.ok(disk.parameters.Blob instanceof Uint8Array);
});

test('double: failures reject with ClusterError carrying the server\'s code, name and message', async (t) => {
  const h = await startDouble();
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

test('double: subscribe sees a move\'s transitions in order, filtered by group', async (t) => {
  const h = await startDouble();
  t.after(() => h.close());
  const api = createHttpApi({ url: h.url, token: FULL });
  await api.createGroup('G');
  await api.createGroup('Quiet');
  await api.createResource('A', 'Dummy', 'G');
  await api.createResource('B', 'Dummy', 'G', { dependencies: '[A]' });
  await api.createResource('Q', 'Dummy', 'Quiet');
  await settle(api, await api.onlineGroup('G'));
  const seen: ClusterEvent[] = [];
  const sub = await api.subscribe({ group: 'G', types: ['resourceState', 'move'] }, (e) => seen.push(e));
  t.after(() => sub.close());
  await settle(api, await api.onlineGroup('Quiet'));
  const op = await settle(api, await api.moveGroup('G', { to: 'node3' }));
  assert.equal(op.ok, true);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(seen.every((e) => (e.type === 'resourceState' ? e.group === 'G' : e.type === 'move')), 'only G\'s events of the chosen types');
  const phases = seen.filter((e) => e.type === 'move').map((e) => (e.type === 'move' ? e.move.phase : ''));
  assert.deepEqual(phases, ['offline-on-source', 'transfer', 'online-on-target', 'ended']);
  const b = seen.filter((e) => e.type === 'resourceState' && e.resource === 'B').map((e) => (e.type === 'resourceState' ? e.state : ''));
  assert.deepEqual(b, ['WaitingToGoOffline', 'OfflineCallIssued', 'OfflinePending', 'Offline', 'WaitingToComeOnline', 'OnlineCallIssued', 'OnlinePending', 'Online']);
  const revisions = seen.map((e) => e.revision);
  assert.deepEqual(revisions, [...revisions].sort((x, y) => x - y), 'in revision order');
  // Dependencies order the transitions: B is offline before A goes offline, A online before B comes online.
  const idx = (r: string, s: string): number => seen.findIndex((e) => e.type === 'resourceState' && e.resource === r && e.state === s);
  assert.ok(idx('B', 'Offline') < idx('A', 'OfflineCallIssued'));
  assert.ok(idx('A', 'Online') < idx('B', 'OnlineCallIssued'));
});

test('double: a dropped event stream is re-opened and the caller is told with a reconnect event', async (t) => {
  const mem = createMemoryApi({ stepDelayMs: 1 });
  t.after(() => mem.dispose());
  await mem.createGroup('G');
  await mem.createResource('A', 'Dummy', 'G');
  let server = await startApiServer({ api: mem, tokens: { full: FULL, read: READ } });
  const port = Number(new URL(server.url).port);
  const api = createHttpApi({ url: server.url, token: FULL, reconnectDelayMs: 20 });
  const seen: ClusterEvent[] = [];
  const sub = await api.subscribe({}, (e) => seen.push(e));
  mem.touch('A');
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(seen.filter((e) => e.type === 'resourceState').length, 1);
  await server.close(); // the stream drops
  server = await startApiServer({ api: mem, tokens: { full: FULL, read: READ }, port });
  t.after(() => server.close());
  for (let i = 0; i < 200 && !seen.some((e) => e.type === 'reconnect'); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(seen.some((e) => e.type === 'reconnect'), 'reconnect event after the stream came back');
  mem.touch('A');
  for (let i = 0; i < 100 && seen.filter((e) => e.type === 'resourceState').length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.equal(seen.filter((e) => e.type === 'resourceState').length, 2, 'events flow again after the reconnect');
  sub.close();
  assert.equal(mem.subscriberCount() <= 1, true);
});
