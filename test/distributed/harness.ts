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
import { mayStartRealtime } from '../../src/node/watchdog.ts';
import { useTestEtcd } from '../support/etcd.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const failoverBin = path.join(repo, 'bin', 'failover.js');

/** How long an agent may take to print its API address (tsx compiles it first: slow on a starved machine). */
const agentStartTimeoutMs = 90_000;
/** How long a stopped agent may take to exit on SIGTERM before it is killed. */
const agentStopTimeoutMs = 40_000;
const pollIntervalMs = 50;
/** One API request to an agent; long, since a starved agent answers slowly (and a request is not retried). */
const agentRequestTimeoutMs = 30_000;

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

export interface TestClusterOptions {
  readonly leaseTtlSeconds?: number;
  /** Where the agents run and which etcd they use; default: all on loopback, on the shared test etcd. */
  readonly network?: AgentNetwork;
}

/** Agents on machines of their own (e.g. network namespaces), on an etcd the caller runs. */
export interface AgentNetwork {
  /** Client URLs of the etcd the cluster uses, reachable from this process (for its reads and the cleanup). */
  readonly etcd: readonly string[];
  /** The etcd client URLs an agent is given (--etcd). */
  etcdFor(name: string): readonly string[];
  /** A command prefix the agent runs under, e.g. `ip netns exec NS`. */
  command(name: string): readonly string[];
  /** The address the agent's API listens on; this process must reach it. */
  apiHost(name: string): string;
}

export async function startTestCluster(names: readonly string[], options: TestClusterOptions = {}): Promise<TestCluster> {
  const network = options.network;
  const etcd = network ? { endpoint: network.etcd.join(','), release: async () => {} } : await useTestEtcd();
  const storeEndpoints = network ? network.etcd : [etcd.endpoint];
  const prefix = `test-distributed-${process.pid}-${randomBytes(4).toString('hex')}/`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'failover-'));
  const agents = new Map<string, AgentProcess>();
  const everStarted: ChildProcess[] = [];
  // Agents never outlive this process, even if it exits without close() (a test that timed out, an uncaught error).
  const killAll = (): void => {
    for (const p of everStarted) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  };
  process.once('exit', killAll);

  const start = async (name: string): Promise<AgentProcess> => {
    const args = [
      failoverBin, 'agent',
      '--etcd', network ? network.etcdFor(name).join(',') : etcd.endpoint,
      '--prefix', prefix,
      '--node', name,
      '--data-dir', path.join(dataDir, name),
      '--api', `${network ? network.apiHost(name) : '127.0.0.1'}:0`,
      ...(options.leaseTtlSeconds ? ['--lease-ttl', String(options.leaseTtlSeconds)] : []),
    ];
    const command = [...(network?.command(name) ?? []), process.execPath, ...args];
    const proc = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
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
      api: createHttpApi({ url, token, requestTimeoutMs: agentRequestTimeoutMs }),
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
        const store = await openEtcdStore({ endpoints: storeEndpoints, prefix });
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
      process.off('exit', killAll);
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
        const store = await openEtcdStore({ endpoints: storeEndpoints, prefix });
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

export type { SplitBrain } from './process-watcher.ts';
import { decodeWatcherLine, type SplitBrain } from './process-watcher.ts';

const watcherScript = fileURLToPath(new URL('./process-watcher.ts', import.meta.url));
/** SCHED_FIFO priority of the process watcher: below the watchdogs' (50), which must never wait for it. */
const watcherRealtimePriority = 40;

/** Where the groups' processes ran from one poll of the watcher on (Date.now() time). */
export interface WatchedState {
  readonly atMs: number;
  readonly groups: Readonly<Record<string, readonly string[]>>;
}

export interface ProcessWatcher {
  readonly violations: SplitBrain[];
  /** Every change the watcher saw, in order. */
  readonly history: readonly WatchedState[];
  polls(): number;
  maxGapMs(): number;
  /** Nodes whose processes of the group were alive at the last poll. */
  nodesOf(group: string): string[];
  stop(): Promise<void>;
}

/**
 * Watches every node's resource processes from a process of its own (so the
 * test's own work never delays a poll): see process-watcher.ts.
 */
export async function watchResourceProcesses(tag: string, intervalMs = 10): Promise<ProcessWatcher> {
  // At realtime priority where it can be (root), so CPU hogs in a test cannot stretch the gaps between its polls.
  const realtime = mayStartRealtime();
  const args = ['--import', 'tsx', watcherScript, '--tag', tag, '--interval-ms', String(intervalMs)];
  const child = realtime
    ? spawn('chrt', ['--reset-on-fork', '-f', String(watcherRealtimePriority), process.execPath, ...args], { stdio: ['pipe', 'pipe', 'inherit'] })
    : spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const violations: SplitBrain[] = [];
  const history: WatchedState[] = [];
  let groups: Record<string, string[]> = {};
  let polls = 0;
  let maxGap = 0;
  let rest = '';
  let ready!: () => void;
  const started = new Promise<void>((r) => (ready = r));
  const exited = new Promise<void>((r) => child.on('close', () => r())); // 'close': after its last line was read
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    const lines = (rest + chunk).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      const m = decodeWatcherLine(line);
      if (!m) continue;
      if (m.type === 'violation') violations.push(m.violation);
      else if (m.type === 'state') {
        groups = m.groups;
        history.push({ atMs: m.atMs, groups: m.groups });
      }
      else {
        polls = m.polls;
        maxGap = m.maxGapMs;
        ready();
      }
    }
  });
  await Promise.race([started, exited.then(() => Promise.reject(new Error('the process watcher exited before its first poll')))]);
  let stopping: Promise<void> | undefined;
  return {
    violations,
    history,
    polls: () => polls,
    maxGapMs: () => maxGap,
    nodesOf: (group) => groups[group] ?? [],
    stop: () => {
      // Closing its stdin makes it report its last figures and exit.
      stopping ??= (child.stdin!.end(), exited);
      return stopping;
    },
  };
}

// ---- the fenced writer as a resource process ----

const fencedWriterSource = fileURLToPath(new URL('./fenced-writer.ts', import.meta.url));

/**
 * fenced-writer.ts bundled into one plain JavaScript file in dir, so each
 * start of it (every failover) costs no TypeScript loader: cheap on a busy
 * machine. Returns the file's path.
 */
export async function bundleFencedWriter(dir: string): Promise<string> {
  const { build } = await import('esbuild');
  const out = path.join(dir, 'fenced-writer.mjs');
  await build({ entryPoints: [fencedWriterSource], bundle: true, platform: 'node', format: 'esm', target: 'node20', outfile: out, logLevel: 'silent' });
  return out;
}
