// A ClusterApi held in memory: the contract's reference double. It validates
// exactly as the API promises (names, properties, dependency expressions, WSFC
// error codes) and walks resources through the RCM's states on an injected
// clock, but runs no resource and keeps nothing on disk. The REST server, the
// HTTP client, the CLI and the declarative configuration are tested and
// benchmarked against it; the real cluster plugs in through the same interface.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { RealClock } from '../clock/real.ts';
import { ClusterError, type ErrorName } from '../model/errors.ts';
import {
  deriveGroupState,
  nameProblem,
  type GroupCommon,
  type GroupState,
  type NodeState,
  type ResourceCommon,
  type ResourceState,
  type ResourceTypeDescriptor,
} from '../model/objects.ts';
import {
  defaultsOf,
  groupCommonProperties,
  resourceCommonProperties,
  validateProperties,
  type PropertyValue,
} from '../model/properties.ts';
import {
  formatDependencies,
  isSatisfied,
  parseDependencies,
  providersOf,
  validateDependencies,
  type DependencyExpr,
} from '../model/dependency.ts';
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
  ResourceView,
  Subscription,
} from './types.ts';

export interface MemoryApiOptions {
  readonly clusterName?: string;
  readonly nodes?: readonly string[];
  readonly types?: readonly ResourceTypeDescriptor[];
  readonly clock?: Clock;
  /** Time each resource state transition takes. */
  readonly stepDelayMs?: number;
  /** Deadline of online, offline, move and reset operations. */
  readonly operationTimeoutMs?: number;
}

export const memoryApiDefaults = {
  nodes: ['node1', 'node2', 'node3'],
  stepDelayMs: 0,
  operationTimeoutMs: 60_000,
} as const;

/** Two simple types, so tests have private properties of each kind to work with. */
export const memoryApiDefaultTypes: readonly ResourceTypeDescriptor[] = [
  {
    name: 'Dummy',
    description: 'Does nothing; comes online at once.',
    privateProperties: [
      { name: 'Label', kind: 'string', default: '', description: 'Free text.' },
      { name: 'Weight', kind: 'dword', default: 1, min: 0, max: 100, description: 'A number to test dword parameters.' },
      { name: 'Tags', kind: 'multiString', default: [], description: 'A list to test multiString parameters.' },
      { name: 'Blob', kind: 'binary', description: 'Bytes to test binary parameters.' },
    ],
    looksAlivePollIntervalMs: 5000,
    isAlivePollIntervalMs: 60_000,
  },
  {
    name: 'Generic Application',
    description: 'Runs a command line.',
    privateProperties: [
      { name: 'CommandLine', kind: 'string', default: '', description: 'The program and its arguments.' },
      { name: 'CurrentDirectory', kind: 'string', default: '', description: 'Working directory.' },
    ],
    looksAlivePollIntervalMs: 5000,
    isAlivePollIntervalMs: 60_000,
  },
];

interface NodeRec {
  id: number;
  state: NodeState;
  draining: boolean;
}
interface GroupRec {
  common: GroupCommon;
  owner: string | undefined;
  epoch: number;
  move: MoveView | undefined;
  /** The last move that ended, for the operation that asked for it. */
  lastMove: MoveView | undefined;
  lastState: GroupState;
}
interface ResourceRec {
  type: string;
  group: string;
  state: ResourceState;
  stateSeq: number;
  common: ResourceCommon;
  parameters: Record<string, PropertyValue>;
  expr: DependencyExpr | undefined;
  target: 'Online' | 'Offline' | undefined;
  lastError: { code: number; name: string; message: string } | undefined;
}
interface OperationRec {
  view: OperationView;
  deadlineAt: number;
  /** Returns undefined while running, or the outcome. */
  check: () => { ok: true } | { ok: false; error: ClusterError } | undefined;
}

const onlinePath: readonly ResourceState[] = ['WaitingToComeOnline', 'OnlineCallIssued', 'OnlinePending', 'Online'];
const offlinePath: readonly ResourceState[] = ['WaitingToGoOffline', 'OfflineCallIssued', 'OfflinePending', 'Offline'];

function fail(name: ErrorName, detail: string): never {
  throw new ClusterError(name, detail);
}

function q(s: string): string {
  return JSON.stringify(s);
}

function clone<T>(v: T): T {
  return structuredClone(v);
}

export class MemoryClusterApi implements ClusterApi {
  private readonly clock: Clock;
  private readonly stepDelayMs: number;
  private readonly operationTimeoutMs: number;
  private readonly types: Map<string, ResourceTypeDescriptor>;
  private readonly nodes = new Map<string, NodeRec>();
  private readonly groups = new Map<string, GroupRec>();
  private readonly resources = new Map<string, ResourceRec>();
  private readonly registry = new Map<string, Map<string, RegistryValue>>([['', new Map()]]);
  private readonly operations = new Map<string, OperationRec>();
  private readonly subscribers = new Set<{ filter: EventFilter; fn: (e: ClusterEvent) => void }>();
  private readonly hanging = new Set<string>();
  private readonly failing = new Set<string>();
  private revision = 1;
  private nextOperation = 1;
  private tickTimer: TimerHandle | undefined;
  readonly clusterName: string;

  constructor(options: MemoryApiOptions = {}) {
    this.clock = options.clock ?? new RealClock();
    this.stepDelayMs = options.stepDelayMs ?? memoryApiDefaults.stepDelayMs;
    this.operationTimeoutMs = options.operationTimeoutMs ?? memoryApiDefaults.operationTimeoutMs;
    this.clusterName = options.clusterName ?? 'memory';
    this.types = new Map((options.types ?? memoryApiDefaultTypes).map((t) => [t.name, t]));
    (options.nodes ?? memoryApiDefaults.nodes).forEach((n, i) => this.nodes.set(n, { id: i + 1, state: 'Up', draining: false }));
  }

