import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTarget, isPlacementError, type PlacementChoice } from '../../src/policy/placement.ts';
import { planEvacuation, planFailovers, planPlacement, type PlacementDecision } from '../../src/policy/plan.ts';
import type { ClusterView, PolicyGroup } from '../../src/policy/view.ts';
import { group, nodes, view } from './fixtures.ts';

function targets(decisions: readonly PlacementDecision[]): Map<string, PlacementChoice> {
  const out = new Map<string, PlacementChoice>();
  for (const d of decisions) {
    if (isPlacementError(d.target)) assert.fail(`${d.group}: ${d.target.message}`);
    out.set(d.group, d.target);
  }
  return out;
}

/** Pairs of groups on one node that share an anti-affinity class, where the class has no more groups than there are Up nodes. */
function violations(v: ClusterView, placed: ReadonlyMap<string, string>): string[] {
  const up = v.nodes.filter((n) => n.state === 'Up').length;
  const byClass = new Map<string, PolicyGroup[]>();
  for (const g of v.groups) for (const c of g.common.AntiAffinityClassNames) byClass.set(c, [...(byClass.get(c) ?? []), g]);
  const out: string[] = [];
  for (const [c, members] of byClass) {
    if (members.length > up) continue;
    const where = members.map((g) => placed.get(g.name) ?? g.owner);
    members.forEach((g, i) => {
      if (where.indexOf(where[i]) !== i) out.push(`${c}: ${g.name} shares ${where[i]}`);
    });
  }
  return out;
}

const pairs = (count: number, spec: (i: number) => Parameters<typeof group>[1] = () => ({})): PolicyGroup[] =>
  Array.from({ length: count }, (_, i) => [
    group(`P${i}a`, { classes: [`class${i}`], ...spec(i) }),
    group(`P${i}b`, { classes: [`class${i}`], ...spec(i) }),
  ]).flat();

