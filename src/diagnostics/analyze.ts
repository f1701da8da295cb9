// The analysis: lines in merged time order -> events -> shared knowledge,
// timelines and known-issue rules -> a report. `Analyzer` is synchronous and
// takes lines one at a time (the simulator and tests feed it directly);
// `analyzeLogs` streams files through it.

import { extractEvent, type ClusterEventType } from './events.ts';
import { parseClusterLine } from './line.ts';
import { readLogs, type FileStats, type ListedObject, type LogInput, type LogLine } from './reader.ts';
import { remediesFor } from './rules/common.ts';
import { knownIssueRules } from './rules/index.ts';
import { TimelineStream, type HeldState, type TimelineEntry, type TimelineFilter } from './timeline.ts';
import type { Dialect, Finding, Knowledge, Observed, Rule, RuleMatcher } from './types.ts';

export interface AnalyzeOptions {
  /** Rules to run; all known-issue rules by default. */
  rules?: readonly Rule[];
  /** Stream timeline entries (all objects, or only those the filter keeps) to onEntry. Off by default. */
  timeline?: { filter?: TimelineFilter; onEntry: (e: TimelineEntry) => void };
  /** Called after each batch of lines (a few thousand); the caller may write out what it collected. */
  afterBatch?: () => Promise<void>;
}

/** When a file is unreadable: no log line at all, or more unparsed lines than log lines. */
export function unreadable(f: FileStats): boolean {
  return f.parsed === 0 || f.unparsed > f.parsed;
}

export interface Analysis {
  files: FileStats[];
  totals: { lines: number; parsed: number; unparsed: number; blank: number; events: number };
  /** Whose logs these are: WSFC's or failover's own; the remedies speak its tools. */
  dialect: Dialect;
  firstTimeMs?: number;
  lastTimeMs?: number;
  findings: Finding[];
  /** With a timeline: the states objects still held at the end of the log (or of the time window). */
  held?: HeldState[];
}

/**
 * Threads per node whose last resource request is remembered. Thread ids churn
 * over a long log, and a request is answered on its thread within moments: at
 * the limit, the thread first seen longest ago is forgotten. (Moving a thread
 * to the end of the map at each request - deleting and setting it again - made
 * the map churn: 15% more CPU and 15 MB more memory on a 256 MB log.)
 */
export const requestThreadsPerNodeMax = 4096;

/** Knowledge learned from the log as it is read: group membership, node names, states, requests per thread. */
export class LearnedKnowledge implements Knowledge {
  private readonly groups = new Map<string, string>();
  /** The last resource request per node and thread, in the order the threads were first seen. */
  private readonly requests = new Map<string, Map<number | undefined, Observed>>();
  private readonly nodeNames = new Map<string, string>();
  private failoverLines = 0;

  groupOf(resource: string): string | undefined {
    return this.groups.get(resource);
  }
  requestOnThread(line: LogLine): Observed | undefined {
    return this.requests.get(line.node)?.get(line.record.tid);
  }
  nodeName(node: string): string {
    return this.nodeNames.get(node) ?? node;
  }
  dialect(): Dialect {
    return this.failoverLines > 0 ? 'failover' : 'wsfc';
  }

  /** A row of a 2016+ section table. */
  learnObject(o: ListedObject): void {
    if (o.kind === 'resource' && o.group !== undefined) this.groups.set(o.name, o.group);
    else if (o.kind === 'node' && o.id !== undefined) this.nodeNames.set(o.id, o.name);
  }

  private nameNode(id: string | undefined, name: string | undefined): void {
    if (id !== undefined && name !== undefined && id !== name && !/^\d+$/.test(name)) this.nodeNames.set(id, name);
  }

  learn(o: Observed): void {
    const e = o.event;
    switch (e.type) {
      case 'createResource':
        this.groups.set(e.resource, e.group);
        break;
      case 'apiCall':
        if (e.api.endsWith('Resource')) {
          let onNode = this.requests.get(o.line.node);
          if (!onNode) this.requests.set(o.line.node, (onNode = new Map()));
          const tid = o.line.record.tid;
          if (onNode.size >= requestThreadsPerNodeMax && !onNode.has(tid)) onNode.delete(onNode.keys().next().value);
          onNode.set(tid, o);
        }
        break;
      case 'groupMovingRetry': {
        // The 5908 answer comes on the thread that took the request: the requested resource is in this group.
        const req = this.requestOnThread(o.line);
        if (req && req.event.type === 'apiCall' && req.event.api === e.api && !this.groups.has(req.event.target)) {
          this.groups.set(req.event.target, e.group);
        }
        break;
      }
      case 'moveAboutToSucceed':
        this.nameNode(e.fromId, e.from);
        this.nameNode(e.toId, e.to);
        break;
      case 'nodeState':
        this.nameNode(e.nodeId, e.node);
        break;
      case 'serviceStart':
        this.nameNode(e.nodeId, e.node);
        if (e.node !== undefined) this.failoverLines++;
        break;
      case 'moveFailed':
        this.failoverLines++;
        if (e.resource !== undefined && !this.groups.has(e.resource)) this.groups.set(e.resource, e.group);
        break;
      case 'restartThresholdExceeded':
        this.failoverLines++;
        if (e.group !== undefined) this.groups.set(e.resource, e.group);
        break;
      case 'openRetry':
      case 'openBeforeOnline':
      case 'moveCompleted':
      case 'movePhase':
      case 'moveReturned':
        // Lines only failover writes.
        this.failoverLines++;
        break;
      default:
        break;
    }
  }
}

