// The cluster API over a running cluster's store: views are read from the
// configuration and the agents' reports; configuration changes go through the
// cluster configuration store; operations are records addressed to the node
// that owns the object, whose agent feeds them to its RCM. Any process with
// access to the store can serve it, so every agent answers for the whole
// cluster.
import type { Clock } from '../model/clock.ts';
import { ClusterError } from '../model/errors.ts';
import { deriveGroupState, type GroupConfig, type ResourceConfig, type ResourceState } from '../model/objects.ts';
import { chooseTarget, isPlacementError, planEvacuation, validateMoveTarget } from '../policy/index.ts';
import type { Store, Watcher } from '../store/store.ts';
import { ClusterDatabase } from '../database/registry.ts';
import { ClusterConfigStore, type NewResource, type PropertyChanges } from '../database/config.ts';
import type { RegistryValue as DbRegistryValue } from '../database/values.ts';
import { keys, CLUSTER_PREFIX } from '../node/keys.ts';
import { decodeMove, decodeObject, decodeOpResult, decodeOwner, decodeReport, encode, type MoveRecord, type OpKind, type OpRequest, type ResourceReport } from '../node/records.ts';
import { endedAtDeadline, endOverdueOperation } from '../node/operations.ts';
import { defaultAgentLimits } from '../node/limits.ts';
import { nodeState, RuntimeCache, type ReportIndex, type RuntimeView } from '../node/view.ts';
import type { ConfigState } from '../database/config-view.ts';

type CachedView = RuntimeView & { readonly state: ConfigState; readonly reports: ReportIndex };
import type {
  ClusterApi,
  ClusterEvent,
  ClusterView,
  EventFilter,
  GroupView,
  MoveOptions,
  MoveView,
  NewResourceSpec,
  NodeView,
  OperationView,
  RegistryValue,
  ResourceFilter,
  ResourceView,
  Subscription,
} from './types.ts';

/** Top-level cluster database keys that hold configuration: written only through the typed operations. */
const CONFIG_REGISTRY_KEYS = ['nodes', 'resourcetypes', 'groups', 'resources'];

export interface InProcessApiOptions {
  readonly store: Store;
  readonly clock: Clock;
  readonly clusterName?: string;
  /**
   * Makes operation ids (given the operation's kind). Default: clock time and a
   * process-wide counter. The simulator passes its own so that ids, and so its
   * output, depend only on the seed.
   */
  readonly newOpId?: (kind: string) => string;
  /** An operation not ended this long after it was requested ends with ERROR_TIMEOUT (default: the agents' default). */
  readonly operationEndDeadlineMs?: number;
}

export function createInProcessApi(options: InProcessApiOptions): ClusterApi {
  return new ClusterService(options);
}

let opSequence = 0;

export class ClusterService implements ClusterApi {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly db: ClusterDatabase;
  private readonly config: ClusterConfigStore;
  private readonly name: string;
  private readonly opIdSource: ((kind: string) => string) | undefined;
  private readonly operationEndDeadlineMs: number;

  constructor(options: InProcessApiOptions) {
    this.opIdSource = options.newOpId;
    this.operationEndDeadlineMs = options.operationEndDeadlineMs ?? defaultAgentLimits.operationEndDeadlineMs;
    this.store = options.store;
    this.clock = options.clock;
    this.db = new ClusterDatabase(options.store);
    this.config = new ClusterConfigStore(this.db);
    this.name = options.clusterName ?? 'failover';
  }

  /** The cluster as of now, from this process's watch-fed caches (no store read beyond one revision check). */
  private async view(): Promise<CachedView> {
    const [config, runtime] = await Promise.all([this.config.view(), RuntimeCache.for(this.store)]);
    await config.informer.sync();
    return runtime.view(config.state);
  }

