import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { planNodeDown } from '../../src/policy/node-down.ts';
import { isPlacementError } from '../../src/policy/placement.ts';
import { errors } from '../../src/model/errors.ts';
import type { NodeState } from '../../src/model/objects.ts';
import type { ClusterView, PolicyGroup } from '../../src/policy/view.ts';
import { group, nodes, view } from './fixtures.ts';

test('plans every group of the node in Priority order, spreading them by load; Priority 0 is placed but not started', () => {
  const v = view(
    nodes('A B C'),
    group('Low', { owner: 'A', priority: 1000 }),
    group('Manual', { owner: 'A', priority: 0 }),
    group('High', { owner: 'A', priority: 3000 }),
    group('High2', { owner: 'A', priority: 3000 }),
    group('Elsewhere', { owner: 'B' }),
  );
  const plan = planNodeDown(v, 'A');
  assert.equal(plan.node, 'A');
  assert.deepEqual(
    plan.decisions.map((d) => [d.group, d.priority, d.start]),
    [
      ['High', 3000, true],
      ['High2', 3000, true],
      ['Low', 1000, true],
      ['Manual', 0, false],
    ],
  );
  // B already hosts Elsewhere: C first, then the emptier of the two each time (ties in node-id order).
  assert.deepEqual(
    plan.decisions.map((d) => (isPlacementError(d.target) ? d.target.name : d.target.node)),
    ['C', 'B', 'C', 'B'],
  );
});

test('the down node is excluded even while the view still reports it Up', () => {
  const plan = planNodeDown(view(nodes('A B'), group('G', { owner: 'A', preferred: ['A'] })), 'A');
  assert.deepEqual(plan.decisions[0]?.target, { node: 'B', antiAffinityRelaxed: false });
});

test('anti-affinity counts the groups placed earlier in the same plan; relaxed, it picks the node with the fewest of the class', () => {
  const v = view(
    nodes('A B C D'),
    group('S1', { owner: 'A', classes: ['sql'], priority: 3 }),
    group('S2', { owner: 'A', classes: ['sql'], priority: 2 }),
    group('S3', { owner: 'A', classes: ['sql'], priority: 1 }),
    group('S4', { owner: 'A', classes: ['sql'], priority: 1 }),
    group('Resident', { owner: 'D', classes: ['sql'] }),
  );
  const targets = planNodeDown(v, 'A').decisions.map((d) => (isPlacementError(d.target) ? d.target.name : [d.target.node, d.target.antiAffinityRelaxed]));
  assert.deepEqual(targets, [
    ['B', false],
    ['C', false],
    ['B', true],
    ['C', true],
  ]);
});

test('a group nobody else can host gets an error decision; the others are still placed', () => {
  const v = view(nodes('A B'), group('Pinned', { owner: 'A', resources: { R: ['A'] } }), group('Free', { owner: 'A' }));
  const plan = planNodeDown(v, 'A');
  const pinned = plan.decisions.find((d) => d.group === 'Pinned')!;
  assert.ok(isPlacementError(pinned.target));
  if (isPlacementError(pinned.target)) {
    assert.equal(pinned.target.code, errors.ERROR_NODE_CANT_HOST_RESOURCE.code);
    assert.match(pinned.target.message, /A\(1\): Down; B\(2\): not a possible owner of resource "R"/);
  }
  assert.deepEqual(plan.decisions.find((d) => d.group === 'Free')!.target, { node: 'B', antiAffinityRelaxed: false });
});

// A deliberately naive model of the rules, to check the fast plan against:
// sort the eligible nodes by (same-class groups there, preferred position,
// groups there, node id) and take the first.
function naiveTarget(v: ClusterView, placedOn: Map<string, string>, g: PolicyGroup, down: string) {
  const eligible = [...v.nodes].filter(
    (n) => n.state === 'Up' && n.name !== down && g.resources.every((r) => r.common.PossibleOwners.length === 0 || r.common.PossibleOwners.includes(n.name)),
  );
  const classes = [...new Set(g.common.AntiAffinityClassNames)];
  const others = v.groups.filter((o) => o.name !== g.name);
  const conflicts = (name: string) =>
    others.filter((o) => placedOn.get(o.name) === name).reduce((sum, o) => sum + classes.filter((c) => o.common.AntiAffinityClassNames.includes(c)).length, 0);
  const load = (name: string) => others.filter((o) => placedOn.get(o.name) === name).length;
  const rank = (name: string) => {
    const p = g.common.PreferredOwners.indexOf(name);
    return p >= 0 ? p : g.common.PreferredOwners.length;
  };
  const key = (n: { name: string; id: number }) => [conflicts(n.name), rank(n.name), rank(n.name) < g.common.PreferredOwners.length ? 0 : load(n.name), n.id];
  const sorted = eligible.sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
  const first = sorted[0];
  return first === undefined ? undefined : { node: first.name, antiAffinityRelaxed: conflicts(first.name) > 0 };
}

test('property: every decision matches a naive model of the rules', () => {
  const names = ['N1', 'N2', 'N3', 'N4', 'N5'];
  const arbGroup = fc.record({
    owner: fc.constantFrom(...names),
    preferred: fc.subarray(names),
    classes: fc.subarray(['a', 'b', 'c'], { maxLength: 2 }),
    priority: fc.constantFrom(0, 1000, 2000, 3000),
    resources: fc.array(fc.subarray(names, { maxLength: 3 }), { minLength: 1, maxLength: 3 }),
  });
  fc.assert(
    fc.property(fc.array(fc.constantFrom<NodeState>('Up', 'Up', 'Down', 'Paused', 'Joining'), { minLength: 5, maxLength: 5 }), fc.array(arbGroup, { maxLength: 12 }), (states, specs) => {
      const ns = nodes(names.join(' '), Object.fromEntries(names.map((n, i) => [n, states[i]!])));
      const groups = specs.map((s, i) =>
        group(`G${i}`, { ...s, preferred: [...s.preferred].reverse(), resources: Object.fromEntries(s.resources.map((owners, j) => [`R${i}.${j}`, owners])) }),
      );
      const v = view(ns, ...groups);
      const plan = planNodeDown(v, 'N1');
      const placedOn = new Map(groups.filter((g) => g.owner !== undefined).map((g) => [g.name, g.owner!]));
      assert.equal(plan.decisions.length, groups.filter((g) => g.owner === 'N1').length);
      let lastPriority = Infinity;
      for (const d of plan.decisions) {
        assert.ok(d.priority <= lastPriority);
        lastPriority = d.priority;
        const g = groups.find((x) => x.name === d.group)!;
        const expected = naiveTarget(v, placedOn, g, 'N1');
        if (expected === undefined) assert.ok(isPlacementError(d.target), d.group);
        else {
          assert.deepEqual(d.target, expected, d.group);
          placedOn.set(g.name, expected.node);
        }
      }
    }),
    { numRuns: 300 },
  );
});