export class Analyzer {
  readonly knowledge = new LearnedKnowledge();
  private readonly rules: readonly Rule[];
  private readonly matchers: RuleMatcher[];
  /** The matchers of each event type: most events concern one or two rules, and no rule sees the others. */
  private readonly routes = new Map<ClusterEventType, RuleMatcher[]>();
  private readonly timeline: TimelineStream | undefined;
  private events = 0;
  private firstTimeMs: number | undefined;
  private lastTimeMs: number | undefined;

  constructor(options: AnalyzeOptions = {}) {
    this.rules = options.rules ?? knownIssueRules;
    this.matchers = this.rules.map((r) => r.start(this.knowledge));
    this.rules.forEach((rule, i) => {
      for (const type of new Set(rule.events)) {
        let matchers = this.routes.get(type);
        if (!matchers) this.routes.set(type, (matchers = []));
        matchers.push(this.matchers[i]!);
      }
    });
    if (options.timeline) this.timeline = new TimelineStream(this.knowledge, options.timeline.filter ?? {}, options.timeline.onEntry);
  }

  push(line: LogLine): void {
    const t = line.record.timeMs;
    if (t !== undefined) {
      if (this.firstTimeMs === undefined || t < this.firstTimeMs) this.firstTimeMs = t;
      if (this.lastTimeMs === undefined || t > this.lastTimeMs) this.lastTimeMs = t;
    }
    const event = extractEvent(line.record);
    if (event === undefined) return;
    this.events++;
    const o: Observed = { event, line };
    this.knowledge.learn(o);
    const matchers = this.routes.get(event.type);
    if (matchers !== undefined) for (const m of matchers) m.observe(o);
    this.timeline?.observe(o);
  }

  finish(files: FileStats[] = []): Analysis {
    const totals = { lines: 0, parsed: 0, unparsed: 0, blank: 0, events: this.events };
    for (const f of files) {
      totals.lines += f.lines;
      totals.parsed += f.parsed;
      totals.unparsed += f.unparsed;
      totals.blank += f.blank;
      // Lines the pre-filter dropped still count for the log's span.
      if (f.firstTimeMs !== undefined && (this.firstTimeMs === undefined || f.firstTimeMs < this.firstTimeMs)) this.firstTimeMs = f.firstTimeMs;
      if (f.lastTimeMs !== undefined && (this.lastTimeMs === undefined || f.lastTimeMs > this.lastTimeMs)) this.lastTimeMs = f.lastTimeMs;
    }
    const dialect = this.knowledge.dialect();
    const byId = new Map(this.rules.map((r) => [r.id, r]));
    const findings = this.matchers.flatMap((m) => m.findings());
    for (const f of findings) {
      if (f.node !== undefined) f.node = this.knowledge.nodeName(f.node);
      f.nodes = [...new Set(f.nodes.map((n) => this.knowledge.nodeName(n)))];
      f.remedies = remediesFor(byId.get(f.ruleId)!, f, dialect);
    }
    const a: Analysis = { files, totals, dialect, findings };
    if (this.firstTimeMs !== undefined) a.firstTimeMs = this.firstTimeMs;
    if (this.lastTimeMs !== undefined) a.lastTimeMs = this.lastTimeMs;
    if (this.timeline) a.held = this.timeline.held(this.lastTimeMs);
    return a;
  }
}

/** Streams the files (merged by time) through an Analyzer. File errors are ClusterErrors naming the file. */
export async function analyzeLogs(inputs: readonly LogInput[], options: AnalyzeOptions = {}): Promise<Analysis> {
  const analyzer = new Analyzer(options);
  const { batches, files } = await readLogs(inputs, { onObject: (o) => analyzer.knowledge.learnObject(o) });
  for await (const batch of batches) {
    for (const line of batch) analyzer.push(line);
    if (options.afterBatch) await options.afterBatch();
  }
  return analyzer.finish(files);
}

/** Analyzes in-memory lines of one node (a writer's lines(), a test's text); unparsable lines are counted. */
export function analyzeText(lines: Iterable<string>, node: string, options: AnalyzeOptions = {}): Analysis {
  const analyzer = new Analyzer(options);
  const stats: FileStats = { file: `(${node})`, node, encoding: 'utf-8', bytes: 0, lines: 0, parsed: 0, unparsed: 0, blank: 0, sectionLines: 0, timeless: 0, unparsedSamples: [] };
  for (const raw of lines) {
    stats.lines++;
    stats.bytes += Buffer.byteLength(raw) + 1;
    const record = parseClusterLine(raw);
    if (!record) {
      if (raw.trim() === '') stats.blank++;
      else stats.unparsed++;
      continue;
    }
    stats.parsed++;
    if (record.timeMs === undefined) stats.timeless++;
    analyzer.push({ record, node, file: stats.file, lineNo: stats.lines, raw });
  }
  return analyzer.finish([stats]);
}