  async getCluster(): Promise<ClusterView> {
    const v = await this.view();
    return { name: this.name, nodes: v.state.nodes.size, groups: v.state.groups.size, resources: v.state.resources.size, revision: Math.max(v.revision, v.config.revision) };
  }

  // ---- nodes ----

  async listNodes(): Promise<NodeView[]> {
    const v = await this.view();
    return v.config.nodes.map((n) => nodeView(v, n.name, n.id));
  }

  async getNode(name: string): Promise<NodeView> {
    const v = await this.view();
    const n = v.config.nodes.find((x) => x.name.toLowerCase() === name.toLowerCase());
    if (!n) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(name)} not found`);
    return nodeView(v, n.name, n.id);
  }

  async pauseNode(name: string, options: { drain?: boolean } = {}): Promise<OperationView | undefined> {
    const node = await this.getNode(name);
    if (node.state === 'Down') throw new ClusterError('ERROR_CLUSTER_NODE_DOWN', `node ${node.name} is down; only an Up node can be paused`);
    await this.store.put(keys.paused(node.name), encode({ drain: options.drain === true, at: this.clock.now() }));
    if (!options.drain) return undefined;
    // Every target from one plan over one placement index, so the node's groups spread (policy/plan.ts).
    const v = await this.view();
    const moves: string[] = [];
    for (const d of planEvacuation(v.policy, [node.name])) {
      if (isPlacementError(d.target)) moves.push(failedOp('moveGroup', d.group, ClusterError.fromValue(d.target)).id);
      else moves.push(await this.request(node.name, 'moveGroup', d.group, d.group, { to: d.target.node }));
    }
    const opId = this.newOpId('drain');
    await this.store.put(keys.result(opId), encode({ opId, kind: 'drainNode', target: node.name, done: false, requestedAt: this.clock.now(), children: moves }));
    return this.getOperation(opId);
  }

  async resumeNode(name: string): Promise<void> {
    const node = await this.getNode(name);
    if (node.state !== 'Paused') throw new ClusterError('ERROR_CLUSTER_NODE_NOT_PAUSED', `node ${node.name} is not paused`);
    await this.store.delete(keys.paused(node.name));
  }

  async evictNode(name: string): Promise<void> {
    const node = await this.getNode(name);
    if (node.state !== 'Down') throw new ClusterError('ERROR_CANT_EVICT_ACTIVE_NODE', `node ${node.name} is ${node.state}; stop it before evicting it`);
    await this.config.removeNode(node.name);
    await this.store.delete(keys.paused(node.name));
  }

  async listResourceTypes() {
    return this.config.listResourceTypes();
  }

  // ---- groups ----

  async listGroups(): Promise<GroupView[]> {
    const v = await this.view();
    return v.config.groups.map((g) => groupView(v, g, this.clock.now()));
  }

  async getGroup(name: string): Promise<GroupView> {
    const v = await this.view();
    return groupView(v, v.state.group(name), this.clock.now());
  }

  async createGroup(name: string, common: Partial<GroupConfig['common']> = {}, options: { resources?: readonly NewResourceSpec[] } = {}): Promise<GroupView> {
    await this.config.createGroup(name, common as PropertyChanges, (options.resources ?? []) as readonly NewResource[]);
    return this.getGroup(name);
  }

  async deleteGroup(name: string): Promise<void> {
    const g = await this.getGroup(name);
    if (g.moving) throw new ClusterError('ERROR_CLUSTER_GROUP_MOVING', `group ${g.name} is moving`);
    await this.config.deleteGroup(g.name);
    await this.store.delete(keys.owner(g.name));
    await this.store.delete(keys.move(g.name));
  }

  async renameGroup(name: string, newName: string): Promise<void> {
    const g = await this.getGroup(name);
    if (g.moving) throw new ClusterError('ERROR_CLUSTER_GROUP_MOVING', `group ${g.name} is moving`);
    await this.config.renameGroup(g.name, newName);
    const owner = await this.store.get(keys.owner(g.name));
    if (owner) {
      await this.store.txn({
        compare: [{ key: keys.owner(g.name), target: 'modRevision', op: '==', value: owner.modRevision }],
        success: [
          { type: 'put', key: keys.owner(newName), value: owner.value },
          { type: 'delete', key: keys.owner(g.name) },
        ],
      });
    }
  }

  async setGroupProperties(name: string, common: Partial<GroupConfig['common']>): Promise<GroupView> {
    await this.config.setGroupCommon(name, common as PropertyChanges);
    return this.getGroup(name);
  }

  async onlineGroup(name: string): Promise<OperationView> {
    const g = await this.config.getGroup(name);
    return this.submit('onlineGroup', g.name, g.name);
  }

  async offlineGroup(name: string): Promise<OperationView> {
    const g = await this.config.getGroup(name);
    return this.submit('offlineGroup', g.name, g.name);
  }

  async moveGroup(name: string, options: MoveOptions = {}): Promise<OperationView> {
    const g = await this.config.getGroup(name);
    const v = await this.view();
    const owner = v.owners.get(g.name);
    if (!owner || !v.members.has(owner.node)) {
      throw new ClusterError('ERROR_GROUP_NOT_AVAILABLE', `group ${g.name} has no running owner to move it from`);
    }
    let to: string;
    if (options.to !== undefined) {
      const node = v.config.nodes.find((n) => n.name.toLowerCase() === options.to!.toLowerCase());
      const err = validateMoveTarget(v.policy, g.name, node?.name ?? options.to);
      if (err) throw ClusterError.fromValue(err);
      to = node!.name;
    } else {
      const choice = chooseTarget(v.policy, g.name, 'move');
      if (isPlacementError(choice)) throw ClusterError.fromValue(choice);
      to = choice.node;
    }
    if (to === owner.node) throw new ClusterError('ERROR_INVALID_STATE', `group ${g.name} is already on node ${to}`);
    return this.submit('moveGroup', g.name, g.name, { to, ...(options.returnToSourceOnError ? { returnToSourceOnError: true } : {}) });
  }

  // ---- resources ----

  async listResources(filter: ResourceFilter = {}): Promise<ResourceView[]> {
    const v = await this.view();
    const resources = filter.group === undefined ? v.config.resources : v.state.resourcesIn(v.state.group(filter.group).name);
    const views = resources.map((r) => resourceView(v, r));
    const states = filter.states && new Set(filter.states);
    return states ? views.filter((r) => states.has(r.state)) : views;
  }

  async getResource(name: string): Promise<ResourceView> {
    const v = await this.view();
    return resourceView(v, v.state.resource(name));
  }

  async createResource(
    name: string,
    type: string,
    group: string,
    options: { common?: Partial<ResourceConfig['common']>; parameters?: Record<string, unknown>; dependencies?: string } = {},
  ): Promise<ResourceView> {
    await this.config.createResource({
      name,
      type,
      group,
      ...(options.common ? { common: options.common as PropertyChanges } : {}),
      ...(options.parameters ? { parameters: options.parameters as PropertyChanges } : {}),
      ...(options.dependencies ? { dependencies: options.dependencies } : {}),
    });
    return this.getResource(name);
  }

  async deleteResource(name: string): Promise<void> {
    const r = await this.getResource(name);
    if (isUp(r.state)) throw new ClusterError('ERROR_RESOURCE_ONLINE', `resource ${r.name} is ${r.state}; take it offline first`);
    await this.config.deleteResource(r.name);
  }

  async renameResource(name: string, newName: string): Promise<void> {
    await this.config.renameResource(name, newName);
  }

  async changeResourceGroup(name: string, group: string): Promise<void> {
    const r = await this.getResource(name);
    if (isUp(r.state)) throw new ClusterError('ERROR_RESOURCE_ONLINE', `resource ${r.name} is ${r.state}; take it offline before changing its group`);
    await this.config.changeResourceGroup(r.name, group);
  }

  async setResourceProperties(name: string, common: Partial<ResourceConfig['common']>): Promise<ResourceView> {
    await this.config.setResourceCommon(name, common as PropertyChanges);
    return this.getResource(name);
  }

  async setResourceParameters(name: string, parameters: Record<string, unknown>): Promise<ResourceView> {
    await this.config.setResourceParameters(name, parameters as PropertyChanges);
    return this.getResource(name);
  }

  async setDependencies(name: string, expression: string): Promise<ResourceView> {
    await this.config.setDependencies(name, expression);
    return this.getResource(name);
  }

  async addDependency(name: string, provider: string): Promise<ResourceView> {
    await this.config.addDependency(name, provider);
    return this.getResource(name);
  }

  async removeDependency(name: string, provider: string): Promise<ResourceView> {
    await this.config.removeDependency(name, provider);
    return this.getResource(name);
  }

  async addPossibleOwner(name: string, node: string): Promise<ResourceView> {
    const r = await this.config.getResource(name);
    const n = (await this.getNode(node)).name;
    if (r.common.PossibleOwners.includes(n)) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `node ${n} is already a possible owner of ${r.name}`);
    return this.setResourceProperties(r.name, { PossibleOwners: [...r.common.PossibleOwners, n] });
  }

  async removePossibleOwner(name: string, node: string): Promise<ResourceView> {
    const r = await this.config.getResource(name);
    const n = r.common.PossibleOwners.find((x) => x.toLowerCase() === node.toLowerCase());
    if (!n) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(node)} is not a possible owner of ${r.name}`);
    return this.setResourceProperties(r.name, { PossibleOwners: r.common.PossibleOwners.filter((x) => x !== n) });
  }

  async onlineResource(name: string): Promise<OperationView> {
    const r = await this.config.getResource(name);
    return this.submit('onlineResource', r.name, r.group);
  }

  async offlineResource(name: string): Promise<OperationView> {
    const r = await this.config.getResource(name);
    return this.submit('offlineResource', r.name, r.group);
  }

  async failResource(name: string): Promise<OperationView> {
    const r = await this.config.getResource(name);
    return this.submit('failResource', r.name, r.group);
  }

  async resetResource(name: string): Promise<OperationView> {
    const r = await this.config.getResource(name);
    return this.submit('resetResource', r.name, r.group);
  }

  // ---- operations ----

  private newOpId(kind: string): string {
    if (this.opIdSource) return this.opIdSource(kind);
    return `op-${this.clock.now().toString(36)}-${(++opSequence).toString(36)}-${kind}`;
  }

  /**
   * Addresses an operation to the node that owns the group. A group nobody owns
   * yet gets an owner first (the placement policy's choice), as the coordinator
   * would give it.
   */
  private async submit(kind: OpKind, target: string, group: string, extra: Partial<OpRequest> = {}): Promise<OperationView> {
    return this.getOperation(await this.request(await this.ownerFor(group), kind, target, group, extra));
  }

  /** Writes an operation's request to `owner` and its pending result; returns the operation's id. */
  private async request(owner: string, kind: OpKind, target: string, group: string, extra: Partial<OpRequest> = {}): Promise<string> {
    const opId = this.newOpId(kind);
    const requestedAt = this.clock.now();
    const request: OpRequest = { opId, kind, target, requestedAt, ...extra };
    const deadlineAt = requestedAt + this.operationEndDeadlineMs;
    await this.store.txn({
      compare: [],
      success: [
        // deadlineAt and node let whoever reads it end the operation at its deadline should that node never answer.
        { type: 'put', key: keys.result(opId), value: encode({ opId, kind, target, done: false, requestedAt, deadlineAt, node: owner, ...(kind === 'moveGroup' ? { moveGroup: group } : {}) }) },
        { type: 'put', key: keys.op(owner, opId), value: encode(request) },
      ],
    });
    return opId;
  }

  private async ownerFor(group: string): Promise<string> {
    const v = await this.view();
    const owner = v.owners.get(group);
    if (owner) {
      if (!v.members.has(owner.node)) throw new ClusterError('ERROR_HOST_NODE_NOT_AVAILABLE', `group ${group} is owned by node ${owner.node}, which is down; it fails over shortly`);
      return owner.node;
    }
    const choice = chooseTarget(v.policy, group, 'failover');
    if (isPlacementError(choice)) throw ClusterError.fromValue(choice);
    const r = await this.store.txn({
      compare: [{ key: keys.owner(group), target: 'version', op: '==', value: 0 }],
      success: [{ type: 'put', key: keys.owner(group), value: encode({ node: choice.node, reason: 'start' }) }],
    });
    return r.succeeded ? choice.node : this.ownerFor(group);
  }

  async getOperation(id: string): Promise<OperationView> {
    const kv = await this.store.get(keys.result(id));
    const raw = kv ? decodeObject(kv.value) : undefined;
    const r = kv ? decodeOpResult(kv.value) : undefined;
    if (!kv || !raw || !r) throw new ClusterError('ERROR_NOT_FOUND', `operation ${JSON.stringify(id)} not found`);
    if (endedAtDeadline(raw, this.clock.now(), this.operationEndDeadlineMs)) {
      // Past its deadline and not ended: it ends now, whether or not a coordinator runs (an outcome written meanwhile stands).
      await endOverdueOperation(this.store, kv, raw, this.clock.now(), this.operationEndDeadlineMs);
      return this.getOperation(id);
    }
    if (raw.kind === 'drainNode') return this.drainView(id, raw);
    let move: MoveView | undefined;
    if (raw.kind === 'moveGroup' && typeof raw.target === 'string') {
      const m = await this.store.get(keys.move(raw.target));
      const rec = m && decodeMove(m.value);
      if (rec && rec.opId === id) move = moveView(rec);
    }
    return {
      id,
      kind: raw.kind as OperationView['kind'],
      target: String(raw.target),
      done: r.done,
      ...(r.ok !== undefined ? { ok: r.ok } : {}),
      ...(r.error ? { error: r.error } : {}),
      ...(move ? { move } : {}),
    };
  }

  /** A drain is done when every move it started has ended; it succeeded if they all completed. */
  private async drainView(id: string, raw: Record<string, unknown>): Promise<OperationView> {
    const children = Array.isArray(raw.children) ? raw.children.filter((c): c is string => typeof c === 'string') : [];
    const views = await Promise.all(children.map((c) => this.getOperation(c).catch((e: unknown) => failedOp('moveGroup', c, e))));
    const done = views.every((c) => c.done);
    const failed = views.find((c) => c.done && c.ok === false);
    return {
      id,
      kind: 'drainNode',
      target: String(raw.target),
      done,
      ...(done ? { ok: !failed } : {}),
      ...(failed?.error ? { error: failed.error } : {}),
    };
  }

  // ---- registry ----

  private checkRegistryWrite(path: string): void {
    const top = path.split('\\')[0]?.toLowerCase() ?? '';
    if (CONFIG_REGISTRY_KEYS.includes(top)) {
      throw new ClusterError('ERROR_ACCESS_DENIED', `key ${JSON.stringify(path)} holds cluster configuration; change it with the node, group and resource commands`);
    }
  }

  async registryEnumKeys(path: string): Promise<string[]> {
    return this.db.enumKeys(path);
  }

  async registryCreateKey(path: string): Promise<void> {
    this.checkRegistryWrite(path);
    await this.db.createKey(path);
  }

  async registryDeleteKey(path: string): Promise<void> {
    this.checkRegistryWrite(path);
    await this.db.deleteKey(path);
  }

  async registryEnumValues(path: string): Promise<Array<{ name: string; value: RegistryValue }>> {
    return (await this.db.enumValues(path)).map((v) => ({ name: v.name, value: fromDbValue(v.value) }));
  }

  async registryGetValue(path: string, name: string): Promise<RegistryValue> {
    return fromDbValue(await this.db.queryValue(path, name));
  }

  async registrySetValue(path: string, name: string, value: RegistryValue): Promise<void> {
    this.checkRegistryWrite(path);
    await this.db.setValue(path, name, value);
  }

  async registryDeleteValue(path: string, name: string): Promise<void> {
    this.checkRegistryWrite(path);
    await this.db.deleteValue(path, name);
  }

  // ---- events ----

  async subscribe(filter: EventFilter, onEvent: (event: ClusterEvent) => void): Promise<Subscription> {
    return EventFeed.open(this.store, this.config, await this.resolveFilter(filter), onEvent);
  }

  /**
   * The filter with the objects it names spelled as configured (names compare
   * case-insensitively, events carry the configured spelling). A filter naming
   * an object that does not exist is refused: it would match nothing, and a
   * follower would wait forever on a typo.
   */
  private async resolveFilter(filter: EventFilter): Promise<EventFilter> {
    if (filter.group === undefined && filter.resource === undefined && filter.node === undefined) return filter;
    const v = await this.view();
    return {
      ...filter,
      ...(filter.group !== undefined ? { group: v.state.group(filter.group).name } : {}),
      ...(filter.resource !== undefined ? { resource: v.state.resource(filter.resource).name } : {}),
      ...(filter.node !== undefined ? { node: (await this.getNode(filter.node)).name } : {}),
    };
  }

}

