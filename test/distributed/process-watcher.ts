// The split-brain watcher, run as a process of its own:
//   node --import tsx process-watcher.ts --tag T [--interval-ms 10]
// Polls /proc every interval for live processes whose command line holds
// `--tag T` and `--group G`; their node is FAILOVER_NODE in their environment
// (set by the agent that started them). Reports on stdout, one JSON object a
// line: every instant a group has live processes on more than one node
// ("violation"), each change of where groups run ("state", with the time of
// the poll that saw it), and its poll count and longest gap between polls
// ("stats", at least once a second and when its stdin closes, after which it
// exits).
import { readdirSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { guardedEnvironment } from '../../src/node/guarded-types.ts';

export interface SplitBrain {
  readonly group: string;
  readonly nodes: readonly string[];
  readonly pids: readonly number[];
  readonly atMs: number;
}

export type WatcherLine =
  | { readonly type: 'violation'; readonly violation: SplitBrain }
  | { readonly type: 'state'; readonly groups: Record<string, string[]>; readonly atMs: number }
  | { readonly type: 'stats'; readonly polls: number; readonly maxGapMs: number };

export function decodeWatcherLine(line: string): WatcherLine | undefined {
  try {
    const v = JSON.parse(line) as WatcherLine;
    return v && (v.type === 'violation' || v.type === 'state' || v.type === 'stats') ? v : undefined;
  } catch {
    return undefined;
  }
}

interface Seen {
  /** undefined: not one of ours. */
  readonly match: { group: string; node: string } | undefined;
  readonly startTime: string;
  readonly checkedAt: number;
}

/** How long a process found not to be ours is believed so (its pid could be reused, or it could exec one of ours). */
const notOursRecheckMs = 300;
const statsIntervalMs = 1_000;

function statOf(pid: number): { state: string; startTime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

function identify(pid: number, tag: string): Seen['match'] | 'gone' {
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    // Before its exec the shell's command line holds the whole command as one string.
    const joined = argv.join(' ');
    const t = argv.indexOf('--tag');
    const tagOk = (t >= 0 && argv[t + 1] === tag) || joined.includes(`--tag ${tag} `);
    const g = argv.indexOf('--group');
    const group = g >= 0 ? argv[g + 1] : / --group (\S+)/.exec(joined)?.[1];
    if (!tagOk || !group) return undefined;
    const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
    const node = env.find((e) => e.startsWith(`${guardedEnvironment.node}=`))?.slice(guardedEnvironment.node.length + 1);
    return node ? { group, node } : undefined;
  } catch {
    return 'gone';
  }
}

/** One poller: call poll() as often as wanted; it returns what runs where and any group on two nodes. */
export function createProcessPoller(tag: string, self: number): () => { groups: Map<string, Map<string, number[]>>; violations: SplitBrain[] } {
  const seen = new Map<number, Seen>();
  return () => {
    const now = Date.now();
    const groups = new Map<string, Map<string, number[]>>();
    const present = new Set<number>();
    for (const entry of readdirSync('/proc')) {
      if (entry.charCodeAt(0) > 57) continue; // not a digit: not a process
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === self) continue;
      present.add(pid);
      let s = seen.get(pid);
      const recheck = s !== undefined && !s.match && now - s.checkedAt > notOursRecheckMs;
      if (s && !s.match && !recheck) continue;
      const stat = statOf(pid);
      if (!stat) continue;
      if (!s || recheck || stat.startTime !== s.startTime) {
        const match = identify(pid, tag);
        if (match === 'gone') continue;
        s = { match, startTime: stat.startTime, checkedAt: now };
        seen.set(pid, s);
      }
      if (!s.match || stat.state === 'Z' || stat.state === 'X') continue;
      const byNode = groups.get(s.match.group) ?? new Map<string, number[]>();
      byNode.set(s.match.node, [...(byNode.get(s.match.node) ?? []), pid]);
      groups.set(s.match.group, byNode);
    }
    for (const pid of seen.keys()) if (!present.has(pid)) seen.delete(pid);
    const violations: SplitBrain[] = [];
    for (const [group, byNode] of groups) {
      if (byNode.size > 1) violations.push({ group, nodes: [...byNode.keys()], pids: [...byNode.values()].flat(), atMs: now });
    }
    return { groups, violations };
  };
}

function main(): void {
  const arg = (name: string): string | undefined => {
    const i = process.argv.indexOf(name);
    return i >= 0 ? process.argv[i + 1] : undefined;
  };
  const tag = arg('--tag');
  if (!tag) throw new Error('process-watcher: --tag is required');
  const intervalMs = Number(arg('--interval-ms') ?? 10);
  const poll = createProcessPoller(tag, process.pid);
  const write = (l: WatcherLine): void => void process.stdout.write(`${JSON.stringify(l)}\n`);
  let polls = 0;
  let maxGapMs = 0;
  let last = Date.now();
  let lastState = '';
  let lastStats = 0;
  const tick = (): void => {
    const now = Date.now();
    if (polls > 0) maxGapMs = Math.max(maxGapMs, now - last);
    last = now;
    polls++;
    const r = poll();
    for (const v of r.violations) write({ type: 'violation', violation: v });
    const state: Record<string, string[]> = {};
    for (const [g, byNode] of r.groups) state[g] = [...byNode.keys()].sort();
    const text = JSON.stringify(state);
    if (text !== lastState) {
      lastState = text;
      write({ type: 'state', groups: state, atMs: now });
    }
    if (polls === 1 || now - lastStats >= statsIntervalMs) {
      lastStats = now;
      write({ type: 'stats', polls, maxGapMs });
    }
  };
  const timer = setInterval(tick, intervalMs);
  tick();
  process.stdin.resume();
  process.stdin.on('end', () => {
    clearInterval(timer);
    write({ type: 'stats', polls, maxGapMs });
    process.exit(0);
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main();
