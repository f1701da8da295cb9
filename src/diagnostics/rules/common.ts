// Helpers the rules share: evidence from lines, findings from a rule's
// declaration, and the tracking of failed opens that two rules need.

import type { LogLine } from '../reader.ts';
import type { ClusterEvent, ClusterEventType } from '../events.ts';
import type { Dialect, EventOf, Evidence, Finding, Knowledge, Occurrence, Rule } from '../types.ts';

export function occurrence(line: LogLine): Occurrence {
  const o: Occurrence = { node: line.node, file: line.file, lineNo: line.lineNo };
  if (line.record.timeMs !== undefined) o.timeMs = line.record.timeMs;
  return o;
}

/** Just where and when, without the line. */
export function toOccurrence(e: Occurrence): Occurrence {
  const o: Occurrence = { node: e.node, file: e.file, lineNo: e.lineNo };
  if (e.timeMs !== undefined) o.timeMs = e.timeMs;
  return o;
}

/** Evidence of a line (its raw text is a string of its own: keeping it keeps no chunk of the file). */
export function evidence(line: LogLine, note?: string): Evidence {
  const e: Evidence = { ...occurrence(line), line: line.raw };
  if (note !== undefined) e.note = note;
  return e;
}

export function withNote(e: Evidence, note: string): Evidence {
  return { ...e, note };
}

export interface Subject {
  resource?: string;
  group?: string;
  node?: string;
}

/** The rule's remedies for the log's dialect, with the finding's resource, group and node filled in. */
export function remediesFor(rule: Rule, f: Finding, dialect: Dialect): string[] {
  const subject: Subject = {};
  if (f.resource !== undefined) subject.resource = f.resource;
  if (f.group !== undefined) subject.group = f.group;
  if (f.node !== undefined) subject.node = f.node;
  const out: string[] = [];
  for (const r of rule.remedies[dialect]) {
    if (typeof r === 'string') out.push(fillTemplate(r, subject));
    else if ('when' in r ? f.facts[r.when] === true : f.facts[r.unless] !== true) out.push(fillTemplate(r.text, subject));
  }
  return out;
}

/** Fills {resource}, {group} and {node} in a rule's remedy templates. */
export function fillTemplate(template: string, subject: Subject): string {
  return template
    .replaceAll('{resource}', subject.resource ?? '<resource>')
    .replaceAll('{group}', subject.group ?? '<group>')
    .replaceAll('{node}', subject.node ?? '<node>');
}

export interface FindingParts extends Subject {
  summary: string;
  nodes: Iterable<string>;
  began?: Occurrence;
  evidence: Evidence[];
  facts?: Record<string, string | number | boolean>;
}

export function makeFinding(rule: Rule, parts: FindingParts): Finding {
  const f: Finding = {
    ruleId: rule.id,
    title: rule.title,
    severity: rule.severity,
    summary: parts.summary,
    explanation: rule.explanation,
    nodes: [...new Set(parts.nodes)].filter((n) => n !== ''),
    evidence: parts.evidence,
    remedies: [],
    facts: parts.facts ?? {},
  };
  if (parts.node !== undefined) f.node = parts.node;
  if (parts.resource !== undefined) f.resource = parts.resource;
  if (parts.group !== undefined) f.group = parts.group;
  if (parts.began !== undefined) f.began = toOccurrence(parts.began);
  return f;
}

/** A repeated line, kept as first, last and count. */
export class Repeated {
  first: Evidence | undefined;
  count = 0;
  /** The last line after the first; made evidence only when asked for, as most repeats never are. */
  private lastSeen: LogLine | Evidence | undefined;

  /** Adds a line, or evidence already taken from one. */
  add(line: LogLine | Evidence): void {
    this.count++;
    if (this.first === undefined) this.first = 'record' in line ? evidence(line) : line;
    else this.lastSeen = line;
  }

  get last(): Evidence | undefined {
    const l = this.lastSeen;
    if (l !== undefined && 'record' in l) this.lastSeen = evidence(l);
    return this.lastSeen as Evidence | undefined;
  }

  set last(e: Evidence | undefined) {
    this.lastSeen = e;
  }

  /** The first and (if different) last line, annotated with what they are. */
  lines(what: string): Evidence[] {
    const first = this.first;
    if (first === undefined) return [];
    const last = this.last;
    if (last === undefined) return [withNote(first, what)];
    return [withNote(first, `first of ${this.count} ${what}`), withNote(last, `last of ${this.count} ${what}`)];
  }
}

export function timeText(timeMs: number | undefined): string {
  if (timeMs === undefined) return 'an unknown time';
  return new Date(timeMs).toISOString().replace('T', ' ').replace('Z', ' UTC');
}