function failedOp(kind: OpKind, target: string, e: unknown): OperationView {
  const error = e instanceof ClusterError ? e.toJSON() : { code: 1359, name: 'ERROR_INTERNAL_ERROR', message: String(e) };
  return { id: `${kind}-${target}-refused`, kind, target, done: true, ok: false, error };
}

function isUp(state: ResourceState): boolean {
  return state !== 'Offline' && state !== 'Failed' && state !== 'OpenCallFailed' && state !== 'Initializing';
}

function nodeView(v: RuntimeView, name: string, id: number): NodeView {
  return { name, id, state: nodeState(name, v.members, v.paused), draining: v.paused.get(name)?.drain === true };
}

function moveView(m: MoveRecord): MoveView {
  return {
    moveId: m.moveId,
    group: m.group,
    from: m.from,
    to: m.to,
    phase: m.phase,
    startedAt: m.startedAt,
    deadlineAt: m.deadlineAt,
    ...(m.outcome ? { outcome: m.outcome } : {}),
    ...(m.error ? { error: m.error } : {}),
  };
}

/**
 * The state a resource shows: its owner's report, or Offline where no running
 * node owns the group. A node's RCM numbers its own transitions; across owners
 * the API's state sequence number is the store revision of the report, which
 * increases for the object whichever node reports it.
 */
