// The resource lifecycle: driving each resource toward what this node wants of
// it (online / offline) in dependency order, the results of entry-point calls,
// failures, the restart policy and health polling.
//
// The driver is a reconciliation loop: after every input, each resource of a
// touched group that has no lifecycle call in flight takes the next step toward
// its `want`. Wants propagate when they are set: online pulls providers online
// (whatever their PersistentState — the seed's step 4), offline pushes
// dependents offline. A resource that cannot get where it is wanted has its
// want cleared and its error recorded, so nothing ever waits for it forever.
import {
  assert,
  clusterError,
  errors,
  isSatisfied,
  messages,
  type ClusterErrorValue,
  type ResourceConfig,
} from '../model/index.ts';
import { canHost, pendingTimeoutMs, pollIntervalsMs, providersOfResource, shortCallDeadlineMs } from './config.ts';
import type { Step } from './context.ts';
import { openRetryDelayMs, retryPeriodOnFailureNeverMs } from './limits.ts';
import { isUpState } from './transitions.ts';
import type { RcmInput, ResourceRecord } from './types.ts';

const q = JSON.stringify;

function cfgOf(step: Step, name: string): ResourceConfig {
  const c = step.config.resources.get(name);
  assert(c, `configuration of resource ${name}`);
  return c;
}

/** An entry point's error, reworded to name the resource; the WSFC code is kept. */
export function callError(entryPoint: string, resource: string, error: ClusterErrorValue | undefined): ClusterErrorValue {
  if (!error) return clusterError('ERROR_RESOURCE_FAILED', `${entryPoint} of resource ${q(resource)} failed`);
  return { code: error.code, name: error.name, message: `${entryPoint} of resource ${q(resource)} failed: ${error.message}` };
}

function providerFailedError(resource: string, provider: string, providerError: ClusterErrorValue | undefined): ClusterErrorValue {
  const base = providerError ?? clusterError('ERROR_RESOURCE_NOT_AVAILABLE', `resource ${q(provider)} is not available`);
  return { code: base.code, name: base.name, message: `resource ${q(resource)} cannot be online: its provider ${q(provider)} failed: ${base.message}` };
}

// ---- wants ----

/**
 * Sets what this node wants of a resource and propagates it: online to its
 * providers (an OR expression brings all of them online), offline to its
 * dependents. Requests waiting for the opposite are told they were overridden.
 */
export function setWant(step: Step, name: string, want: 'online' | 'offline'): void {
  const seen = new Set<string>();
  const queue = [name];
  while (queue.length > 0) {
    const n = queue.shift()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const cur = step.resource(n);
    if (!cur) continue;
    if (cur.want !== want) {
      const r = step.wr(n);
      abortOperationsWanting(step, r, want === 'online' ? 'offline' : 'online');
      r.want = want;
      step.cancelResourceTimer(r, 'restart');
      step.cancelResourceTimer(r, 'retryOnFailure');
      step.dirty.add(r.group);
    }
    queue.push(...(want === 'online' ? providersOfResource(step.config, n) : (step.config.dependents.get(n) ?? [])));
  }
}

function abortOperationsWanting(step: Step, r: ResourceRecord, target: 'online' | 'offline'): void {
  for (const op of step.operationsOf(r.group)) {
    if (op.target === target && !op.failure && op.resources.includes(r.name)) {
      step.wop(op.requestId).failure = {
        resource: r.name,
        error: clusterError('ERROR_OPERATION_ABORTED', `${target === 'online' ? 'online' : 'offline'} of resource ${q(r.name)} was overridden by a later request`),
      };
    }
  }
}

// ---- failures ----

/**
 * The resource cannot get online (its own failure, or cause's): clear its want,
 * record the error, and fail every request and move waiting for it at once,
 * naming the resource at the root of it.
 */
export function failOnline(step: Step, r: ResourceRecord, error: ClusterErrorValue, cause: string): void {
  r.want = undefined;
  r.lastError = error;
  r.failedBecauseOf = cause === r.name ? undefined : cause;
  const rootError = cause === r.name ? error : (step.resource(cause)?.lastError ?? error);
  const failure = { resource: cause, error: rootError };
  for (const op of step.operationsOf(r.group)) {
    if ((op.target === 'online' || op.target === 'reset') && !op.failure && op.resources.includes(r.name)) {
      step.wop(op.requestId).failure = failure;
    }
  }
  const g = step.group(r.group);
  if (g?.move && g.move.role === 'target' && g.move.phase === 'online-on-target' && !g.move.failure) {
    step.wg(r.group).move!.failure = failure;
  }
  step.dirty.add(r.group);
}

