// The embedded mode when the whole process stalls (a GC pause, a starved CPU,
// SIGSTOP of `failover up`), on a virtual clock: no node loses its membership
// for it, the stall is logged, and a node that alone stopped renewing while
// the process ran still loses its lease on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { storeWith } from '../support/store-with.ts';
import { NodeAgent } from '../../src/node/agent.ts';
import { ClusterLogWriter } from '../../src/log/writer.ts';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { ClusterDatabase } from '../../src/database/registry.ts';
import { ClusterConfigStore } from '../../src/database/config.ts';
import { builtinResourceTypes } from '../../src/types/index.ts';
import { startTestCluster } from './helpers.ts';

const lostMembership = /lost its membership/;
const renewalAnswerMs = 5;

test('a stall of the whole process longer than the lease TTL costs no node its membership, and is logged', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2', 'node3'] });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1', 'node2', 'node3'] });
    await t.api.createResource('R', 'Dummy', 'G');
    await t.api.onlineGroup('G');
    await t.until('G online on node1', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node1' && g.state === 'Online';
    });
    t.clock.stall(10_000);
    await t.run(3_000);
    for (const [name, log] of t.cluster.logs) {
      const text = log.lines().join('\n');
      assert.doesNotMatch(text, lostMembership, `${name} lost its membership over a process stall`);
      assert.match(text, /WARN +\[NM\] The process stalled for \d{4,5} ms \(its timers ran late\); membership leases are extended by the stall\./);
    }
    const g = await t.api.getGroup('G');
    assert.deepEqual([g.owner, g.state], ['node1', 'Online']);
    assert.deepEqual((await t.api.listNodes()).map((n) => n.state), ['Up', 'Up', 'Up']);
    // Work goes on: an offline and online of the group succeed (an online is refused on an unconfirmed lease).
    await t.api.offlineGroup('G');
    await t.until('G offline', async () => (await t.api.getGroup('G')).state === 'Offline');
    await t.api.onlineGroup('G');
    await t.until('G online again', async () => (await t.api.getGroup('G')).state === 'Online');
  } finally {
    await t.stop();
  }
});

test('a node that alone stopped renewing loses its lease after the TTL of running time, stalls not counted', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2'], agentLimits: { leaseTtlSeconds: 5 } });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    await t.api.createResource('R', 'Dummy', 'G');
    await t.api.onlineGroup('G');
    await t.until('G online on node1', async () => (await t.api.getGroup('G')).owner === 'node1' && (await t.api.getGroup('G')).state === 'Online');
    await t.cluster.crashNode('node1');
    const crashedAt = t.clock.now();
    await t.run(1_000);
    t.clock.stall(20_000);
    const took = await t.until('G online on node2', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node2' && g.state === 'Online';
    }, 30_000);
    const runningMs = t.clock.now() - crashedAt - 20_000;
    assert.ok(runningMs >= 4_000, `failed over after ${runningMs} ms of running time: the stall was counted as silence`);
    assert.ok(took < 10_000, `failed over promptly once the lease ran out (${took} ms after the stall)`);
    assert.doesNotMatch(t.cluster.log('node2').lines().join('\n'), lostMembership);
  } finally {
    await t.stop();
  }
});

/**
 * One agent whose renewals take a few ms of virtual time to be answered, so
 * after a stall its overdue fence timer runs before the renewal's answer.
 * sharedMeter: the agent is told the store shares its process (the embedded
 * mode); otherwise the store counts as remote (etcd).
 */
async function stallOneAgent(sharedMeter: boolean, stallMs: number): Promise<string> {
  const clock = new VirtualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const store = await openEmbeddedStore({ clock });
  const config = new ClusterConfigStore(new ClusterDatabase(store));
  const node = await config.addNode('n1', 1);
  const types = builtinResourceTypes();
  for (const name of types.names()) await config.registerResourceType(types.get(name).descriptor);
  const log = new ClusterLogWriter({ pid: 1, clock, memoryLines: 2000 });
  const slowRenewals = storeWith(store, {
    keepAlive: (lease) => new Promise<void>((r) => clock.setTimer(renewalAnswerMs, r)).then(() => store.keepAlive(lease)),
  });
  const agent = new NodeAgent({ node, store: slowRenewals, clock, types, log, ...(sharedMeter ? { processStalls: store.stalls } : {}) });
  try {
    await agent.start();
    await clock.advanceAsync(1_000);
    clock.stall(stallMs);
    await clock.advanceAsync(1_000);
    return log.lines().join('\n');
  } finally {
    await agent.stop({ graceful: false });
    log.close();
    await store.close();
  }
}

test('an agent on the in-process store does not count a process stall against its self-fence deadline', async () => {
  assert.doesNotMatch(await stallOneAgent(true, 5_000), lostMembership);
});

test('with a store in another process (etcd) the self-fence stays strict: a stall past its margin fences the node', async () => {
  assert.match(await stallOneAgent(false, 1_500), lostMembership);
});