test('100 pairs of same-class groups placed together: no pair shares a node, and the nodes carry even loads', () => {
  const v = view(nodes('N1 N2 N3'), ...pairs(100));
  const placed = new Map([...targets(planPlacement(v))].map(([g, t]) => [g, t.node]));
  assert.equal(placed.size, 200);
  assert.deepEqual(violations(v, placed), []);
  const loads = ['N1', 'N2', 'N3'].map((n) => [...placed.values()].filter((x) => x === n).length);
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads.join('/')}`);
});

test('one decision at a time over a stale view would stack them all on one node (what the plan prevents)', () => {
  const v = view(nodes('N1 N2 N3'), ...pairs(100));
  const stale = new Map(v.groups.map((g) => [g.name, (chooseTarget(v, g.name, 'failover') as PlacementChoice).node]));
  assert.equal(new Set(stale.values()).size, 1);
  assert.equal(violations(v, stale).length, 100);
});

test('preferred owners hold among groups placed together; the class still keeps the pair apart', () => {
  const v = view(nodes('N1 N2 N3'), ...pairs(20, () => ({ preferred: ['N3', 'N2'] })), group('Free'));
  const t = targets(planPlacement(v));
  for (let i = 0; i < 20; i++) {
    assert.deepEqual(t.get(`P${i}a`), { node: 'N3', antiAffinityRelaxed: false });
    assert.deepEqual(t.get(`P${i}b`), { node: 'N2', antiAffinityRelaxed: false });
  }
  // The preferred nodes are full of the pairs: the group with no preference takes the empty node.
  assert.equal(t.get('Free')?.node, 'N1');
});

test('placement only places unowned groups, higher Priority first, and counts the owned ones', () => {
  const v = view(
    nodes('N1 N2'),
    group('Owned', { owner: 'N1', classes: ['db'] }),
    group('Low', { classes: ['db'], priority: 1000 }),
    group('High', { classes: ['db'], priority: 3000 }),
  );
  const decisions = planPlacement(v);
  assert.deepEqual(
    decisions.map((d) => [d.group, isPlacementError(d.target) ? d.target.name : d.target.node, !isPlacementError(d.target) && d.target.antiAffinityRelaxed]),
    [
      ['High', 'N2', false],
      ['Low', 'N1', true], // one of the class on each node now, one group each: node-id order
    ],
  );
});

test('a class larger than the cluster spreads evenly (relaxed choices take the node with the fewest of the class)', () => {
  const v = view(nodes('N1 N2 N3'), ...Array.from({ length: 30 }, (_, i) => group(`G${i}`, { classes: ['big'] })));
  const placed = [...targets(planPlacement(v)).values()];
  for (const n of ['N1', 'N2', 'N3']) assert.equal(placed.filter((t) => t.node === n).length, 10, n);
  assert.equal(placed.filter((t) => t.antiAffinityRelaxed).length, 27);
});

test('a group no node can host yet gets an error decision; the rest are placed', () => {
  const v = view(nodes('N1 N2', { N2: 'Down' }), group('Pinned', { resources: { R: ['N2'] } }), group('Free'));
  const d = planPlacement(v);
  assert.ok(isPlacementError(d.find((x) => x.group === 'Pinned')!.target));
  assert.deepEqual(d.find((x) => x.group === 'Free')!.target, { node: 'N1', antiAffinityRelaxed: false });
});

test('evacuation (drain): every group of the node moves, never back to it, spread by class and load', () => {
  const v = view(
    nodes('N1 N2 N3 N4', { N1: 'Paused' }),
    ...Array.from({ length: 9 }, (_, i) => group(`S${i}`, { owner: 'N1', classes: ['sql'] })),
    ...Array.from({ length: 6 }, (_, i) => group(`W${i}`, { owner: 'N1' })),
    group('Elsewhere', { owner: 'N4', classes: ['sql'] }),
  );
  const t = targets(planEvacuation(v, ['N1']));
  assert.equal(t.size, 15);
  const count = (node: string, prefix: string) => [...t].filter(([g, c]) => g.startsWith(prefix) && c.node === node).length;
  assert.equal(count('N1', ''), 0);
  // Ten of the class (nine moving, one already on N4) over three nodes.
  assert.deepEqual(['N2', 'N3', 'N4'].map((n) => count(n, 'S') + (n === 'N4' ? 1 : 0)), [4, 3, 3]);
  const loads = ['N2', 'N3', 'N4'].map((n) => [...t.values()].filter((c) => c.node === n).length + (n === 'N4' ? 1 : 0));
  assert.ok(Math.max(...loads) - Math.min(...loads) <= 1, `loads ${loads.join('/')}`);
});

test('evacuating two nodes at once plans over one index: their groups do not pile onto the same survivor', () => {
  const v = view(
    nodes('N1 N2 N3 N4'),
    group('A1', { owner: 'N1', classes: ['c'] }),
    group('B1', { owner: 'N2', classes: ['c'] }),
  );
  const t = targets(planEvacuation(v, ['N1', 'N2']));
  assert.notEqual(t.get('A1')?.node, t.get('B1')?.node);
  for (const c of t.values()) assert.ok(c.node === 'N3' || c.node === 'N4');
});

test('failovers asked for together spread over the other nodes; with no other node, a restart in place', () => {
  const v = view(
    nodes('N1 N2 N3 N4'),
    ...['F1', 'F2', 'F3'].map((g) => group(g, { owner: 'N1', classes: ['sql'] })),
    group('Pinned', { owner: 'N2', resources: { R: ['N2'] } }),
    group('Quiet', { owner: 'N1', classes: ['sql'] }),
  );
  const t = targets(planFailovers(v, ['F1', 'F2', 'F3', 'Pinned']));
  assert.deepEqual(['F1', 'F2', 'F3'].map((g) => t.get(g)?.node).sort(), ['N2', 'N3', 'N4']);
  assert.deepEqual(t.get('Pinned'), { node: 'N2', antiAffinityRelaxed: false });
  assert.equal(t.has('Quiet'), false, 'only the groups that asked');
});