function reportedState(v: CachedView, r: ResourceConfig): { report?: ResourceReport; owner?: string } {
  const owner = v.owners.get(r.group);
  if (!owner) return {};
  const report = currentReport(v.reports.get(owner.node)?.get(r.name), owner.epoch);
  return { owner: owner.node, ...(report ? { report } : {}) };
}

/**
 * The owner's report if it was made under the current ownership (its epoch).
 * An older one is a leftover: a node cut off from the store while it stopped
 * the group could not publish that, and the group may since have come back
 * to it; until it reports again, the resource is not shown as it was then.
 */
function currentReport(report: ResourceReport | undefined, epoch: number): ResourceReport | undefined {
  return report?.epoch === epoch ? report : undefined;
}

function resourceView(v: CachedView, r: ResourceConfig): ResourceView {
  const { report, owner } = reportedState(v, r);
  const down = owner !== undefined && !v.members.has(owner);
  return {
    name: r.name,
    type: r.type,
    group: r.group,
    state: report && !down ? report.state : 'Offline',
    ...(owner ? { owner } : {}),
    stateSeq: report?.stateSeq ?? 0,
    ...(report?.lastError ? { lastError: report.lastError } : {}),
    common: r.common,
    parameters: r.parameters,
    dependencies: r.dependencies,
  };
}