function failOffline(step: Step, r: ResourceRecord, error: ClusterErrorValue): void {
  r.lastError = error;
  for (const op of step.operationsOf(r.group)) {
    if (op.target === 'offline' && !op.failure && op.resources.includes(r.name)) {
      step.wop(op.requestId).failure = { resource: r.name, error };
    }
  }
  step.dirty.add(r.group);
}

/**
 * The resource itself failed (online failed or timed out, a health check said
 * it is dead, a fail request). `terminate`: stop what may still run before it
 * counts as Failed.
 */
export function resourceFailed(step: Step, r: ResourceRecord, error: ClusterErrorValue, terminate: boolean): void {
  if (r.want === 'offline') failOffline(step, r, error);
  else failOnline(step, r, error, r.name);
  if (terminate) startTerminate(step, r, 'Failed');
  else enterFailed(step, r);
}

function startTerminate(step: Step, r: ResourceRecord, after: 'Failed' | 'Offline' | 'Initializing'): void {
  r.afterTerminate = after;
  if (r.state !== 'Terminating') step.transition(r, 'Terminating');
  step.call(r, 'terminate', 'terminate', shortCallDeadlineMs(cfgOf(step, r.name), 'terminate'));
}

function enterFailed(step: Step, r: ResourceRecord): void {
  step.transition(r, 'Failed');
  applyRestartPolicy(step, r);
}

/**
 * RestartAction 1/2: restart after RestartDelay while fewer than
 * RestartThreshold restarts happened within RestartPeriod; beyond that, 2 asks
 * for the group to fail over, 1 leaves it Failed. Either way a Failed resource
 * is tried again after RetryPeriodOnFailure. Failures of an offline, and
 * failures caused by a provider, are not restarted (the provider's restart
 * brings its dependents back).
 */
function applyRestartPolicy(step: Step, r: ResourceRecord): void {
  if (!step.group(r.group)?.owned || r.failedBecauseOf !== undefined || r.want === 'offline' || r.reset) return;
  const c = cfgOf(step, r.name).common;
  if (c.RestartAction === 0) return;
  r.restarts = r.restarts.filter((t) => t > step.now - c.RestartPeriod);
  if (r.restarts.length < c.RestartThreshold) {
    r.restarts.push(step.now);
    step.log(messages.restartScheduled(r.name, r.restarts.length, c.RestartThreshold, c.RestartDelay));
    step.armResourceTimer(r, 'restart', step.now + c.RestartDelay);
    return;
  }
  if (c.RestartAction === 2) {
    step.log(messages.restartThresholdExceeded(r.name, r.group));
    step.emit({
      type: 'requestFailover',
      group: r.group,
      resource: r.name,
      reason: `resource ${q(r.name)} failed ${c.RestartThreshold + 1} times within ${c.RestartPeriod} ms (RestartThreshold ${c.RestartThreshold})`,
    });
  }
  if (c.RetryPeriodOnFailure !== retryPeriodOnFailureNeverMs) {
    step.armResourceTimer(r, 'retryOnFailure', step.now + c.RetryPeriodOnFailure);
  }
}

// ---- driving ----

function isOnline(step: Step, name: string): boolean {
  return step.resource(name)?.state === 'Online';
}

/** A provider waiting for its dependents to go offline is still running for them. */
function isRunningForDependents(step: Step, name: string): boolean {
  const s = step.resource(name)?.state;
  return s === 'Online' || s === 'WaitingToGoOffline';
}

function providersOnline(step: Step, name: string): boolean {
  return isSatisfied(step.config.dependencies.get(name), (p) => isOnline(step, p));
}

function dependentsUp(step: Step, name: string): boolean {
  return (step.config.dependents.get(name) ?? []).some((d) => {
    const s = step.resource(d)?.state;
    return s !== undefined && (isUpState(s) || s === 'WaitingToComeOnline');
  });
}

