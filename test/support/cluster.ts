// The real in-process cluster for tests of what sits on the ClusterApi (REST
// server, HTTP client, SSE, CLI, console, declarative configuration): the
// LocalCluster `failover up` runs — node agents, RCMs, placement, the cluster
// database — on the in-memory embedded store and the real clock, with the
// resource types of `failover up` plus one fixture type. Tests see the real
// service's rules; there is no second implementation to drift from them.
// Resources come online in milliseconds, but tests wait for states with the
// bounded waits below, never with fixed sleeps.
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import type { ClusterApi, OperationView } from '../../src/api/types.ts';
import type { AgentLimits } from '../../src/node/limits.ts';
import type { RcmLimits } from '../../src/rcm/index.ts';
import type { GroupCommon, GroupState, ResourceState, ResourceTypeDescriptor } from '../../src/model/objects.ts';
import { DummyResourceType, dummyDescriptor, mailboxResourceTypes, type ResourceTypeDefinition } from '../../src/types/index.ts';
import { withExtraTypes } from '../../src/types/extra.ts';
import { until } from './until.ts';

/** Generous real-time bound for what the cluster does by itself (Dummy groups settle in well under a second). */
export const SETTLE_TIMEOUT_MS = 20_000;

export const TYPED_DUMMY = 'Typed Dummy';

/**
 * A Dummy with one private property of each kind besides its own (a string,
 * a bounded dword, a multi-string and a binary value), for tests of how values
 * are typed and carried (CLI KEY=VALUE, JSON over HTTP, YAML export). Its
 * behaviour is Dummy's.
 */
const typedDummyDescriptor: ResourceTypeDescriptor = {
  ...dummyDescriptor,
  name: TYPED_DUMMY,
  description: 'A Dummy with a private property of each kind.',
  privateProperties: [
    ...dummyDescriptor.privateProperties,
    { name: 'Label', kind: 'string', default: '', description: 'Free text.' },
    { name: 'Weight', kind: 'dword', default: 1, min: 0, max: 100, description: 'A bounded number.' },
    { name: 'Tags', kind: 'multiString', default: [], description: 'A list of strings.' },
    { name: 'Blob', kind: 'binary', description: 'Bytes.' },
  ],
};

class TypedDummyResourceType extends DummyResourceType {
  override readonly descriptor = typedDummyDescriptor;
}

const typedDummyType: ResourceTypeDefinition = {
  descriptor: typedDummyDescriptor,
  create: (services) => new TypedDummyResourceType(services),
};

/** The resource types of the test cluster: those of `failover up`, and the fixture type. */
const clusterTypes = withExtraTypes(() => mailboxResourceTypes(), [typedDummyType]);

/** Descriptors of the test cluster's resource types, for what checks a configuration without a cluster. */
export function typeDescriptors(): ResourceTypeDescriptor[] {
  const registry = clusterTypes();
  return registry.names().map((n) => registry.get(n).descriptor);
}

export interface ClusterOptions {
  /** Default: node1, node2, node3. */
  readonly nodes?: number | readonly string[];
  readonly clusterName?: string;
  readonly rcmLimits?: Partial<RcmLimits>;
  readonly agentLimits?: Partial<AgentLimits>;
}

export interface RunningCluster {
  readonly cluster: LocalCluster;
  /** The in-process API over the cluster's store, as `failover up` serves it. */
  readonly api: ClusterApi;
  stop(): Promise<void>;
}

/**
 * How long stop() lets each node take its groups offline in order before it
 * terminates what is left: short, since a test may leave a resource hanging
 * in a pending state that an offline waits out (the default is 30 s).
 */
const SHUTDOWN_TIMEOUT_MS = 300;
/**
 * How often the coordinator sweeps: new groups get their owner within a sweep,
 * and tests wait for that (createOwnedGroup), so sooner than the default 1 s.
 */
const COORDINATOR_SWEEP_INTERVAL_MS = 100;

