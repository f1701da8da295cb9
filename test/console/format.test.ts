// How the console words errors, deadlines, moves and operations.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeMoveOutcome, describeMoveProgress, describeOperation, formatCountdown, formatError } from '../../src/console/web/format.ts';
import type { MoveView, OperationView } from '../../src/api/types.ts';
import { ClusterError } from '../../src/model/errors.ts';

const move: MoveView = { moveId: 'node1/move1', group: 'Web', from: 'node1', to: 'node2', phase: 'online-on-target', startedAt: 1_000, deadlineAt: 601_000 };

test('errors read NAME (code): message', () => {
  const e = new ClusterError('ERROR_CLUSTER_GROUP_MOVING', 'group Web is moving');
  assert.equal(formatError(e), `ERROR_CLUSTER_GROUP_MOVING (5908): ${e.message}`);
});

test('deadlines count down in seconds, then minutes, and say when they passed', () => {
  assert.equal(formatCountdown(10_000, 1_000), 'in 9 s');
  assert.equal(formatCountdown(10_001, 1_000), 'in 10 s');
  assert.equal(formatCountdown(601_000, 1_000), 'in 10 min 0 s');
  assert.equal(formatCountdown(1_000, 1_000), 'passed');
  assert.equal(formatCountdown(1_000, 5_000), 'passed');
});

test('a move in progress shows its phase, route and deadline; an ended one its outcome and error with the resource', () => {
  assert.equal(describeMoveProgress(move, 2_000), 'online-on-target node1 → node2, deadline in 9 min 59 s');
  assert.equal(describeMoveOutcome({ ...move, phase: 'ended', outcome: 'completed' }), 'completed node1 → node2');
  assert.equal(
    describeMoveOutcome({ ...move, phase: 'ended', outcome: 'failed', error: { code: 5023, name: 'ERROR_INVALID_STATE', message: 'online failed', resource: 'Web Server' } }),
    'failed node1 → node2: ERROR_INVALID_STATE (5023): online failed (resource Web Server)',
  );
});

test('an operation reads running (with its move), done in N s, or failed/returned with its error', () => {
  const op: OperationView = { id: 'op1', kind: 'moveGroup', target: 'Web', done: false, move };
  assert.deepEqual(describeOperation(op, 0, 2_000), { state: 'running', text: 'running: online-on-target node1 → node2, deadline in 9 min 59 s' });
  assert.deepEqual(describeOperation({ id: 'op2', kind: 'onlineGroup', target: 'Web', done: false }, 0, 10), { state: 'running', text: 'running' });
  const ended = { ...move, phase: 'ended' as const, outcome: 'completed' as const };
  assert.deepEqual(describeOperation({ ...op, done: true, ok: true, move: ended }, 0, 1_250), { state: 'ok', text: 'done in 1.3 s (node1 → node2)' });
  const error = { code: 5908, name: 'ERROR_CLUSTER_GROUP_MOVING', message: 'busy' };
  assert.deepEqual(describeOperation({ id: 'op3', kind: 'offlineResource', target: 'R', done: true, ok: false, error }, 0, 500), {
    state: 'failed',
    text: 'failed in 0.5 s: ERROR_CLUSTER_GROUP_MOVING (5908): busy',
  });
  const returned = { ...move, phase: 'ended' as const, outcome: 'returned' as const, error: { ...error, name: 'ERROR_RESOURCE_FAILED', code: 5038 } };
  assert.deepEqual(describeOperation({ ...op, done: true, ok: false, move: returned }, 0, 3_000), {
    state: 'failed',
    text: 'returned to the source in 3.0 s (node1 → node2): ERROR_RESOURCE_FAILED (5038): busy',
  });
});
