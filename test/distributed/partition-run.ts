// Network partitions of a distributed cluster, Jepsen-style. Three network
// namespaces on one bridge (three machines on one switch, this process on it
// too), each with an etcd member and a `failover agent`; three groups whose
// resource is a real process writing to shared storage through the
// fencing-token guard (fenced-writer.ts); and a client writing to the cluster
// database through whichever agents it can reach. Each cycle cuts one node
// off — in turn the etcd leader's node and another group owner — until its
// groups are Online elsewhere, then heals it. Optionally one node then sits
// on a slow, lossy link for a while.
//
// What is recorded, for the test (partition.test.ts) to check and the
// benchmark (bench/partition.bench.ts) to print:
// - every poll (10 ms) at which one group's processes were alive on two nodes;
// - per failed-over group, whether the cut-off node's process was seen gone
//   before the new owner's was seen started, and the time from the cut until
//   an agent's API showed the group Online elsewhere;
// - whether each healed node came back Up and every group Online;
// - acknowledged writes lost: database values an agent acknowledged that do
//   not read back at the end, and guard-acknowledged writes missing from (or
//   out of token order in) their logs.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { createHttpApi } from '../../src/api/http-client.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { startEtcdCluster, type EtcdTiming, type RunningEtcdCluster } from '../support/etcd.ts';
import { createNetnsStar, netnsStarUnavailableReason, type CutMethod, type NetnsStar, type SlowLink } from '../support/netns.ts';
import { checkFencedLogs, type FencedLogCheck } from './fenced-log-check.ts';
import { bundleFencedWriter, sleep, startTestCluster, waitUntil, watchResourceProcesses, type ProcessWatcher, type SplitBrain, type TestCluster } from './harness.ts';

const NODES = ['n1', 'n2', 'n3'] as const;
const GROUPS = ['P1', 'P2', 'P3'] as const;

/** The longest a cut node's groups may take to come Online elsewhere before the run fails (the target is far lower). */
const failoverBoundMs = 60_000;
/** The longest a healed node may take to be Up again, and the groups Online. */
const recoverBoundMs = 90_000;
/** The cut is held this long after the last failover, so the cut-off side has settled (fenced, rejoin attempts failing). */
const cutHoldAfterFailoverMs = 1_000;
/** The test's requests to an agent: short, so a request to a node cut off meanwhile fails fast and the next goes elsewhere. */
const clientRequestTimeoutMs = 3_000;
/** How often the database client writes. */
const databaseWriteIntervalMs = 100;
/** How often the API is asked whether a cut node's groups are Online elsewhere: the failover figure's resolution. */
const failoverPollMs = 20;
/** The database key the client writes its values under. */
const databaseKey = 'PartitionCheck';
/** What an agent writes to its cluster log when it fences itself (src/node/agent.ts). */
const fenceLine = ' lost its membership (';
/** The slow link: low bandwidth with a deep queue, and random loss, both ways. */
export const slowLink: SlowLink = { rate: '256kbit', queueMs: 500, lossPercent: 20 };

export type CutKind = 'leader' | 'node';

export interface Failover {
  readonly group: string;
  readonly to: string;
  /** From the cut until an agent's API showed the group Online on another node. */
  readonly ms: number;
  /** From the cut until the watcher saw the group's process on the new owner (it counts as Online a settle time later). */
  readonly runningMs: number | undefined;
  /** From the poll that saw the cut node's process gone to the one that saw the new owner's; undefined if the order was wrong or not seen. */
  readonly stopToStartMs: number | undefined;
}

export interface CutCycle {
  readonly kind: CutKind;
  readonly method: CutMethod;
  readonly node: string;
  readonly failovers: readonly Failover[];
  /** Nodes not cut off that fenced themselves during the cut (no lease renewal confirmed in time: etcd had no leader). */
  readonly othersFenced: readonly string[];
  /** From the heal until the node was Up again and every group Online. */
  readonly recoverMs: number;
}

export interface SlowLinkPhase {
  readonly node: string;
  readonly heldMs: number;
  /** Groups that ran on the slow node before and elsewhere after. */
  readonly moved: readonly string[];
  /** Nodes that fenced themselves while the link was slow. */
  readonly fenced: readonly string[];
  readonly recoverMs: number;
}

