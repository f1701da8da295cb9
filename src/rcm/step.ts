// The RCM's one entry point: step(state, input) -> { state, effects }.
// Pure: no I/O, no timers, no clock; the input's `now` is the only time.
import { assert, clusterError, type NodeConfig } from '../model/index.ts';
import { emptyConfig, indexConfig, updateConfigIndex } from './config.ts';
import { Step } from './context.ts';
import { evaluateGroup, endOperation, onAcquireGroup, onMoveDeadline, onOperationDeadline, onReleaseGroup } from './groups.ts';
import { defaultRcmLimits, type RcmLimits } from './limits.ts';
import { driveGroup, onCallDeadline, onCallResult, onResourceTimer } from './lifecycle.ts';
import { onRequest } from './requests.ts';
import { isUpState } from './transitions.ts';
import type { ClusterSnapshot, ConfigDelta, RcmInput, RcmState, ResourceRecord, StepResult } from './types.ts';

/** A node's RCM before it has been given any configuration. */
export function createRcm(node: NodeConfig, limits: Partial<RcmLimits> = {}): RcmState {
  return {
    node,
    limits: { ...defaultRcmLimits, ...limits },
    config: emptyConfig,
    resources: new Map(),
    groups: new Map(),
    operations: new Map(),
    operationsByGroup: new Map(),
    timers: new Map(),
    nextId: 1,
  };
}

export function step(state: RcmState, input: RcmInput): StepResult {
  const s = new Step(state, input.now);
  switch (input.type) {
    case 'configure':
      configure(s, input.config);
      break;
    case 'configureDelta':
      configureDelta(s, input.delta);
      break;
    case 'callResult':
      onCallResult(s, input);
      break;
    case 'timer':
      onTimer(s, input.timerId);
      break;
    case 'request':
      onRequest(s, input);
      break;
    case 'acquireGroup':
      onAcquireGroup(s, input);
      break;
    case 'releaseGroup':
      onReleaseGroup(s, input);
      break;
  }
  settle(s);
  return s.finish();
}

/** Drives touched groups and advances their moves and requests until nothing changes. */
function settle(s: Step): void {
  // Each round follows a change (a transition or a new want); a runaway loop is a programmer error.
  const roundsMax = 10_000;
  for (let round = 0; s.dirty.size > 0; round++) {
    assert(round < roundsMax, 'RCM step settles');
    const groups = [...s.dirty];
    s.dirty.clear();
    for (const g of groups) if (s.group(g)) driveGroup(s, g);
    for (const g of groups) if (s.group(g)) evaluateGroup(s, g);
  }
}

function onTimer(s: Step, timerId: string): void {
  const t = s.consumeTimer(timerId);
  if (!t) return; // cancelled or already handled: stale
  const target = t.target;
  switch (target.kind) {
    case 'call':
      return onCallDeadline(s, target.resource, target.callId);
    case 'move':
      return onMoveDeadline(s, target.group, target.moveId);
    case 'operation':
      return onOperationDeadline(s, target.requestId);
    default:
      return onResourceTimer(s, target.resource, target.kind);
  }
}

function newResourceRecord(name: string, group: string, now: number): ResourceRecord {
  return {
    name,
    group,
    state: 'Initializing',
    seq: 0,
    stateSince: now,
    lastError: undefined,
    failedBecauseOf: undefined,
    opened: false,
    openAttempts: 0,
    call: undefined,
    want: undefined,
    reset: undefined,
    afterTerminate: undefined,
    restarts: [],
    timers: {},
  };
}

/**
 * A new full configuration: resources that appeared start Initializing and are
 * opened (every node opens every resource it can host, as WSFC does at service
 * start); resources that disappeared are stopped and closed and forgotten;
 * changed properties apply from their next use.
 */
function configure(s: Step, snapshot: ClusterSnapshot): void {
  const previous = s.config;
  s.config = indexConfig(snapshot);
  for (const name of [...s.resourceNames()]) {
    const cfg = s.config.resources.get(name);
    const rec = s.resource(name)!;
    if (!cfg || cfg.group !== rec.group) removeResource(s, name, previous.resources.get(name)?.common.DeadlockTimeout ?? 0);
  }
  for (const name of [...s.groupNames()]) if (!s.config.groups.has(name)) removeGroup(s, name);
  for (const name of s.config.groups.keys()) {
    if (!s.group(name)) s.addGroup({ name, owned: false, epoch: 0, move: undefined });
    s.dirty.add(name);
  }
  for (const cfg of s.config.resources.values()) {
    if (!s.resource(cfg.name)) s.addResource(newResourceRecord(cfg.name, cfg.group, s.now));
  }
}

/**
 * Part of the configuration changed: as configure, for the named objects only.
 * A change of nodes or types may concern any group, so all are driven then.
 */
function configureDelta(s: Step, delta: ConfigDelta): void {
  const previous = s.config;
  s.config = updateConfigIndex(previous, delta);
  const touched = new Set<string>();
  for (const { name } of delta.resources) {
    const rec = s.resource(name);
    const cfg = s.config.resources.get(name);
    if (rec && (!cfg || cfg.group !== rec.group)) removeResource(s, name, previous.resources.get(name)?.common.DeadlockTimeout ?? 0);
    if (cfg) touched.add(cfg.group);
  }
  for (const { name } of delta.groups) {
    if (s.config.groups.has(name)) touched.add(name);
    else if (s.group(name)) removeGroup(s, name);
  }
  for (const name of delta.nodes || delta.types ? s.config.groups.keys() : touched) {
    if (!s.config.groups.has(name)) continue;
    if (!s.group(name)) s.addGroup({ name, owned: false, epoch: 0, move: undefined });
    s.dirty.add(name);
  }
  for (const { name } of delta.resources) {
    const cfg = s.config.resources.get(name);
    if (cfg && !s.resource(name)) s.addResource(newResourceRecord(cfg.name, cfg.group, s.now));
  }
}

/** A deleted group: its operations end, its move's deadline is no longer watched. */
function removeGroup(s: Step, name: string): void {
  const g = s.group(name)!;
  if (g.move) s.cancelTimer(g.move.timerId);
  const deleted = clusterError('ERROR_GROUP_NOT_FOUND', `group ${JSON.stringify(name)} was deleted`);
  for (const op of s.operationsOf(name)) endOperation(s, op.requestId, { resource: '-', error: deleted });
  s.deleteGroup(name);
}

/** A deleted resource: stop what may run and close it, without waiting for either. */
function removeResource(s: Step, name: string, deadlineMs: number): void {
  const r = s.wr(name);
  s.dropCall(r);
  for (const id of Object.values(r.timers)) s.cancelTimer(id);
  if (isUpState(r.state)) s.emit({ type: 'call', resource: name, entryPoint: 'terminate', callId: s.newId('c'), deadlineMs, deadlineAt: s.now + deadlineMs });
  if (r.opened) s.emit({ type: 'call', resource: name, entryPoint: 'close', callId: s.newId('c'), deadlineMs, deadlineAt: s.now + deadlineMs });
  s.deleteResource(name);
  s.dirty.add(r.group);
}