/** Drives every resource of a group until none can take another step. */
export function driveGroup(step: Step, group: string): void {
  const names = step.config.groupResources.get(group) ?? [];
  // Each pass that changes something moves some resource forward; a livelock is a programmer error.
  const passesMax = 8 * names.length + 8;
  for (let pass = 0; ; pass++) {
    assert(pass < passesMax, `driving group ${group} settles`);
    let changed = false;
    for (const n of names) if (driveResource(step, n)) changed = true;
    if (!changed) return;
  }
}

/** One step of one resource toward its want; true if anything changed. */
function driveResource(step: Step, name: string): boolean {
  const cur = step.resource(name);
  if (!cur) return false;
  const owned = step.group(cur.group)?.owned ?? false;
  const lifecycleCall = cur.call !== undefined && cur.call.purpose !== 'health';

  // A resource running on providers that are gone fails with them (an online in flight is abandoned).
  if (
    owned &&
    (cur.state === 'Online' || cur.state === 'OnlineCallIssued' || cur.state === 'OnlinePending') &&
    !isSatisfied(step.config.dependencies.get(name), (p) => isRunningForDependents(step, p))
  ) {
    const culprit = providersOfResource(step.config, name).find((p) => !isRunningForDependents(step, p)) ?? '?';
    const r = step.wr(name);
    const root = step.resource(culprit)?.failedBecauseOf ?? culprit;
    if (r.want === 'offline') failOffline(step, r, providerFailedError(name, culprit, step.resource(culprit)?.lastError));
    else failOnline(step, r, providerFailedError(name, culprit, step.resource(culprit)?.lastError), root);
    startTerminate(step, r, 'Failed');
    return true;
  }

  if (cur.reset && !(lifecycleCall && (cur.call!.purpose === 'open' || cur.call!.purpose === 'openRetry' || cur.call!.purpose === 'openBeforeOnline' || cur.call!.purpose === 'close' || cur.call!.purpose === 'terminate'))) {
    return driveReset(step, name);
  }
  if (lifecycleCall) return false;

  if (cur.state === 'Initializing') return driveInitializing(step, name);
  if (cur.state === 'Online' && owned && cur.want !== 'offline') ensureHealthPolls(step, name);

  switch (cur.want) {
    case 'online':
      return driveOnline(step, name);
    case 'offline':
      return driveOffline(step, name);
    case undefined:
      return driveUnwanted(step, name);
  }
}

function driveInitializing(step: Step, name: string): boolean {
  const cur = step.resource(name)!;
  if (!canHost(step.config, name, step.node.name)) {
    if (cur.want !== 'online') return false;
    const r = step.wr(name);
    step.log(messages.cannotHost(name, step.node.name, 5071));
    failOnline(step, r, clusterError('ERROR_NODE_CANT_HOST_RESOURCE', `node ${q(step.node.name)} is not a possible owner of resource ${q(name)}`), name);
    return true;
  }
  const r = step.wr(name);
  if (r.want === 'online') step.log(messages.openBeforeOnline(name));
  step.transition(r, 'OpenCallIssued');
  step.call(r, 'open', r.want === 'online' ? 'openBeforeOnline' : 'open', shortCallDeadlineMs(cfgOf(step, name), 'open'));
  return true;
}

function issueOnline(step: Step, r: ResourceRecord): void {
  step.transition(r, 'OnlineCallIssued');
  step.call(r, 'online', 'online', pendingTimeoutMs(cfgOf(step, r.name)));
}