export interface PartitionReport {
  readonly agentEtcd: AgentEtcd;
  readonly etcdTiming: EtcdTiming | 'etcd-defaults';
  readonly cycles: readonly CutCycle[];
  /** Polls at which one group's processes were alive on two nodes. */
  readonly doubleOnline: readonly SplitBrain[];
  /** Failed-over groups whose new owner's process was seen before the cut node's was seen gone (or either was never seen). */
  readonly orderViolations: readonly string[];
  readonly slow: SlowLinkPhase | undefined;
  readonly watcher: { readonly polls: number; readonly maxGapMs: number };
  readonly fenced: FencedLogCheck;
  readonly database: { readonly acked: number; readonly failed: number; readonly lost: readonly string[] };
}

/**
 * Which etcd endpoints each agent is given: only its `local` member's (as
 * docs/distributed.md recommends), or `all` three (which does not cope with
 * a silent cut; kept to show it).
 */
export type AgentEtcd = 'all' | 'local';

/**
 * etcd's raft timing for machines on one LAN (docs/distributed.md): a
 * heartbeat every 50 ms and elections after 500-1000 ms of silence, half
 * etcd's defaults, so a new leader is there sooner when the old one's
 * machine is cut off.
 */
export const lanEtcdTiming: EtcdTiming = { heartbeatIntervalMs: 50, electionTimeoutMs: 500 };

export interface PartitionRunOptions {
  readonly cycles: number;
  /** How long the etcd leader's node sits on the slow link after the cycles; 0: no slow-link phase. */
  readonly slowLinkMs: number;
  /** Default `local`. */
  readonly agentEtcd?: AgentEtcd;
  /** etcd's raft timing; default lanEtcdTiming, `etcd-defaults` for etcd's own. */
  readonly etcdTiming?: EtcdTiming | 'etcd-defaults';
  readonly log?: (line: string) => void;
}

/** Why the partition run cannot run here, or undefined (installs nftables if it must). */
export const partitionUnavailableReason = netnsStarUnavailableReason;

export async function runPartitions(o: PartitionRunOptions): Promise<PartitionReport> {
  const log = o.log ?? (() => undefined);
  const agentEtcd = o.agentEtcd ?? 'local';
  const timing = o.etcdTiming ?? lanEtcdTiming;
  const cleanups: Array<() => unknown> = [];
  let net: NetnsStar | undefined;
  let cluster: TestCluster | undefined;
  try {
    net = createNetnsStar('fopt', NODES.length);
    const star = net;
    cleanups.push(() => star.remove());
    const etcd = await startEtcdCluster(
      NODES.map((_, i) => ({ name: `e${i + 1}`, client: `http://${star.addresses[i]}:2379`, peer: `http://${star.addresses[i]}:2380`, command: star.command(i) })),
      timing === 'etcd-defaults' ? undefined : timing,
    );
    cleanups.push(() => etcd.stop());
    const at = (node: string): number => NODES.indexOf(node as (typeof NODES)[number]);
    const c = await startTestCluster(NODES, {
      network: {
        etcd: etcd.endpoints,
        etcdFor: (node) => (agentEtcd === 'all' ? etcd.endpoints : [etcd.endpoints[at(node)]!]),
        command: (node) => star.command(at(node)),
        apiHost: (node) => star.addresses[at(node)]!,
      },
    });
    cluster = c;
    cleanups.push(() => c.close());
    // Whatever happened, the nodes are joined again before the cluster is closed (its cleanup reads etcd).
    cleanups.push(() => NODES.forEach((_, i) => star.heal(i)));
    log(
      `3 namespaces on a bridge, etcd members (${timing === 'etcd-defaults' ? "etcd's default timing" : `heartbeat ${timing.heartbeatIntervalMs} ms, election timeout ${timing.electionTimeoutMs} ms`}) ` +
        `and agents up; agents use ${agentEtcd === 'all' ? 'all three etcd endpoints' : 'their own etcd member'}`,
    );

    const run = new Run(c, star, etcd, at, log);
    cleanups.push(() => run.stopWatching());
    const watcher = await run.setUp();
    const writer = run.startDatabaseWriter();
    cleanups.push(() => writer.stop());

    const cycles: CutCycle[] = [];
    // Every two cycles the same two kinds of node are cut; every other pair, the other way: four cycles cover it all.
    for (let i = 0; i < o.cycles; i++) cycles.push(await run.cutCycle(i % 2 === 0 ? 'leader' : 'node', Math.floor(i / 2) % 2 === 0 ? 'link' : 'drop', i + 1));
    const slow = o.slowLinkMs > 0 ? await run.slowLinkPhase(o.slowLinkMs) : undefined;

    await writer.stop();
    await run.settled('the end');
    await sleep(500); // a last look for a double run
    await watcher.stop();
    const database = { acked: writer.acked.size, failed: writer.failed(), lost: await run.lostDatabaseWrites(writer.acked) };
    return {
      agentEtcd,
      etcdTiming: timing,
      cycles,
      doubleOnline: [...watcher.violations],
      orderViolations: run.orderViolations,
      slow,
      watcher: { polls: watcher.polls(), maxGapMs: watcher.maxGapMs() },
      fenced: checkFencedLogs(GROUPS, run.logOf, run.acksDir),
      database,
    };
  } catch (e) {
    // What the agents and etcd said, to explain the failure (the nodes are healed first, so the store is readable).
    if (cluster) {
      NODES.forEach((_, i) => net?.heal(i));
      throw new Error(`${(e as Error).message}\n${cluster.logsTail(30)}\n${await cluster.storeDump()}`, { cause: e });
    }
    throw e;
  } finally {
    for (const f of cleanups.reverse()) {
      try {
        await f();
      } catch (err) {
        log(`cleanup: ${(err as Error).message}`);
      }
    }
  }
}

