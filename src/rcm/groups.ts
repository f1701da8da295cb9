// Groups: ownership (acquire/release), moves and the requests in progress.
//
// A move spans two nodes and is a record in the store that the shell keeps:
//   source: offline-on-source (dependents first, PersistentState unchanged)
//           -> transfer (effect transferOwnership; the shell passes ownership
//              in one transaction and feeds acquireGroup / releaseGroup)
//   target: online-on-target (every resource back to its PersistentState,
//           unopened ones re-opened first) -> moveEnded completed | failed,
//           or with returnToSourceOnError: return-offline -> return-transfer
//           -> moveEnded returned once ownership has left.
// Every phase is bounded by the move's deadline, so a group is "moving"
// (ERROR_CLUSTER_GROUP_MOVING, 5908) only for a bounded time.
import { clusterError, messages, type ClusterErrorValue } from '../model/index.ts';
import type { Step } from './context.ts';
import { setWant, stopNow } from './lifecycle.ts';
import { isTransitionalState, isUpState } from './transitions.ts';
import type { MoveRecord, OperationTarget, RcmInput } from './types.ts';

const q = JSON.stringify;

function nodeId(step: Step, name: string): number {
  return step.config.nodes.get(name)?.id ?? 0;
}

function resourcesOf(step: Step, group: string): readonly string[] {
  return step.config.groupResources.get(group) ?? [];
}

/** Every resource of the group back to its PersistentState: PS 1 online (pulling providers), PS 0 offline. */
export function returnToPersistentState(step: Step, group: string): void {
  const names = resourcesOf(step, group);
  // Offline first and without propagation, so that an online dependent can still pull a PS 0 provider up.
  for (const n of names) {
    const r = step.resource(n);
    if (!r || r.reset) continue;
    if (step.config.resources.get(n)?.common.PersistentState !== 1) {
      const w = step.wr(n);
      w.want = 'offline';
      step.cancelResourceTimer(w, 'restart');
      step.cancelResourceTimer(w, 'retryOnFailure');
    }
  }
  for (const n of names) {
    const r = step.resource(n);
    if (!r || r.reset) continue;
    if (step.config.resources.get(n)?.common.PersistentState === 1) setWant(step, n, 'online');
  }
  step.dirty.add(group);
}

/** Takes the whole group offline for a move (dependents first through the driver); PersistentState is not changed. */
function takeOfflineForMove(step: Step, group: string): void {
  for (const n of resourcesOf(step, group)) {
    if (!step.resource(n)) continue;
    const w = step.wr(n);
    w.want = 'offline';
    step.cancelResourceTimer(w, 'restart');
    step.cancelResourceTimer(w, 'retryOnFailure');
  }
  step.dirty.add(group);
}

// ---- ownership ----

export function onAcquireGroup(step: Step, input: Extract<RcmInput, { type: 'acquireGroup' }>): void {
  if (!step.group(input.group)) step.addGroup({ name: input.group, owned: false, epoch: 0, move: undefined });
  const g = step.wg(input.group);
  g.owned = true;
  g.epoch = input.epoch;
  if (g.move) {
    // A move this node took part in earlier and whose release never came: it is over now.
    step.cancelTimer(g.move.timerId);
    g.move = undefined;
  }
  if (input.move) {
    const timerId = step.armTimer(input.move.deadlineAt, { kind: 'move', group: input.group, moveId: input.move.moveId });
    g.move = {
      moveId: input.move.moveId,
      role: 'target',
      phase: 'online-on-target',
      from: input.move.from,
      to: step.node.name,
      deadlineAt: input.move.deadlineAt,
      timerId,
      returnToSourceOnError: input.move.returnToSourceOnError,
      kind: input.move.kind ?? 'Manual',
      failure: undefined,
    };
    enterPhase(step, input.group, g.move, 'online-on-target');
  }
  returnToPersistentState(step, input.group);
}

export function onReleaseGroup(step: Step, input: Extract<RcmInput, { type: 'releaseGroup' }>): void {
  const cur = step.group(input.group);
  if (!cur) return;
  const g = step.wg(input.group);
  const move = g.move;
  const expected = move !== undefined && (move.phase === 'transfer' || move.phase === 'return-transfer');
  g.owned = false;
  if (move) {
    step.cancelTimer(move.timerId);
    g.move = undefined;
    if (move.phase === 'return-transfer') {
      step.log(messages.moveReturned(input.group, move.from, nodeId(step, move.from)));
      step.emit({ type: 'moveEnded', moveId: move.moveId, group: input.group, outcome: 'returned', ...(move.failure ?? {}) });
    } else if (!expected) {
      const error = clusterError('ERROR_HOST_NODE_NOT_GROUP_OWNER', `node ${q(step.node.name)} lost ownership of group ${q(input.group)} during its move`);
      endMoveFailed(step, input.group, move, { resource: '-', error });
    }
  }
  const lost = clusterError('ERROR_HOST_NODE_NOT_GROUP_OWNER', `node ${q(step.node.name)} no longer owns group ${q(input.group)}`);
  for (const op of step.operationsOf(input.group)) endOperation(step, op.requestId, { resource: '-', error: lost });
  // After a transfer everything is down already; an unexpected loss stops everything at once.
  for (const n of resourcesOf(step, input.group)) if (step.resource(n)) stopNow(step, n);
  step.dirty.add(input.group);
}

