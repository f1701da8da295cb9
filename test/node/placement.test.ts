// The coordinator places groups created together in one plan, and a drain or
// a crash moves many groups over one placement index: anti-affinity classes
// stay apart among the groups moved together (policy/plan.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GroupView } from '../../src/api/types.ts';
import { startTestCluster } from './helpers.ts';

const PAIRS = 100;

/** Pairs (same anti-affinity class) that share a node. */
function sharedNodes(groups: readonly GroupView[]): string[] {
  const owners = new Map(groups.map((g) => [g.name, g.owner]));
  const out: string[] = [];
  for (let i = 0; i < PAIRS; i++) {
    const a = owners.get(`P${i}a`);
    if (a !== undefined && a === owners.get(`P${i}b`)) out.push(`P${i} on ${a}`);
  }
  return out;
}

test('100 pairs of same-class groups placed together by the coordinator: 0 anti-affinity violations, also after a drain and a crash', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2', 'node3', 'node4'] });
  try {
    await t.until('every node up', async () => (await t.api.listNodes()).every((n) => n.state === 'Up'));
    for (let i = 0; i < PAIRS; i++) {
      for (const side of ['a', 'b']) await t.api.createGroup(`P${i}${side}`, { AntiAffinityClassNames: [`class${i}`] });
    }
    await t.until('every group placed', async () => (await t.api.listGroups()).every((g) => g.owner !== undefined));
    let groups = await t.api.listGroups();
    assert.equal(groups.length, 2 * PAIRS);
    assert.deepEqual(sharedNodes(groups), []);
    const loads = (gs: readonly GroupView[], nodes: readonly string[]) => nodes.map((n) => gs.filter((g) => g.owner === n).length);
    assert.deepEqual(loads(groups, ['node1', 'node2', 'node3', 'node4']), [50, 50, 50, 50]);

    const drain = await t.api.pauseNode('node1', { drain: true });
    assert.ok(drain);
    await t.until('drain done', async () => (await t.api.getOperation(drain.id)).done);
    assert.equal((await t.api.getOperation(drain.id)).ok, true);
    groups = await t.api.listGroups();
    assert.deepEqual(loads(groups, ['node1']), [0]);
    assert.deepEqual(sharedNodes(groups), []);

    await t.cluster.crashNode('node2');
    await t.until('node2 emptied', async () => (await t.api.listGroups()).every((g) => g.owner !== 'node2'), 60_000);
    groups = await t.api.listGroups();
    // Two nodes left for 100 pairs: every pair still apart, 100 groups each.
    assert.deepEqual(sharedNodes(groups), []);
    assert.deepEqual(loads(groups, ['node3', 'node4']), [100, 100]);
  } finally {
    await t.stop();
  }
});