class Run {
  readonly orderViolations: string[] = [];
  readonly acksDir: string;
  private readonly sharedDir: string;
  private readonly tag = `pt${randomBytes(4).toString('hex')}`;
  private readonly cut = new Set<string>();
  private readonly clients = new Map<string, ClusterApi>();
  private watcher!: ProcessWatcher;
  private watching: ProcessWatcher | undefined;
  private next = 0;

  constructor(
    private readonly c: TestCluster,
    private readonly net: NetnsStar,
    private readonly etcd: RunningEtcdCluster,
    private readonly at: (node: string) => number,
    private readonly log: (line: string) => void,
  ) {
    this.sharedDir = path.join(c.dataDir, 'shared');
    this.acksDir = path.join(this.sharedDir, 'acks');
    mkdirSync(this.acksDir, { recursive: true });
  }

  readonly logOf = (group: string): string => path.join(this.sharedDir, `${group}.log`);

  /** An API client of a node not cut off, a different one each call. */
  api(): ClusterApi {
    const reachable = NODES.filter((n) => !this.cut.has(n));
    const node = reachable[this.next++ % reachable.length]!;
    let api = this.clients.get(node);
    if (!api) {
      const a = this.c.agents.get(node)!;
      api = createHttpApi({ url: a.url, token: a.token, requestTimeoutMs: clientRequestTimeoutMs });
      this.clients.set(node, api);
    }
    return api;
  }

  async setUp(): Promise<ProcessWatcher> {
    const writerJs = await bundleFencedWriter(this.c.dataDir);
    this.watcher = this.watching = await watchResourceProcesses(this.tag, 10);
    const api = this.api();
    await api.registryCreateKey(databaseKey);
    for (const [i, g] of GROUPS.entries()) {
      // WSFC's default threshold (nodes - 1 failovers in 6 h) would leave a group Failed after two cycles.
      await api.createGroup(g, { PreferredOwners: [NODES[i]!], FailoverThreshold: 1000 });
      await api.createResource(`${g}-writer`, 'Generic Application', g, {
        parameters: { CommandLine: `exec '${process.execPath}' '${writerJs}' --tag ${this.tag} --group ${g} --log '${this.logOf(g)}' --acks '${this.acksDir}'` },
      });
    }
    // The coordinator may place a group before its resource exists; a resource added to an owned group waits for a request.
    for (const g of GROUPS) await api.onlineGroup(g);
    await this.settled('the start');
    return this.watcher;
  }

  async stopWatching(): Promise<void> {
    await this.watching?.stop();
  }

  /**
   * Every node Up, every group Online with its process running on its owner
   * (and nowhere else), and etcd with a leader: a cycle starts from a whole
   * cluster. (The API alone can show a group Online for a moment after its
   * owner fenced itself and could not yet write that it stopped.)
   */
  async settled(when: string): Promise<void> {
    await waitUntil(`every node Up and every group Online on its owner (${when})`, async () => {
      const api = this.api();
      const nodes = await api.listNodes();
      if (nodes.length !== NODES.length || nodes.some((n) => n.state !== 'Up')) return false;
      const groups = await api.listGroups();
      return GROUPS.every((g) => {
        const v = groups.find((x) => x.name === g);
        return v?.state === 'Online' && this.watcher.nodesOf(g).join() === v.owner;
      });
    }, recoverBoundMs);
    await waitUntil(`an etcd leader (${when})`, () => this.leaderNode(), recoverBoundMs);
  }