// ---- moves ----

function enterPhase(step: Step, group: string, move: MoveRecord, phase: MoveRecord['phase']): void {
  move.phase = phase;
  step.log(messages.movePhase(group, phase));
  step.emit({ type: 'movePhase', moveId: move.moveId, group, phase });
}

export function startMove(
  step: Step,
  requestId: string,
  group: string,
  to: string,
  returnToSourceOnError: boolean,
  kind: MoveRecord['kind'],
): void {
  const moveId = step.newId('move');
  const deadlineAt = step.now + step.limits.moveDeadlineMs;
  const timerId = step.armTimer(deadlineAt, { kind: 'move', group, moveId });
  const g = step.wg(group);
  g.move = {
    moveId,
    role: 'source',
    phase: 'offline-on-source',
    from: step.node.name,
    to,
    deadlineAt,
    timerId,
    returnToSourceOnError,
    kind,
    failure: undefined,
  };
  step.emit({ type: 'moveStarted', moveId, requestId, group, from: step.node.name, to, deadlineAt, returnToSourceOnError, kind });
  const aborted = clusterError('ERROR_OPERATION_ABORTED', `group ${q(group)} is being moved to ${q(to)}`);
  for (const op of step.operationsOf(group)) endOperation(step, op.requestId, { resource: '-', error: aborted });
  enterPhase(step, group, g.move, 'offline-on-source');
  takeOfflineForMove(step, group);
}

function isDown(step: Step, name: string): boolean {
  const r = step.resource(name);
  return r === undefined || (!isUpState(r.state) && r.state !== 'WaitingToComeOnline');
}

/** Settled on the target: wanted online and Online, or anything else that is not on its way somewhere. */
function isSettled(step: Step, name: string): boolean {
  const r = step.resource(name);
  if (!r) return true;
  if (r.want === 'online') return r.state === 'Online';
  return !isTransitionalState(r.state) || r.state === 'OpenCallIssued';
}

function firstUnsettled(step: Step, group: string, settled: (n: string) => boolean): string {
  return resourcesOf(step, group).find((n) => !settled(n)) ?? '-';
}

function endMoveFailed(step: Step, group: string, move: MoveRecord, failure: { resource: string; error: ClusterErrorValue }): void {
  step.log(messages.moveFailed(group, move.to, nodeId(step, move.to), failure.resource, failure.error.name, failure.error.code, failure.error.message));
  step.emit({ type: 'moveEnded', moveId: move.moveId, group, outcome: 'failed', error: failure.error, resource: failure.resource });
}

function clearMove(step: Step, group: string): void {
  const g = step.wg(group);
  if (g.move) step.cancelTimer(g.move.timerId);
  g.move = undefined;
}

/** The target could not bring the group up: end failed, or take it down and send it back. */
function failOnTarget(step: Step, group: string, failure: { resource: string; error: ClusterErrorValue }): void {
  const g = step.wg(group);
  const move = g.move!;
  move.failure = failure;
  if (move.returnToSourceOnError && step.config.nodes.has(move.from)) {
    step.log(messages.moveFailed(group, move.to, nodeId(step, move.to), failure.resource, failure.error.name, failure.error.code, failure.error.message));
    // The way back gets its own deadline: the group stays "moving" only while bounded.
    step.cancelTimer(move.timerId);
    move.deadlineAt = step.now + step.limits.moveDeadlineMs;
    move.timerId = step.armTimer(move.deadlineAt, { kind: 'move', group, moveId: move.moveId });
    enterPhase(step, group, move, 'return-offline');
    takeOfflineForMove(step, group);
    return;
  }
  endMoveFailed(step, group, move, failure);
  clearMove(step, group);
}

