import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decideFailover, effectiveFailoverThreshold, MS_PER_HOUR } from '../../src/policy/threshold.ts';
import { decideFailback, isInFailbackWindow, utcHourOf, FAILBACK_WINDOW_ANY } from '../../src/policy/failback.ts';
import { errors } from '../../src/model/errors.ts';
import { group, nodes, view } from './fixtures.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const common = { FailoverThreshold: undefined, FailoverPeriod: 6 };

test('FailoverThreshold defaults to nodes - 1 and is counted within FailoverPeriod', () => {
  assert.equal(effectiveFailoverThreshold({}, 3), 2);
  assert.equal(effectiveFailoverThreshold({ FailoverThreshold: 7 }, 3), 7);
  assert.equal(effectiveFailoverThreshold({}, 1), 0);
  let history: readonly number[] = [];
  const at = (ms: number) => decideFailover({ group: 'G', common, nodeCount: 3, history, nowMs: ms });
  const first = at(T0);
  assert.ok(first.allowed);
  history = first.history;
  const second = at(T0 + MS_PER_HOUR);
  assert.ok(second.allowed);
  history = second.history;
  assert.deepEqual(history, [T0, T0 + MS_PER_HOUR]);
  const third = at(T0 + 2 * MS_PER_HOUR);
  assert.equal(third.allowed, false);
  if (!third.allowed) {
    assert.equal(third.error.code, errors.ERROR_RESOURCE_FAILED.code);
    assert.match(third.error.message, /group "G" failed over 2 times in the last 6 h \(FailoverThreshold 2\)/);
    assert.equal(third.log.text, 'Group G exceeded its failover threshold (2 in 6 h); it stays Failed on this node.');
    assert.deepEqual(third.history, history);
  }
  // Once the first failover is older than the period, one more is allowed.
  const later = at(T0 + 6 * MS_PER_HOUR + 1);
  assert.ok(later.allowed);
  assert.deepEqual(later.history, [T0 + MS_PER_HOUR, T0 + 6 * MS_PER_HOUR + 1]);
});

test('the window is (now - period, now]: a failover exactly one period ago no longer counts', () => {
  const d = decideFailover({ group: 'G', common: { FailoverThreshold: 1, FailoverPeriod: 1 }, nodeCount: 9, history: [T0], nowMs: T0 + MS_PER_HOUR });
  assert.ok(d.allowed);
  const e = decideFailover({ group: 'G', common: { FailoverThreshold: 1, FailoverPeriod: 1 }, nodeCount: 9, history: [T0], nowMs: T0 + MS_PER_HOUR - 1 });
  assert.equal(e.allowed, false);
});

test('FailoverThreshold 0 never allows a failover', () => {
  assert.equal(decideFailover({ group: 'G', common: { FailoverThreshold: 0, FailoverPeriod: 6 }, nodeCount: 5, history: [], nowMs: T0 }).allowed, false);
});

test('utcHourOf is the UTC hour, also before 1970', () => {
  assert.equal(utcHourOf(Date.UTC(2026, 4, 3, 17, 59, 59)), 17);
  assert.equal(utcHourOf(Date.UTC(1969, 11, 31, 23, 30)), 23);
});

test('failback window: inclusive ends, wrap over midnight, one-hour window, any time', () => {
  const at = (h: number) => Date.UTC(2026, 0, 1, h, 30);
  const inside = (start: number, end: number) => [...Array(24).keys()].filter((h) => isInFailbackWindow(at(h), start, end));
  assert.deepEqual(inside(9, 12), [9, 10, 11, 12]);
  assert.deepEqual(inside(22, 2), [0, 1, 2, 22, 23]);
  assert.deepEqual(inside(5, 5), [5]);
  assert.equal(inside(FAILBACK_WINDOW_ANY, FAILBACK_WINDOW_ANY).length, 24);
  assert.equal(inside(FAILBACK_WINDOW_ANY, 3).length, 24);
});

test('failback goes to the most preferred Up node that can host the group, inside the window', () => {
  const noon = Date.UTC(2026, 0, 1, 12);
  const g = group('G', { owner: 'C', preferred: ['A', 'B'], failback: { start: 10, end: 14 } });
  assert.deepEqual(decideFailback(view(nodes('A B C'), g), 'G', noon), { failback: true, node: 'A' });
  assert.deepEqual(decideFailback(view(nodes('A B C', { A: 'Paused' }), g), 'G', noon), { failback: true, node: 'B' });
  const outside = decideFailback(view(nodes('A B C'), g), 'G', Date.UTC(2026, 0, 1, 15));
  assert.equal(outside.failback, false);
  if (!outside.failback) assert.match(outside.reason, /outside its failback window \(10-14 h UTC\)/);
});

test('no failback: AutoFailbackType 0, already on the best node, nothing preferred is Up, not a possible owner', () => {
  const noon = Date.UTC(2026, 0, 1, 12);
  const off = group('G', { owner: 'C', preferred: ['A'] });
  assert.equal(decideFailback(view(nodes('A B C'), off), 'G', noon).failback, false);
  const onBest = group('G', { owner: 'B', preferred: ['A', 'B'], failback: { start: FAILBACK_WINDOW_ANY, end: FAILBACK_WINDOW_ANY } });
  assert.equal(decideFailback(view(nodes('A B C', { A: 'Down' }), onBest), 'G', noon).failback, false);
  const limited = group('G', { owner: 'C', preferred: ['A', 'B'], failback: { start: 0, end: 23 }, resources: { R: ['B', 'C'] } });
  assert.deepEqual(decideFailback(view(nodes('A B C'), limited), 'G', noon), { failback: true, node: 'B' });
  const nowhere = group('G', { owner: 'C', preferred: ['A'], failback: { start: 0, end: 23 } });
  const d = decideFailback(view(nodes('A B C', { A: 'Down' }), nowhere), 'G', noon);
  assert.equal(d.failback, false);
  if (!d.failback) assert.match(d.reason, /no preferred owner is Up/);
});
