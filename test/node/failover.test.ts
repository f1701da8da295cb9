import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isUpState, resourceStatus } from '../../src/rcm/index.ts';
import { startTestCluster, type TestCluster, STEP_MS } from './helpers.ts';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { StoreError } from '../../src/store/store.ts';
import { storeWith } from '../support/store-with.ts';
import { keys } from '../../src/node/keys.ts';

/** Nodes on which some resource of the group is online or on its way (per each running agent's RCM). */
function hostsOf(t: TestCluster, group: string): string[] {
  const out: string[] = [];
  for (const [name, agent] of t.cluster.agents) {
    if (!agent.running) continue;
    const names = agent.rcmState.config.groupResources.get(group) ?? [];
    if (names.some((r) => { const s = resourceStatus(agent.rcmState, r)?.state; return s !== undefined && isUpState(s); })) out.push(name);
  }
  return out;
}

test('a crashed node\'s groups come online on the next preferred node, never on two nodes at once', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2', 'node3'] });
  try {
    await t.api.createGroup('G1', { PreferredOwners: ['node1', 'node3', 'node2'] });
    await t.api.createGroup('G2', { PreferredOwners: ['node1', 'node2', 'node3'] });
    for (const g of ['G1', 'G2']) {
      await t.api.createResource(`${g}-ip`, 'Dummy', g);
      await t.api.createResource(`${g}-app`, 'Dummy', g, { dependencies: `[${g}-ip]`, parameters: { OnlineDelayMs: 300 } });
    }
    await t.until('both online on node1', async () => {
      const gs = await t.api.listGroups();
      return gs.every((g) => g.owner === 'node1' && g.state === 'Online');
    });
    const crashedAt = t.clock.now();
    await t.cluster.crashNode('node1');
    const violations: string[] = [];
    await t.until('failed over', async () => {
      for (const g of ['G1', 'G2']) {
        const hosts = hostsOf(t, g);
        if (hosts.length > 1) violations.push(`${g} on ${hosts.join(', ')} at +${t.clock.now() - crashedAt} ms`);
      }
      const gs = await t.api.listGroups();
      return gs.every((g) => g.state === 'Online' && g.owner !== 'node1');
    }, 30_000);
    assert.deepEqual(violations, []);
    assert.equal((await t.api.getGroup('G1')).owner, 'node3');
    assert.equal((await t.api.getGroup('G2')).owner, 'node2');
    assert.equal((await t.api.getNode('node1')).state, 'Down');
    // Failover waited for node1's lease to expire (3 s by default) — not sooner.
    const log = [...t.cluster.log('node2').lines(), ...t.cluster.log('node3').lines()].join('\n');
    assert.match(log, /move of group G1 from node1\(1\) to node3\(3\) of type MoveType::Failover/);
    // The crashed node comes back and takes nothing it no longer owns.
    await t.cluster.startNode('node1');
    await t.run(5_000);
    assert.equal((await t.api.getGroup('G1')).owner, 'node3');
    assert.deepEqual(hostsOf(t, 'G1'), ['node3']);
  } finally {
    await t.stop();
  }
});

test('a failover waits for the lease of the failed node to expire', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2'], agentLimits: { leaseTtlSeconds: 5 } });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    await t.api.createResource('R', 'Dummy', 'G');
    await t.until('G online', async () => (await t.api.getGroup('G')).state === 'Online');
    await t.cluster.crashNode('node1');
    const took = await t.until('G online on node2', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node2' && g.state === 'Online';
    }, 30_000);
    assert.ok(took >= 4_000 - STEP_MS, `failover began only after the 5 s lease could expire (took ${took} ms)`);
    assert.ok(took < 10_000, `failover followed the expiry promptly (took ${took} ms)`);
  } finally {
    await t.stop();
  }
});

test('a Down node\'s group with no node to go to fails over once a node can take it', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2'] });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    await t.api.createResource('R', 'Dummy', 'G');
    await t.until('G online on node1', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node1' && g.state === 'Online';
    });
    // A paused node hosts nothing new: when node1 dies, G has nowhere to go.
    await t.api.pauseNode('node2');
    await t.cluster.crashNode('node1');
    await t.run(10_000);
    assert.equal((await t.api.getGroup('G')).owner, 'node1');
    const log = t.cluster.log('node2').lines().join('\n');
    assert.match(log, /Group G cannot fail over from node1/);
    // Once a node can take it, the next sweep fails it over; the refusal was logged once, not every sweep.
    await t.api.resumeNode('node2');
    await t.until('G online on node2', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node2' && g.state === 'Online';
    }, 10_000);
    assert.equal(t.cluster.log('node2').lines().filter((l) => /Group G cannot fail over from node1/.test(l)).length, 1);
  } finally {
    await t.stop();
  }
});

test('after every node lost its lease at once (etcd without a leader), one of them becomes coordinator again and fails the dead node\'s group over', async () => {
  const clock = new VirtualClock(Date.UTC(2026, 10, 25, 9, 0, 0));
  const inner = await openEmbeddedStore({ clock });
  let unreachable = false;
  // Renewals hang and new leases are refused while `unreachable`: what every agent sees while etcd elects a leader.
  const store = storeWith(inner, {
    keepAlive: (lease) => (unreachable ? new Promise<void>(() => {}) : inner.keepAlive(lease)),
    grantLease: (ttl) => (unreachable ? Promise.reject(new StoreError('unavailable', 'test: no leader')) : inner.grantLease(ttl)),
  });
  const t = await startTestCluster({ nodes: ['node1', 'node2', 'node3'], clock, store });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1', 'node2', 'node3'] });
    await t.api.createResource('R', 'Dummy', 'G');
    await t.until('G online on node1', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node1' && g.state === 'Online';
    });
    unreachable = true;
    await t.cluster.crashNode('node1');
    // Every lease expires, the coordinator's key with its holder's: no node has a lease to campaign with.
    await t.until('every member key gone', async () => (await inner.range(keys.members)).kvs.length === 0, 10_000);
    await t.run(2_000);
    unreachable = false;
    await t.until('G online on node2 or node3', async () => {
      const g = await t.api.getGroup('G');
      return (g.owner === 'node2' || g.owner === 'node3') && g.state === 'Online';
    }, 15_000);
    const leaders = ['node2', 'node3'].filter((n) => t.cluster.agent(n).coordinator.isLeader);
    assert.equal(leaders.length, 1, `coordinators: ${leaders.join(', ')}`);
  } finally {
    await t.stop();
    await inner.close();
  }
});
