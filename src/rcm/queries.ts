// Read-only questions the shell and the simulator ask of an RCM state.
import { deriveGroupState, type ClusterErrorValue, type GroupState, type ResourceState } from '../model/index.ts';
import { isTransitionalState } from './transitions.ts';
import type { EntryPoint, MovePhase, RcmState, TimerTarget } from './types.ts';

export interface ResourceStatus {
  readonly name: string;
  readonly group: string;
  readonly state: ResourceState;
  readonly seq: number;
  readonly lastError: ClusterErrorValue | undefined;
}

export function resourceStatus(state: RcmState, resource: string): ResourceStatus | undefined {
  const r = state.resources.get(resource);
  return r && { name: r.name, group: r.group, state: r.state, seq: r.seq, lastError: r.lastError };
}

/** The group's state as this node sees its resources (meaningful on the owner). */
export function groupState(state: RcmState, group: string): GroupState | undefined {
  const names = state.config.groupResources.get(group);
  if (!names) return undefined;
  return deriveGroupState(names.flatMap((n) => state.resources.get(n)?.state ?? []));
}

export function isGroupOwned(state: RcmState, group: string): boolean {
  return state.groups.get(group)?.owned ?? false;
}

/** True only while a move of the group is active on this node (the only time requests get 5908). */
export function isGroupMoving(state: RcmState, group: string): boolean {
  return state.groups.get(group)?.move !== undefined;
}

export function movePhase(state: RcmState, group: string): { moveId: string; phase: MovePhase; deadlineAt: number } | undefined {
  const m = state.groups.get(group)?.move;
  return m && { moveId: m.moveId, phase: m.phase, deadlineAt: m.deadlineAt };
}

export interface OutstandingCall {
  readonly resource: string;
  readonly callId: string;
  readonly entryPoint: EntryPoint;
  readonly deadlineAt: number;
}

export function outstandingCalls(state: RcmState): OutstandingCall[] {
  const out: OutstandingCall[] = [];
  for (const r of state.resources.values()) {
    if (r.call) out.push({ resource: r.name, callId: r.call.callId, entryPoint: r.call.entryPoint, deadlineAt: r.call.deadlineAt });
  }
  return out;
}

export function armedTimers(state: RcmState): { timerId: string; at: number; target: TimerTarget }[] {
  return [...state.timers].map(([timerId, t]) => ({ timerId, at: t.at, target: t.target }));
}

/**
 * Invariant "no unbounded wait": every resource in a transitional state has a
 * call in flight whose deadline timer is armed, or (waiting for providers or
 * dependents) an armed waiting timer; every move and request has an armed
 * deadline. Returns what violates it (empty when the invariant holds).
 */
export function unboundedWaits(state: RcmState): string[] {
  const out: string[] = [];
  const armed = (id: string | undefined): boolean => id !== undefined && state.timers.has(id);
  for (const r of state.resources.values()) {
    if (!isTransitionalState(r.state)) continue;
    const bounded =
      r.state === 'WaitingToComeOnline' || r.state === 'WaitingToGoOffline'
        ? armed(r.timers.wait) || (r.call !== undefined && armed(r.call.timerId))
        : r.call !== undefined && armed(r.call.timerId);
    if (!bounded) out.push(`resource ${r.name} is ${r.state} with no deadline`);
  }
  for (const g of state.groups.values()) {
    if (g.move && !armed(g.move.timerId)) out.push(`move of group ${g.name} has no deadline`);
  }
  for (const op of state.operations.values()) {
    if (!armed(op.timerId)) out.push(`request ${op.requestId} has no deadline`);
  }
  return out;
}