  // ---- fault injection and inspection, for tests

  /** The resource's online call never returns: its online stays pending until the operation's deadline. */
  hangOnline(resource: string): void {
    this.hanging.add(resource);
  }
  /** The resource's online call fails: it goes to Failed. */
  failOnline(resource: string): void {
    this.failing.add(resource);
  }
  setNodeState(name: string, state: NodeState): void {
    const n = this.nodeRec(name);
    n.state = state;
    this.emit({ type: 'nodeState', node: name, state, revision: this.bump() });
  }
  /** Emits a state event for a resource without changing anything (for event-stream load tests). */
  touch(resource: string): void {
    const r = this.resourceRec(resource);
    r.stateSeq++;
    this.emit({ type: 'resourceState', resource, group: r.group, node: this.groups.get(r.group)?.owner ?? '', state: r.state, stateSeq: r.stateSeq, revision: this.bump() });
  }
  subscriberCount(): number {
    return this.subscribers.size;
  }

  // ---- cluster and nodes

  async getCluster(): Promise<ClusterView> {
    return { name: this.clusterName, nodes: this.nodes.size, revision: this.revision };
  }
  async listNodes(): Promise<NodeView[]> {
    return [...this.nodes.keys()].map((n) => this.nodeView(n));
  }
  async getNode(name: string): Promise<NodeView> {
    this.nodeRec(name);
    return this.nodeView(name);
  }
  async pauseNode(name: string, options?: { drain?: boolean }): Promise<OperationView | undefined> {
    const n = this.nodeRec(name);
    if (n.state === 'Down') fail('ERROR_CLUSTER_NODE_DOWN', `node ${q(name)} is down`);
    if (n.draining) fail('ERROR_CLUSTER_NODE_DRAIN_IN_PROGRESS', `node ${q(name)} is already draining`);
    if (n.state !== 'Paused') {
      n.state = 'Paused';
      this.emit({ type: 'nodeState', node: name, state: 'Paused', revision: this.bump() });
    }
    if (!options?.drain) return undefined;
    const owned = [...this.groups.entries()].filter(([, g]) => g.owner === name).map(([g]) => g);
    const moves: string[] = [];
    for (const g of owned) {
      if (this.groups.get(g)!.move) continue;
      const to = this.bestNode(g, name);
      if (to === undefined) fail('ERROR_HOST_NODE_NOT_AVAILABLE', `drain of ${q(name)}: no other node can host group ${q(g)}`);
      this.startMove(g, to, false);
      moves.push(g);
    }
    n.draining = moves.length > 0;
    return this.startOperation('drainNode', name, () => {
      const busy = moves.some((g) => this.groups.get(g)?.move !== undefined);
      if (busy) return undefined;
      n.draining = false;
      const stuck = moves.find((g) => this.groups.get(g)?.owner === name);
      return stuck ? { ok: false, error: new ClusterError('ERROR_CLUSTER_NODE_DRAIN_IN_PROGRESS', `drain of ${q(name)}: group ${q(stuck)} did not move`) } : { ok: true };
    });
  }
  async resumeNode(name: string): Promise<void> {
    const n = this.nodeRec(name);
    if (n.state !== 'Paused') fail('ERROR_CLUSTER_NODE_NOT_PAUSED', `node ${q(name)} is not paused (it is ${n.state})`);
    n.state = 'Up';
    n.draining = false;
    this.emit({ type: 'nodeState', node: name, state: 'Up', revision: this.bump() });
  }
  async evictNode(name: string): Promise<void> {
    const n = this.nodeRec(name);
    if (n.state !== 'Down' && this.nodes.size > 1) fail('ERROR_CANT_EVICT_ACTIVE_NODE', `node ${q(name)} is ${n.state}; stop it before evicting it`);
    this.nodes.delete(name);
    for (const g of this.groups.values()) if (g.owner === name) g.owner = undefined;
    this.emit({ type: 'config', object: 'node', name, revision: this.bump() });
  }

  async listResourceTypes(): Promise<ResourceTypeDescriptor[]> {
    return clone([...this.types.values()]);
  }

  // ---- groups

