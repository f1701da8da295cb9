// One node of a distributed cluster: what `failover agent` runs on each
// machine. The node's agent on etcd, its watchdog process, and the REST API
// (every agent serves the whole cluster's API; mutations go through etcd).
//
// Joining: the node adds itself to the cluster configuration if it is not
// there yet (with the id given, or the next free one), registers the built-in
// resource types that are missing, and serves the API with the cluster's
// shared tokens (created by the first agent, kept in the store), so a client
// can talk to any agent with the same token.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../model/clock.ts';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { NodeConfig } from '../model/objects.ts';
import { RealClock } from '../clock/real.ts';
import { openEtcdStore } from '../store/etcd.ts';
import type { Store } from '../store/store.ts';
import { ClusterDatabase } from '../database/registry.ts';
import { ClusterConfigStore } from '../database/config.ts';
import { ClusterLogWriter } from '../log/writer.ts';
import { mailboxResourceTypes, type ResourceTypeRegistry } from '../types/index.ts';
import { MailboxConsole } from '../mailbox/console.ts';
import { mailboxRoutes } from '../mailbox/routes.ts';
import { createInProcessApi } from '../api/service.ts';
import { startApiServer, type ApiServer } from '../api/server.ts';
import { createApiTokens, writeLocalCluster, type ApiTokens } from '../api/tokens.ts';
import { NodeAgent } from './agent.ts';
import { keys } from './keys.ts';
import { distributedAgentLimits, type AgentLimits } from './limits.ts';
import { decodeObject, encode } from './records.ts';
import { Watchdog } from './watchdog.ts';
import { guardedResourceTypes } from './guarded-types.ts';

/** Joining races other agents adding themselves; each lost race is tried again, this often at most. */
const joinAttemptsMax = 20;

export interface DistributedAgentOptions {
  readonly etcd: readonly string[];
  /** Key prefix in etcd, so several clusters (or test runs) can share one etcd. */
  readonly prefix?: string;
  readonly node: string;
  /** The node's id when it is added to the configuration; default: the next free one. */
  readonly id?: number;
  readonly apiHost: string;
  /** 0: any free port. */
  readonly apiPort: number;
  readonly dataDir: string;
  readonly limits?: Partial<AgentLimits>;
  /** Default true: without it, resource processes can outlive a killed or frozen agent. */
  readonly watchdog?: boolean;
  readonly clock?: Clock;
  readonly types?: () => ResourceTypeRegistry;
}

export interface DistributedAgent {
  readonly node: NodeConfig;
  readonly agent: NodeAgent;
  readonly store: Store;
  readonly url: string;
  readonly tokens: ApiTokens;
  readonly logPath: string;
  readonly watchdogPid: number | undefined;
  /** Takes the node's groups offline, revokes its lease, stops the API and the watchdog. */
  stop(): Promise<void>;
}

/** Checks the timing limits fit together: the node must be able to renew and fence within one TTL. */
export function checkAgentLimits(limits: AgentLimits): void {
  const ttlMs = limits.leaseTtlSeconds * 1000;
  if (!Number.isInteger(limits.leaseTtlSeconds) || limits.leaseTtlSeconds < 1) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `lease TTL must be a whole number of seconds >= 1, got ${limits.leaseTtlSeconds}`);
  }
  if (!(limits.watchdogMarginMs < limits.selfFenceMarginMs && limits.selfFenceMarginMs + 2 * limits.leaseKeepAliveIntervalMs <= ttlMs)) {
    throw new ClusterError(
      'ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS',
      `lease TTL ${limits.leaseTtlSeconds} s is too short for a keep-alive every ${limits.leaseKeepAliveIntervalMs} ms and a self-fence margin of ${limits.selfFenceMarginMs} ms (the watchdog's ${limits.watchdogMarginMs} ms must be smaller still)`,
    );
  }
}

