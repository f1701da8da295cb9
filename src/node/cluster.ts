// A local cluster: N node agents in one process on one store (the embedded
// store by default), the mode `failover up` runs. Nodes can be crashed and
// restarted, which tests use to exercise failover.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../model/clock.ts';
import { ClusterError } from '../model/errors.ts';
import type { LogLevel } from '../model/messages.ts';
import type { NodeConfig } from '../model/objects.ts';
import { RealClock } from '../clock/real.ts';
import { EmbeddedStore, openEmbeddedStore } from '../store/embedded.ts';
import type { Store } from '../store/store.ts';
import { ClusterDatabase } from '../database/registry.ts';
import { ClusterConfigStore } from '../database/config.ts';
import { ClusterLogWriter } from '../log/writer.ts';
import { builtinResourceTypes, type ResourceTypeRegistry } from '../types/index.ts';
import type { RcmLimits } from '../rcm/index.ts';
import type { HostProcessOptions } from '../host/index.ts';
import { NodeAgent } from './agent.ts';
import type { AgentLimits } from './limits.ts';

export interface LocalClusterOptions {
  /** Node names, or how many nodes (named node1..nodeN). Default 3. Existing nodes of a resumed cluster are kept. */
  readonly nodes?: number | readonly string[];
  /** Persist the store and node logs here; without it everything is in memory. */
  readonly dataDir?: string;
  /**
   * false: start() opens the store and the configuration only, and the caller
   * calls startNodes() (failover up serves its API first, so it answers while
   * a large cluster's nodes start). Default true.
   */
  readonly startNodes?: boolean;
  readonly clock?: Clock;
  /** Use this store instead of opening the embedded one (the caller closes it). */
  readonly store?: Store;
  /** The resource types each node knows (a fresh registry per node). Default: the built-in types. */
  readonly types?: () => ResourceTypeRegistry;
  readonly logLevel?: LogLevel;
  readonly agentLimits?: Partial<AgentLimits>;
  readonly rcmLimits?: Partial<RcmLimits>;
  /** Nodes whose cluster API stays offline to resource types until bringApiOnline (the seed's start-up). */
  readonly holdApiOffline?: readonly string[];
  /**
   * Run resource types in resource host processes (a real clock only), with
   * each node's host options when a function; default: in this process.
   */
  readonly hostProcesses?: boolean | ((node: string) => HostProcessOptions);
}

export class LocalCluster {
  readonly agents = new Map<string, NodeAgent>();
  readonly logs = new Map<string, ClusterLogWriter>();
  /** Stops the stall reports to the node logs. */
  private readonly unsubscribeStalls: () => void;
  private constructor(
    readonly store: Store,
    readonly clock: Clock,
    readonly config: ClusterConfigStore,
    private readonly options: LocalClusterOptions,
    private readonly ownsStore: boolean,
    readonly nodes: readonly NodeConfig[],
  ) {
    this.unsubscribeStalls =
      this.processStalls?.onStall((ms) => {
        for (const log of this.logs.values()) {
          log.writeMessage({ level: 'WARN', component: 'NM', text: `The process stalled for ${ms} ms (its timers ran late); membership leases are extended by the stall.` });
        }
      }) ?? (() => undefined);
  }

