// The embedded mode on the real clock, on a starved machine (CPU hogs, 4 per
// core) with real stalls of the whole process (its event loop blocked for
// longer than the lease TTL): no node loses its membership, every operation
// succeeds, the stalls are logged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RealClock } from '../../src/clock/real.ts';
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import type { ClusterApi, OperationView } from '../../src/api/types.ts';
import { defaultAgentLimits } from '../../src/node/limits.ts';
import { cpuHogsFor } from '../support/load.ts';

const groupsTotal = 9;
const groupsMoved = 3;
/** Longer than the lease TTL: without the stall credit every node would fence itself. */
const stallMs = defaultAgentLimits.leaseTtlSeconds * 1000 + 1_000;
const stallsTotal = 2;
const hogsMaxMs = 150_000;
const waitMaxMs = 60_000;
const pollIntervalMs = 50;

/** Blocks this process's event loop: no timer, I/O or promise callback runs meanwhile. */
function blockEventLoop(ms: number): void {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    // busy
  }
}

async function until(what: string, cond: () => Promise<boolean>): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > waitMaxMs) throw new Error(`timed out after ${waitMaxMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollIntervalMs));
  }
}

async function ended(api: ClusterApi, op: OperationView): Promise<OperationView> {
  let view = op;
  await until(`operation ${op.id} (${op.kind} ${op.target}) to end`, async () => (view = await api.getOperation(op.id)).done);
  return view;
}

test(`embedded mode under CPU hogs: ${stallsTotal} process stalls of ${stallMs} ms cost no lease and fail no operation`, { timeout: hogsMaxMs }, async (t) => {
  const hogs = cpuHogsFor(t, { maxMs: hogsMaxMs });
  const startedAt = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'failover-'));
  const clock = new RealClock();
  const cluster = await LocalCluster.start({ clock, dataDir: dir, nodes: 3 });
  const api = createInProcessApi({ store: cluster.store, clock });
  try {
    const groups = Array.from({ length: groupsTotal }, (_, i) => `G${i + 1}`);
    for (const [i, g] of groups.entries()) {
      await api.createGroup(g, { PreferredOwners: [`node${(i % 3) + 1}`] });
      await api.createResource(`${g}-r`, 'Dummy', g);
    }
    const onlines = await Promise.all(groups.map((g) => api.onlineGroup(g)));
    for (const op of onlines) assert.equal((await ended(api, op)).ok, true, `online of ${op.target}`);

    t.diagnostic(`${groupsTotal} groups online after ${Date.now() - startedAt} ms`);
    const failed: string[] = [];
    for (let s = 0; s < stallsTotal; s++) {
      blockEventLoop(stallMs);
      // Right after the stall, before the nodes have renewed anything: moves must be accepted and complete.
      const moves = await Promise.all(
        groups.slice(s * groupsMoved, (s + 1) * groupsMoved).map(async (g) => {
          const owner = (await api.getGroup(g)).owner;
          return api.moveGroup(g, { to: owner === 'node1' ? 'node2' : 'node1' });
        }),
      );
      for (const op of moves) {
        const view = await ended(api, op);
        if (!view.ok) failed.push(`${op.kind} ${op.target}: ${view.error?.name} ${view.error?.message}`);
      }
    }
    assert.deepEqual(failed, [], 'operations failed');
    for (const [name, log] of cluster.logs) {
      const text = log.lines().join('\n');
      assert.doesNotMatch(text, /lost its membership/, `${name} lost its membership`);
      assert.match(text, /The process stalled for \d+ ms/, `${name} logged the stalls`);
    }
    assert.deepEqual((await api.listNodes()).map((n) => n.state), ['Up', 'Up', 'Up']);
    t.diagnostic(`${hogs.count} CPU hogs; ${stallsTotal} stalls of ${stallMs} ms; ${groupsTotal} groups, ${stallsTotal * groupsMoved} moves; ${Date.now() - startedAt} ms`);
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
