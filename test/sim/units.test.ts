// The simulator's parts on their own: the seeded generator and the checkers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../../src/sim/prng.ts';
import { checkMovesEnd, checkOperationsEnded, expectedOnline, TransitionChecker } from '../../src/sim/invariants.ts';
import { ResourceLedger, SimWatchdog, type Incarnation } from '../../src/sim/ledger.ts';
import { VirtualClock } from '../../src/clock/virtual.ts';
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

test('one owner on the ledger: a group running on two nodes is found; a stopped, killed or failed start is not running', () => {
  const ledger = new ResourceLedger((r) => ({ A: 'G', B: 'G' })[r]);
  const n1: Incarnation = { node: 'node1', name: 'node1#1', alive: true };
  const n2: Incarnation = { node: 'node2', name: 'node2#1', alive: true };
  ledger.started(n1, 'A');
  ledger.started(n2, 'B');
  const f = ledger.checkOneOwner();
  assert.equal(f?.invariant, 'one-owner');
  assert.match(f!.detail, /group G runs on two nodes: A on node1#1 and B on node2#1/);
  ledger.stopped(n2, 'B');
  assert.equal(ledger.checkOneOwner(), undefined);
  // A crashed node's calls reach nothing: its processes run until its watchdog kills them.
  n1.alive = false;
  ledger.stopped(n1, 'A');
  assert.deepEqual(ledger.runningIn(n1), ['A']);
  ledger.started(n2, 'B');
  assert.match(ledger.checkOneOwner()!.detail, /crashed, not killed by its watchdog yet/);
  assert.deepEqual(ledger.killAll(n1), ['A']);
  assert.equal(ledger.checkOneOwner(), undefined);
});

test('the simulated watchdog: kills a silent agent\'s processes at the last pet\'s deadline, a dead one\'s no later', () => {
  const clock = new VirtualClock(0);
  const killed: string[] = [];
  const life: Incarnation = { node: 'node1', name: 'node1#1', alive: true };
  const w = new SimWatchdog(clock, life, (i, why) => killed.push(`${i.name} at ${clock.now()}: ${why}`));
  w.pet(1_000);
  clock.advance(900);
  w.pet(1_000);
  clock.advance(999);
  assert.deepEqual(killed, []);
  clock.advance(1);
  assert.deepEqual(killed, ['node1#1 at 1900: the agent was silent for 1000 ms']);
  w.pet(1_000);
  clock.advance(100);
  w.agentGone((latest) => latest * 10); // asks for later than allowed: the deadline stands
  w.pet(5_000); // a late reply from before the death pets nothing
  clock.advance(900);
  assert.equal(killed.at(-1), 'node1#1 at 2900: the agent is gone');
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