  async listGroups(): Promise<GroupView[]> {
    return [...this.groups.keys()].map((g) => this.groupView(g));
  }
  async getGroup(name: string): Promise<GroupView> {
    this.groupRec(name);
    return this.groupView(name);
  }
  async createGroup(name: string, common?: Partial<GroupCommon>, options?: { resources?: readonly NewResourceSpec[] }): Promise<GroupView> {
    if (options?.resources) {
      // Not atomic here: a stand-in for the real service's one change.
      const view = await this.createGroup(name, common);
      for (const r of options.resources) await this.createResource(r.name, r.type, name, r);
      return view;
    }
    this.checkName('group', name);
    if (this.groups.has(name)) fail('ERROR_OBJECT_ALREADY_EXISTS', `group ${q(name)} already exists`);
    const merged = { ...(clone(defaultsOf(groupCommonProperties)) as unknown as GroupCommon), ...this.checkGroupCommon(`group ${q(name)}`, common ?? {}) };
    this.groups.set(name, { common: merged, owner: undefined, epoch: 0, move: undefined, lastMove: undefined, lastState: 'Offline' });
    this.emit({ type: 'config', object: 'group', name, revision: this.bump() });
    return this.groupView(name);
  }
  async deleteGroup(name: string): Promise<void> {
    const g = this.groupRec(name);
    const members = this.membersOf(name);
    if (members.length > 0) fail('ERROR_INVALID_STATE', `group ${q(name)} still contains resources (${members.join(', ')}); delete or move them first`);
    if (g.move) fail('ERROR_CLUSTER_GROUP_MOVING', `group ${q(name)} is moving`);
    this.groups.delete(name);
    this.emit({ type: 'config', object: 'group', name, revision: this.bump() });
  }
  async renameGroup(name: string, newName: string): Promise<void> {
    const g = this.groupRec(name);
    this.checkName('group', newName);
    if (newName === name) return;
    if (this.groups.has(newName)) fail('ERROR_OBJECT_ALREADY_EXISTS', `group ${q(newName)} already exists`);
    this.groups.delete(name);
    this.groups.set(newName, g);
    for (const r of this.resources.values()) if (r.group === name) r.group = newName;
    if (g.move) g.move = { ...g.move, group: newName };
    this.emit({ type: 'config', object: 'group', name: newName, revision: this.bump() });
  }
  async setGroupProperties(name: string, common: Partial<GroupCommon>): Promise<GroupView> {
    const g = this.groupRec(name);
    g.common = { ...g.common, ...this.checkGroupCommon(`group ${q(name)}`, common) };
    this.emit({ type: 'config', object: 'group', name, revision: this.bump() });
    return this.groupView(name);
  }
  async onlineGroup(name: string): Promise<OperationView> {
    const g = this.groupRec(name);
    this.refuseWhileMoving(name, g);
    if (g.owner === undefined || this.nodes.get(g.owner)?.state !== 'Up') {
      const to = this.bestNode(name, undefined);
      if (to === undefined) fail('ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST', `no node can host group ${q(name)}`);
      this.setOwner(name, to);
    }
    const members = this.membersOf(name);
    for (const r of members) this.resourceRec(r).target = 'Online';
    this.scheduleTick();
    return this.startOperation('onlineGroup', name, () => this.outcomeOf(members, 'Online'));
  }
  async offlineGroup(name: string): Promise<OperationView> {
    const g = this.groupRec(name);
    this.refuseWhileMoving(name, g);
    const members = this.membersOf(name);
    for (const r of members) this.resourceRec(r).target = 'Offline';
    this.scheduleTick();
    return this.startOperation('offlineGroup', name, () => this.outcomeOf(members, 'Offline'));
  }
  async moveGroup(name: string, options?: MoveOptions): Promise<OperationView> {
    const g = this.groupRec(name);
    this.refuseWhileMoving(name, g);
    let to = options?.to;
    if (to !== undefined) {
      const n = this.nodeRec(to);
      if (n.state !== 'Up') fail('ERROR_HOST_NODE_NOT_AVAILABLE', `node ${q(to)} is ${n.state} and cannot take group ${q(name)}`);
      const refusing = this.membersOf(name).find((r) => !this.canHost(r, to!));
      if (refusing) fail('ERROR_HOST_NODE_NOT_RESOURCE_OWNER', `node ${q(to)} is not a possible owner of resource ${q(refusing)}`);
    } else {
      to = this.bestNode(name, g.owner);
      if (to === undefined) fail('ERROR_HOST_NODE_NOT_AVAILABLE', `no other node can host group ${q(name)}`);
    }
    if (to === g.owner) return this.startOperation('moveGroup', name, () => ({ ok: true }));
    const moveId = this.startMove(name, to, options?.returnToSourceOnError ?? false);
    return this.startOperation('moveGroup', name, () => {
      const grp = [...this.groups.values()].find((x) => x.move?.moveId === moveId || x.lastMove?.moveId === moveId);
      if (!grp) return { ok: false, error: new ClusterError('ERROR_GROUP_NOT_FOUND', `group ${q(name)} was deleted`) };
      if (grp.move?.moveId === moveId) return undefined;
      const ended = grp.lastMove!;
      if (ended.outcome === 'completed') return { ok: true };
      const e = ended.error;
      const err = new ClusterError((e?.name as ErrorName | undefined) ?? 'ERROR_RESOURCE_FAILED');
      if (e) err.message = e.message;
      return { ok: false, error: err };
    });
  }

  // ---- resources