function driveOnline(step: Step, name: string): boolean {
  const cur = step.resource(name)!;
  switch (cur.state) {
    case 'OpenCallFailed': {
      // The open never succeeded (or failed since): open again first; if that fails the online fails at once.
      const r = step.wr(name);
      step.log(messages.openBeforeOnline(name));
      step.cancelResourceTimer(r, 'openRetry');
      step.transition(r, 'OpenCallIssued');
      step.call(r, 'open', 'openBeforeOnline', shortCallDeadlineMs(cfgOf(step, name), 'open'));
      return true;
    }
    case 'Offline':
    case 'Failed': {
      const r = step.wr(name);
      if (!r.opened) {
        step.transition(r, 'Initializing');
        return true;
      }
      const badExpression = step.config.dependencyErrors.get(name);
      if (badExpression) {
        failOnline(step, r, badExpression, name);
        return true;
      }
      step.cancelResourceTimer(r, 'restart');
      step.cancelResourceTimer(r, 'retryOnFailure');
      if (providersOnline(step, name)) issueOnline(step, r);
      else {
        step.transition(r, 'WaitingToComeOnline');
        step.armResourceTimer(r, 'wait', step.now + pendingTimeoutMs(cfgOf(step, name)));
      }
      return true;
    }
    case 'WaitingToComeOnline': {
      if (providersOnline(step, name)) {
        issueOnline(step, step.wr(name));
        return true;
      }
      // Providers still on their way (Online, or wanted online and not failed) may satisfy it; else it fails now.
      const viable = (p: string): boolean => {
        const pr = step.resource(p);
        return pr !== undefined && (pr.state === 'Online' || pr.want === 'online');
      };
      if (isSatisfied(step.config.dependencies.get(name), viable)) return false;
      const culprit = providersOfResource(step.config, name).find((p) => !viable(p)) ?? '?';
      const r = step.wr(name);
      const root = step.resource(culprit)?.failedBecauseOf ?? culprit;
      failOnline(step, r, providerFailedError(name, culprit, step.resource(culprit)?.lastError), root);
      step.transition(r, 'Failed');
      return true;
    }
    case 'WaitingToGoOffline':
      step.transition(step.wr(name), 'Online');
      return true;
    default:
      return false;
  }
}

function driveOffline(step: Step, name: string): boolean {
  const cur = step.resource(name)!;
  switch (cur.state) {
    case 'Online':
    case 'WaitingToGoOffline': {
      if (dependentsUp(step, name)) {
        if (cur.state === 'WaitingToGoOffline') return false;
        const r = step.wr(name);
        step.transition(r, 'WaitingToGoOffline');
        step.armResourceTimer(r, 'wait', step.now + pendingTimeoutMs(cfgOf(step, name)));
        return true;
      }
      const r = step.wr(name);
      step.transition(r, 'OfflineCallIssued');
      step.call(r, 'offline', 'offline', pendingTimeoutMs(cfgOf(step, name)));
      return true;
    }
    case 'WaitingToComeOnline':
      step.transition(step.wr(name), 'Offline');
      return true;
    case 'Failed': {
      const r = step.wr(name);
      step.cancelResourceTimer(r, 'restart');
      step.cancelResourceTimer(r, 'retryOnFailure');
      step.transition(r, 'Offline');
      return true;
    }
    default:
      return false;
  }
}

/**
 * Nobody asked for anything: a resource that failed only because a provider
 * did comes back by itself once its providers are online again (and staying).
 */
function driveUnwanted(step: Step, name: string): boolean {
  const cur = step.resource(name)!;
  if (cur.state !== 'Failed' || cur.failedBecauseOf === undefined || !step.group(cur.group)?.owned) return false;
  const staying = (p: string): boolean => {
    const pr = step.resource(p);
    return pr !== undefined && pr.state === 'Online' && pr.want !== 'offline';
  };
  if (!isSatisfied(step.config.dependencies.get(name), staying)) return false;
  setWant(step, name, 'online');
  return true;
}

function ensureHealthPolls(step: Step, name: string): void {
  const cur = step.resource(name)!;
  const intervals = pollIntervalsMs(step.config, step.limits, cfgOf(step, name));
  for (const kind of ['looksAlive', 'isAlive'] as const) {
    if (intervals[kind] > 0 && cur.timers[kind] === undefined && cur.call?.entryPoint !== kind) {
      step.armResourceTimer(step.wr(name), kind, step.now + intervals[kind]);
    }
  }
}

/** Reset: terminate if running, close if opened, open again; then back to the persistent state. */
function driveReset(step: Step, name: string): boolean {
  const r = step.wr(name);
  if (r.reset === 'terminate') {
    if (r.state === 'WaitingToComeOnline') {
      step.transition(r, 'Offline');
      return true;
    }
    if (isUpState(r.state)) {
      startTerminate(step, r, 'Initializing');
      return true;
    }
    r.reset = 'close';
  }
  if (r.reset === 'close') {
    if (r.state !== 'Initializing') step.transition(r, 'Initializing');
    if (r.opened) {
      step.call(r, 'close', 'close', shortCallDeadlineMs(cfgOf(step, name), 'close'));
      return true;
    }
    r.reset = 'open';
  }
  assert(r.reset === 'open', `reset of ${name} is opening`);
  if (r.state === 'Initializing' && !canHost(step.config, name, step.node.name)) {
    r.reset = undefined;
    const error = clusterError('ERROR_NODE_CANT_HOST_RESOURCE', `node ${q(step.node.name)} is not a possible owner of resource ${q(name)}`);
    r.lastError = error;
    failReset(step, r, error);
    return true;
  }
  if (r.state !== 'Initializing') return false;
  step.transition(r, 'OpenCallIssued');
  step.call(r, 'open', 'open', shortCallDeadlineMs(cfgOf(step, name), 'open'));
  return true;
}

