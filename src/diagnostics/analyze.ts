// The analysis: lines in merged time order -> events -> shared knowledge,
// timelines and known-issue rules -> a report. `Analyzer` is synchronous and
// takes lines one at a time (the simulator and tests feed it directly);
// `analyzeLogs` streams files through it.

import { parseLine } from '../log/format.ts';
import { extractEvent } from './events.ts';
import { readLogs, type FileStats, type LogInput, type LogLine } from './reader.ts';
import { knownIssueRules } from './rules/index.ts';
import { TimelineBuilder, type ObjectTimeline, type TimelineFilter } from './timeline.ts';
import type { Finding, Knowledge, Observed, Rule, RuleMatcher } from './types.ts';

export interface AnalyzeOptions {
  /** Rules to run; all known-issue rules by default. */
  rules?: readonly Rule[];
  /** Build timelines (all objects, or only the filtered resource/group). Off by default. */
  timeline?: boolean | TimelineFilter;
}

export interface Analysis {
  files: FileStats[];
  totals: { lines: number; parsed: number; unparsed: number; blank: number; events: number };
  firstTimeMs?: number;
  lastTimeMs?: number;
  findings: Finding[];
  timelines?: ObjectTimeline[];
}

/** Knowledge learned from the log as it is read: group membership, states, requests per thread. */
class LearnedKnowledge implements Knowledge {
  private readonly groups = new Map<string, string>();
  private readonly states = new Map<string, string>();
  private readonly requests = new Map<string, Observed>();

  groupOf(resource: string): string | undefined {
    return this.groups.get(resource);
  }
  stateOf(resource: string): string | undefined {
    return this.states.get(resource);
  }
  requestOnThread(line: LogLine): Observed | undefined {
    return this.requests.get(threadKey(line));
  }

  learn(o: Observed): void {
    const e = o.event;
    switch (e.type) {
      case 'createResource':
        this.groups.set(e.resource, e.group);
        break;
      case 'resourceState':
        this.states.set(e.resource, e.to);
        break;
      case 'apiCall':
        if (/Resource$/.test(e.api)) this.requests.set(threadKey(o.line), o);
        break;
      case 'groupMovingRetry': {
        // The 5908 answer comes on the thread that took the request: the requested resource is in this group.
        const req = this.requests.get(threadKey(o.line));
        if (req && req.event.type === 'apiCall' && req.event.api === e.api && !this.groups.has(req.event.target)) {
          this.groups.set(req.event.target, e.group);
        }
        break;
      }
      case 'moveFailed':
        if (e.resource !== undefined && !this.groups.has(e.resource)) this.groups.set(e.resource, e.group);
        break;
      case 'restartThresholdExceeded':
        if (e.group !== undefined) this.groups.set(e.resource, e.group);
        break;
      default:
        break;
    }
  }
}

function threadKey(line: LogLine): string {
  return `${line.node}\u0000${line.record.tid ?? '?'}`;
}

export class Analyzer {
  private readonly knowledge = new LearnedKnowledge();
  private readonly matchers: RuleMatcher[];
  private readonly timeline: TimelineBuilder | undefined;
  private events = 0;
  private firstTimeMs: number | undefined;
  private lastTimeMs: number | undefined;

  constructor(options: AnalyzeOptions = {}) {
    this.matchers = (options.rules ?? knownIssueRules).map((r) => r.start(this.knowledge));
    if (options.timeline) this.timeline = new TimelineBuilder(this.knowledge, options.timeline === true ? {} : options.timeline);
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
    for (const m of this.matchers) m.observe(o);
    this.timeline?.observe(o);
  }

  finish(files: FileStats[] = []): Analysis {
    const totals = { lines: 0, parsed: 0, unparsed: 0, blank: 0, events: this.events };
    for (const f of files) {
      totals.lines += f.lines;
      totals.parsed += f.parsed;
      totals.unparsed += f.unparsed;
      totals.blank += f.blank;
    }
    const a: Analysis = { files, totals, findings: this.matchers.flatMap((m) => m.findings()) };
    if (this.firstTimeMs !== undefined) a.firstTimeMs = this.firstTimeMs;
    if (this.lastTimeMs !== undefined) a.lastTimeMs = this.lastTimeMs;
    if (this.timeline) a.timelines = this.timeline.finish(this.lastTimeMs);
    return a;
  }
}

/** Streams the files (merged by time) through an Analyzer. File errors are ClusterErrors naming the file. */
export async function analyzeLogs(inputs: readonly LogInput[], options: AnalyzeOptions = {}): Promise<Analysis> {
  const { batches, files } = await readLogs(inputs);
  const analyzer = new Analyzer(options);
  for await (const batch of batches) for (const line of batch) analyzer.push(line);
  return analyzer.finish(files);
}

/** Analyzes in-memory lines of one node (a writer's lines(), a test's text); unparsable lines are counted. */
export function analyzeText(lines: Iterable<string>, node: string, options: AnalyzeOptions = {}): Analysis {
  const analyzer = new Analyzer(options);
  const stats: FileStats = { file: `(${node})`, node, encoding: 'utf-8', bytes: 0, lines: 0, parsed: 0, unparsed: 0, blank: 0, timeless: 0, unparsedSamples: [] };
  for (const raw of lines) {
    stats.lines++;
    stats.bytes += Buffer.byteLength(raw) + 1;
    const record = parseLine(raw);
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