  async listResources(filter?: { group?: string }): Promise<ResourceView[]> {
    if (filter?.group !== undefined) this.groupRec(filter.group);
    return [...this.resources.keys()].filter((r) => filter?.group === undefined || this.resources.get(r)!.group === filter.group).map((r) => this.resourceView(r));
  }
  async getResource(name: string): Promise<ResourceView> {
    this.resourceRec(name);
    return this.resourceView(name);
  }
  async createResource(
    name: string,
    type: string,
    group: string,
    options?: { common?: Partial<ResourceCommon>; parameters?: Record<string, PropertyValue>; dependencies?: string },
  ): Promise<ResourceView> {
    this.checkName('resource', name);
    if (this.resources.has(name)) fail('ERROR_OBJECT_ALREADY_EXISTS', `resource ${q(name)} already exists`);
    const t = this.types.get(type);
    if (!t) fail('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `resource type ${q(type)} not found (known: ${[...this.types.keys()].join(', ')})`);
    this.groupRec(group);
    const common = { ...(clone(defaultsOf(resourceCommonProperties)) as unknown as ResourceCommon), ...this.checkResourceCommon(`resource ${q(name)}`, options?.common ?? {}) };
    const parameters = { ...clone(defaultsOf(t.privateProperties)), ...this.checkParameters(name, t, options?.parameters ?? {}) };
    const rec: ResourceRec = { type, group, state: 'Offline', stateSeq: 1, common, parameters, expr: undefined, target: undefined, lastError: undefined };
    const expr = options?.dependencies ? this.parseExpr(options.dependencies) : undefined;
    this.resources.set(name, rec);
    if (expr) {
      const err = this.dependencyProblem(name, expr);
      if (err) {
        this.resources.delete(name);
        throw err;
      }
      rec.expr = expr;
    }
    this.emit({ type: 'config', object: 'resource', name, revision: this.bump() });
    return this.resourceView(name);
  }
  async deleteResource(name: string): Promise<void> {
    const r = this.resourceRec(name);
    if (r.state !== 'Offline' && r.state !== 'Failed' && r.state !== 'OpenCallFailed') fail('ERROR_RESOURCE_ONLINE', `resource ${q(name)} is ${r.state}; take it offline before deleting it`);
    const dependents = this.dependentsOf(name);
    if (dependents.length > 0) fail('ERROR_DEPENDENT_RESOURCE_EXISTS', `resources ${dependents.map(q).join(', ')} depend on ${q(name)}; remove those dependencies first`);
    this.resources.delete(name);
    this.emit({ type: 'config', object: 'resource', name, revision: this.bump() });
  }
  async renameResource(name: string, newName: string): Promise<void> {
    const r = this.resourceRec(name);
    this.checkName('resource', newName);
    if (newName === name) return;
    if (this.resources.has(newName)) fail('ERROR_OBJECT_ALREADY_EXISTS', `resource ${q(newName)} already exists`);
    // Keep insertion order: rebuild the map with the new key in the old place.
    const entries = [...this.resources.entries()].map(([k, v]): [string, ResourceRec] => [k === name ? newName : k, v]);
    this.resources.clear();
    for (const [k, v] of entries) this.resources.set(k, v);
    for (const other of this.resources.values()) other.expr = renameIn(other.expr, name, newName);
    this.hanging.delete(name);
    void r;
    this.emit({ type: 'config', object: 'resource', name: newName, revision: this.bump() });
  }
  async changeResourceGroup(name: string, group: string): Promise<void> {
    const r = this.resourceRec(name);
    const target = this.groupRec(group);
    if (r.group === group) return;
    if (r.expr || this.dependentsOf(name).length > 0) {
      fail('ERROR_DEPENDENT_RESOURCE_EXISTS', `resource ${q(name)} has dependencies or dependents; remove them before moving it to group ${q(group)}`);
    }
    const from = this.groups.get(r.group)!;
    if (from.move || target.move) fail('ERROR_CLUSTER_GROUP_MOVING', `a group involved is moving`);
    if (r.state !== 'Offline' && r.state !== 'Failed' && from.owner !== target.owner) {
      fail('ERROR_INVALID_STATE', `resource ${q(name)} is ${r.state} and group ${q(group)} is owned by another node; take it offline first`);
    }
    r.group = group;
    this.emit({ type: 'config', object: 'resource', name, revision: this.bump() });
  }
  async setResourceProperties(name: string, common: Partial<ResourceCommon>): Promise<ResourceView> {
    const r = this.resourceRec(name);
    r.common = { ...r.common, ...this.checkResourceCommon(`resource ${q(name)}`, common) };
    this.emit({ type: 'config', object: 'resource', name, revision: this.bump() });
    return this.resourceView(name);
  }
  async setResourceParameters(name: string, parameters: Record<string, PropertyValue>): Promise<ResourceView> {
    const r = this.resourceRec(name);
    r.parameters = { ...r.parameters, ...this.checkParameters(name, this.types.get(r.type)!, parameters) };
    this.emit({ type: 'config', object: 'resource', name, revision: this.bump() });
    return this.resourceView(name);
  }
  async setDependencies(name: string, expression: string): Promise<ResourceView> {
    this.resourceRec(name);
    return this.replaceDependencies(name, this.parseExpr(expression));
  }
  async addDependency(name: string, provider: string): Promise<ResourceView> {
    const r = this.resourceRec(name);
    if (providersOf(r.expr).includes(provider)) fail('ERROR_DEPENDENCY_ALREADY_EXISTS', `resource ${q(name)} already depends on ${q(provider)}`);
    const leaf: DependencyExpr = { kind: 'resource', name: provider };
    const expr: DependencyExpr = !r.expr ? leaf : r.expr.kind === 'and' ? { kind: 'and', items: [...r.expr.items, leaf] } : { kind: 'and', items: [r.expr, leaf] };
    return this.replaceDependencies(name, expr);
  }
  async removeDependency(name: string, provider: string): Promise<ResourceView> {
    const r = this.resourceRec(name);
    if (!providersOf(r.expr).includes(provider)) fail('ERROR_DEPENDENCY_NOT_FOUND', `resource ${q(name)} does not depend on ${q(provider)}`);
    return this.replaceDependencies(name, removeFrom(r.expr, provider));
  }
  async addPossibleOwner(name: string, node: string): Promise<ResourceView> {
    const r = this.resourceRec(name);
    this.nodeRec(node);
    if (r.common.PossibleOwners.includes(node)) fail('ERROR_OBJECT_IN_LIST', `node ${q(node)} is already a possible owner of ${q(name)}`);
    return this.setResourceProperties(name, { PossibleOwners: [...r.common.PossibleOwners, node] });
  }
  async removePossibleOwner(name: string, node: string): Promise<ResourceView> {
    const r = this.resourceRec(name);
    if (!r.common.PossibleOwners.includes(node)) fail('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${q(node)} is not a possible owner of ${q(name)}`);
    return this.setResourceProperties(name, { PossibleOwners: r.common.PossibleOwners.filter((n) => n !== node) });
  }
  async onlineResource(name: string): Promise<OperationView> {
    const r = this.resourceRec(name);
    const g = this.groups.get(r.group)!;
    this.refuseWhileMoving(r.group, g);
    if (g.owner === undefined) {
      const to = this.bestNode(r.group, undefined);
      if (to === undefined) fail('ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST', `no node can host group ${q(r.group)}`);
      this.setOwner(r.group, to);
    }
    const bring = (n: string): void => {
      const rr = this.resources.get(n);
      if (!rr || rr.target === 'Online') return;
      rr.target = 'Online';
      providersOf(rr.expr).forEach(bring);
    };
    bring(name);
    this.scheduleTick();
    return this.startOperation('onlineResource', name, () => this.outcomeOf([name], 'Online'));
  }
  async offlineResource(name: string): Promise<OperationView> {
    const r = this.resourceRec(name);
    this.refuseWhileMoving(r.group, this.groups.get(r.group)!);
    const take = (n: string): void => {
      const rr = this.resources.get(n);
      if (!rr || rr.target === 'Offline') return;
      rr.target = 'Offline';
      this.dependentsOf(n).forEach(take);
    };
    take(name);
    this.scheduleTick();
    return this.startOperation('offlineResource', name, () => this.outcomeOf([name], 'Offline'));
  }
  async failResource(name: string): Promise<OperationView> {
    const r = this.resourceRec(name);
    if (r.state !== 'Online' && r.state !== 'OnlinePending') fail('ERROR_RESMON_INVALID_STATE', `resource ${q(name)} is ${r.state}; only an online resource can be failed`);
    r.target = undefined;
    r.lastError = new ClusterError('ERROR_RESOURCE_FAILED', `resource ${q(name)} was failed on request`).toJSON();
    this.transition(name, 'Failed');
    return this.startOperation('failResource', name, () => ({ ok: true }));
  }
  async resetResource(name: string): Promise<OperationView> {
    const r = this.resourceRec(name);
    this.refuseWhileMoving(r.group, this.groups.get(r.group)!);
    this.hanging.delete(name);
    this.failing.delete(name);
    r.lastError = undefined;
    this.transition(name, 'OpenCallIssued');
    this.transition(name, 'Offline');
    const wantOnline = r.common.PersistentState === 1 && this.groups.get(r.group)!.owner !== undefined;
    r.target = wantOnline ? 'Online' : undefined;
    this.scheduleTick();
    return this.startOperation('resetResource', name, () => this.outcomeOf([name], wantOnline ? 'Online' : 'Offline'));
  }

  async getOperation(id: string): Promise<OperationView> {
    const op = this.operations.get(id);
    if (!op) fail('ERROR_INVALID_HANDLE', `operation ${q(id)} not found`);
    this.settle(op);
    return clone(op.view);
  }

  // ---- cluster database

  async registryEnumKeys(path: string): Promise<string[]> {
    const key = this.keyPath(path);
    this.keyValues(key);
    const prefix = key === '' ? '' : `${key}\\`;
    const out = new Set<string>();
    for (const k of this.registry.keys()) if (k !== key && k.startsWith(prefix)) out.add(k.slice(prefix.length).split('\\')[0]!);
    return [...out].sort();
  }
  async registryCreateKey(path: string): Promise<void> {
    const key = this.keyPath(path);
    const parts = key.split('\\');
    for (let i = 1; i <= parts.length; i++) {
      const k = parts.slice(0, i).join('\\');
      if (!this.registry.has(k)) this.registry.set(k, new Map());
    }
    this.emit({ type: 'config', object: 'registry', name: key, revision: this.bump() });
  }
  async registryDeleteKey(path: string): Promise<void> {
    const key = this.keyPath(path);
    if (key === '') fail('ERROR_CLUSTER_REGISTRY_INVALID_FUNCTION', 'the root key cannot be deleted');
    this.keyValues(key);
    for (const k of [...this.registry.keys()]) if (k === key || k.startsWith(`${key}\\`)) this.registry.delete(k);
    this.emit({ type: 'config', object: 'registry', name: key, revision: this.bump() });
  }
  async registryEnumValues(path: string): Promise<Array<{ name: string; value: RegistryValue }>> {
    return [...this.keyValues(this.keyPath(path)).entries()].map(([name, value]) => ({ name, value: clone(value) }));
  }
  async registryGetValue(path: string, name: string): Promise<RegistryValue> {
    const key = this.keyPath(path);
    const v = this.keyValues(key).get(name);
    if (!v) fail('ERROR_FILE_NOT_FOUND', `value ${q(name)} not found in key ${q(key)}`);
    return clone(v);
  }
  async registrySetValue(path: string, name: string, value: RegistryValue): Promise<void> {
    const key = this.keyPath(path);
    this.keyValues(key).set(name, clone(value));
    this.emit({ type: 'config', object: 'registry', name: key, revision: this.bump() });
  }
  async registryDeleteValue(path: string, name: string): Promise<void> {
    const key = this.keyPath(path);
    if (!this.keyValues(key).delete(name)) fail('ERROR_FILE_NOT_FOUND', `value ${q(name)} not found in key ${q(key)}`);
    this.emit({ type: 'config', object: 'registry', name: key, revision: this.bump() });
  }

  async subscribe(filter: EventFilter, onEvent: (event: ClusterEvent) => void): Promise<Subscription> {
    if (filter.group !== undefined) this.groupRec(filter.group);
    if (filter.resource !== undefined) this.resourceRec(filter.resource);
    if (filter.node !== undefined) this.nodeRec(filter.node);
    const sub = { filter, fn: onEvent };
    this.subscribers.add(sub);
    return { close: () => void this.subscribers.delete(sub) };
  }

  // ---- internals: lookups and validation

  private nodeRec(name: string): NodeRec {
    return this.nodes.get(name) ?? fail('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${q(name)} not found`);
  }
  private groupRec(name: string): GroupRec {
    return this.groups.get(name) ?? fail('ERROR_GROUP_NOT_FOUND', `group ${q(name)} not found`);
  }
  private resourceRec(name: string): ResourceRec {
    return this.resources.get(name) ?? fail('ERROR_RESOURCE_NOT_FOUND', `resource ${q(name)} not found`);
  }
  private checkName(kind: string, name: string): void {
    const problem = nameProblem(kind, name);
    if (problem) fail('ERROR_INVALID_NAME', problem);
  }
  private checkNodes(owner: string, property: string, list: unknown): void {
    if (!Array.isArray(list)) return;
    for (const n of list) if (!this.nodes.has(n as string)) fail('ERROR_CLUSTER_NODE_NOT_FOUND', `${owner}: ${property} names ${q(String(n))}, which is not a node`);
  }
  private checkGroupCommon(owner: string, common: Record<string, unknown>): Partial<GroupCommon> {
    const err = validateProperties(owner, groupCommonProperties, common);
    if (err) fail(err.name, err.message);
    this.checkNodes(owner, 'PreferredOwners', common.PreferredOwners);
    return clone(common) as Partial<GroupCommon>;
  }
  private checkResourceCommon(owner: string, common: Record<string, unknown>): Partial<ResourceCommon> {
    const err = validateProperties(owner, resourceCommonProperties, common);
    if (err) fail(err.name, err.message);
    this.checkNodes(owner, 'PossibleOwners', common.PossibleOwners);
    return clone(common) as Partial<ResourceCommon>;
  }
  private checkParameters(resource: string, type: ResourceTypeDescriptor, parameters: Record<string, unknown>): Record<string, PropertyValue> {
    const err = validateProperties(`resource ${q(resource)} (type ${q(type.name)})`, type.privateProperties, parameters);
    if (err) fail(err.name, err.message);
    return clone(parameters) as Record<string, PropertyValue>;
  }
  private parseExpr(text: string): DependencyExpr | undefined {
    const parsed = parseDependencies(text);
    if (parsed && 'code' in parsed) fail(parsed.name, parsed.message);
    return parsed;
  }
  private dependencyProblem(name: string, expr: DependencyExpr | undefined): ClusterError | undefined {
    const err = validateDependencies(
      name,
      expr,
      (n) => this.resources.get(n)?.group,
      (n) => providersOf(this.resources.get(n)?.expr),
    );
    return err ? new ClusterError(err.name, err.message.replace(/ \([^()]*\)$/, '')) : undefined;
  }
  private replaceDependencies(name: string, expr: DependencyExpr | undefined): ResourceView {
    const r = this.resourceRec(name);
    const err = this.dependencyProblem(name, expr);
    if (err) throw err;
    if (r.state === 'Online') {
      const added = providersOf(expr).filter((p) => !providersOf(r.expr).includes(p));
      const offline = added.find((p) => this.resources.get(p)?.state !== 'Online');
      if (offline) fail('ERROR_RESOURCE_ONLINE', `resource ${q(name)} is online and its new provider ${q(offline)} is not; bring ${q(offline)} online first`);
    }
    r.expr = expr;
    this.emit({ type: 'config', object: 'resource', name, revision: this.bump() });
    return this.resourceView(name);
  }
  private keyPath(path: string): string {
    const key = path.replace(/^\\+|\\+$/g, '');
    if (key.split('\\').some((part, _i, all) => part === '' && all.length > 1)) fail('ERROR_INVALID_NAME', `key path ${q(path)} has an empty key name`);
    return key;
  }
  private keyValues(key: string): Map<string, RegistryValue> {
    return this.registry.get(key) ?? fail('ERROR_FILE_NOT_FOUND', `key ${q(key)} not found`);
  }
  private membersOf(group: string): string[] {
    return [...this.resources.entries()].filter(([, r]) => r.group === group).map(([n]) => n);
  }
  private dependentsOf(name: string): string[] {
    return [...this.resources.entries()].filter(([, r]) => providersOf(r.expr).includes(name)).map(([n]) => n);
  }
  private refuseWhileMoving(name: string, g: GroupRec): void {
    if (g.move) fail('ERROR_CLUSTER_GROUP_MOVING', `group ${q(name)} is moving from ${q(g.move.from)} to ${q(g.move.to)} (deadline in ${Math.max(0, g.move.deadlineAt - this.clock.now())} ms)`);
  }
  private canHost(resource: string, node: string): boolean {
    const owners = this.resources.get(resource)!.common.PossibleOwners;
    return owners.length === 0 || owners.includes(node);
  }
  /** Preferred owners in order, then the other nodes by id; possible owners are a hard limit. */
  private bestNode(group: string, exclude: string | undefined): string | undefined {
    const g = this.groups.get(group)!;
    const order = [...g.common.PreferredOwners, ...[...this.nodes.keys()].filter((n) => !g.common.PreferredOwners.includes(n))];
    const members = this.membersOf(group);
    return order.find((n) => n !== exclude && this.nodes.get(n)?.state === 'Up' && members.every((r) => this.canHost(r, n)));
  }
  private setOwner(group: string, node: string | undefined): void {
    const g = this.groups.get(group)!;
    g.owner = node;
    g.epoch++;
    this.emitGroupState(group, true);
  }

  // ---- internals: views and events

  private nodeView(name: string): NodeView {
    const n = this.nodes.get(name)!;
    return { name, id: n.id, state: n.state, draining: n.draining };
  }
  private groupState(name: string): GroupState {
    return deriveGroupState(this.membersOf(name).map((r) => this.resources.get(r)!.state));
  }
  private groupView(name: string): GroupView {
    const g = this.groups.get(name)!;
    return clone({
      name,
      state: this.groupState(name),
      ...(g.owner !== undefined ? { owner: g.owner } : {}),
      epoch: g.epoch,
      moving: g.move !== undefined,
      ...(g.move ? { move: g.move } : {}),
      common: g.common,
      resources: this.membersOf(name),
    });
  }
  private resourceView(name: string): ResourceView {
    const r = this.resources.get(name)!;
    const owner = this.groups.get(r.group)?.owner;
    return clone({
      name,
      type: r.type,
      group: r.group,
      state: r.state,
      ...(owner !== undefined ? { owner } : {}),
      stateSeq: r.stateSeq,
      ...(r.lastError ? { lastError: r.lastError } : {}),
      common: r.common,
      parameters: r.parameters,
      dependencies: formatDependencies(r.expr),
    });
  }
  private bump(): number {
    return ++this.revision;
  }
  private emit(event: ClusterEvent): void {
    for (const s of [...this.subscribers]) {
      if (matches(s.filter, event, (r) => this.resources.get(r)?.group)) s.fn(event);
    }
  }
  private emitGroupState(group: string, force = false): void {
    const g = this.groups.get(group);
    if (!g) return;
    const state = this.groupState(group);
    if (!force && state === g.lastState) return;
    g.lastState = state;
    this.emit({ type: 'groupState', group, state, ...(g.owner !== undefined ? { owner: g.owner } : {}), revision: this.bump() });
  }
  private transition(name: string, state: ResourceState): void {
    const r = this.resources.get(name)!;
    if (r.state === state) return;
    r.state = state;
    r.stateSeq++;
    this.emit({ type: 'resourceState', resource: name, group: r.group, node: this.groups.get(r.group)?.owner ?? '', state, stateSeq: r.stateSeq, revision: this.bump() });
    this.emitGroupState(r.group);
  }

  // ---- internals: driving states, moves and operations

  private startOperation(kind: OperationView['kind'], target: string, check: OperationRec['check']): OperationView {
    const id = `op-${this.nextOperation++}`;
    const rec: OperationRec = { view: { id, kind, target, done: false }, deadlineAt: this.clock.now() + this.operationTimeoutMs, check };
    this.operations.set(id, rec);
    this.settle(rec);
    this.scheduleTick();
    return clone(rec.view);
  }
  private settle(op: OperationRec): void {
    if (op.view.done) return;
    const groupName = op.view.kind === 'moveGroup' ? op.view.target : undefined;
    const move = groupName !== undefined ? this.groups.get(groupName)?.move : undefined;
    const outcome = op.check();
    if (outcome) {
      const lastMove = op.view.move;
      op.view = { ...op.view, done: true, ok: outcome.ok, ...(outcome.ok ? {} : { error: outcome.error.toJSON() }), ...(lastMove ? { move: lastMove } : {}) };
      if (op.view.kind === 'moveGroup' && lastMove && lastMove.phase !== 'ended') {
        op.view = { ...op.view, move: { ...lastMove, phase: 'ended', outcome: outcome.ok ? 'completed' : 'failed' } };
      }
      return;
    }
    if (move) op.view = { ...op.view, move };
    if (this.clock.now() >= op.deadlineAt) {
      const error = new ClusterError('ERROR_TIMEOUT', `${op.view.kind} of ${q(op.view.target)} did not end within ${this.operationTimeoutMs} ms`);
      op.view = { ...op.view, done: true, ok: false, error: error.toJSON() };
    }
  }
  private outcomeOf(members: readonly string[], want: 'Online' | 'Offline'): { ok: true } | { ok: false; error: ClusterError } | undefined {
    for (const m of members) {
      const r = this.resources.get(m);
      if (!r) return { ok: false, error: new ClusterError('ERROR_RESOURCE_NOT_FOUND', `resource ${q(m)} was deleted`) };
      if (r.state === 'Failed' && want === 'Online') return { ok: false, error: new ClusterError('ERROR_RESOURCE_FAILED', `resource ${q(m)} failed to come online`) };
    }
    return members.every((m) => this.resources.get(m)!.state === want || (want === 'Offline' && this.resources.get(m)!.state === 'Failed')) ? { ok: true } : undefined;
  }
  private startMove(group: string, to: string, returnToSourceOnError: boolean): string {
    const g = this.groups.get(group)!;
    const from = g.owner ?? '';
    const now = this.clock.now();
    g.move = { moveId: `move-${this.nextOperation++}`, group, from, to, phase: 'offline-on-source', startedAt: now, deadlineAt: now + this.operationTimeoutMs };
    void returnToSourceOnError;
    for (const m of this.membersOf(group)) this.resourceRec(m).target = 'Offline';
    this.emit({ type: 'move', move: clone(g.move), revision: this.bump() });
    this.scheduleTick();
    return g.move.moveId;
  }
  private setMove(group: string, patch: Partial<MoveView>): void {
    const g = this.groups.get(group)!;
    g.move = { ...g.move!, ...patch };
    const snapshot = clone(g.move);
    if (snapshot.phase === 'ended') {
      g.move = undefined;
      g.lastMove = snapshot;
    }
    this.emit({ type: 'move', move: snapshot, revision: this.bump() });
  }
  private advanceMove(group: string): void {
    const g = this.groups.get(group)!;
    const move = g.move!;
    const members = this.membersOf(group);
    const now = this.clock.now();
    if (now >= move.deadlineAt) {
      for (const m of members) this.resources.get(m)!.target = undefined;
      this.setMove(group, {
        phase: 'ended',
        outcome: 'failed',
        error: new ClusterError('ERROR_TIMEOUT', `move of group ${q(group)} to ${q(move.to)} did not end by its deadline (phase ${move.phase})`).toJSON(),
      });
      return;
    }
    if (move.phase === 'offline-on-source' && members.every((m) => ['Offline', 'Failed'].includes(this.resources.get(m)!.state))) {
      this.setMove(group, { phase: 'transfer' });
      this.setOwner(group, move.to);
      this.setMove(group, { phase: 'online-on-target' });
      for (const m of members) {
        const r = this.resources.get(m)!;
        r.target = r.common.PersistentState === 1 ? 'Online' : undefined;
      }
      // A dependent coming online brings its providers, whatever their persistent state.
      for (const m of members) if (this.resources.get(m)!.target === 'Online') this.bringProviders(m);
      return;
    }
    if (move.phase === 'online-on-target') {
      const wanted = members.filter((m) => this.resources.get(m)!.target === 'Online');
      const failed = wanted.find((m) => this.resources.get(m)!.state === 'Failed');
      if (failed) {
        this.setMove(group, { phase: 'ended', outcome: 'failed', error: { ...new ClusterError('ERROR_RESOURCE_FAILED', `resource ${q(failed)} failed on ${q(move.to)}`).toJSON(), resource: failed } });
        return;
      }
      if (wanted.every((m) => this.resources.get(m)!.state === 'Online')) this.setMove(group, { phase: 'ended', outcome: 'completed' });
    }
  }
  private bringProviders(name: string): void {
    for (const p of providersOf(this.resources.get(name)?.expr)) {
      const rr = this.resources.get(p);
      if (rr && rr.target !== 'Online') {
        rr.target = 'Online';
        this.bringProviders(p);
      }
    }
  }
  private stepResource(name: string): boolean {
    const r = this.resources.get(name)!;
    if (!r.target) return false;
    const i = (path: readonly ResourceState[]): number => path.indexOf(r.state);
    if (r.target === 'Online') {
      if (r.state === 'Online') return (r.target = undefined), false;
      if (r.state === 'OpenCallFailed' || r.state === 'Initializing' || r.state === 'OpenCallIssued') return this.transition(name, 'Offline'), true;
      if (i(onlinePath) < 0) return this.transition(name, 'WaitingToComeOnline'), true;
      if (r.state === 'WaitingToComeOnline' && !isSatisfied(r.expr, (p) => this.resources.get(p)?.state === 'Online')) return false;
      if (r.state === 'OnlinePending' && this.hanging.has(name)) return false;
      if (r.state === 'OnlinePending' && this.failing.has(name)) {
        r.target = undefined;
        r.lastError = new ClusterError('ERROR_RESOURCE_FAILED', `resource ${q(name)}: online failed`).toJSON();
        return this.transition(name, 'Failed'), true;
      }
      this.transition(name, onlinePath[i(onlinePath) + 1]!);
      return true;
    }
    if (r.state === 'Offline') return (r.target = undefined), false;
    if (r.state === 'Failed' || r.state === 'OpenCallFailed') return this.transition(name, 'Offline'), true;
    if (i(offlinePath) < 0) return this.transition(name, 'WaitingToGoOffline'), true;
    if (r.state === 'WaitingToGoOffline' && this.dependentsOf(name).some((d) => !['Offline', 'Failed'].includes(this.resources.get(d)!.state))) return false;
    this.transition(name, offlinePath[i(offlinePath) + 1]!);
    return true;
  }
  private tick(): void {
    this.tickTimer = undefined;
    let progressed = false;
    for (const name of [...this.resources.keys()]) if (this.stepResource(name)) progressed = true;
    for (const [g, rec] of this.groups) if (rec.move) this.advanceMove(g);
    for (const op of this.operations.values()) this.settle(op);
    if (progressed) return this.scheduleTick();
    // Nothing can move now: wake up at the next deadline, which ends whatever still waits.
    const deadlines = [
      ...[...this.groups.values()].flatMap((g) => (g.move ? [g.move.deadlineAt] : [])),
      ...[...this.operations.values()].filter((o) => !o.view.done).map((o) => o.deadlineAt),
    ];
    if (deadlines.length > 0) this.scheduleTick(Math.max(1, Math.min(...deadlines) - this.clock.now()));
  }
  private scheduleTick(delayMs = this.stepDelayMs): void {
    if (this.tickTimer) return;
    this.tickTimer = this.clock.setTimer(delayMs, () => this.tick());
  }
  /** Stops the internal timer (for tests that end while operations still run). */
  dispose(): void {
    if (this.tickTimer) this.clock.clearTimer(this.tickTimer);
    this.tickTimer = undefined;
    this.subscribers.clear();
  }
}

function matches(filter: EventFilter, e: ClusterEvent, groupOfResource: (r: string) => string | undefined): boolean {
  if (filter.types && !filter.types.includes(e.type)) return false;
  if (e.type === 'reconnect') return true;
  if (filter.group !== undefined) {
    const g =
      e.type === 'resourceState' || e.type === 'groupState' ? e.group : e.type === 'move' ? e.move.group : e.type === 'config' && e.object === 'group' ? e.name : e.type === 'config' && e.object === 'resource' ? groupOfResource(e.name) : undefined;
    if (g !== filter.group) return false;
  }
  if (filter.resource !== undefined) {
    const r = e.type === 'resourceState' ? e.resource : e.type === 'config' && e.object === 'resource' ? e.name : undefined;
    if (r !== filter.resource) return false;
  }
  if (filter.node !== undefined) {
    const n = e.type === 'nodeState' ? e.node : e.type === 'resourceState' ? e.node : e.type === 'groupState' ? e.owner : e.type === 'move' ? (e.move.from === filter.node ? e.move.from : e.move.to) : undefined;
    if (n !== filter.node) return false;
  }
  return true;
}

function renameIn(expr: DependencyExpr | undefined, from: string, to: string): DependencyExpr | undefined {
  if (!expr) return expr;
  if (expr.kind === 'resource') return expr.name === from ? { kind: 'resource', name: to } : expr;
  return { kind: expr.kind, items: expr.items.map((i) => renameIn(i, from, to)!) };
}

function removeFrom(expr: DependencyExpr | undefined, name: string): DependencyExpr | undefined {
  if (!expr) return undefined;
  if (expr.kind === 'resource') return expr.name === name ? undefined : expr;
  const items = expr.items.map((i) => removeFrom(i, name)).filter((i): i is DependencyExpr => i !== undefined);
  if (items.length === 0) return undefined;
  if (items.length === 1) return items[0];
  return { kind: expr.kind, items };
}

export function createMemoryApi(options: MemoryApiOptions = {}): MemoryClusterApi {
  return new MemoryClusterApi(options);
}
