// Shapes shared by the analyzer, the timelines and the known-issue rules.

import type { ClusterEvent, ClusterEventType } from './events.ts';
import type { LogLine } from './reader.ts';

/** Where and when something was logged. timeMs is undefined for the KB placeholder prefix. */
export interface Occurrence {
  timeMs?: number;
  node: string;
  file: string;
  lineNo: number;
}

/** A log line that supports a finding. */
export interface Evidence extends Occurrence {
  line: string;
  /** Why this line matters, e.g. "first of 42 retries". */
  note?: string;
}

export type Severity = 'error' | 'warning';

export type Dialect = 'wsfc' | 'failover';

/** A remedy template, or one that applies only when a boolean fact of the finding is true (`when`) or false (`unless`). */
export type Remedy = string | { when: string; text: string } | { unless: string; text: string };

export interface Finding {
  ruleId: string;
  title: string;
  severity: Severity;
  /** One or two sentences naming the resource, group and nodes. */
  summary: string;
  explanation: string;
  resource?: string;
  group?: string;
  /** The node the finding is about (the one its remedies name), by name. */
  node?: string;
  nodes: string[];
  /** When the problem began (its first evidence). */
  began?: Occurrence;
  evidence: Evidence[];
  /** What to do, in the dialect of the log (see Rule.remedies). */
  remedies: string[];
  /** Extra named facts for --json consumers (counts, codes, targets). */
  facts: Record<string, string | number | boolean>;
}

/** An event together with the line it came from. */
export interface Observed {
  event: ClusterEvent;
  line: LogLine;
}

/** The events of the types T. */
export type EventOf<T extends ClusterEventType> = Extract<ClusterEvent, { type: T }>;

/** What the analyzer has learned so far, shared by all rules. */
export interface Knowledge {
  /** The group a resource belongs to, when the log has said so (section tables, CreateResource, answers on a request's thread). */
  groupOf(resource: string): string | undefined;
  /** A node by name: ids (`2`) become the name the log gave them; names stay. */
  nodeName(node: string): string;
  /** Whose log this is: failover's own (advice in failover's CLI) or WSFC's (PowerShell / cluster.exe). */
  dialect(): Dialect;
  /**
   * The resource request (OnlineResource, ...) last made on the thread that
   * wrote this line; WSFC answers a request on the thread that took it.
   */
  requestOnThread(line: LogLine): Observed | undefined;
}

/**
 * One analysis run of a rule: sees the events of its rule's types in time
 * order, then reports. A matcher declares the event it observes as
 * EventOf<its rule's types> (the analyzer shows it no other), so that a test
 * for a type its rule does not list does not compile.
 */
export interface RuleMatcher {
  observe(o: Observed): void;
  findings(): Finding[];
}

/**
 * A known-issue rule: what it is, why it happens, what to do (templates with
 * {resource}, {group}, {node} placeholders), and a matcher over the events.
 */
export interface Rule {
  readonly id: string;
  readonly title: string;
  readonly severity: Severity;
  readonly explanation: string;
  /** What to do, per dialect: WSFC's tools for WSFC logs, failover's CLI for failover's logs. */
  readonly remedies: Readonly<Record<Dialect, readonly Remedy[]>>;
  /** The event types its matcher observes: the analyzer shows it those and no other (most events concern one or two rules). */
  readonly events: readonly ClusterEventType[];
  start(knowledge: Knowledge): RuleMatcher;
}
