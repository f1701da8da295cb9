// The agent's self-fencing timing, on a virtual clock: when lease renewals stop
// being confirmed, the node stops its resources before its lease can expire,
// its watchdog is petted with a deadline before expiry too, and once the
// store answers again it rejoins and takes back only what it still owns.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { StoreError, type Store } from '../../src/store/store.ts';
import { storeWith } from '../support/store-with.ts';
import { ClusterDatabase } from '../../src/database/registry.ts';
import { ClusterConfigStore } from '../../src/database/config.ts';
import { ClusterLogWriter } from '../../src/log/writer.ts';
import { builtinResourceTypes, type ResourceTypeRegistry } from '../../src/types/index.ts';
import type { NodeConfig } from '../../src/model/objects.ts';
import { NodeAgent } from '../../src/node/agent.ts';
import { defaultAgentLimits } from '../../src/node/limits.ts';
import { keys } from '../../src/node/keys.ts';

const STEP_MS = 10;

/**
 * A store whose lease renewals can be made to hang (as over a partition that
 * drops them) and whose new leases are then refused (etcd unreachable).
 */
function withHangingRenewals(inner: Store): { store: Store; hang(on: boolean): void } {
  let hanging = false;
  const store = storeWith(inner, {
    keepAlive: (lease) => (hanging ? new Promise<void>(() => {}) : inner.keepAlive(lease)),
    grantLease: (ttl) => (hanging ? Promise.reject(new StoreError('unavailable', 'test: etcd unreachable')) : inner.grantLease(ttl)),
  });
  return { store, hang: (on) => (hanging = on) };
}

/** A one-node cluster's configuration: node n1, group G with one Dummy resource R. */
async function oneNodeWithGroup(inner: Store): Promise<{ node: NodeConfig; types: ResourceTypeRegistry }> {
  const config = new ClusterConfigStore(new ClusterDatabase(inner));
  const node = await config.addNode('n1', 1);
  const types = builtinResourceTypes();
  for (const name of types.names()) await config.registerResourceType(types.get(name).descriptor);
  await config.createGroup('G');
  await config.createResource({ name: 'R', type: 'Dummy', group: 'G', parameters: { OpenReadsDatabase: 0 } });
  return { node, types };
}

test('a node whose renewals go unconfirmed stops its resources before its lease can expire, then rejoins', async () => {
  const clock = new VirtualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const inner = await openEmbeddedStore({ clock });
  const { store, hang } = withHangingRenewals(inner);
  const { node, types } = await oneNodeWithGroup(inner);
  const pets: Array<{ at: number; fireInMs: number }> = [];
  const log = new ClusterLogWriter({ pid: 1, clock, memoryLines: 2000 });
  const agent = new NodeAgent({ node, store, clock, types, log, watchdog: { pet: (fireInMs) => pets.push({ at: clock.now(), fireInMs }) } });
  const stateOf = (r: string): string | undefined => agent.rcmState.resources.get(r)?.state;
  const run = async (cond: () => boolean, maxMs: number): Promise<void> => {
    for (let t = 0; !cond(); t += STEP_MS) {
      if (t > maxMs) throw new Error(`condition not reached within ${maxMs} ms of virtual time`);
      await clock.advanceAsync(STEP_MS);
    }
  };
  try {
    await agent.start();
    await run(() => stateOf('R') === 'Online', 10_000);
    const ttlMs = defaultAgentLimits.leaseTtlSeconds * 1000;
    // Every renewal pets the watchdog with "fire before the lease can expire".
    assert.ok(pets.length > 0);
    for (const p of pets) assert.equal(p.fireInMs, ttlMs - defaultAgentLimits.watchdogMarginMs);

    const lease = (await inner.get(keys.member('n1')))!.lease!;
    const lastConfirmed = pets[pets.length - 1]!.at; // renewals answer at once here: sent and confirmed at the same instant
    hang(true);
    const fenced = (): boolean => /lost its membership/.test(log.lines().join('\n'));
    await run(fenced, ttlMs);
    const fencedAt = clock.now();
    assert.notEqual(stateOf('R'), 'Online', 'the resource was stopped');
    assert.ok(fencedAt <= lastConfirmed + ttlMs - defaultAgentLimits.selfFenceMarginMs + STEP_MS, `fenced ${fencedAt - lastConfirmed} ms after the last renewal`);
    // The old lease was still alive when the node stopped its resources (the node then gave it up itself).
    assert.ok(fencedAt < lastConfirmed + ttlMs, 'resources stopped before the lease could expire');
    assert.match(log.lines().join('\n'), /Node n1 lost its membership \(no lease renewal was confirmed for \d+ ms\); terminating every resource it hosts\./);
    // The watchdog was never told a deadline past the lease's earliest expiry.
    for (const p of pets) assert.ok(p.at + p.fireInMs < lastConfirmed + ttlMs || p.at > lastConfirmed);

    // Renewals work again: the node rejoins with a new lease and takes its group back (nobody else owns it).
    hang(false);
    await run(() => stateOf('R') === 'Online', 10_000);
    const newLease = (await inner.get(keys.member('n1')))!.lease;
    assert.notEqual(newLease, lease);
    assert.equal(await inner.leaseTimeToLive(lease), -1, 'the old lease is gone');
  } finally {
    await agent.stop({ graceful: false });
    log.close();
    await inner.close();
  }
});

