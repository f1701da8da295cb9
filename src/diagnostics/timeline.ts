// Timelines: what happened to each resource and group (and to the cluster:
// nodes, quorum, API), in time order across nodes, streamed as it is read.
// Memory is one entry per object and node (its current state), whatever the
// size of the log: each entry is handed to the caller as soon as it is seen,
// with how long the state it ends had lasted; the states still held at the
// end of the log come last, with how long they had lasted by then.

import type { ClusterEvent } from './events.ts';
import { occurrence } from './rules/common.ts';
import type { Knowledge, Observed, Occurrence } from './types.ts';

export type TimelineKind = 'state' | 'move' | 'api' | 'retry' | 'error' | 'restart' | 'node' | 'quorum';

export interface TimelineEntry {
  at: Occurrence;
  /** What the entry is about. */
  object: { kind: 'resource' | 'group' | 'cluster'; name: string; group?: string };
  kind: TimelineKind;
  /** What happened, in words. */
  text: string;
  from?: string;
  to?: string;
  /** For a state entry: how long the object had been in `from` on this node, when the log showed it entering it. */
  fromLastedMs?: number;
  line: string;
}

/** A state an object still held on a node at the end of the log. */
export interface HeldState {
  object: TimelineEntry['object'];
  node: string;
  state: string;
  since: Occurrence;
  /** Until the end of the log; undefined when the times are unknown. */
  durationMs?: number;
}

export interface TimelineFilter {
  resource?: string;
  /** The group and its resources (membership as known when each line is read). */
  group?: string;
  /** Entries from this time (UTC ms) on. */
  fromMs?: number;
  /** Entries up to this time (UTC ms). */
  toMs?: number;
}

function describe(e: ClusterEvent): { kind: TimelineKind; text: string; from?: string; to?: string } | undefined {
  switch (e.type) {
    case 'resourceState':
    case 'groupState':
      return { kind: 'state', text: `${e.from} --> ${e.to}`, from: e.from, to: e.to };
    case 'createResource':
      return { kind: 'api', text: `created in group ${e.group}` };
    case 'moveRequest':
      return { kind: 'move', text: `move requested to node ${e.target}` };
    case 'moveOperation':
      return { kind: 'move', text: `move operation to node ${e.target}` };
    case 'moveAboutToSucceed':
      return { kind: 'move', text: `move from ${e.from} to ${e.to} (${e.moveType}) about to succeed` };
    case 'movePhase':
      return { kind: 'move', text: `move phase ${e.phase}` };
    case 'moveCompleted':
      return { kind: 'move', text: `move to ${e.to} completed` };
    case 'moveFailed':
      return { kind: 'move', text: `move to ${e.to} failed: ${e.resource ?? '-'}: ${e.errorName}(${e.code})` };
    case 'moveReturned':
      return { kind: 'move', text: `move returned to ${e.to}` };
    case 'apiCall':
      return { kind: 'api', text: `${e.api}(${e.target})` };
    case 'groupMovingRetry':
      return { kind: 'retry', text: `${e.api} answered 5908 (group moving)` };
    case 'entryPointError':
      return { kind: 'error', text: `${e.entryPoint ?? 'call'} error${e.code !== undefined ? ` ${e.code}` : ''}: ${e.detail}` };
    case 'callTimedOut':
      return { kind: 'error', text: `${e.call} timed out (deadlock monitor)` };
    case 'callFailed':
      return { kind: 'error', text: `${e.call} returned ${e.code}` };
    case 'separateMonitor':
      return { kind: 'error', text: 'moved to a separate monitor' };
    case 'openRetry':
      return { kind: 'retry', text: `open failed (${e.code}); retry ${e.attempt} of ${e.attemptsMax} in ${e.delayMs} ms` };
    case 'openBeforeOnline':
      return { kind: 'retry', text: 'open issued before online' };
    case 'restartScheduled':
      return { kind: 'restart', text: e.restartCount !== undefined ? `restart ${e.restartCount} of ${e.threshold}` : 'restart queued' };
    case 'resourceFailureCount':
      return { kind: 'restart', text: `failure ${e.failureCount} (restartAction ${e.restartAction})` };
    case 'restartThresholdExceeded':
      return { kind: 'restart', text: `restart threshold exceeded; group ${e.group ?? ''} fails over` };
    case 'failoverThresholdExceeded':
      return { kind: 'restart', text: `failover threshold exceeded (count ${e.failoverCount}); left Failed` };
    case 'cannotHost':
      return { kind: 'error', text: `node ${e.node ?? '?'} cannot host it (${e.code})` };
    case 'leaseTimeout':
      return { kind: 'error', text: e.kind === 'lease' ? 'lease time-out' : 'health-check time-out' };
    case 'nodeState':
      return { kind: 'node', text: `node ${e.node} is ${e.state}` };
    case 'communicationLost':
      return { kind: 'node', text: `lost communication with ${e.node !== undefined ? `node ${e.node}` : e.address}` };
    case 'serviceStart':
      return { kind: 'node', text: 'cluster service starting' };
    case 'apiOnline':
      return { kind: 'api', text: 'cluster API online' };
    case 'quorumLost':
      return { kind: 'quorum', text: 'quorum lost (5925)' };
  }
}