  /** The node whose namespace holds the etcd leader. */
  async leaderNode(): Promise<string | undefined> {
    for (const [i, endpoint] of this.etcd.endpoints.entries()) {
      if (this.cut.has(NODES[i]!)) continue;
      const leader = await this.etcd.leader(endpoint);
      if (leader) return NODES[this.etcd.names.indexOf(leader)];
    }
    return undefined;
  }

  async owners(): Promise<Map<string, string | undefined>> {
    const groups = await this.api().listGroups();
    return new Map(GROUPS.map((g) => [g, groups.find((v) => v.name === g)?.owner]));
  }

  /** A node to cut: the etcd leader's, or another one that owns a group (the one owning most). */
  private async target(kind: CutKind): Promise<string> {
    const leader = (await this.leaderNode())!;
    if (kind === 'leader') return leader;
    const owners = await this.owners();
    const count = (n: string): number => [...owners.values()].filter((o) => o === n).length;
    return NODES.filter((n) => n !== leader).sort((a, b) => count(b) - count(a))[0]!;
  }

  async cutCycle(kind: CutKind, method: CutMethod, number: number): Promise<CutCycle> {
    await this.settled(`before cycle ${number}`);
    // A node that owns nothing is brought a group first, so every cycle measures a failover.
    const node = await this.withGroup(await this.target(kind), number);
    const owned = [...(await this.owners())].filter(([, o]) => o === node).map(([g]) => g);
    const fencesBefore = this.fences();
    const cutAt = Date.now();
    this.net.cut(this.at(node), method);
    this.cut.add(node);
    const failed = new Map<string, { to: string; ms: number }>();
    await waitUntil(`cycle ${number}: the groups of ${node} (${owned.join(', ')}) Online elsewhere after it was cut off`, async () => {
      for (const g of owned) {
        if (failed.has(g)) continue;
        const v = await this.api().getGroup(g).catch(() => undefined);
        if (v?.state === 'Online' && v.owner && v.owner !== node) failed.set(g, { to: v.owner, ms: Date.now() - cutAt });
      }
      return failed.size === owned.length;
    }, failoverBoundMs);
    await sleep(cutHoldAfterFailoverMs);
    const fencesDuringCut = this.fences();
    const othersFenced = NODES.filter((n) => n !== node && fencesDuringCut.get(n)! > fencesBefore.get(n)!);
    this.net.heal(this.at(node));
    this.cut.delete(node);
    const healedAt = Date.now();
    await this.settled(`after healing ${node} in cycle ${number}`);
    const recoverMs = Date.now() - healedAt;
    const violationsBefore = this.orderViolations.length;
    const failovers = [...failed].map(([group, f]) => {
      const order = this.stopToStart(group, node, f.to, cutAt);
      return { group, ...f, stopToStartMs: order?.stopToStartMs, runningMs: order ? order.startedAt - cutAt : undefined };
    });
    this.log(
      `cycle ${number}: cut ${node} (${kind === 'leader' ? 'etcd leader' : 'not the leader'}) off by ${method === 'link' ? 'its link going down' : 'dropping its packets'}: ` +
        failovers.map((f) => `${f.group} -> ${f.to}, running in ${f.runningMs ?? '?'} ms, Online in ${f.ms} ms (stopped on ${node} ${f.stopToStartMs ?? '?'} ms before)`).join(', ') +
        `; ${othersFenced.length > 0 ? `${othersFenced.join(', ')} fenced too` : 'no other node fenced'}` +
        `; healed, all Up and Online ${recoverMs} ms later; double runs so far ${this.watcher.violations.length}` +
        this.orderViolations.slice(violationsBefore).map((v) => `; ORDER: ${v}`).join(''),
    );
    return { kind, method, node, failovers, othersFenced, recoverMs };
  }

  /** How often each node has fenced itself so far, from its cluster log. */
  private fences(): Map<string, number> {
    const count = (node: string): number => {
      try {
        return readFileSync(path.join(this.c.dataDir, node, 'logs', node, 'cluster.log'), 'utf8').split(fenceLine).length - 1;
      } catch {
        return 0;
      }
    };
    return new Map(NODES.map((n) => [n, count(n)]));
  }

  private async moveTo(group: string, node: string): Promise<void> {
    const op = await this.api().moveGroup(group, { to: node });
    await waitUntil(`${group} moved to ${node}`, async () => (await this.api().getOperation(op.id)).done, recoverBoundMs);
    await waitUntil(`${group} Online on ${node}`, async () => {
      const g = await this.api().getGroup(group);
      return g.state === 'Online' && g.owner === node;
    }, recoverBoundMs);
  }

