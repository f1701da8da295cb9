import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster } from './helpers.ts';

test('a new group is placed on its preferred owner and comes online in dependency order', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2', 'node3'] });
  try {
    await t.api.createGroup('Web', { PreferredOwners: ['node2', 'node1'] });
    await t.api.createResource('IP', 'Dummy', 'Web');
    await t.api.createResource('App', 'Dummy', 'Web', { dependencies: '[IP]' });
    await t.until('Web online', async () => (await t.api.getGroup('Web')).state === 'Online');
    const g = await t.api.getGroup('Web');
    assert.equal(g.owner, 'node2');
    const lines = t.cluster.log('node2').lines().join('\n');
    const ipOnline = lines.indexOf('TransitionToState(IP) OnlineCallIssued-->Online.');
    const appCalled = lines.indexOf('TransitionToState(App) WaitingToComeOnline-->OnlineCallIssued.');
    assert.ok(ipOnline >= 0 && appCalled > ipOnline, 'the provider is online before the dependent is called');
  } finally {
    await t.stop();
  }
});

test('a move completes, and the group is not moving afterwards', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2'] });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1'] });
    for (const r of ['A', 'B', 'C']) await t.api.createResource(r, 'Dummy', 'G');
    await t.until('G online', async () => (await t.api.getGroup('G')).state === 'Online');
    const op = await t.api.moveGroup('G', { to: 'node2' });
    await t.until('move ended', async () => (await t.api.getOperation(op.id)).done);
    const done = await t.api.getOperation(op.id);
    assert.equal(done.ok, true, JSON.stringify(done));
    const g = await t.api.getGroup('G');
    assert.equal(g.owner, 'node2');
    assert.equal(g.moving, false);
    await t.until('G online on node2', async () => (await t.api.getGroup('G')).state === 'Online');
  } finally {
    await t.stop();
  }
});

test('a graceful stop takes groups offline dependents first and keeps their persistent state for the next start', async () => {
  const { openEmbeddedStore } = await import('../../src/store/embedded.ts');
  const { VirtualClock } = await import('../../src/clock/virtual.ts');
  const clock = new VirtualClock(Date.UTC(2026, 10, 25));
  const store = await openEmbeddedStore({ clock });
  const first = await startTestCluster({ nodes: ['node1', 'node2'], store, clock });
  await first.api.createGroup('G', { PreferredOwners: ['node1'] });
  await first.api.createResource('Provider', 'Dummy', 'G');
  await first.api.createResource('Dependent', 'Dummy', 'G', { dependencies: '[Provider]' });
  await first.until('G online', async () => (await first.api.getGroup('G')).state === 'Online');
  await first.stop();
  const lines = first.cluster.log('node1').lines().join('\n');
  const dependentOff = lines.indexOf('TransitionToState(Dependent) OfflineCallIssued-->Offline.');
  const providerOff = lines.indexOf('TransitionToState(Provider) OfflineCallIssued-->Offline.');
  assert.ok(dependentOff >= 0 && providerOff > dependentOff, 'the dependent went offline before its provider');
  assert.equal((await first.api.getResource('Provider')).common.PersistentState, 1, 'shutdown does not change PersistentState');
  const second = await startTestCluster({ nodes: ['node1', 'node2'], store, clock });
  try {
    await second.until('G back online after restart', async () => (await second.api.getGroup('G')).state === 'Online');
  } finally {
    await second.stop();
    await store.close();
  }
});