export function onMoveDeadline(step: Step, group: string, moveId: string): void {
  const g = step.group(group);
  if (!g?.move || g.move.moveId !== moveId) return;
  const move = step.wg(group).move!;
  const timeout = (resource: string, what: string): { resource: string; error: ClusterErrorValue } => ({
    resource,
    error: clusterError('ERROR_TIMEOUT', `move of group ${q(group)} to ${q(move.to)} did not complete within ${step.limits.moveDeadlineMs} ms: ${what}`),
  });
  const stateOf = (n: string): string => step.resource(n)?.state ?? 'gone';
  switch (move.phase) {
    case 'offline-on-source': {
      const culprit = firstUnsettled(step, group, (n) => isDown(step, n));
      endMoveFailed(step, group, move, timeout(culprit, `resource ${q(culprit)} is still ${stateOf(culprit)} on the source`));
      clearMove(step, group);
      returnToPersistentState(step, group);
      return;
    }
    case 'transfer':
      endMoveFailed(step, group, move, timeout('-', 'ownership was not transferred'));
      clearMove(step, group);
      returnToPersistentState(step, group);
      return;
    case 'online-on-target': {
      const culprit = firstUnsettled(step, group, (n) => isSettled(step, n));
      failOnTarget(step, group, timeout(culprit, `resource ${q(culprit)} is still ${stateOf(culprit)}`));
      return;
    }
    case 'return-offline':
    case 'return-transfer': {
      const culprit = firstUnsettled(step, group, (n) => isDown(step, n));
      endMoveFailed(step, group, move, timeout(culprit, 'the group could not be returned to its source'));
      clearMove(step, group);
      return;
    }
  }
}

/** After the resources were driven: advance the group's move and end requests that are done. */
export function evaluateGroup(step: Step, group: string): void {
  const g = step.group(group);
  const move = g?.move;
  if (move) {
    switch (move.phase) {
      case 'offline-on-source':
        if (resourcesOf(step, group).every((n) => isDown(step, n))) {
          const w = step.wg(group).move!;
          enterPhase(step, group, w, 'transfer');
          step.log(messages.moveAboutToSucceed(group, w.from, nodeId(step, w.from), w.to, nodeId(step, w.to), w.kind, 0));
          step.emit({ type: 'transferOwnership', moveId: w.moveId, group, from: w.from, to: w.to, reason: 'move' });
        }
        break;
      case 'online-on-target':
        if (move.failure) failOnTarget(step, group, move.failure);
        else if (resourcesOf(step, group).every((n) => isSettled(step, n))) {
          step.log(messages.moveCompleted(group, step.node.name, step.node.id));
          step.emit({ type: 'moveEnded', moveId: move.moveId, group, outcome: 'completed' });
          clearMove(step, group);
        }
        break;
      case 'return-offline':
        if (resourcesOf(step, group).every((n) => isDown(step, n))) {
          const w = step.wg(group).move!;
          enterPhase(step, group, w, 'return-transfer');
          step.emit({ type: 'transferOwnership', moveId: w.moveId, group, from: step.node.name, to: w.from, reason: 'return' });
        }
        break;
      case 'transfer':
      case 'return-transfer':
        break;
    }
  }
  for (const op of step.operationsOf(group)) {
    if (op.failure) {
      endOperation(step, op.requestId, op.failure);
      continue;
    }
    const done = op.resources.every((n) => isOperationDoneFor(step, op.target, n));
    const gone = op.resources.find((n) => !step.resource(n));
    if (gone !== undefined) endOperation(step, op.requestId, { resource: gone, error: clusterError('ERROR_RESOURCE_NOT_FOUND', `resource ${q(gone)} was deleted`) });
    else if (done) endOperation(step, op.requestId, undefined);
  }
}

// ---- requests in progress ----

function isOperationDoneFor(step: Step, target: OperationTarget, name: string): boolean {
  const r = step.resource(name);
  if (!r) return false;
  switch (target) {
    case 'online':
      return r.state === 'Online';
    case 'offline':
      return isDown(step, name);
    case 'reset':
      return r.reset === undefined && !isTransitionalState(r.state) && (r.want !== 'online' || r.state === 'Online');
  }
}

export function startOperation(step: Step, requestId: string, group: string, resources: readonly string[], target: OperationTarget): void {
  const timerId = step.armTimer(step.now + step.limits.operationDeadlineMs, { kind: 'operation', requestId });
  step.addOperation({ requestId, group, resources, target, timerId, failure: undefined });
  step.dirty.add(group);
}

export function endOperation(step: Step, requestId: string, failure: { resource: string; error: ClusterErrorValue } | undefined): void {
  const op = step.operation(requestId);
  if (!op) return;
  step.cancelTimer(op.timerId);
  step.deleteOperation(requestId);
  if (failure) step.emit({ type: 'operationEnded', requestId, ok: false, error: failure.error, resource: failure.resource });
  else step.emit({ type: 'operationEnded', requestId, ok: true });
}

export function onOperationDeadline(step: Step, requestId: string): void {
  const op = step.operation(requestId);
  if (!op) return;
  const pending = op.resources.find((n) => !isOperationDoneFor(step, op.target, n)) ?? '-';
  endOperation(step, requestId, {
    resource: pending,
    error: clusterError('ERROR_TIMEOUT', `request did not complete within ${step.limits.operationDeadlineMs} ms; resource ${q(pending)} is ${step.resource(pending)?.state ?? 'gone'}`),
  });
}
