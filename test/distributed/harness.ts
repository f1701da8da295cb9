// Multi-process test harness: `failover agent` processes on loopback against
// the shared test etcd (a unique key prefix per cluster), their HTTP APIs,
// and a watcher of the resource processes every node runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHttpApi } from '../../src/api/http-client.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { guardedEnvironment } from '../../src/node/guarded-types.ts';
import { useTestEtcd } from '../support/etcd.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const failoverBin = path.join(repo, 'bin', 'failover.js');

/** How long an agent may take to print its API address. */
const agentStartTimeoutMs = 30_000;
/** How long a stopped agent may take to exit on SIGTERM before it is killed. */
const agentStopTimeoutMs = 40_000;
const pollIntervalMs = 50;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until cond() holds, polling; fails naming what it waited for. */
export async function waitUntil<T>(what: string, cond: () => Promise<T | undefined | false> | T | undefined | false, maxMs = 20_000): Promise<T> {
  const start = Date.now();
  let lastError: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      lastError = e; // an agent being killed or restarted: try again
    }
    if (Date.now() - start > maxMs) {
      throw new Error(`timed out after ${maxMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    }
    await sleep(pollIntervalMs);
  }
}

export interface AgentProcess {
  readonly name: string;
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly url: string;
  readonly token: string;
  readonly api: ClusterApi;
  readonly watchdogPid: number | undefined;
  readonly exited: Promise<void>;
  output(): string;
}

export interface TestCluster {
  readonly prefix: string;
  readonly etcd: string;
  readonly dataDir: string;
  readonly agents: Map<string, AgentProcess>;
  start(name: string): Promise<AgentProcess>;
  /** Any agent still running, for API calls. */
  anyApi(except?: string): ClusterApi;
  kill(name: string, signal: NodeJS.Signals): void;
  /** SIGTERM and wait for the exit. */
  stopAgent(name: string): Promise<void>;
  /** The last lines of every agent's cluster log and output, to explain a failure. */
  logsTail(lines?: number): string;
  /** The cluster's run-time keys in etcd (members, owners, moves, coordinator), to explain a failure. */
  storeDump(): Promise<string>;
  close(): Promise<void>;
}

export async function startTestCluster(names: readonly string[], options: { leaseTtlSeconds?: number } = {}): Promise<TestCluster> {
  const etcd = await useTestEtcd();
  const prefix = `test-distributed-${process.pid}-${randomBytes(4).toString('hex')}/`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  const agents = new Map<string, AgentProcess>();
  const everStarted: ChildProcess[] = [];

  const start = async (name: string): Promise<AgentProcess> => {
    const args = [
      failoverBin, 'agent',
      '--etcd', etcd.endpoint,
      '--prefix', prefix,
      '--node', name,
      '--data-dir', path.join(dataDir, name),
      '--api', '127.0.0.1:0',
      ...(options.leaseTtlSeconds ? ['--lease-ttl', String(options.leaseTtlSeconds)] : []),
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    everStarted.push(proc);
    let out = '';
    proc.stdout!.setEncoding('utf8');
    proc.stderr!.setEncoding('utf8');
    proc.stdout!.on('data', (c: string) => (out = (out + c).slice(-20_000)));
    proc.stderr!.on('data', (c: string) => (out = (out + c).slice(-20_000)));
    let exitedFlag = false;
    const exited = new Promise<void>((r) =>
      proc.on('exit', () => {
        exitedFlag = true;
        r();
      }),
    );
    const url = await waitUntil(`agent ${name} to print its API address`, () => {
      if (exitedFlag) throw new Error(`agent ${name} exited during start:\n${out}`);
      return /^API: (\S+)$/m.exec(out)?.[1];
    }, agentStartTimeoutMs).catch((e: unknown) => {
      proc.kill('SIGKILL');
      throw e;
    });
    const token = /^Token \(full access\): (\S+)$/m.exec(out)?.[1] ?? '';
    const wd = /^Watchdog: pid (\d+)$/m.exec(out)?.[1];
    const agent: AgentProcess = {
      name,
      proc,
      pid: proc.pid!,
      url,
      token,
      api: createHttpApi({ url, token, requestTimeoutMs: 5_000 }),
      watchdogPid: wd ? Number(wd) : undefined,
      exited,
      output: () => out,
    };
    agents.set(name, agent);
    return agent;
  };

  const cluster: TestCluster = {
    prefix,
    etcd: etcd.endpoint,
    dataDir,
    agents,
    start,
    anyApi(except) {
      for (const a of agents.values()) if (a.name !== except && a.proc.exitCode === null && a.proc.signalCode === null) return a.api;
      throw new Error('no agent is running');
    },
    kill(name, signal) {
      const a = agents.get(name);
      if (!a) throw new Error(`no agent ${name}`);
      a.proc.kill(signal);
    },
    async stopAgent(name) {
      const a = agents.get(name);
      if (!a) return;
      a.proc.kill('SIGTERM');
      const timer = setTimeout(() => a.proc.kill('SIGKILL'), agentStopTimeoutMs);
      await a.exited;
      clearTimeout(timer);
    },
    logsTail(lines = 40) {
      const out: string[] = [];
      for (const name of agents.keys()) {
        for (const file of ['cluster.log', 'watchdog.log']) {
          try {
            const text = readFileSync(path.join(dataDir, name, 'logs', name, file), 'utf8').trimEnd().split('\n');
            out.push(`--- ${name} ${file}`, ...text.slice(-lines));
          } catch {
            // not written
          }
        }
        out.push(`--- ${name} output`, agents.get(name)!.output().trimEnd().split('\n').slice(-10).join('\n'));
      }
      return out.join('\n');
    },
    async storeDump() {
      try {
        const { openEtcdStore } = await import('../../src/store/etcd.ts');
        const store = await openEtcdStore({ endpoints: [etcd.endpoint], prefix });
        try {
          const r = await store.range('/failover/cluster/');
          return [`--- store at revision ${r.revision}`, ...r.kvs.filter((kv) => !kv.key.includes('/state/') && !kv.key.includes('/results/')).map((kv) => `${kv.key} = ${kv.value.slice(0, 300)} (mod ${kv.modRevision}${kv.lease ? `, lease ${kv.lease}` : ''})`)].join('\n');
        } finally {
          await store.close();
        }
      } catch (e) {
        return `--- store unreadable: ${(e as Error).message}`;
      }
    },
    async close() {
      for (const p of everStarted) {
        if (p.exitCode === null && p.signalCode === null) {
          p.kill('SIGCONT');
          p.kill('SIGKILL');
        }
      }
      await Promise.all(everStarted.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
      // The watchdogs kill what the agents left when their pipes close; give them a moment, then clean the prefix.
      await sleep(300);
      try {
        const { openEtcdStore } = await import('../../src/store/etcd.ts');
        const store = await openEtcdStore({ endpoints: [etcd.endpoint], prefix });
        await store.deletePrefix('/');
        await store.close();
      } catch {
        // best effort
      }
      rmSync(dataDir, { recursive: true, force: true });
      await etcd.release();
    },
  };
  try {
    for (const n of names) await start(n);
  } catch (e) {
    await cluster.close();
    throw e;
  }
  return cluster;
}

// ---- watching resource processes ----

export interface SplitBrain {
  readonly group: string;
  readonly nodes: readonly string[];
  readonly pids: readonly number[];
  readonly atMs: number;
}

interface Seen {
  /** undefined: not one of ours. */
  readonly match: { group: string; node: string } | undefined;
  readonly startTime: string;
  readonly checkedAt: number;
}

/** How long a process found not to be ours is believed so (its pid could be reused, or it could exec one of ours). */
const notOursRecheckMs = 300;

function statOf(pid: number): { state: string; startTime: string } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '?', startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

/**
 * Polls /proc every intervalMs for live processes whose command line holds
 * `--tag <tag>` and `--group <group>`; their node is FAILOVER_NODE in their
 * environment (set by the agent that started them). Records every instant a
 * group has live processes on more than one node.
 */
export function watchResourceProcesses(tag: string, intervalMs = 10): {
  violations: SplitBrain[];
  polls(): number;
  maxGapMs(): number;
  /** Nodes whose processes of the group are alive now. */
  nodesOf(group: string): string[];
  stop(): void;
} {
  const seen = new Map<number, Seen>();
  const violations: SplitBrain[] = [];
  const current = new Map<string, Map<string, number[]>>();
  let polls = 0;
  let last = Date.now();
  let maxGap = 0;
  const poll = (): void => {
    const now = Date.now();
    maxGap = Math.max(maxGap, now - last);
    last = now;
    polls++;
    const live = new Map<string, Map<string, number[]>>();
    const present = new Set<number>();
    for (const entry of readdirSync('/proc')) {
      if (entry.charCodeAt(0) > 57) continue; // not a digit: not a process
      const pid = Number(entry);
      if (!Number.isInteger(pid) || pid === process.pid) continue;
      present.add(pid);
      let s = seen.get(pid);
      const stat = s?.match || !s || now - s.checkedAt > notOursRecheckMs ? statOf(pid) : undefined;
      if (s && stat && stat.startTime !== s.startTime) s = undefined; // the pid was reused
      if (!s || (!s.match && now - s.checkedAt > notOursRecheckMs)) {
        const st = stat ?? statOf(pid);
        if (!st) continue;
        let match: Seen['match'];
        try {
          const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
          const t = argv.indexOf('--tag');
          const g = argv.indexOf('--group');
          // Before its exec the shell's command line is one string: "exec node ... --tag T --group G".
          const joined = argv.join(' ');
          const tagOk = (t >= 0 && argv[t + 1] === tag) || joined.includes(`--tag ${tag} `);
          const group = g >= 0 ? argv[g + 1] : / --group (\S+)/.exec(joined)?.[1];
          if (tagOk && group) {
            const env = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
            const node = env.find((e) => e.startsWith(`${guardedEnvironment.node}=`))?.slice(guardedEnvironment.node.length + 1);
            if (node) match = { group, node };
          }
        } catch {
          continue; // gone meanwhile
        }
        s = { match, startTime: st.startTime, checkedAt: now };
        seen.set(pid, s);
        if (!match) continue;
      }
      if (!s.match) continue;
      const st = stat ?? statOf(pid);
      if (!st || st.state === 'Z' || st.state === 'X') continue;
      const byNode = live.get(s.match.group) ?? new Map<string, number[]>();
      byNode.set(s.match.node, [...(byNode.get(s.match.node) ?? []), pid]);
      live.set(s.match.group, byNode);
    }
    for (const pid of seen.keys()) if (!present.has(pid)) seen.delete(pid);
    current.clear();
    for (const [group, byNode] of live) {
      current.set(group, byNode);
      if (byNode.size > 1) violations.push({ group, nodes: [...byNode.keys()], pids: [...byNode.values()].flat(), atMs: now });
    }
  };
  const timer = setInterval(poll, intervalMs);
  return {
    violations,
    polls: () => polls,
    maxGapMs: () => maxGap,
    nodesOf: (group) => [...(current.get(group)?.keys() ?? [])],
    stop: () => clearInterval(timer),
  };
}