function groupView(v: CachedView, g: GroupConfig, now: number): GroupView {
  const resources = v.state.resourcesIn(g.name);
  const states = resources.map((r) => resourceView(v, r).state);
  const owner = v.owners.get(g.name);
  const move = v.moves.get(g.name);
  const moving = move !== undefined && !move.outcome && now < move.deadlineAt;
  return {
    name: g.name,
    state: deriveGroupState(states),
    ...(owner ? { owner: owner.node } : {}),
    epoch: owner?.epoch ?? 0,
    moving,
    ...(move ? { move: moveView(move) } : {}),
    common: g.common,
    resources: resources.map((r) => r.name),
  };
}

function fromDbValue(v: DbRegistryValue): RegistryValue {
  if (v.type === 'qword') {
    const n = Number(v.data);
    if (!Number.isSafeInteger(n)) throw new ClusterError('ERROR_INVALID_DATA', `qword value ${v.data} does not fit a JSON number`);
    return { type: 'qword', data: n };
  }
  return v;
}

/**
 * Turns store changes into cluster events. Group state events are derived from
 * the owner's resource reports. If the store cannot deliver (a compacted
 * revision), the feed says `reconnect` and carries on from now.
 */
class EventFeed implements Subscription {
  private watchers: Watcher[] = [];
  private closed = false;
  /** The process's live configuration view (changes in place as the watch delivers). */
  private state!: ConfigState;
  /** Owner node and epoch (the owner key's revision) by group. */
  private readonly owners = new Map<string, { node: string; epoch: number }>();
  private readonly reports = new Map<string, Map<string, ResourceReport>>();
  private readonly groupStates = new Map<string, string>();
  private members = new Set<string>();

