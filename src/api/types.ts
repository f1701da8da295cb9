// The cluster API: one typed interface used by everything (CLI, console,
// tests), with an in-process transport and an HTTP transport. It covers the
// MS-CMRP operations a WSFC administrator uses. Every failure rejects with a
// ClusterError ({ code, name, message }) carrying the WSFC code.
import type { GroupCommon, GroupState, NodeState, ResourceCommon, ResourceState, ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';

export interface ClusterView {
  readonly name: string;
  readonly nodes: number;
  readonly groups: number;
  readonly resources: number;
  /** The store revision the view was read at. */
  readonly revision: number;
}

export interface NodeView {
  readonly name: string;
  readonly id: number;
  readonly state: NodeState;
  /** Set while a drain (pause --drain) is moving groups away. */
  readonly draining: boolean;
}

export type MovePhase = 'offline-on-source' | 'transfer' | 'online-on-target' | 'ended';
export type MoveOutcome = 'completed' | 'failed' | 'returned';

export interface MoveView {
  readonly moveId: string;
  readonly group: string;
  readonly from: string;
  readonly to: string;
  readonly phase: MovePhase;
  readonly startedAt: number;
  readonly deadlineAt: number;
  readonly outcome?: MoveOutcome;
  readonly error?: { code: number; name: string; message: string; resource?: string };
}

export interface GroupView {
  readonly name: string;
  readonly state: GroupState;
  /** Owner node, or undefined while no node owns it (never started, or its node is down and no failover happened yet). */
  readonly owner?: string;
  /** Ownership epoch: bumped on every change of owner; a fencing token. */
  readonly epoch: number;
  /** True only while a move with a deadline is in progress (then requests get 5908). */
  readonly moving: boolean;
  readonly move?: MoveView;
  readonly common: GroupCommon;
  readonly resources: readonly string[];
}

export interface ResourceView {
  readonly name: string;
  readonly type: string;
  readonly group: string;
  /** State on the owner node (or on the reporting node when the group has no owner). */
  readonly state: ResourceState;
  readonly owner?: string;
  /** Per-resource state sequence number: increases with every transition, on whichever node owns it (the store revision of the report). */
  readonly stateSeq: number;
  readonly lastError?: { code: number; name: string; message: string };
  readonly common: ResourceCommon;
  readonly parameters: Readonly<Record<string, PropertyValue>>;
  readonly dependencies: string;
}

export type RegistryValue =
  | { readonly type: 'string'; readonly data: string }
  | { readonly type: 'multiString'; readonly data: readonly string[] }
  | { readonly type: 'dword'; readonly data: number }
  | { readonly type: 'qword'; readonly data: number }
  | { readonly type: 'binary'; readonly data: Uint8Array };

export interface OperationView {
  readonly id: string;
  readonly kind: 'onlineGroup' | 'offlineGroup' | 'moveGroup' | 'onlineResource' | 'offlineResource' | 'failResource' | 'resetResource' | 'drainNode';
  readonly target: string;
  readonly done: boolean;
  readonly ok?: boolean;
  readonly error?: { code: number; name: string; message: string };
  readonly move?: MoveView;
}

export interface MoveOptions {
  /** Target node; omitted: the best node by the placement policy. */
  readonly to?: string;
  /** MoveGroupEx's CLUSAPI_GROUP_MOVE_RETURN_TO_SOURCE_NODE_ON_ERROR. */
  readonly returnToSourceOnError?: boolean;
}

export type ClusterEvent =
  | { readonly type: 'resourceState'; readonly resource: string; readonly group: string; readonly node: string; readonly state: ResourceState; readonly stateSeq: number; readonly revision: number }
  | { readonly type: 'groupState'; readonly group: string; readonly state: GroupState; readonly owner?: string; readonly revision: number }
  | { readonly type: 'nodeState'; readonly node: string; readonly state: NodeState; readonly revision: number }
  | { readonly type: 'move'; readonly move: MoveView; readonly revision: number }
  | { readonly type: 'config'; readonly object: 'node' | 'group' | 'resource' | 'type' | 'registry'; readonly name: string; readonly revision: number }
  /** Events were lost (CLUSTER_CHANGE_CLUSTER_RECONNECT): re-read what you show, then continue. */
  | { readonly type: 'reconnect'; readonly revision: number };

export interface EventFilter {
  readonly types?: readonly ClusterEvent['type'][];
  readonly group?: string;
  readonly resource?: string;
  readonly node?: string;
}

export interface Subscription {
  close(): void;
}

/** A resource created together with its group (ClusterApi.createGroup). */
export interface NewResourceSpec {
  readonly name: string;
  readonly type: string;
  readonly common?: Partial<ResourceCommon>;
  readonly parameters?: Record<string, PropertyValue>;
  /** Providers among the group's other new resources, e.g. "[Disk] and [IP]". */
  readonly dependencies?: string;
}

export interface ResourceFilter {
  readonly group?: string;
  readonly states?: readonly ResourceState[];
}

export interface ClusterApi {
  getCluster(): Promise<ClusterView>;

  listNodes(): Promise<NodeView[]>;
  getNode(name: string): Promise<NodeView>;
  /** Paused nodes host nothing new; with drain, their groups are moved away first. */
  pauseNode(name: string, options?: { drain?: boolean }): Promise<OperationView | undefined>;
  resumeNode(name: string): Promise<void>;
  evictNode(name: string): Promise<void>;

  listResourceTypes(): Promise<ResourceTypeDescriptor[]>;

  listGroups(): Promise<GroupView[]>;
  getGroup(name: string): Promise<GroupView>;
  /** Creates the group, with its resources if given, in one change (all or nothing). */
  createGroup(name: string, common?: Partial<GroupCommon>, options?: { resources?: readonly NewResourceSpec[] }): Promise<GroupView>;
  deleteGroup(name: string): Promise<void>;
  renameGroup(name: string, newName: string): Promise<void>;
  setGroupProperties(name: string, common: Partial<GroupCommon>): Promise<GroupView>;
  onlineGroup(name: string): Promise<OperationView>;
  offlineGroup(name: string): Promise<OperationView>;
  moveGroup(name: string, options?: MoveOptions): Promise<OperationView>;

  /** Every resource, or those of a group, or those in one of the given states. */
  listResources(filter?: ResourceFilter): Promise<ResourceView[]>;
  getResource(name: string): Promise<ResourceView>;
  createResource(
    name: string,
    type: string,
    group: string,
    options?: { common?: Partial<ResourceCommon>; parameters?: Record<string, PropertyValue>; dependencies?: string },
  ): Promise<ResourceView>;
  deleteResource(name: string): Promise<void>;
  renameResource(name: string, newName: string): Promise<void>;
  changeResourceGroup(name: string, group: string): Promise<void>;
  setResourceProperties(name: string, common: Partial<ResourceCommon>): Promise<ResourceView>;
  setResourceParameters(name: string, parameters: Record<string, PropertyValue>): Promise<ResourceView>;
  setDependencies(name: string, expression: string): Promise<ResourceView>;
  addDependency(name: string, provider: string): Promise<ResourceView>;
  removeDependency(name: string, provider: string): Promise<ResourceView>;
  addPossibleOwner(name: string, node: string): Promise<ResourceView>;
  removePossibleOwner(name: string, node: string): Promise<ResourceView>;
  onlineResource(name: string): Promise<OperationView>;
  offlineResource(name: string): Promise<OperationView>;
  failResource(name: string): Promise<OperationView>;
  /** Close and open again, then return to the persistent state; touches no other resource. */
  resetResource(name: string): Promise<OperationView>;

  /** Long operations end by their deadlines; this resolves when the operation has ended or timeoutMs passed. */
  getOperation(id: string): Promise<OperationView>;

  registryEnumKeys(path: string): Promise<string[]>;
  registryCreateKey(path: string): Promise<void>;
  registryDeleteKey(path: string): Promise<void>;
  registryEnumValues(path: string): Promise<Array<{ name: string; value: RegistryValue }>>;
  registryGetValue(path: string, name: string): Promise<RegistryValue>;
  registrySetValue(path: string, name: string, value: RegistryValue): Promise<void>;
  registryDeleteValue(path: string, name: string): Promise<void>;

  subscribe(filter: EventFilter, onEvent: (event: ClusterEvent) => void): Promise<Subscription>;
}
