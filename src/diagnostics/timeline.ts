// Timelines per resource and per group (and one for the cluster: nodes,
// quorum, API), with how long each state lasted. Memory is bounded: an object
// keeps its most recent timelineEntriesMax entries and counts the rest.

import type { ClusterEvent } from './events.ts';
import { copyString } from './reader.ts';
import { occurrence } from './rules/common.ts';
import type { Knowledge, Observed, Occurrence } from './types.ts';

export const timelineLimits = {
  /** Entries kept per resource or group (the most recent ones). */
  entriesPerObjectMax: 10_000,
} as const;

export type TimelineKind = 'state' | 'move' | 'api' | 'retry' | 'error' | 'restart' | 'node' | 'quorum';

export interface TimelineEntry {
  at: Occurrence;
  kind: TimelineKind;
  /** What happened, in words. */
  text: string;
  from?: string;
  to?: string;
  /** For state entries: how long the object stayed in `to` (until its next state on the same node, or the log's end). */
  durationMs?: number;
  /** The state still held at the end of the log. */
  ongoing?: boolean;
  line: string;
}

export interface ObjectTimeline {
  kind: 'resource' | 'group' | 'cluster';
  name: string;
  /** For a resource, its group when the log names it. */
  group?: string;
  nodes: string[];
  entries: TimelineEntry[];
  /** Earlier entries dropped to bound memory. */
  omittedEntries: number;
  /** Last state seen, per node. */
  finalStates: Record<string, string>;
}

export interface TimelineFilter {
  resource?: string;
  group?: string;
}

class Track {
  entries: TimelineEntry[] = [];
  start = 0; // ring buffer start once full
  omitted = 0;
  nodes = new Set<string>();
  lastState = new Map<string, TimelineEntry>();
  constructor(readonly kind: ObjectTimeline['kind'], readonly name: string) {}

  add(entry: TimelineEntry): void {
    this.nodes.add(entry.at.node);
    if (entry.kind === 'state') {
      const prev = this.lastState.get(entry.at.node);
      if (prev && prev.at.timeMs !== undefined && entry.at.timeMs !== undefined) prev.durationMs = entry.at.timeMs - prev.at.timeMs;
      this.lastState.set(entry.at.node, entry);
    }
    if (this.entries.length < timelineLimits.entriesPerObjectMax) this.entries.push(entry);
    else {
      this.entries[this.start] = entry;
      this.start = (this.start + 1) % this.entries.length;
      this.omitted++;
    }
  }

  ordered(): TimelineEntry[] {
    return [...this.entries.slice(this.start), ...this.entries.slice(0, this.start)];
  }
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
    case 'callFailed':
      return { kind: 'error', text: `${e.call} returned ${e.code}` };
    case 'communicationLost':
      return { kind: 'node', text: `lost communication with ${e.node !== undefined ? `node ${e.node}` : e.address}` };
    case 'leaseTimeout':
      return { kind: 'error', text: e.kind === 'lease' ? 'lease time-out' : 'health-check time-out' };
    case 'serviceStart':
      return { kind: 'node', text: 'cluster service starting' };
    case 'restartThresholdExceeded':
      return { kind: 'restart', text: `restart threshold exceeded; group ${e.group ?? ''} fails over` };
    case 'failoverThresholdExceeded':
      return { kind: 'restart', text: `failover threshold exceeded (count ${e.failoverCount}); left Failed` };
    case 'cannotHost':
      return { kind: 'error', text: `node ${e.node ?? '?'} cannot host it (${e.code})` };
    case 'nodeState':
      return { kind: 'node', text: `node ${e.node} is ${e.state}` };
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
    case 'openRetry':
    case 'openBeforeOnline':
    case 'resourceFailureCount':
    case 'callFailed':
    case 'leaseTimeout':
      return { resource: e.resource };
    case 'restartScheduled':
    case 'separateMonitor':
    case 'cannotHost':
      return e.resource !== undefined ? { resource: e.resource } : {};
    case 'createResource':
      return { resource: e.resource };
    case 'restartThresholdExceeded':
      return e.group !== undefined ? { resource: e.resource, group: e.group } : { resource: e.resource };
    case 'moveFailed':
      return e.resource !== undefined ? { resource: e.resource, group: e.group } : { group: e.group };
    case 'apiCall': {
      const name = e.target.split(',')[0]!.trim();
      if (/Group/.test(e.api)) return { group: name };
      if (/Resource/.test(e.api)) return { resource: e.target.trim() };
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

export class TimelineBuilder {
  private readonly resources = new Map<string, Track>();
  private readonly groups = new Map<string, Track>();
  private readonly cluster = new Track('cluster', 'cluster');

  constructor(
    private readonly knowledge: Knowledge,
    private readonly filter: TimelineFilter = {},
  ) {}

  observe({ event, line }: Observed): void {
    const d = describe(event);
    if (!d) return;
    const s = subjects(event);
    if (this.filter.resource !== undefined && s.resource !== this.filter.resource) return;
    // With a group filter every resource is kept: membership may be learned after the resource's first lines.
    const entry = (): TimelineEntry => {
      const en: TimelineEntry = { at: occurrence(line), kind: d.kind, text: d.text, line: copyString(line.raw) };
      if (d.from !== undefined) en.from = d.from;
      if (d.to !== undefined) en.to = d.to;
      return en;
    };
    if (s.resource !== undefined) track(this.resources, 'resource', s.resource).add(entry());
    if (s.group !== undefined) track(this.groups, 'group', s.group).add(entry());
    if (s.resource === undefined && s.group === undefined && this.filter.resource === undefined && this.filter.group === undefined) this.cluster.add(entry());
  }

  /** The timelines, with the last state of each object lasting until `endMs` (the log's last time). */
  finish(endMs: number | undefined): ObjectTimeline[] {
    const out: ObjectTimeline[] = [];
    const emit = (t: Track, group?: string): void => {
      const finalStates: Record<string, string> = {};
      for (const [node, e] of t.lastState) {
        finalStates[node] = e.to ?? '';
        e.ongoing = true;
        if (endMs !== undefined && e.at.timeMs !== undefined) e.durationMs = endMs - e.at.timeMs;
      }
      const o: ObjectTimeline = { kind: t.kind, name: t.name, nodes: [...t.nodes], entries: t.ordered(), omittedEntries: t.omitted, finalStates };
      if (group !== undefined) o.group = group;
      out.push(o);
    };
    const f = this.filter;
    for (const t of this.groups.values()) if (f.resource === undefined && (f.group === undefined || f.group === t.name)) emit(t);
    for (const t of this.resources.values()) {
      const group = this.knowledge.groupOf(t.name);
      if (f.group !== undefined && group !== f.group) continue;
      emit(t, group);
    }
    if (this.cluster.entries.length > 0) emit(this.cluster);
    return out;
  }
}

function track(map: Map<string, Track>, kind: 'resource' | 'group', name: string): Track {
  let t = map.get(name);
  if (!t) map.set(name, (t = new Track(kind, name)));
  return t;
}