  private constructor(
    private readonly store: Store,
    private readonly config: ClusterConfigStore,
    private readonly filter: EventFilter,
    private readonly onEvent: (event: ClusterEvent) => void,
  ) {}

  static async open(store: Store, config: ClusterConfigStore, filter: EventFilter, onEvent: (e: ClusterEvent) => void): Promise<EventFeed> {
    const feed = new EventFeed(store, config, filter, onEvent);
    await feed.connect();
    return feed;
  }

  close(): void {
    this.closed = true;
    for (const w of this.watchers.splice(0)) void w.cancel();
  }

  private async connect(): Promise<void> {
    const view = await this.config.view();
    await view.informer.sync();
    this.state = view.state;
    const configRevision = this.state.revision;
    const all = await this.store.range(CLUSTER_PREFIX);
    this.owners.clear();
    this.reports.clear();
    this.members = new Set();
    for (const kv of all.kvs) this.absorb(kv.key, kv.value, kv.modRevision, false);
    for (const g of this.state.groups.values()) this.groupStates.set(g.name, this.groupState(g.name));
    const onError = (): void => {
      if (this.closed) return;
      this.close();
      this.closed = false;
      this.emit({ type: 'reconnect', revision: all.revision });
      void this.connect();
    };
    this.watchers.push(
      await this.store.watchPrefix(
        CLUSTER_PREFIX,
        (events, revision) => {
          for (const e of events) this.absorb(e.kv.key, e.type === 'put' ? e.kv.value : undefined, revision, true);
        },
        { fromRevision: all.revision + 1, onError },
      ),
    );
    this.watchers.push(
      await this.config.watch(
        (events, revision) => this.onConfig(events.map((e) => e.path), revision),
        { fromRevision: configRevision + 1, onError },
      ),
    );
  }