function failReset(step: Step, r: ResourceRecord, error: ClusterErrorValue): void {
  for (const op of step.operationsOf(r.group)) {
    if (op.target === 'reset' && !op.failure && op.resources.includes(r.name)) step.wop(op.requestId).failure = { resource: r.name, error };
  }
  step.dirty.add(r.group);
}

/** Starts a reset of one resource; nothing else is touched. */
export function startReset(step: Step, name: string): void {
  const r = step.wr(name);
  r.reset = 'terminate';
  r.want = undefined;
  r.openAttempts = 0;
  r.failedBecauseOf = undefined;
  r.restarts = [];
  for (const kind of ['openRetry', 'restart', 'retryOnFailure'] as const) step.cancelResourceTimer(r, kind);
  step.dirty.add(r.group);
}

/** Fails an Online resource on request, as if its health check had failed. */
export function failOnRequest(step: Step, name: string): void {
  const r = step.wr(name);
  resourceFailed(step, r, clusterError('ERROR_RESOURCE_FAILED', `resource ${q(name)} was failed on request`), true);
}

/**
 * A resource of a group this node no longer owns (lease lost) stops at once:
 * running ones are terminated and end Offline, waiting ones go Offline.
 */
export function stopNow(step: Step, name: string): void {
  const r = step.wr(name);
  r.want = undefined;
  for (const kind of ['restart', 'retryOnFailure'] as const) step.cancelResourceTimer(r, kind);
  if (r.state === 'Terminating') {
    if (r.afterTerminate === 'Failed') r.afterTerminate = 'Offline';
  } else if (isUpState(r.state)) startTerminate(step, r, 'Offline');
  else if (r.state === 'WaitingToComeOnline' || r.state === 'Failed') step.transition(r, 'Offline');
}

// ---- call results ----

type CallResultInput = Extract<RcmInput, { type: 'callResult' }>;

export function onCallResult(step: Step, input: CallResultInput): void {
  const cur = step.resource(input.resource);
  // A result for a call this node no longer waits for (superseded, timed out, or a bogus id) changes nothing.
  if (!cur?.call || cur.call.callId !== input.callId) return;
  const r = step.wr(input.resource);
  const call = r.call!;
  step.dirty.add(r.group);
  if (input.outcome === 'pending') {
    if (call.entryPoint === 'online' && r.state === 'OnlineCallIssued') step.transition(r, 'OnlinePending');
    else if (call.entryPoint === 'offline' && r.state === 'OfflineCallIssued') step.transition(r, 'OfflinePending');
    return;
  }
  step.dropCall(r);
  const ok = input.outcome === 'ok';
  switch (call.purpose) {
    case 'open':
    case 'openRetry':
    case 'openBeforeOnline':
      return onOpenResult(step, r, call.purpose, ok, input.error);
    case 'close':
      r.opened = false;
      if (r.reset === 'close') r.reset = 'open';
      return;
    case 'online':
      if (ok) {
        r.failedBecauseOf = undefined;
        step.transition(r, 'Online');
      } else {
        // An online that never answered (its deadline passed, or its host was replaced as deadlocked) may have
        // started the resource: terminate it before it counts as Failed. An online that answered "failed" left nothing running.
        const unanswered = input.error?.code === errors.ERROR_RESOURCE_CALL_TIMED_OUT.code;
        resourceFailed(step, r, callError('online', r.name, input.error), unanswered);
      }
      return;
    case 'offline':
      if (ok) step.transition(r, 'Offline');
      else {
        // A failed offline may have left the resource running: terminate it before it counts as Failed (and its group can move).
        failOffline(step, r, callError('offline', r.name, input.error));
        startTerminate(step, r, 'Failed');
      }
      return;
    case 'terminate':
      return finishTerminate(step, r);
    case 'health':
      if (ok) {
        const interval = pollIntervalsMs(step.config, step.limits, cfgOf(step, r.name))[call.entryPoint as 'looksAlive' | 'isAlive'];
        if (r.state === 'Online' && interval > 0) step.armResourceTimer(r, call.entryPoint as 'looksAlive' | 'isAlive', step.now + interval);
      } else if (r.state === 'Online') {
        const error = input.error
          ? callError(call.entryPoint, r.name, input.error)
          : clusterError('ERROR_RESOURCE_FAILED', `${call.entryPoint} of resource ${q(r.name)} reported it is not alive`);
        resourceFailed(step, r, error, true);
      }
      return;
  }
}

