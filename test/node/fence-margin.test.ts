// The new owner's side of fencing, on a virtual clock: with a fence margin
// (distributed mode) the coordinator fails a dead node's groups over only the
// margin after it saw the node's lease gone — or at once when the node's
// watchdog has confirmed in the store that it killed every resource process
// of that very lease.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keys } from '../../src/node/keys.ts';
import { encode } from '../../src/node/records.ts';
import { startTestCluster, STEP_MS, type TestCluster } from './helpers.ts';

const fenceMarginMs = 1_000;
const leaseTtlSeconds = 2;

async function crashOwnerAndTime(confirm: 'none' | 'current lease' | 'older lease'): Promise<number> {
  const t: TestCluster = await startTestCluster({ nodes: ['node1', 'node2'], agentLimits: { fenceMarginMs, leaseTtlSeconds } });
  try {
    await t.api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    await t.api.createResource('R', 'Dummy', 'G');
    await t.api.onlineGroup('G');
    await t.until('G online on node1', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node1' && g.state === 'Online';
    });
    const lease = (await t.cluster.store.get(keys.member('node1')))!.lease!;
    await t.cluster.crashNode('node1');
    const crashedAt = t.clock.now();
    if (confirm !== 'none') await t.cluster.store.put(keys.fenced('node1'), encode({ lease: confirm === 'current lease' ? lease : `${lease}0` }));
    await t.until('G online on node2', async () => {
      const g = await t.api.getGroup('G');
      return g.owner === 'node2' && g.state === 'Online';
    }, 30_000);
    return t.clock.now() - crashedAt;
  } finally {
    await t.stop();
  }
}

test('without a kill confirmation a failover waits for the lease to expire plus the fence margin', async () => {
  const took = await crashOwnerAndTime('none');
  assert.ok(took >= leaseTtlSeconds * 1000 + fenceMarginMs - STEP_MS, `failed over after ${took} ms`);
});

test('a kill confirmation for an older lease of the node does not count', async () => {
  const took = await crashOwnerAndTime('older lease');
  assert.ok(took >= leaseTtlSeconds * 1000 + fenceMarginMs - STEP_MS, `failed over after ${took} ms`);
});

test('a kill confirmation for the lease that expired lets the failover go ahead at the expiry', async () => {
  const took = await crashOwnerAndTime('current lease');
  assert.ok(took >= leaseTtlSeconds * 1000 - STEP_MS, `failed over after ${took} ms: before the lease expired`);
  assert.ok(took < leaseTtlSeconds * 1000 + fenceMarginMs - STEP_MS, `failed over after ${took} ms: the confirmation was not used`);
});
