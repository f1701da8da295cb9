// The resource type interface: the code that manages one kind of resource,
// WSFC's "resource DLL". The resource host (src/host) calls the entry points;
// a type never sees the RCM, only a context per call and the services it was
// created with.
import { ClusterError } from '../model/errors.ts';
import type { Clock } from '../model/clock.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';

export const entryPoints = ['open', 'close', 'online', 'offline', 'terminate', 'looksAlive', 'isAlive', 'control'] as const;
export type EntryPoint = (typeof entryPoints)[number];

/** What every entry point call receives. */
export interface EntryPointContext {
  readonly resource: string;
  /** The resource's private properties, the type's defaults filled in. */
  readonly parameters: Readonly<Record<string, PropertyValue>>;
  /** Aborted when the call's deadline passes: long work must stop then. */
  readonly signal: AbortSignal;
  /** How long the call may take, in ms from its start (the signal aborts then). */
  readonly deadlineMs: number;
  /** The group's ownership epoch: a fencing token for writes to shared state. */
  readonly epoch: number;
  /** Writes a line for this resource to the cluster log ([RES]). */
  log(message: string): void;
}

/** A control code and its input (WSFC's ResourceControl); the output is the promise's value. */
export interface ControlRequest {
  readonly code: string;
  readonly input?: unknown;
}

export interface ResourceType {
  readonly descriptor: ResourceTypeDescriptor;
  /** Prepares the resource (reads its configuration); no service is started. */
  open(ctx: EntryPointContext): Promise<void>;
  /** Releases what open acquired; the resource is offline. */
  close(ctx: EntryPointContext): Promise<void>;
  online(ctx: EntryPointContext): Promise<void>;
  offline(ctx: EntryPointContext): Promise<void>;
  /** Stops the resource at once, without grace (after a failure or pending timeout). */
  terminate(ctx: EntryPointContext): Promise<void>;
  /** A cheap check, polled often. */
  looksAlive(ctx: EntryPointContext): Promise<boolean>;
  /** A thorough check, polled less often. */
  isAlive(ctx: EntryPointContext): Promise<boolean>;
  /** Unknown codes throw ClusterError('ERROR_NOT_SUPPORTED'). */
  control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown>;
}

/**
 * The cluster database as resource types see it. Until the cluster database is
 * available to them (node start), calls throw ClusterError('ERROR_SHARING_PAUSED')
 * — the failure in the seed document.
 */
export interface ClusterDatabaseAccess {
  readParameters(resource: string): Promise<Record<string, PropertyValue>>;
}

/** A resource as the node running a type sees it in the cluster configuration. */
export interface ClusterResourceInfo {
  readonly name: string;
  readonly type: string;
  readonly group: string;
  /** Private properties as stored (the type's defaults are not filled in). */
  readonly parameters: Readonly<Record<string, PropertyValue>>;
}

/**
 * The cluster's configuration as resource types see it, for types whose
 * resources cooperate within a group (a service binding the address of its
 * group's IP Address, a database on its group's disk).
 */
export interface ClusterTopologyAccess {
  /** Every resource of the given resource's group (itself included); empty if the resource is unknown. */
  groupResources(resource: string): ClusterResourceInfo[];
}

/** What the cluster gives a resource type when it is instantiated (one instance per host). */
export interface ResourceTypeServices {
  readonly clock: Clock;
  readonly clusterDatabase: ClusterDatabaseAccess;
  /** The name of the node the type runs on (absent where no node runs it, e.g. unit tests). */
  readonly node?: string;
  readonly topology?: ClusterTopologyAccess;
  /**
   * Set when the type runs in a resource host process of its own (src/host):
   * code that blocks the thread then stalls only that process, which the node
   * kills at the resource's DeadlockTimeout.
   */
  readonly inHostProcess?: boolean;
}

/**
 * Where a resource host process finds a type's definition: the module's URL
 * and the name of its export — a ResourceTypeDefinition, or a function that
 * returns one (sync or async) when called with args (JSON values).
 */
export interface TypeModule {
  readonly url: string;
  readonly export: string;
  readonly args?: readonly unknown[];
}

export interface ResourceTypeDefinition {
  readonly descriptor: ResourceTypeDescriptor;
  create(services: ResourceTypeServices): ResourceType;
  /**
   * Set for types that can run in a resource host process (their instances
   * need only the services a host process has: the clock, the cluster
   * database's parameter reads and the node's name). Types without it — those
   * sharing in-process state with the node, like the mailbox server's — run
   * in the node's own process.
   */
  readonly module?: TypeModule;
}

/** The resource types a node knows, by name. */
export class ResourceTypeRegistry {
  private readonly byName = new Map<string, ResourceTypeDefinition>();

  constructor(definitions: readonly ResourceTypeDefinition[] = []) {
    for (const d of definitions) this.register(d);
  }

  register(definition: ResourceTypeDefinition): void {
    const name = definition.descriptor.name;
    if (this.byName.has(name)) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `resource type ${JSON.stringify(name)} is already registered`);
    this.byName.set(name, definition);
  }

  names(): string[] {
    return [...this.byName.keys()].sort();
  }

  /** The definition, or ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND naming the type. */
  get(name: string): ResourceTypeDefinition {
    const d = this.byName.get(name);
    if (!d) throw new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `resource type ${JSON.stringify(name)} is not registered`);
    return d;
  }
}

export function unsupportedControl(type: string, resource: string, request: ControlRequest): never {
  throw new ClusterError('ERROR_NOT_SUPPORTED', `${type} <${resource}>: control code ${JSON.stringify(request.code)} is not supported`);
}