  /** The store shares this process with the nodes (the embedded store): stalls of the process are not counted against leases. */
  private get processStalls(): EmbeddedStore['stalls'] | undefined {
    return this.store instanceof EmbeddedStore ? this.store.stalls : undefined;
  }

  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    const clock = options.clock ?? new RealClock();
    const store = options.store ?? (await openEmbeddedStore({ clock, ...(options.dataDir ? { dataDir: join(options.dataDir, 'store') } : {}) }));
    const config = new ClusterConfigStore(new ClusterDatabase(store));
    try {
      const nodes = await ensureNodes(config, options.nodes ?? 3);
      const types = (options.types ?? builtinResourceTypes)();
      const known = new Set((await config.listResourceTypes()).map((t) => t.name));
      for (const name of types.names()) {
        if (!known.has(name)) await config.registerResourceType(types.get(name).descriptor);
      }
      const cluster = new LocalCluster(store, clock, config, options, !options.store, nodes);
      if (options.startNodes !== false) await cluster.startNodes();
      return cluster;
    } catch (e) {
      if (!options.store) await store.close();
      throw e;
    }
  }

  /** Starts every node, one after the other (LocalCluster.start does, unless told not to). */
  async startNodes(): Promise<void> {
    for (const node of this.nodes) await this.startNode(node.name);
  }

  agent(name: string): NodeAgent {
    const a = this.agents.get(name);
    if (!a) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(name)} is not running in this cluster`);
    return a;
  }

  log(name: string): ClusterLogWriter {
    const l = this.logs.get(name);
    if (!l) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(name)} has no log`);
    return l;
  }

  /** Starts (or restarts) a node's agent. */
  async startNode(name: string): Promise<NodeAgent> {
    const node = this.nodes.find((n) => n.name === name);
    if (!node) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(name)} is not a member of this cluster`);
    if (this.agents.get(name)?.running) throw new ClusterError('ERROR_CLUSTER_NODE_ALREADY_UP', `node ${name} is already running`);
    let log = this.logs.get(name);
    if (!log) {
      const dir = this.options.dataDir ? join(this.options.dataDir, 'logs', name) : undefined;
      if (dir) mkdirSync(dir, { recursive: true });
      log = new ClusterLogWriter({ ...(dir ? { path: join(dir, 'cluster.log') } : {}), pid: 0x1000 + node.id, clock: this.clock, level: this.options.logLevel ?? 'INFO', memoryLines: 5000 });
      this.logs.set(name, log);
    }
    const agent = new NodeAgent({
      node,
      store: this.store,
      clock: this.clock,
      types: (this.options.types ?? builtinResourceTypes)(),
      log,
      ...(this.options.agentLimits ? { limits: this.options.agentLimits } : {}),
      ...(this.options.rcmLimits ? { rcmLimits: this.options.rcmLimits } : {}),
      holdApiOffline: this.options.holdApiOffline?.includes(name) ?? false,
      ...(this.processStalls ? { processStalls: this.processStalls } : {}),
      ...(this.options.hostProcesses ? { hostProcesses: typeof this.options.hostProcesses === 'function' ? this.options.hostProcesses(name) : {} } : {}),
    });
    this.agents.set(name, agent);
    await agent.start();
    return agent;
  }

  /** Kills a node as a crash would: no clean hand-over; its lease expires and the others take over. */
  async crashNode(name: string): Promise<void> {
    await this.agent(name).stop({ graceful: false });
  }

  /** Stops a node cleanly: its lease is revoked, so its groups fail over at once. */
  async stopNode(name: string): Promise<void> {
    await this.agent(name).stop({ graceful: true });
  }

  async stop(): Promise<void> {
    for (const agent of this.agents.values()) await agent.stop({ graceful: true });
    this.unsubscribeStalls();
    for (const log of this.logs.values()) log.close();
    if (this.ownsStore) await this.store.close();
  }
}

async function ensureNodes(config: ClusterConfigStore, wanted: number | readonly string[]): Promise<NodeConfig[]> {
  const existing = await config.listNodes();
  if (existing.length > 0) return [...existing].sort((a, b) => a.id - b.id);
  const names = typeof wanted === 'number' ? Array.from({ length: wanted }, (_, i) => `node${i + 1}`) : wanted;
  if (names.length === 0) throw new ClusterError('ERROR_INVALID_PARAMETER', 'a cluster needs at least one node');
  const out: NodeConfig[] = [];
  for (const [i, name] of names.entries()) out.push(await config.addNode(name, i + 1));
  return out;
}