export async function startCluster(options: ClusterOptions = {}): Promise<RunningCluster> {
  const cluster = await LocalCluster.start({
    nodes: options.nodes ?? 3,
    types: clusterTypes,
    agentLimits: { shutdownTimeoutMs: SHUTDOWN_TIMEOUT_MS, coordinatorSweepIntervalMs: COORDINATOR_SWEEP_INTERVAL_MS, ...options.agentLimits },
    ...(options.rcmLimits ? { rcmLimits: options.rcmLimits } : {}),
  });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock, ...(options.clusterName ? { clusterName: options.clusterName } : {}) });
  return { cluster, api, stop: () => cluster.stop() };
}

/** until(), with what was last seen added to its failure. */
async function untilSeen(what: string, probe: () => Promise<{ ok: boolean; seen: string }>, timeoutMs: number): Promise<void> {
  let seen = 'nothing';
  try {
    await until(what, async () => {
      const p = await probe();
      seen = p.seen;
      return p.ok;
    }, timeoutMs);
  } catch (e) {
    throw new Error(`${(e as Error).message} (last seen: ${seen})`);
  }
}

/** Waits until the operation has ended; fails after timeoutMs naming it. */
export async function operationEnded(api: ClusterApi, op: OperationView | string, timeoutMs = SETTLE_TIMEOUT_MS): Promise<OperationView> {
  const id = typeof op === 'string' ? op : op.id;
  let view: OperationView | undefined;
  await untilSeen(`operation ${id} ended`, async () => {
    view = await api.getOperation(id);
    return { ok: view.done, seen: JSON.stringify(view) };
  }, timeoutMs);
  return view!;
}

/** Waits until the group shows the state (and owner, if given). */
export async function groupReaches(api: ClusterApi, group: string, state: GroupState, owner?: string, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  await untilSeen(`group ${group} ${state}${owner ? ` on ${owner}` : ''}`, async () => {
    const g = await api.getGroup(group);
    return { ok: g.state === state && (owner === undefined || g.owner === owner), seen: `${g.state} on ${g.owner ?? 'no node'}` };
  }, timeoutMs);
}

/** Waits until the resource shows the state. */
export async function resourceReaches(api: ClusterApi, resource: string, state: ResourceState, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  await untilSeen(`resource ${resource} ${state}`, async () => {
    const r = await api.getResource(resource);
    return { ok: r.state === state, seen: r.state };
  }, timeoutMs);
}

/**
 * Creates a group and waits until the coordinator has given it an owner, so
 * that resources created in it next stay offline until asked. (The owner a
 * new group gets brings its resources to their PersistentState, online by
 * default, if they exist by then: a group created with its resources would
 * come online or not depending on when the coordinator's sweep runs.)
 */
export async function createOwnedGroup(api: ClusterApi, name: string, common?: Partial<GroupCommon>, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  await api.createGroup(name, common);
  await untilSeen(`group ${name} owned`, async () => {
    const g = await api.getGroup(name);
    return { ok: g.owner !== undefined, seen: 'no owner' };
  }, timeoutMs);
}

/**
 * Waits until every group has an owner. The coordinator gives a new group one
 * within a sweep; a test whose outcome depends on ownership (an owner column,
 * an owner that must not change under a snapshot) waits for it first.
 */
export async function everyGroupOwned(api: ClusterApi, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  await untilSeen('every group owned', async () => {
    const unowned = (await api.listGroups()).filter((g) => g.owner === undefined).map((g) => g.name);
    return { ok: unowned.length === 0, seen: `unowned: ${unowned.join(', ')}` };
  }, timeoutMs);
}

/** A move's phases and a resource's way offline and back online, in the order they happen. */
export const MOVE_PHASES = ['offline-on-source', 'transfer', 'online-on-target', 'ended'] as const;
export const OFFLINE_THEN_ONLINE: readonly ResourceState[] = ['WaitingToGoOffline', 'OfflineCallIssued', 'OfflinePending', 'Offline', 'WaitingToComeOnline', 'OnlineCallIssued', 'OnlinePending', 'Online'];

/**
 * Whether `seen` follows `order` (each element after the one before it). Events
 * come from the owner's reports and the move record, which are written as the
 * cluster gets to them: a state passed within one step of the node is not
 * reported on its own, so tests check the order, not that every state shows.
 */
export function followsOrder(seen: readonly string[], order: readonly string[]): boolean {
  let at = 0;
  for (const s of seen) {
    const i = order.indexOf(s, at);
    if (i < 0) return false;
    at = i + 1;
  }
  return true;
}
