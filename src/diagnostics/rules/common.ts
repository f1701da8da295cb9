// Helpers the rules share: evidence from lines, findings from a rule's
// declaration, and the tracking of failed opens that two rules need.

import { copyString, type LogLine } from '../reader.ts';
import type { Evidence, Finding, Knowledge, Observed, Occurrence, Rule } from '../types.ts';

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

/** Evidence keeps a copy of the line, so the chunk it was read from can be freed. */
export function evidence(line: LogLine, note?: string): Evidence {
  const e: Evidence = { ...occurrence(line), line: copyString(line.raw) };
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
    remedies: rule.remedies.map((r) => fillTemplate(r, parts)),
    facts: parts.facts ?? {},
  };
  if (parts.resource !== undefined) f.resource = parts.resource;
  if (parts.group !== undefined) f.group = parts.group;
  if (parts.began !== undefined) f.began = toOccurrence(parts.began);
  return f;
}

/** A repeated line, kept as first, last and count. */
export class Repeated {
  first: Evidence | undefined;
  last: Evidence | undefined;
  count = 0;
  add(line: LogLine): void {
    this.count++;
    if (this.first === undefined) this.first = evidence(line);
    else this.last = evidence(line);
  }
  /** The first and (if different) last line, annotated with what they are. */
  lines(what: string): Evidence[] {
    if (this.first === undefined) return [];
    if (this.last === undefined) return [withNote(this.first, what)];
    return [withNote(this.first, `first of ${this.count} ${what}`), withNote(this.last, `last of ${this.count} ${what}`)];
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

/**
 * Resources whose Open failed and that have not opened since. A failure is an
 * Open error from the resource DLL ([RES]/[RHS]), an open retry scheduled by
 * failover's RCM, or a transition into OpenCallFailed; any later transition to
 * an opened state (Offline, Online, ...) clears it.
 */
export class OpenTracker {
  private readonly failures = new Map<string, OpenFailure>();

  observe({ event, line }: Observed): void {
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
        } else if (!notOpenedStates.has(event.to)) {
          this.failures.delete(event.resource);
        }
        break;
      case 'apiOnline':
        for (const f of this.failures.values()) if (f.apiOnlineAfter === undefined) f.apiOnlineAfter = evidence(line);
        break;
      default:
        break;
    }
  }

  get(resource: string): OpenFailure | undefined {
    return this.failures.get(resource);
  }

  current(): OpenFailure[] {
    return [...this.failures.values()];
  }

  private failure(resource: string, line: LogLine): OpenFailure {
    let f = this.failures.get(resource);
    if (!f) {
      f = { resource, node: line.node, began: occurrence(line), errors: new Repeated(), retries: new Repeated() };
      this.failures.set(resource, f);
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