export async function startDistributedAgent(o: DistributedAgentOptions): Promise<DistributedAgent> {
  const limits: AgentLimits = { ...distributedAgentLimits, ...o.limits };
  checkAgentLimits(limits);
  const clock = o.clock ?? new RealClock();
  const store = await openEtcdStore({ endpoints: o.etcd, ...(o.prefix ? { prefix: o.prefix } : {}), clock });
  const cleanups: Array<() => Promise<void> | void> = [() => store.close()];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await Promise.resolve(c()).catch(() => undefined);
  };
  try {
    const config = new ClusterConfigStore(new ClusterDatabase(store));
    const node = await joinConfiguration(config, o.node, o.id);
    const baseTypes = (o.types ?? mailboxResourceTypes)();
    await registerMissingTypes(config, baseTypes);

    const logDir = join(o.dataDir, 'logs', node.name);
    mkdirSync(logDir, { recursive: true });
    const logPath = join(logDir, 'cluster.log');
    const log = new ClusterLogWriter({ path: logPath, pid: process.pid, clock });
    cleanups.push(() => log.close());

    let watchdog: Watchdog | undefined;
    if (o.watchdog !== false) {
      watchdog = await Watchdog.start({
        logPath: join(logDir, 'watchdog.log'),
        log: (m) => log.writeMessage(m),
        clock,
        buildDir: join(o.dataDir, 'watchdog'),
        confirm: { etcd: o.etcd, key: `${o.prefix ?? ''}${keys.fenced(node.name)}` },
      });
      const w = watchdog;
      cleanups.push(() => w.shutdown('the agent did not start'));
    }
    const types = watchdog ? guardedResourceTypes(baseTypes, watchdog, node.name) : baseTypes;
    // Resource host processes carry the watchdog's mark: it kills them, and all they started, with the rest.
    const hostProcesses = { environment: watchdog ? [watchdog.markEnvironment] : [] };
    const agent = new NodeAgent({ node, store, clock, types, log, limits, hostProcesses, ...(watchdog ? { watchdog } : {}) });
    await agent.start();
    cleanups.push(() => agent.stop({ graceful: false }));

    const tokens = await sharedTokens(store);
    const api = createInProcessApi({ store, clock });
    const mailbox = mailboxRoutes({ console: new MailboxConsole(api, { clock }), storageRoot: join(o.dataDir, 'mailbox') });
    const server: ApiServer = await startApiServer({ api, host: o.apiHost, port: o.apiPort, tokens, clock, routes: [mailbox] });
    writeLocalCluster(o.dataDir, { url: server.url, tokens });

    let stopping: Promise<void> | undefined;
    return {
      node,
      agent,
      store,
      url: server.url,
      tokens,
      logPath,
      get watchdogPid() {
        return watchdog?.pid;
      },
      stop: () => {
        stopping ??= (async () => {
          await server.close().catch(() => undefined);
          await agent.stop({ graceful: true });
          await watchdog?.shutdown(`node ${node.name} stopped`);
          log.close();
          await store.close();
        })();
        return stopping;
      },
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** The node's configuration entry: found by name, or added with the given id or the next free one. */
async function joinConfiguration(config: ClusterConfigStore, name: string, id: number | undefined): Promise<NodeConfig> {
  for (let attempt = 1; ; attempt++) {
    const nodes = await config.listNodes();
    const existing = nodes.find((n) => n.name.toLowerCase() === name.toLowerCase());
    if (existing) {
      if (id !== undefined && existing.id !== id) {
        throw new ClusterError('ERROR_CLUSTER_NODE_EXISTS', `node ${existing.name} is already a member with id ${existing.id}, not ${id}`);
      }
      return existing;
    }
    const nextId = id ?? Math.max(0, ...nodes.map((n) => n.id)) + 1;
    try {
      return await config.addNode(name, nextId);
    } catch (e) {
      // Another agent joined at the same moment (same name, or took the id): look again.
      if (!(isClusterError(e) && e.name === 'ERROR_CLUSTER_NODE_EXISTS') || attempt >= joinAttemptsMax) throw e;
      if (id !== undefined && (await config.listNodes()).some((n) => n.id === id && n.name.toLowerCase() !== name.toLowerCase())) throw e;
    }
  }
}

async function registerMissingTypes(config: ClusterConfigStore, types: ResourceTypeRegistry): Promise<void> {
  const known = new Set((await config.listResourceTypes()).map((t) => t.name.toLowerCase()));
  for (const name of types.names()) {
    if (known.has(name.toLowerCase())) continue;
    try {
      await config.registerResourceType(types.get(name).descriptor);
    } catch (e) {
      if (!(isClusterError(e) && e.name === 'ERROR_OBJECT_ALREADY_EXISTS')) throw e; // another agent registered it first
    }
  }
}

/** The cluster's API tokens: the first agent creates them, every other one reads the same. */
async function sharedTokens(store: Store): Promise<ApiTokens> {
  const fresh = createApiTokens();
  const r = await store.txn({
    compare: [{ key: keys.apiTokens, target: 'version', op: '==', value: 0 }],
    success: [{ type: 'put', key: keys.apiTokens, value: encode(fresh) }],
    failure: [{ type: 'get', key: keys.apiTokens }],
  });
  if (r.succeeded) return fresh;
  const got = r.results[0];
  const o = got?.type === 'get' && got.kv ? decodeObject(got.kv.value) : undefined;
  if (typeof o?.full !== 'string' || typeof o.read !== 'string') {
    throw new ClusterError('ERROR_INVALID_DATA', `the cluster's API tokens in the store (${keys.apiTokens}) are malformed`);
  }
  return { full: o.full, read: o.read };
}