/** The resource and group an event is about. */
function subjects(e: ClusterEvent): { resource?: string; group?: string } {
  switch (e.type) {
    case 'resourceState':
    case 'entryPointError':
    case 'callTimedOut':
    case 'callFailed':
    case 'openRetry':
    case 'openBeforeOnline':
    case 'resourceFailureCount':
    case 'leaseTimeout':
    case 'createResource':
      return { resource: e.resource };
    case 'restartScheduled':
    case 'separateMonitor':
    case 'cannotHost':
      return e.resource !== undefined ? { resource: e.resource } : {};
    case 'restartThresholdExceeded':
      return e.group !== undefined ? { resource: e.resource, group: e.group } : { resource: e.resource };
    case 'moveFailed':
      return e.resource !== undefined ? { resource: e.resource, group: e.group } : { group: e.group };
    case 'apiCall': {
      if (e.api.includes('Group')) return { group: e.target.split(',')[0]!.trim() };
      if (e.api.includes('Resource')) return { resource: e.target.trim() };
      return {};
    }
    case 'groupMovingRetry':
    case 'groupState':
    case 'moveRequest':
    case 'moveOperation':
    case 'moveAboutToSucceed':
    case 'movePhase':
    case 'moveCompleted':
    case 'moveReturned':
    case 'failoverThresholdExceeded':
      return { group: e.group };
    case 'nodeState':
    case 'communicationLost':
    case 'serviceStart':
    case 'apiOnline':
    case 'quorumLost':
      return {};
  }
}

interface Current {
  object: TimelineEntry['object'];
  node: string;
  state: string;
  since: Occurrence;
}

/**
 * Streams timeline entries to `onEntry` as events are observed (in merged
 * time order). Keeps only each object's current state per node.
 */
export class TimelineStream {
  private readonly current = new Map<string, Current>();

  constructor(
    private readonly knowledge: Knowledge,
    private readonly filter: TimelineFilter,
    private readonly onEntry: (e: TimelineEntry) => void,
  ) {}

  observe({ event, line }: Observed): void {
    const d = describe(event);
    if (!d) return;
    const s = subjects(event);
    const f = this.filter;
    let object: TimelineEntry['object'];
    if (s.resource !== undefined) {
      const group = s.group ?? this.knowledge.groupOf(s.resource);
      object = group !== undefined ? { kind: 'resource', name: s.resource, group } : { kind: 'resource', name: s.resource };
      if (f.resource !== undefined && s.resource !== f.resource) return;
      if (f.group !== undefined && group !== f.group) return;
    } else if (s.group !== undefined) {
      if (f.resource !== undefined || (f.group !== undefined && s.group !== f.group)) return;
      object = { kind: 'group', name: s.group };
    } else {
      if (f.resource !== undefined || f.group !== undefined) return;
      object = { kind: 'cluster', name: 'cluster' };
    }
    const at = occurrence(line);
    let fromLastedMs: number | undefined;
    if (d.kind === 'state' && d.to !== undefined) {
      const key = `${object.kind}\u0000${object.name}\u0000${line.node}`;
      const prev = this.current.get(key);
      if (prev && prev.since.timeMs !== undefined && at.timeMs !== undefined) fromLastedMs = at.timeMs - prev.since.timeMs;
      this.current.set(key, { object, node: line.node, state: d.to, since: at });
    }
    const t = at.timeMs;
    if (t !== undefined && ((f.fromMs !== undefined && t < f.fromMs) || (f.toMs !== undefined && t > f.toMs))) return;
    const entry: TimelineEntry = { at, object, kind: d.kind, text: d.text, line: line.raw };
    if (d.from !== undefined) entry.from = d.from;
    if (d.to !== undefined) entry.to = d.to;
    if (fromLastedMs !== undefined) entry.fromLastedMs = fromLastedMs;
    this.onEntry(entry);
  }

  /** The states held at the end of the log (`endMs`, or the window's end when it is earlier). */
  held(endMs: number | undefined): HeldState[] {
    const end = this.filter.toMs !== undefined && endMs !== undefined ? Math.min(endMs, this.filter.toMs) : endMs;
    const out: HeldState[] = [];
    for (const c of this.current.values()) {
      if (c.since.timeMs !== undefined && end !== undefined && c.since.timeMs > end) continue;
      const h: HeldState = { object: c.object, node: c.node, state: c.state, since: c.since };
      if (end !== undefined && c.since.timeMs !== undefined) h.durationMs = end - c.since.timeMs;
      out.push(h);
    }
    return out;
  }
}