function onOpenResult(step: Step, r: ResourceRecord, purpose: 'open' | 'openRetry' | 'openBeforeOnline', ok: boolean, rawError: ClusterErrorValue | undefined): void {
  if (ok) {
    r.opened = true;
    r.openAttempts = 0;
    step.cancelResourceTimer(r, 'openRetry');
    step.transition(r, 'Offline');
    if (r.reset === 'open') finishReset(step, r);
    else if (purpose === 'openRetry') returnToPersistentStateAfterOpen(step, r);
    return;
  }
  const error = callError('open', r.name, rawError);
  r.opened = false;
  r.lastError = error;
  step.transition(r, 'OpenCallFailed');
  if (r.reset === 'open') {
    r.reset = undefined;
    failReset(step, r, error);
  }
  if (r.want === 'online') failOnline(step, r, error, r.name);
  // Background retries with backoff; a failure outside the series (first open, re-open, reset) starts a new one.
  r.openAttempts = purpose === 'openRetry' ? r.openAttempts + 1 : 1;
  const max = step.limits.openRetryAttemptsMax;
  if (r.openAttempts <= max) {
    const delayMs = openRetryDelayMs(step.limits, r.openAttempts);
    step.log(messages.openRetryScheduled(r.name, error.code, r.openAttempts, max, delayMs));
    step.armResourceTimer(r, 'openRetry', step.now + delayMs);
    return;
  }
  // The owner does not give up on a resource it must bring online: once the cause is gone (the seed's cluster
  // API coming up late) nothing else would open it again. As for a Failed resource, a new series of retries
  // starts after RetryPeriodOnFailure.
  const retryMs = cfgOf(step, r.name).common.RetryPeriodOnFailure;
  if (ownerNeedsOnline(step, r) && retryMs !== retryPeriodOnFailureNeverMs) {
    r.openAttempts = 0;
    step.log({ level: 'WARN', component: 'RCM', text: `Open of resource ${r.name} failed (${error.code}); retries exhausted, next series after RetryPeriodOnFailure (${retryMs} ms).` });
    step.armResourceTimer(r, 'openRetry', step.now + retryMs);
  }
}

/**
 * A background Open succeeded on a node that owns the group (and is not moving
 * it): the resource, and every resource that could not come online because of
 * it, return to their persistent state (invariant 5) — otherwise a group whose
 * start met a not-yet-ready cluster database would stay offline for good.
 */
function returnToPersistentStateAfterOpen(step: Step, r: ResourceRecord): void {
  const group = step.group(r.group);
  if (!group?.owned || group.move) return;
  for (const name of step.config.groupResources.get(r.group) ?? []) {
    const x = step.resource(name);
    if (!x || x.want !== undefined || x.reset || isUpState(x.state)) continue;
    if (name !== r.name && x.failedBecauseOf !== r.name) continue;
    if (cfgOf(step, name).common.PersistentState === 1) setWant(step, name, 'online');
  }
}

/**
 * The resource's group is owned here and not moving, and the resource is to be
 * online: its persistent state is online, or a dependent that is failed because
 * of it has persistent state online.
 */
function ownerNeedsOnline(step: Step, r: ResourceRecord): boolean {
  const g = step.group(r.group);
  if (!g?.owned || g.move !== undefined || r.reset) return false;
  if (cfgOf(step, r.name).common.PersistentState === 1) return true;
  return (step.config.groupResources.get(r.group) ?? []).some(
    (n) => step.resource(n)?.failedBecauseOf === r.name && cfgOf(step, n).common.PersistentState === 1,
  );
}

function finishReset(step: Step, r: ResourceRecord): void {
  r.reset = undefined;
  if (!step.group(r.group)?.owned || r.want === 'online') return;
  if (cfgOf(step, r.name).common.PersistentState === 1) setWant(step, r.name, 'online');
}

