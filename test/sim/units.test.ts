// The simulator's parts on their own: the seeded generator and the checkers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/sim/prng.ts';
import { checkMovesEnd, checkOneOwner, checkOperationsEnded, expectedOnline, TransitionChecker, type NodeObservation } from '../../src/sim/invariants.ts';
import type { RcmState, RcmEffect } from '../../src/rcm/index.ts';
import { parseDependencies } from '../../src/model/dependency.ts';

test('the generator: same seed same sequence, different seeds differ, ranges hold', () => {
  const a = new Prng(42);
  const b = new Prng(42);
  const xs = Array.from({ length: 1000 }, () => a.nextUint32());
  assert.deepEqual(Array.from({ length: 1000 }, () => b.nextUint32()), xs);
  const c = new Prng(43);
  assert.notDeepEqual(Array.from({ length: 1000 }, () => c.nextUint32()), xs);
  const p = new Prng(Number.MAX_SAFE_INTEGER);
  const hist = [0, 0, 0, 0, 0, 0];
  for (let i = 0; i < 6000; i++) {
    const v = p.int(0, 5);
    assert.ok(v >= 0 && v <= 5);
    hist[v]!++;
  }
  for (const h of hist) assert.ok(h > 800 && h < 1200, `roughly uniform: ${hist.join(',')}`);
  assert.throws(() => new Prng(-1));
  assert.throws(() => new Prng(1.5));
});

function observation(node: string, resources: { name: string; group: string; state: string }[]): NodeObservation {
  return { node, rcm: { resources: new Map(resources.map((r) => [r.name, r])) } as unknown as RcmState };
}

test('one owner: a group up on two nodes is found, one node or down elsewhere is fine', () => {
  const n1 = observation('node1', [{ name: 'A', group: 'G', state: 'Online' }]);
  const n2down = observation('node2', [{ name: 'B', group: 'G', state: 'Offline' }]);
  const n2up = observation('node2', [{ name: 'B', group: 'G', state: 'OnlinePending' }]);
  assert.equal(checkOneOwner([n1, n2down]), undefined);
  const f = checkOneOwner([n1, n2up]);
  assert.equal(f?.invariant, 'one-owner');
  assert.match(f!.detail, /group G is up on two nodes: A is Online on node1 while B is OnlinePending on node2/);
});

test('transitions: illegal edges and sequence numbers that do not increase are found, per incarnation', () => {
  const t = (resource: string, from: string, to: string, seq: number): RcmEffect => ({ type: 'transition', resource, group: 'G', from, to, seq }) as RcmEffect;
  const c = new TransitionChecker();
  assert.equal(c.observe('node1#1', [t('A', 'Initializing', 'OpenCallIssued', 1), t('A', 'OpenCallIssued', 'Offline', 2)]), undefined);
  assert.equal(c.observe('node1#1', [t('A', 'Offline', 'Online', 3)])?.invariant, 'legal-transition');
  assert.equal(c.observe('node1#1', [t('A', 'Offline', 'OnlineCallIssued', 2)])?.invariant, 'state-seq-increases');
  assert.equal(c.observe('node1#2', [t('A', 'Initializing', 'OpenCallIssued', 1)]), undefined, 'a new incarnation starts its own sequence');
  const logged: RcmEffect = { type: 'log', message: { level: 'INFO', component: 'RCM', text: 'TransitionToState(A) Failed-->Online.' } };
  assert.equal(c.observe('node1#2', [logged])?.invariant, 'legal-transition');
});

test('operations and moves past their deadlines are found', () => {
  const ops = [{ id: 'op-1', what: 'onlineGroup G', submittedAt: 0, deadlineAt: 100 }];
  assert.equal(checkOperationsEnded(100, ops, () => false), undefined);
  assert.equal(checkOperationsEnded(101, ops, () => true), undefined);
  assert.equal(checkOperationsEnded(101, ops, () => false)?.invariant, 'no-unbounded-wait');
  const move = { group: 'G', moveId: 'm1', from: 'node1', to: 'node2', deadlineAt: 1000, ended: false };
  assert.equal(checkMovesEnd(1500, [move], 500), undefined);
  assert.equal(checkMovesEnd(1501, [move], 500)?.invariant, 'moves-end');
  assert.equal(checkMovesEnd(9999, [{ ...move, ended: true }], 500), undefined);
});

test('expected online: PersistentState 1 resources and, transitively, their providers', () => {
  const dep = (e: string) => {
    const d = parseDependencies(e);
    return d !== undefined && 'code' in d ? undefined : d;
  };
  const set = expectedOnline({
    resources: [
      { name: 'Disk', group: 'G', persistentState: 0, dependencies: undefined },
      { name: 'Db', group: 'G', persistentState: 0, dependencies: dep('[Disk]') },
      { name: 'Store', group: 'G', persistentState: 1, dependencies: dep('[Db]') },
      { name: 'Spare', group: 'G', persistentState: 0, dependencies: undefined },
    ],
  });
  assert.deepEqual([...set].sort(), ['Db', 'Disk', 'Store']);
});