/** States a resource is in while it has not (yet) opened. */
const notOpenedStates = new Set(['Initializing', 'OpenCallIssued', 'OpenCallFailed', 'OpenPending']);

export interface OpenFailure {
  resource: string;
  node: string;
  began: Occurrence;
  errors: Repeated;
  /** The transition into OpenCallFailed, when logged. */
  failedTransition?: Evidence;
  retries: Repeated;
  code?: number;
  /** The API came online after the failure (the KB's sign that a later call would have worked). */
  apiOnlineAfter?: Evidence;
}

/** The events OpenTracker reads: a rule that keeps one lists them among its own. */
export const openTrackerEvents = ['entryPointError', 'openRetry', 'resourceState', 'serviceStart', 'apiOnline'] as const;
const openTrackerTypes: ReadonlySet<ClusterEventType> = new Set(openTrackerEvents);

/** True for an event OpenTracker reads. */
export function forOpenTracker(e: ClusterEvent): e is EventOf<(typeof openTrackerEvents)[number]> {
  return openTrackerTypes.has(e.type);
}

/**
 * Resources whose Open failed and that have not opened since, per node: each
 * node runs its own copy of every resource, so one node's normal transitions
 * say nothing of another's stuck one. A failure is an Open error from the
 * resource DLL ([RES]/[RHS]), an open retry scheduled by failover's RCM, or a
 * transition into OpenCallFailed; a later transition to an opened state
 * (Offline, Online, ...) on the same node clears it, and so does a restart of
 * that node's cluster service.
 */
export class OpenTracker {
  /** Per node, per resource. */
  private readonly failures = new Map<string, Map<string, OpenFailure>>();
  private count = 0;

  observe(event: EventOf<(typeof openTrackerEvents)[number]>, line: LogLine): void {
    switch (event.type) {
      case 'entryPointError':
        if (event.entryPoint === 'Open') {
          const f = this.failure(event.resource, line);
          f.errors.add(line);
          if (event.code !== undefined) f.code = event.code;
        }
        break;
      case 'openRetry': {
        const f = this.failure(event.resource, line);
        f.retries.add(line);
        f.code = event.code;
        break;
      }
      case 'resourceState':
        if (event.to === 'OpenCallFailed') {
          const f = this.failure(event.resource, line);
          if (f.failedTransition === undefined) f.failedTransition = evidence(line);
        } else if (this.count > 0 && !notOpenedStates.has(event.to)) {
          if (this.failures.get(line.node)?.delete(event.resource)) this.count--;
        }
        break;
      case 'serviceStart': {
        const onNode = this.failures.get(line.node);
        if (onNode) this.count -= onNode.size;
        this.failures.delete(line.node);
        break;
      }
      case 'apiOnline':
        for (const f of this.failures.get(line.node)?.values() ?? []) if (f.apiOnlineAfter === undefined) f.apiOnlineAfter = evidence(line);
        break;
      default:
        break;
    }
  }

  /** The resource's open failure on a node, or on any node. */
  get(resource: string, node?: string): OpenFailure | undefined {
    if (node !== undefined) return this.failures.get(node)?.get(resource);
    for (const onNode of this.failures.values()) {
      const f = onNode.get(resource);
      if (f) return f;
    }
    return undefined;
  }

  current(): OpenFailure[] {
    return [...this.failures.values()].flatMap((m) => [...m.values()]);
  }

  private failure(resource: string, line: LogLine): OpenFailure {
    let onNode = this.failures.get(line.node);
    if (!onNode) this.failures.set(line.node, (onNode = new Map()));
    let f = onNode.get(resource);
    if (!f) {
      f = { resource, node: line.node, began: occurrence(line), errors: new Repeated(), retries: new Repeated() };
      onNode.set(resource, f);
      this.count++;
    }
    return f;
  }
}

/** Evidence of an open failure, in log order. */
export function openFailureEvidence(f: OpenFailure): Evidence[] {
  const out = [...f.errors.lines('Open errors from the resource')];
  if (f.failedTransition) out.push(withNote(f.failedTransition, 'the resource is left in OpenCallFailed'));
  out.push(...f.retries.lines('open retries'));
  if (f.apiOnlineAfter) out.push(withNote(f.apiOnlineAfter, 'the cluster API came online after the failed open'));
  return sortEvidence(out);
}

export function sortEvidence(list: Evidence[]): Evidence[] {
  return list.sort((a, b) => (a.timeMs ?? 0) - (b.timeMs ?? 0) || (a.file === b.file ? a.lineNo - b.lineNo : 0));
}

export type { Knowledge };