test('a rejoining node does not take back a group that failed over meanwhile', async () => {
  const clock = new VirtualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const inner = await openEmbeddedStore({ clock });
  const { store, hang } = withHangingRenewals(inner);
  const config = new ClusterConfigStore(new ClusterDatabase(inner));
  const node = await config.addNode('n1', 1);
  await config.addNode('n2', 2);
  const types = builtinResourceTypes();
  for (const name of types.names()) await config.registerResourceType(types.get(name).descriptor);
  await config.createGroup('G', { PreferredOwners: ['n1'] });
  await config.createResource({ name: 'R', type: 'Dummy', group: 'G', parameters: { OpenReadsDatabase: 0 } });
  const log = new ClusterLogWriter({ pid: 1, clock, memoryLines: 2000 });
  const agent = new NodeAgent({ node, store, clock, types, log });
  const stateOf = (r: string): string | undefined => agent.rcmState.resources.get(r)?.state;
  const run = async (cond: () => boolean, maxMs: number): Promise<void> => {
    for (let t = 0; !cond(); t += STEP_MS) {
      if (t > maxMs) throw new Error(`condition not reached within ${maxMs} ms of virtual time`);
      await clock.advanceAsync(STEP_MS);
    }
  };
  try {
    await agent.start();
    await run(() => stateOf('R') === 'Online', 10_000);
    // The store stops answering this node's renewals and also its rejoin, until G has failed over to n2.
    hang(true);
    await run(() => /lost its membership/.test(log.lines().join('\n')), 5_000);
    assert.notEqual(stateOf('R'), 'Online');
    const owner = await inner.get(keys.owner('G'));
    // n2 is up (a member, on a long lease) and the group failed over to it.
    const n2Lease = await inner.grantLease(600);
    await inner.put(keys.member('n2'), JSON.stringify({ id: 2, startedAt: clock.now() }), { lease: n2Lease });
    await inner.put(keys.owner('G'), JSON.stringify({ node: 'n2', reason: 'failover' }));
    assert.ok(owner);
    hang(false);
    for (let t = 0; t < 3_000; t += STEP_MS) await clock.advanceAsync(STEP_MS);
    assert.notEqual(stateOf('R'), 'Online', 'n1 does not bring back a group it no longer owns');
    assert.equal((await inner.get(keys.member('n1'))) !== undefined, true, 'n1 rejoined');
  } finally {
    await agent.stop({ graceful: false });
    log.close();
    await inner.close();
  }
});

test('a renewal that hangs does not hold back the next ones: the node keeps its lease and its resources', async () => {
  // As when etcd's leader is cut off: a member forwards the renewals it gets to that leader, where they hang
  // until its request timeout, while renewals sent after a new leader is elected are answered at once.
  const clock = new VirtualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const inner = await openEmbeddedStore({ clock });
  let hangNext = 0;
  const store = storeWith(inner, {
    keepAlive: (lease) => {
      if (hangNext === 0) return inner.keepAlive(lease);
      hangNext--;
      return new Promise<void>((_, reject) => clock.setTimer(5_000, () => reject(new StoreError('unavailable', 'test: deadline exceeded'))));
    },
  });
  const { node, types } = await oneNodeWithGroup(inner);
  const log = new ClusterLogWriter({ pid: 1, clock, memoryLines: 2000 });
  const agent = new NodeAgent({ node, store, clock, types, log });
  try {
    await agent.start();
    for (let t = 0; agent.rcmState.resources.get('R')?.state !== 'Online'; t += STEP_MS) {
      assert.ok(t < 10_000, 'R online');
      await clock.advanceAsync(STEP_MS);
    }
    // The next three renewals (750 ms of beats) hang for 5 s; the ones after are answered.
    hangNext = 3;
    for (let t = 0; t < 8_000; t += STEP_MS) await clock.advanceAsync(STEP_MS);
    assert.doesNotMatch(log.lines().join('\n'), /lost its membership/);
    assert.equal(agent.rcmState.resources.get('R')?.state, 'Online');
  } finally {
    await agent.stop({ graceful: false });
    log.close();
    await inner.close();
  }
});