  private onConfig(paths: string[], revision: number): void {
    const seen = new Set<string>();
    for (const p of paths) {
      const [top, name] = p.split('\\');
      if (!top || !name || seen.has(p)) continue;
      seen.add(p);
      const object = ({ nodes: 'node', resourcetypes: 'type', groups: 'group', resources: 'resource' } as const)[top.toLowerCase() as 'nodes'];
      this.emit({ type: 'config', object: object ?? 'registry', name, revision });
    }
  }

  private absorb(key: string, value: string | undefined, revision: number, live: boolean): void {
    const rest = key.slice(CLUSTER_PREFIX.length);
    const slash = rest.indexOf('/');
    const kind = rest.slice(0, slash);
    const name = rest.slice(slash + 1);
    if (kind === 'members') {
      if (value === undefined) this.members.delete(name);
      else this.members.add(name);
      if (live) this.emit({ type: 'nodeState', node: name, state: value === undefined ? 'Down' : 'Up', revision });
    } else if (kind === 'paused' && live) {
      this.emit({ type: 'nodeState', node: name, state: value === undefined ? (this.members.has(name) ? 'Up' : 'Down') : 'Paused', revision });
    } else if (kind === 'owners') {
      const owner = value === undefined ? undefined : decodeOwner(value);
      if (owner) this.owners.set(name, { node: owner.node, epoch: revision });
      else this.owners.delete(name);
      if (live) this.groupChanged(name, revision, true);
    } else if (kind === 'moves' && live && value !== undefined) {
      const m = decodeMove(value);
      if (m) this.emit({ type: 'move', move: moveView(m), revision });
    } else if (kind === 'state' && value !== undefined) {
      const [node, resource] = [name.slice(0, name.indexOf('/')), name.slice(name.indexOf('/') + 1)];
      const report = decodeReport(value);
      if (!report || !node) return;
      let m = this.reports.get(node);
      if (!m) this.reports.set(node, (m = new Map()));
      m.set(resource, report);
      if (live) {
        this.emit({ type: 'resourceState', resource, group: report.group, node, state: report.state, stateSeq: revision, revision });
        if (this.owners.get(report.group)?.node === node) this.groupChanged(report.group, revision, false);
      }
    }
  }

