import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseTarget, isPlacementError, validateMoveTarget, type PlacementResult } from '../../src/policy/placement.ts';
import { errors, type ClusterErrorValue } from '../../src/model/errors.ts';
import { group, nodes, view } from './fixtures.ts';

function chosen(r: PlacementResult): string {
  if (isPlacementError(r)) assert.fail(`expected a node, got ${r.name}: ${r.message}`);
  return r.node;
}

function refused(r: PlacementResult | ClusterErrorValue | undefined): ClusterErrorValue {
  assert.ok(r && 'code' in r, `expected an error, got ${JSON.stringify(r)}`);
  return r;
}

test('failover follows PreferredOwners in their order, skipping the failed owner', () => {
  const g = group('G', { owner: 'A', preferred: ['A', 'C', 'B'] });
  assert.equal(chosen(chooseTarget(view(nodes('A B C D', { A: 'Down' }), g), 'G', 'failover')), 'C');
  assert.equal(chosen(chooseTarget(view(nodes('A B C D', { A: 'Down', C: 'Down' }), g), 'G', 'failover')), 'B');
});

test('after the preferred owners come the other nodes in node-id order, not name order', () => {
  const list = [
    { name: 'X', id: 3, state: 'Up' as const },
    { name: 'Z', id: 1, state: 'Down' as const },
    { name: 'Y', id: 2, state: 'Up' as const },
    { name: 'W', id: 4, state: 'Up' as const },
  ];
  const g = group('G', { owner: 'W', preferred: ['Z'] });
  assert.equal(chosen(chooseTarget(view(list, g), 'G', 'failover')), 'Y');
});

test('preferred owner names that are not nodes are ignored', () => {
  const g = group('G', { owner: 'A', preferred: ['Ghost', 'C'] });
  assert.equal(chosen(chooseTarget(view(nodes('A B C'), g), 'G', 'move')), 'C');
});

test('PossibleOwners of every resource is a hard limit (intersection), even over preference', () => {
  const g = group('G', { owner: 'A', preferred: ['B', 'D'], resources: { R1: ['B', 'C', 'D'], R2: ['C', 'D'], R3: [] } });
  assert.equal(chosen(chooseTarget(view(nodes('A B C D'), g), 'G', 'failover')), 'D');
});

test('no possible owner among the Up nodes: 5071 naming the group, the resource and each node', () => {
  const g = group('G', { owner: 'A', resources: { R1: ['A'], DB: ['A', 'C'] } });
  const err = refused(chooseTarget(view(nodes('A B C', { A: 'Down', C: 'Paused' }), g), 'G', 'failover'));
  assert.equal(err.code, errors.ERROR_NODE_CANT_HOST_RESOURCE.code);
  assert.match(err.message, /group "G"/);
  assert.match(err.message, /A\(1\): Down/);
  assert.match(err.message, /B\(2\): not a possible owner of resource "R1"/);
  assert.match(err.message, /C\(3\): Paused/);
});

test('Down, Joining and Paused nodes are excluded; with no Up node the answer is 5005', () => {
  const g = group('G', { owner: 'A', preferred: ['B', 'C', 'D'] });
  const states = { A: 'Down', B: 'Paused', C: 'Joining' } as const;
  assert.equal(chosen(chooseTarget(view(nodes('A B C D', states), g), 'G', 'failover')), 'D');
  const err = refused(chooseTarget(view(nodes('A B C D', { ...states, D: 'Down' }), g), 'G', 'failover'));
  assert.equal(err.code, errors.ERROR_HOST_NODE_NOT_AVAILABLE.code);
  assert.match(err.message, /B\(2\): Paused; C\(3\): Joining; D\(4\): Down/);
});

test('a failover restarts in place only when no other node qualifies; a move never targets the owner', () => {
  const g = group('G', { owner: 'A' });
  assert.equal(chosen(chooseTarget(view(nodes('A B'), g), 'G', 'failover')), 'B');
  assert.equal(chosen(chooseTarget(view(nodes('A B', { B: 'Down' }), g), 'G', 'failover')), 'A');
  const err = refused(chooseTarget(view(nodes('A B', { B: 'Down' }), g), 'G', 'move'));
  assert.equal(err.code, errors.ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST.code);
  assert.match(err.message, /A\(1\): current owner/);
});

test('the failed owner can be named explicitly (e.g. the group is already ownerless)', () => {
  const g = group('G', { owner: undefined, preferred: ['A', 'B'] });
  assert.equal(chosen(chooseTarget(view(nodes('A B'), g), 'G', 'failover', 'A')), 'B');
});

test('anti-affinity: a node hosting a group of the same class is passed over where another exists', () => {
  const sql1 = group('SQL1', { owner: 'B', classes: ['sql'] });
  const other = group('Web', { owner: 'C', classes: ['web'] });
  const sql2 = group('SQL2', { owner: 'A', classes: ['sql'], preferred: ['B', 'C', 'D'] });
  const r = chooseTarget(view(nodes('A B C D'), sql1, other, sql2), 'SQL2', 'move');
  assert.deepEqual(r, { node: 'C', antiAffinityRelaxed: false });
});

test('anti-affinity is relaxed when every qualifying node has a group of the class', () => {
  const sql1 = group('SQL1', { owner: 'B', classes: ['sql'] });
  const sql3 = group('SQL3', { owner: 'C', classes: ['other', 'sql'] });
  const sql2 = group('SQL2', { owner: 'A', classes: ['sql'], preferred: ['C', 'B'] });
  const r = chooseTarget(view(nodes('A B C'), sql1, sql3, sql2), 'SQL2', 'move');
  assert.deepEqual(r, { node: 'C', antiAffinityRelaxed: true });
});

test('a group does not conflict with itself (also with a class listed twice)', () => {
  const g = group('G', { owner: 'A', classes: ['x', 'x'] });
  assert.deepEqual(chooseTarget(view(nodes('A B', { B: 'Down' }), g), 'G', 'failover'), { node: 'A', antiAffinityRelaxed: false });
});

test('unknown group: 5013', () => {
  assert.equal(refused(chooseTarget(view(nodes('A')), 'Nope', 'move')).code, errors.ERROR_GROUP_NOT_FOUND.code);
});

test('validateMoveTarget: member, Up, possible owner of every resource', () => {
  const g = group('G', { owner: 'A', resources: { IP: [], DB: ['A', 'B', 'D', 'E'] } });
  const v = view(nodes('A B C D E', { D: 'Paused', E: 'Down' }), g);
  assert.equal(validateMoveTarget(v, 'G', 'B'), undefined);
  const cases: [string, keyof typeof errors, RegExp][] = [
    ['Q', 'ERROR_CLUSTER_NODE_NOT_FOUND', /"Q": no such node/],
    ['D', 'ERROR_CLUSTER_NODE_PAUSED', /paused/],
    ['E', 'ERROR_CLUSTER_NODE_DOWN', /down/],
    ['C', 'ERROR_NODE_CANT_HOST_RESOURCE', /resource "DB"/],
  ];
  for (const [target, name, text] of cases) {
    const err = refused(validateMoveTarget(v, 'G', target));
    assert.equal(err.name, name, target);
    assert.equal(err.code, errors[name].code);
    assert.match(err.message, /group "G"/);
    assert.match(err.message, text);
  }
  assert.equal(refused(validateMoveTarget(view(nodes('A', { A: 'Joining' }), g), 'G', 'A')).code, errors.ERROR_CLUSTER_NODE_NOT_READY.code);
  assert.equal(refused(validateMoveTarget(v, 'Nope', 'B')).code, errors.ERROR_GROUP_NOT_FOUND.code);
});