function finishTerminate(step: Step, r: ResourceRecord): void {
  const to = r.afterTerminate ?? 'Failed';
  r.afterTerminate = undefined;
  if (to === 'Failed') enterFailed(step, r);
  else step.transition(r, to);
}

// ---- timers ----

export function onCallDeadline(step: Step, name: string, callId: string): void {
  const cur = step.resource(name);
  if (!cur?.call || cur.call.callId !== callId) return;
  const r = step.wr(name);
  const call = r.call!;
  r.call = undefined; // its timer has just fired
  step.dirty.add(r.group);
  const cfg = cfgOf(step, name);
  if (call.purpose === 'online' || call.purpose === 'offline') {
    const error = clusterError(
      'ERROR_TIMEOUT',
      `${call.entryPoint} of resource ${q(name)} did not complete within its PendingTimeout of ${cfg.common.PendingTimeout} ms`,
    );
    resourceFailed(step, r, error, true);
    return;
  }
  step.log(messages.entryPointTimedOut(name, call.entryPoint, call.deadlineAt - call.issuedAt));
  const error = clusterError('ERROR_RESOURCE_CALL_TIMED_OUT', `${call.entryPoint} of resource ${q(name)} did not return within ${call.deadlineAt - call.issuedAt} ms`);
  // Re-enter the result path as a failed call: the same rules apply to a call that never answered.
  r.call = call;
  onCallResult(step, { type: 'callResult', now: step.now, resource: name, callId, outcome: 'failed', error });
}

export function onResourceTimer(step: Step, name: string, kind: 'openRetry' | 'restart' | 'retryOnFailure' | 'looksAlive' | 'isAlive' | 'wait'): void {
  if (!step.resource(name)) return;
  const r = step.wr(name);
  delete r.timers[kind];
  step.dirty.add(r.group);
  const owned = step.group(r.group)?.owned ?? false;
  const moving = step.group(r.group)?.move?.role === 'source';
  switch (kind) {
    case 'openRetry':
      if (r.state === 'OpenCallFailed' && !r.call && !r.reset) {
        step.transition(r, 'OpenCallIssued');
        step.call(r, 'open', 'openRetry', shortCallDeadlineMs(cfgOf(step, name), 'open'));
      }
      return;
    case 'retryOnFailure':
    case 'restart':
      // A retry after RetryPeriodOnFailure is a restart with a fresh restart history.
      if (kind === 'retryOnFailure') r.restarts = [];
      if (r.state === 'Failed' && owned && !moving && r.want === undefined && !r.reset) setWant(step, name, 'online');
      return;
    case 'looksAlive':
    case 'isAlive':
      if (r.state !== 'Online') return;
      if (r.call) {
        // One call at a time: skip this poll, try again after the interval.
        const interval = pollIntervalsMs(step.config, step.limits, cfgOf(step, name))[kind];
        step.armResourceTimer(r, kind, step.now + interval);
        return;
      }
      step.call(r, kind, 'health', shortCallDeadlineMs(cfgOf(step, name), kind));
      return;
    case 'wait': {
      const timeoutMs = cfgOf(step, name).common.PendingTimeout;
      if (r.state === 'WaitingToComeOnline') {
        const missing = providersOfResource(step.config, name).filter((p) => !isOnline(step, p));
        const error = clusterError(
          'ERROR_TIMEOUT',
          `resource ${q(name)} waited longer than its PendingTimeout of ${timeoutMs} ms for its providers ${missing.map((p) => q(p)).join(', ')}`,
        );
        failOnline(step, r, error, missing[0] ?? name);
        r.lastError = error;
        step.transition(r, 'Failed');
      } else if (r.state === 'WaitingToGoOffline') {
        const waitingFor = (step.config.dependents.get(name) ?? []).filter((d) => {
          const s = step.resource(d)?.state;
          return s !== undefined && isUpState(s);
        });
        const error = clusterError(
          'ERROR_TIMEOUT',
          `resource ${q(name)} waited longer than its PendingTimeout of ${timeoutMs} ms for its dependents ${waitingFor.map((d) => q(d)).join(', ')} to go offline`,
        );
        resourceFailed(step, r, error, true);
      }
      return;
    }
  }
}