  private groupState(group: string): string {
    const owner = this.owners.get(group);
    const names = this.state.resourcesIn(group).map((r) => r.name);
    const states = names.map((n) => (owner ? currentReport(this.reports.get(owner.node)?.get(n), owner.epoch)?.state : undefined) ?? 'Offline');
    return deriveGroupState(states);
  }

  private groupChanged(group: string, revision: number, ownerChanged: boolean): void {
    const state = this.groupState(group);
    if (!ownerChanged && this.groupStates.get(group) === state) return;
    this.groupStates.set(group, state);
    const owner = this.owners.get(group)?.node;
    this.emit({ type: 'groupState', group, state: state as GroupView['state'], ...(owner ? { owner } : {}), revision });
  }

  private emit(e: ClusterEvent): void {
    if (this.closed || !matches(this.filter, e)) return;
    this.onEvent(e);
  }
}

function matches(f: EventFilter, e: ClusterEvent): boolean {
  if (e.type === 'reconnect') return true;
  if (f.types && !f.types.includes(e.type)) return false;
  if (f.group !== undefined) {
    const g = e.type === 'resourceState' || e.type === 'groupState' ? e.group : e.type === 'move' ? e.move.group : e.type === 'config' && e.object === 'group' ? e.name : undefined;
    if (g !== f.group) return false;
  }
  if (f.resource !== undefined) {
    const r = e.type === 'resourceState' ? e.resource : e.type === 'config' && e.object === 'resource' ? e.name : undefined;
    if (r !== f.resource) return false;
  }
  if (f.node !== undefined) {
    const n = e.type === 'resourceState' || e.type === 'nodeState' ? e.node : undefined;
    if (n !== f.node) return false;
  }
  return true;
}