  /**
   * From the watcher's history: the first poll after the cut that saw the
   * group's process gone from the cut node, and the first that saw it on the
   * new owner. The first must come strictly first; else an order violation is
   * recorded (two in one poll cannot be ordered, so they count as one too).
   */
  private stopToStart(group: string, cutNode: string, to: string, cutAt: number): { stopToStartMs: number; startedAt: number } | undefined {
    const history = this.watcher.history;
    const at = (ms: number | undefined): string => (ms === undefined ? 'never' : `+${ms - cutAt} ms`);
    const before = history.filter((s) => s.atMs < cutAt).at(-1)?.groups[group] ?? [];
    if (!before.includes(cutNode)) {
      this.orderViolations.push(`${group}: its process was not seen on ${cutNode} when it was cut off (seen on ${before.join(', ') || 'no node'})`);
      return undefined;
    }
    const after = history.filter((s) => s.atMs >= cutAt);
    const stopped = after.find((s) => !(s.groups[group] ?? []).includes(cutNode))?.atMs;
    const started = after.find((s) => (s.groups[group] ?? []).includes(to))?.atMs;
    if (stopped === undefined || started === undefined || !(stopped < started)) {
      this.orderViolations.push(`${group}: stopped on ${cutNode} at ${at(stopped)}, started on ${to} at ${at(started)} after the cut`);
      return undefined;
    }
    return { stopToStartMs: started - stopped, startedAt: started };
  }

  /** The etcd leader's node, owning a group, on the slow link for holdMs; then healed. */
  async slowLinkPhase(holdMs: number): Promise<SlowLinkPhase> {
    await this.settled('before the slow link');
    const node = await this.withGroup(await this.target('leader'), 0);
    const ownedBefore = [...(await this.owners())].filter(([, o]) => o === node).map(([g]) => g);
    const fencesBefore = this.fences();
    this.net.slow(this.at(node), slowLink);
    await sleep(holdMs);
    const fencesAfter = this.fences();
    this.net.heal(this.at(node));
    const healedAt = Date.now();
    await this.settled('after the slow link');
    const recoverMs = Date.now() - healedAt;
    const after = await this.owners();
    const moved = ownedBefore.filter((g) => after.get(g) !== node);
    const fenced = NODES.filter((n) => fencesAfter.get(n)! > fencesBefore.get(n)!);
    this.log(
      `slow link (${slowLink.rate}, ${slowLink.queueMs} ms queue, ${slowLink.lossPercent}% loss each way) on ${node} (etcd leader) for ${holdMs} ms: ` +
        `${moved.length > 0 ? `${moved.join(', ')} moved away` : `its groups (${ownedBefore.join(', ')}) stayed`}; ` +
        `${fenced.length > 0 ? `fenced: ${fenced.join(', ')}` : 'no node fenced itself'}; all Up and Online ${recoverMs} ms after the heal; double runs so far ${this.watcher.violations.length}`,
    );
    return { node, heldMs: holdMs, moved, fenced, recoverMs };
  }

  /** The node, after bringing it a group if it owns none (so what is done to it concerns a running group). */
  private async withGroup(node: string, hint: number): Promise<string> {
    const owners = await this.owners();
    if (![...owners.values()].includes(node)) await this.moveTo(GROUPS[hint % GROUPS.length]!, node);
    return node;
  }

  /** Writes a new database value every interval through a node not cut off; remembers each one acknowledged. */
  startDatabaseWriter(): { readonly acked: Map<string, number>; failed(): number; stop(): Promise<void> } {
    const acked = new Map<string, number>();
    let failed = 0;
    let stopped = false;
    const loop = (async () => {
      for (let seq = 1; !stopped; seq++) {
        try {
          await this.api().registrySetValue(databaseKey, `w${seq}`, { type: 'dword', data: seq });
          acked.set(`w${seq}`, seq);
        } catch {
          failed++; // not acknowledged: no promise made
        }
        await sleep(databaseWriteIntervalMs);
      }
    })();
    return {
      acked,
      failed: () => failed,
      stop: async () => {
        stopped = true;
        await loop;
      },
    };
  }

  /** Acknowledged values that do not read back as written. */
  async lostDatabaseWrites(acked: ReadonlyMap<string, number>): Promise<string[]> {
    const values = new Map((await this.api().registryEnumValues(databaseKey)).map((v) => [v.name, v.value]));
    return [...acked].filter(([name, seq]) => {
      const v = values.get(name);
      return v?.type !== 'dword' || v.data !== seq;
    }).map(([name]) => name);
  }
}
