// The cluster configuration, kept in the cluster database so that one watch of
// the database sees every change. Layout (keys under the database root):
//
//   (root)                         ConfigGeneration  qword, +1 on every configuration change
//   Nodes\<node>                   Id                dword, unique, 1-based
//   ResourceTypes\<type>           Description       string
//                                  LooksAlivePollInterval, IsAlivePollInterval  dword (ms)
//                                  PrivateProperties string: JSON list of the private-property
//                                                    descriptors, in declaration order
//   Groups\<group>                 the group common properties (groupCommonProperties) as typed
//                                  values; an optional property without a default is absent when unset
//   Resources\<resource>           Type, Group, DependsOn  strings (DependsOn: the dependency
//                                                    expression in canonical form, "" for none)
//                                  the resource common properties (resourceCommonProperties)
//   Resources\<resource>\Parameters  the private properties, typed by the type's schema
//
// Names compare case-insensitively (they are key names) and keep their display case.
//
// Every operation reads the whole configuration, validates against it, and
// writes one batch that starts with a condition on ConfigGeneration and ends by
// bumping it. So every change is all-or-nothing, and one validated against a
// configuration that changed meanwhile fails its condition and is validated
// again - configuration updates are serialized, as WSFC's global update manager
// (GUM) serializes them.
import { ClusterError, isClusterError } from '../model/errors.ts';
import {
  formatDependencies,
  parseDependencies,
  providersOf,
  renameProviders,
  validateDependencies,
  type DependencyExpr,
} from '../model/dependency.ts';
import { nameProblem, type GroupConfig, type NodeConfig, type ResourceConfig, type ResourceTypeDescriptor } from '../model/objects.ts';
import {
  defaultsOf,
  groupCommonProperties,
  propertyIndex,
  resourceCommonProperties,
  validateProperties,
  validatePropertyValue,
  type PropertyDescriptor,
  type PropertyKind,
  type PropertyValue,
} from '../model/properties.ts';
import type { Store, Watcher } from '../store/store.ts';
import {
  CONFIG_KEYS,
  GENERATION_VALUE,
  GROUPS_KEY,
  NODES_KEY,
  PARAMETERS_KEY,
  RESOURCES_KEY,
  TYPES_KEY,
  decodeGroup,
  decodeNode,
  decodeResource,
  decodeType,
  encodePrivateProperties,
  findSubkey,
  findValue,
  raise,
  toRegistryValue,
} from './config-codec.ts';
import { canonicalName } from './paths.ts';
import { BatchCommandError, type BatchCommand, type ClusterDatabase, type DatabaseEvent, type KeyTree } from './registry.ts';
import { DWORD_MAX } from './values.ts';
import { BATCH_COMMANDS_MAX, tooLargeForOneTransaction } from './limits.ts';
import { ConfigState, ConfigView, type ConfigSnapshot } from './config-view.ts';

export type { ConfigSnapshot } from './config-view.ts';

/** How many times a change is validated again because another change got in first. */
export const CONFIG_UPDATE_ATTEMPTS_MAX = 20;
/** Most resources whose PersistentState one change sets (each is two store writes; a store transaction takes 128). */
export const PERSISTENT_STATES_PER_CHANGE_MAX = 40;
/** Most private properties one resource type may declare (each is a value written at resource creation). */
export const TYPE_PRIVATE_PROPERTIES_MAX = 48;
/** Longest private property name. */
export const PROPERTY_NAME_LENGTH_MAX = 255;
/**
 * Owner lists (PreferredOwners, PossibleOwners) one change of a node removal
 * rewrites: each is a value write plus a touch of its key and a compare, so
 * this many fit one store transaction (STORE_TXN_OPS_MAX) with room to spare.
 */
export const OWNER_LISTS_PER_CHANGE_MAX = 40;

/** Property changes: a value, or null to go back to the default (or unset, if there is none). */
export type PropertyChanges = Readonly<Record<string, PropertyValue | null>>;

/** A resource to create inside a group created with it (or named by ResourceSpec). */
export interface NewResource {
  readonly name: string;
  readonly type: string;
  readonly common?: PropertyChanges;
  readonly parameters?: PropertyChanges;
  /** Its dependency expression: providers already in the group or created with it. */
  readonly dependencies?: string;
}

export interface ResourceSpec extends NewResource {
  readonly group: string;
}

interface Change<T> {
  readonly commands: BatchCommand[];
  readonly result: T;
}

/** The tail of each store's queue of configuration changes in this process. */
const changeQueues = new WeakMap<Store, Promise<unknown>>();

export class ClusterConfigStore {
  constructor(private readonly db: ClusterDatabase) {}

  async snapshot(): Promise<ConfigSnapshot> {
    return (await this.read()).snapshot();
  }

  /** Calls back on every configuration change, with the database's events of that revision. */
  async watch(
    callback: (events: readonly DatabaseEvent[], revision: number) => void,
    options: { fromRevision?: number; onError?: (error: Error) => void } = {},
  ): Promise<Watcher> {
    const configKeys = new Set(CONFIG_KEYS.map(canonicalName));
    return this.db.watch(
      '',
      (events, revision) => {
        const relevant = events.filter((e) => {
          const top = canonicalName(e.path.split('\\')[0] ?? '');
          return configKeys.has(top) || (e.path === '' && canonicalName(e.type === 'valueSet' || e.type === 'valueDeleted' ? e.name : '') === canonicalName(GENERATION_VALUE));
        });
        if (relevant.length > 0) callback(relevant, revision);
      },
      options,
    );
  }

  // ---- nodes ----

  async addNode(name: string, id: number): Promise<NodeConfig> {
    return this.change((s) => {
      checkName('node', name);
      if (typeof id !== 'number' || !Number.isInteger(id) || id < 1 || id > DWORD_MAX) {
        throw new ClusterError('ERROR_INVALID_PARAMETER', `node ${JSON.stringify(name)}: id ${String(id)} must be an integer 1..${DWORD_MAX}`);
      }
      const same = s.nodes.get(canonicalName(name));
      if (same) throw new ClusterError('ERROR_CLUSTER_NODE_EXISTS', `node ${JSON.stringify(name)} already exists (as ${JSON.stringify(same.name)})`);
      const withId = [...s.nodes.values()].find((n) => n.id === id);
      if (withId) throw new ClusterError('ERROR_CLUSTER_NODE_EXISTS', `node id ${id} is already used by node ${JSON.stringify(withId.name)}`);
      return {
        commands: [
          { op: 'createKey', key: `${NODES_KEY}\\${name}` },
          { op: 'setValue', key: `${NODES_KEY}\\${name}`, name: 'Id', value: { type: 'dword', data: id } },
        ],
        result: { name, id },
      };
    });
  }

  async listNodes(): Promise<NodeConfig[]> {
    return (await this.snapshot()).nodes;
  }

  /**
   * Removes a node, after removing it from every PreferredOwners and
   * PossibleOwners list. A large cluster's lists do not fit one change: they
   * are rewritten OWNER_LISTS_PER_CHANGE_MAX per change, each validated afresh
   * (a list without a node that still exists is a valid configuration), and
   * the last change deletes the node.
   */
  async removeNode(name: string): Promise<void> {
    for (let done = false; !done; ) {
      done = await this.change((s) => {
        const node = s.node(name);
        const commands: BatchCommand[] = [];
        const without = (list: readonly string[]): string[] => list.filter((n) => canonicalName(n) !== canonicalName(node.name));
        for (const g of s.groups.values()) {
          if (g.common.PreferredOwners.length !== without(g.common.PreferredOwners).length) {
            commands.push({ op: 'setValue', key: `${GROUPS_KEY}\\${g.name}`, name: 'PreferredOwners', value: { type: 'multiString', data: without(g.common.PreferredOwners) } });
          }
        }
        for (const r of s.resources.values()) {
          if (r.common.PossibleOwners.length !== without(r.common.PossibleOwners).length) {
            commands.push({ op: 'setValue', key: `${RESOURCES_KEY}\\${r.name}`, name: 'PossibleOwners', value: { type: 'multiString', data: without(r.common.PossibleOwners) } });
          }
        }
        if (commands.length > OWNER_LISTS_PER_CHANGE_MAX) return { commands: commands.slice(0, OWNER_LISTS_PER_CHANGE_MAX), result: false };
        commands.push({ op: 'deleteKey', key: `${NODES_KEY}\\${node.name}` });
        return { commands, result: true };
      });
    }
  }

  // ---- resource types ----

  async registerResourceType(descriptor: ResourceTypeDescriptor): Promise<ResourceTypeDescriptor> {
    return this.change((s) => {
      checkTypeDescriptor(descriptor);
      const existing = s.types.get(canonicalName(descriptor.name));
      if (existing) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `resource type ${JSON.stringify(descriptor.name)} is already registered (as ${JSON.stringify(existing.name)})`);
      const key = `${TYPES_KEY}\\${descriptor.name}`;
      return {
        commands: [
          { op: 'createKey', key },
          { op: 'setValue', key, name: 'Description', value: { type: 'string', data: descriptor.description } },
          { op: 'setValue', key, name: 'LooksAlivePollInterval', value: { type: 'dword', data: descriptor.looksAlivePollIntervalMs } },
          { op: 'setValue', key, name: 'IsAlivePollInterval', value: { type: 'dword', data: descriptor.isAlivePollIntervalMs } },
          { op: 'setValue', key, name: 'PrivateProperties', value: { type: 'string', data: encodePrivateProperties(descriptor.privateProperties) } },
        ],
        result: descriptor,
      };
    });
  }

  async listResourceTypes(): Promise<ResourceTypeDescriptor[]> {
    return (await this.snapshot()).types;
  }

  async getResourceType(name: string): Promise<ResourceTypeDescriptor> {
    return (await this.read()).type(name);
  }

  /** Refused (ERROR_CLUSTER_RESOURCE_TYPE_BUSY) while resources of the type exist. */
  async unregisterResourceType(name: string): Promise<void> {
    await this.change((s) => {
      const type = s.type(name);
      const users = [...s.resources.values()].filter((r) => canonicalName(r.type) === canonicalName(type.name)).map((r) => r.name);
      if (users.length > 0) throw new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_BUSY', `resource type ${JSON.stringify(type.name)} is used by ${list(users)}`);
      return { commands: [{ op: 'deleteKey', key: `${TYPES_KEY}\\${type.name}` }], result: undefined };
    });
  }

  // ---- groups ----

  /**
   * Creates a group, and with it any resources given (their dependencies
   * inside the group), in one change: the group never exists half made, so
   * the coordinator places it with everything in it. A group too large for
   * one transaction is refused (ERROR_NOT_ENOUGH_QUOTA); create it in parts.
   */
  async createGroup(name: string, common: PropertyChanges = {}, resources: readonly NewResource[] = []): Promise<GroupConfig> {
    return this.change((s) => {
      checkName('group', name);
      const existing = s.groups.get(canonicalName(name));
      if (existing) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `group ${JSON.stringify(name)} already exists (as ${JSON.stringify(existing.name)})`);
      if (!Array.isArray(resources)) throw new ClusterError('ERROR_INVALID_PARAMETER', `group ${JSON.stringify(name)}: resources must be a list`);
      const key = `${GROUPS_KEY}\\${name}`;
      const values = propertyValues(s, `group ${JSON.stringify(name)}`, groupCommonProperties, { ...defaultsOf(groupCommonProperties), ...common });
      const created = newResources(s, name, resources);
      return {
        commands: [{ op: 'createKey', key }, ...setCommands(key, onlyGiven(values, groupCommonProperties, common)), ...created.flatMap((c) => c.commands)],
        result: { name, common: materialize(groupCommonProperties, values) as unknown as GroupConfig['common'] },
      };
    });
  }

  async getGroup(name: string): Promise<GroupConfig> {
    return (await this.read()).group(name);
  }

  async listGroups(): Promise<GroupConfig[]> {
    return (await this.snapshot()).groups;
  }

  /** Refused (ERROR_DIR_NOT_EMPTY, as MS-CMRP ApiDeleteGroup) while the group has resources. */
  async deleteGroup(name: string): Promise<void> {
    await this.change((s) => {
      const group = s.group(name);
      const members = s.resourcesIn(group.name).map((r) => r.name);
      if (members.length > 0) throw new ClusterError('ERROR_DIR_NOT_EMPTY', `group ${JSON.stringify(group.name)} still contains ${list(members)}`);
      return { commands: deleteTreeCommands(s.groupTree(group.name), `${GROUPS_KEY}\\${group.name}`), result: undefined };
    });
  }

  async renameGroup(name: string, newName: string): Promise<GroupConfig> {
    return this.change((s) => {
      const group = s.group(name);
      checkName('group', newName);
      const clash = s.groups.get(canonicalName(newName));
      if (clash && clash !== group) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `group ${JSON.stringify(newName)} already exists`);
      const tree = s.groupTree(group.name);
      const commands = [...deleteTreeCommands(tree, `${GROUPS_KEY}\\${group.name}`), ...copyTreeCommands(tree, `${GROUPS_KEY}\\${newName}`)];
      for (const r of s.resourcesIn(group.name)) {
        commands.push({ op: 'setValue', key: `${RESOURCES_KEY}\\${r.name}`, name: 'Group', value: { type: 'string', data: newName } });
      }
      return { commands, result: { ...group, name: newName } };
    });
  }

  async setGroupCommon(name: string, changes: PropertyChanges): Promise<GroupConfig> {
    return this.change((s) => {
      const group = s.group(name);
      const values = propertyValues(s, `group ${JSON.stringify(group.name)}`, groupCommonProperties, changes);
      const merged = { ...(group.common as unknown as Record<string, PropertyValue>) };
      applyValues(merged, values);
      return { commands: setCommands(`${GROUPS_KEY}\\${group.name}`, values, asRecord(group.common)), result: { ...group, common: merged as unknown as GroupConfig['common'] } };
    });
  }

  // ---- resources ----

  /** Creates a resource, with its dependency expression if given, in one change. */
  async createResource(spec: ResourceSpec): Promise<ResourceConfig> {
    return this.change((s) => {
      if (typeof spec !== 'object' || spec === null) throw new ClusterError('ERROR_INVALID_PARAMETER', 'a resource needs a name, a type and a group');
      const group = s.group(spec.group);
      const [created] = newResources(s, group.name, [spec]);
      return { commands: created!.commands, result: created!.result };
    });
  }

  async getResource(name: string): Promise<ResourceConfig> {
    return (await this.read()).resource(name);
  }

  /** Every resource, or those of one group (ERROR_GROUP_NOT_FOUND if it does not exist). */
  async listResources(group?: string): Promise<ResourceConfig[]> {
    const s = await this.read();
    return group === undefined ? s.snapshot().resources : s.resourcesIn(s.group(group).name);
  }

  /** Refused (ERROR_DEPENDENT_RESOURCE_EXISTS) while other resources depend on it. */
  async deleteResource(name: string): Promise<void> {
    await this.change((s) => {
      const resource = s.resource(name);
      const dependents = s.dependents(resource.name);
      if (dependents.length > 0) {
        throw new ClusterError('ERROR_DEPENDENT_RESOURCE_EXISTS', `resource ${JSON.stringify(resource.name)} cannot be deleted: ${list(dependents)} depend on it`);
      }
      return { commands: deleteTreeCommands(s.resourceTree(resource.name), `${RESOURCES_KEY}\\${resource.name}`), result: undefined };
    });
  }

  /** Renames a resource and rewrites the dependency expressions that name it. */
  async renameResource(name: string, newName: string): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      checkName('resource', newName);
      const clash = s.resources.get(canonicalName(newName));
      if (clash && clash !== resource) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `resource ${JSON.stringify(newName)} already exists`);
      const tree = s.resourceTree(resource.name);
      const commands = [...deleteTreeCommands(tree, `${RESOURCES_KEY}\\${resource.name}`), ...copyTreeCommands(tree, `${RESOURCES_KEY}\\${newName}`)];
      const renamed = (expr: DependencyExpr): DependencyExpr => renameProviders(expr, (n) => (canonicalName(n) === canonicalName(resource.name) ? newName : n));
      let own = resource.dependencies;
      for (const r of s.resources.values()) {
        const expr = parseDependencies(r.dependencies);
        if (!expr || 'code' in expr || !providersOf(expr).some((p) => canonicalName(p) === canonicalName(resource.name))) continue;
        const text = formatDependencies(renamed(expr));
        if (r === resource) own = text;
        commands.push({ op: 'setValue', key: `${RESOURCES_KEY}\\${r === resource ? newName : r.name}`, name: 'DependsOn', value: { type: 'string', data: text } });
      }
      return { commands, result: { ...resource, name: newName, dependencies: own } };
    });
  }

  /** Moves a resource to another group; refused while it has dependencies or dependents (they would cross groups). */
  async changeResourceGroup(name: string, group: string): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      const target = s.group(group);
      if (canonicalName(target.name) === canonicalName(resource.group)) return { commands: [], result: resource };
      const linked = [...s.providers(resource.name), ...s.dependents(resource.name)];
      if (linked.length > 0) {
        throw new ClusterError(
          'ERROR_DEPENDENT_RESOURCE_EXISTS',
          `resource ${JSON.stringify(resource.name)} cannot move to group ${JSON.stringify(target.name)}: its dependencies with ${list(linked)} would cross groups`,
        );
      }
      return {
        commands: [{ op: 'setValue', key: `${RESOURCES_KEY}\\${resource.name}`, name: 'Group', value: { type: 'string', data: target.name } }],
        result: { ...resource, group: target.name },
      };
    });
  }

  async setResourceCommon(name: string, changes: PropertyChanges): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      const values = propertyValues(s, `resource ${JSON.stringify(resource.name)}`, resourceCommonProperties, changes);
      const merged = { ...(resource.common as unknown as Record<string, PropertyValue>) };
      applyValues(merged, values);
      return { commands: setCommands(`${RESOURCES_KEY}\\${resource.name}`, values, asRecord(resource.common)), result: { ...resource, common: merged as unknown as ResourceConfig['common'] } };
    });
  }

  /**
   * Sets the PersistentState of many resources in one change (a node records
   * what operators asked of whole groups this way). Resources deleted
   * meanwhile are skipped; at most PERSISTENT_STATES_PER_CHANGE_MAX at once.
   */
  async setPersistentStates(states: ReadonlyMap<string, 0 | 1>): Promise<void> {
    if (states.size > PERSISTENT_STATES_PER_CHANGE_MAX) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `${states.size} persistent states in one change, more than ${PERSISTENT_STATES_PER_CHANGE_MAX}`);
    }
    await this.change((s) => {
      const commands: BatchCommand[] = [];
      for (const [name, value] of states) {
        const resource = s.resources.get(canonicalName(name));
        if (!resource || resource.common.PersistentState === value) continue;
        commands.push({ op: 'setValue', key: `${RESOURCES_KEY}\\${resource.name}`, name: 'PersistentState', value: { type: 'dword', data: value } });
      }
      return { commands, result: undefined };
    });
  }

  /** Sets private properties, validated against the resource type's schema; stored under Resources\<name>\Parameters. */
  async setResourceParameters(name: string, changes: PropertyChanges): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      const type = s.type(resource.type);
      const values = propertyValues(s, `resource ${JSON.stringify(resource.name)}`, type.privateProperties, changes);
      const merged = { ...resource.parameters };
      applyValues(merged, values);
      const key = `${RESOURCES_KEY}\\${resource.name}\\${PARAMETERS_KEY}`;
      return { commands: [{ op: 'createKey', key }, ...setCommands(key, values, resource.parameters)], result: { ...resource, parameters: merged } };
    });
  }

  /** Replaces the dependency expression ("" for none) after validating it against the configuration. */
  async setDependencies(name: string, expression: string): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      if (typeof expression !== 'string') throw new ClusterError('ERROR_INVALID_PARAMETER', `dependency expression of ${JSON.stringify(resource.name)} must be a string`);
      const parsed = parseDependencies(expression);
      if (parsed && 'code' in parsed) raise(parsed);
      return dependencyChange(s, resource, parsed);
    });
  }

  /** Adds one provider, ANDed with the existing expression (MS-CMRP ApiAddResourceDependency). */
  async addDependency(name: string, provider: string): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      const p = s.resource(provider);
      if (s.providers(resource.name).some((n) => canonicalName(n) === canonicalName(p.name))) {
        throw new ClusterError('ERROR_DEPENDENCY_ALREADY_EXISTS', `resource ${JSON.stringify(resource.name)} already depends on ${JSON.stringify(p.name)}`);
      }
      const current = parseDependencies(resource.dependencies);
      const existing = current && !('code' in current) ? current : undefined;
      const leaf: DependencyExpr = { kind: 'resource', name: p.name };
      const next: DependencyExpr = !existing ? leaf : existing.kind === 'and' ? { kind: 'and', items: [...existing.items, leaf] } : { kind: 'and', items: [existing, leaf] };
      return dependencyChange(s, resource, next);
    });
  }

  /** Removes one provider from the expression (MS-CMRP ApiRemoveResourceDependency). */
  async removeDependency(name: string, provider: string): Promise<ResourceConfig> {
    return this.change((s) => {
      const resource = s.resource(name);
      const canonical = canonicalName(provider);
      if (!s.providers(resource.name).some((n) => canonicalName(n) === canonical)) {
        throw new ClusterError('ERROR_DEPENDENCY_NOT_FOUND', `resource ${JSON.stringify(resource.name)} does not depend on ${JSON.stringify(provider)}`);
      }
      const current = parseDependencies(resource.dependencies);
      const without = (e: DependencyExpr): DependencyExpr | undefined => {
        if (e.kind === 'resource') return canonicalName(e.name) === canonical ? undefined : e;
        const items = e.items.map(without).filter((i): i is DependencyExpr => i !== undefined);
        return items.length === 0 ? undefined : items.length === 1 ? items[0] : { kind: e.kind, items };
      };
      return dependencyChange(s, resource, current && !('code' in current) ? without(current) : undefined);
    });
  }

  // ---- machinery ----

  /**
   * The configuration as of now: the process's shared view, after it has
   * caught up with every write acknowledged before this call.
   */
  private async read(): Promise<ConfigState> {
    const view = await ConfigView.for(this.db);
    await view.informer.sync();
    return view.state;
  }

  /** The process's shared view of the configuration (for deltas: listen to it). */
  view(): Promise<ConfigView> {
    return ConfigView.for(this.db);
  }

  /**
   * Validates against a fresh read and applies as one batch conditioned on the
   * generation read; if another change got in first, does it all again.
   */
  /**
   * Configuration changes made in this process run one at a time per store:
   * they all guard the one generation value, so running them side by side only
   * makes them retry (and, with many writers, run out of attempts). Writers in
   * other processes still race, and the retries below settle that.
   */
  private change<T>(plan: (state: ConfigState) => Change<T>): Promise<T> {
    const key = this.db.backingStore;
    const run = (changeQueues.get(key) ?? Promise.resolve()).then(() => this.changeNow(plan));
    changeQueues.set(key, run.catch(() => undefined));
    return run;
  }

  private async changeNow<T>(plan: (state: ConfigState) => Change<T>): Promise<T> {
    for (let attempt = 1; attempt <= CONFIG_UPDATE_ATTEMPTS_MAX; attempt++) {
      const state = await this.read();
      const { commands, result } = plan(state);
      if (commands.length === 0) return result;
      // The generation's condition and bump take two commands of the batch.
      if (commands.length + 2 > BATCH_COMMANDS_MAX) throw tooLargeForOneTransaction('this configuration change', `${commands.length + 2} database commands`, 'BATCH_COMMANDS_MAX');
      const generation = state.generation === null ? null : ({ type: 'qword', data: state.generation } as const);
      try {
        const { revision } = await this.db.executeBatch('', [
          { op: 'requireValue', name: GENERATION_VALUE, equals: generation },
          ...commands,
          { op: 'setValue', name: GENERATION_VALUE, value: { type: 'qword', data: (state.generation ?? 0n) + 1n } },
        ]);
        // Reads in this process that follow the change see it.
        const view = await ConfigView.for(this.db);
        if (!(await view.informer.waitFor(revision))) await view.informer.sync();
        return result;
      } catch (e) {
        if (e instanceof BatchCommandError && e.commandIndex === 0 && e.name === 'ERROR_CLUSTER_DATABASE_SEQMISMATCH') continue;
        // A command failing means the checks above let something through: report the command's own error.
        if (e instanceof BatchCommandError && isClusterError(e.cause)) throw e.cause;
        throw e;
      }
    }
    throw new ClusterError('ERROR_CLUSTER_DATABASE_SEQMISMATCH', `the cluster configuration kept changing underneath; gave up after ${CONFIG_UPDATE_ATTEMPTS_MAX} attempts`);
  }
}

// ---- helpers ----

function list(names: readonly string[]): string {
  return names.map((n) => JSON.stringify(n)).join(', ');
}

function checkName(kind: string, name: unknown): asserts name is string {
  const problem = nameProblem(kind, name);
  if (problem) throw new ClusterError('ERROR_INVALID_PARAMETER', problem);
}

/**
 * Validates property changes against a schema and returns the registry values
 * to write (null: delete the value). Owner lists must name known nodes, once.
 */
function propertyValues(
  s: ConfigState,
  owner: string,
  schema: readonly PropertyDescriptor[],
  changes: PropertyChanges,
): Map<PropertyDescriptor, PropertyValue | null> {
  if (typeof changes !== 'object' || changes === null || Array.isArray(changes)) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${owner}: property changes must be an object of name: value`);
  }
  const set: Record<string, unknown> = {};
  const out = new Map<PropertyDescriptor, PropertyValue | null>();
  for (const [name, value] of Object.entries(changes)) {
    const d = propertyIndex(schema).byCanonicalName.get(canonicalName(name));
    if (!d) throw new ClusterError('ERROR_INVALID_PARAMETER', `${owner}: unknown property ${JSON.stringify(name)}`);
    if (value === null) {
      out.set(d, d.default ?? null);
      continue;
    }
    set[d.name] = value;
    out.set(d, value);
  }
  const invalid = validateProperties(owner, schema, set);
  if (invalid) raise(invalid);
  for (const [d, value] of out) {
    if (value === null) continue;
    if (d.name === 'PossibleOwners' || d.name === 'PreferredOwners') {
      const nodes = (value as string[]).map((n) => s.node(n).name);
      const repeated = nodes.find((n, i) => nodes.indexOf(n) !== i);
      if (repeated !== undefined) throw new ClusterError('ERROR_OBJECT_IN_LIST', `${owner}: property ${d.name} lists node ${JSON.stringify(repeated)} twice`);
      out.set(d, nodes);
    }
    toRegistryValue(`${owner}: property ${d.name}`, d.kind, out.get(d)!);
  }
  return out;
}

/** setValue commands for the values; a null deletes the value where one is stored (per `stored`). */
function setCommands(key: string, values: Map<PropertyDescriptor, PropertyValue | null>, stored: Readonly<Record<string, PropertyValue>> = {}): BatchCommand[] {
  const commands: BatchCommand[] = [];
  for (const [d, value] of values) {
    if (value !== null) commands.push({ op: 'setValue', key, name: d.name, value: toRegistryValue(d.name, d.kind, value) });
    else if (d.name in stored) commands.push({ op: 'deleteValue', key, name: d.name });
  }
  return commands;
}

function asRecord(common: object): Record<string, PropertyValue> {
  return common as Record<string, PropertyValue>;
}

function applyValues(target: Record<string, PropertyValue>, values: Map<PropertyDescriptor, PropertyValue | null>): void {
  for (const [d, value] of values) {
    if (value === null) delete target[d.name];
    else target[d.name] = value;
  }
}

/**
 * The values the caller gave, out of a validated set that has the defaults
 * filled in. Only these are stored: a value left out reads as its default (as
 * in WSFC's cluster database, where a key holds what was set), which keeps a
 * new resource to a few store entries instead of one per property.
 */
function onlyGiven(
  values: Map<PropertyDescriptor, PropertyValue | null>,
  schema: readonly PropertyDescriptor[],
  given: PropertyChanges | undefined,
): Map<PropertyDescriptor, PropertyValue | null> {
  const index = propertyIndex(schema).byCanonicalName;
  const out = new Map<PropertyDescriptor, PropertyValue | null>();
  for (const name of Object.keys(given ?? {})) {
    const d = index.get(canonicalName(name));
    if (d && values.has(d)) out.set(d, values.get(d)!);
  }
  return out;
}

function materialize(schema: readonly PropertyDescriptor[], values: Map<PropertyDescriptor, PropertyValue | null>): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  for (const d of schema) {
    const v = values.get(d);
    if (v !== undefined && v !== null) out[d.name] = v;
  }
  return out;
}

function dependencyChange(s: ConfigState, resource: ResourceConfig, expr: DependencyExpr | undefined): Change<ResourceConfig> {
  // Names in display case, so the model's checks (self, cycles) compare like with like.
  const next = expr && renameProviders(expr, (n) => s.resources.get(canonicalName(n))?.name ?? n);
  const invalid = validateDependencies(
    resource.name,
    next,
    (n) => s.resources.get(canonicalName(n))?.group,
    (n) => s.providers(n),
  );
  if (invalid) raise(invalid);
  const text = formatDependencies(next);
  return {
    commands: [{ op: 'setValue', key: `${RESOURCES_KEY}\\${resource.name}`, name: 'DependsOn', value: { type: 'string', data: text } }],
    result: { ...resource, dependencies: text },
  };
}

/**
 * The commands creating resources in a group (one that exists, or is created
 * in the same change), each validated against the configuration and against
 * each other: names unique, types known, properties valid, and dependency
 * expressions naming resources of that group only, without cycles.
 */
function newResources(s: ConfigState, group: string, specs: readonly NewResource[]): Change<ResourceConfig>[] {
  const created = new Map<string, ResourceConfig>();
  const out: Change<ResourceConfig>[] = [];
  for (const spec of specs) {
    if (typeof spec !== 'object' || spec === null) throw new ClusterError('ERROR_INVALID_PARAMETER', 'a resource needs a name and a type');
    const { name } = spec;
    checkName('resource', name);
    const existing = s.resources.get(canonicalName(name)) ?? created.get(canonicalName(name));
    if (existing) throw new ClusterError('ERROR_OBJECT_ALREADY_EXISTS', `resource ${JSON.stringify(name)} already exists (as ${JSON.stringify(existing.name)})`);
    const type = s.type(spec.type);
    const owner = `resource ${JSON.stringify(name)}`;
    const common = propertyValues(s, owner, resourceCommonProperties, { ...defaultsOf(resourceCommonProperties), ...spec.common });
    const parameters = propertyValues(s, owner, type.privateProperties, { ...defaultsOf(type.privateProperties), ...spec.parameters });
    const key = `${RESOURCES_KEY}\\${name}`;
    const result: ResourceConfig = {
      name,
      type: type.name,
      group,
      common: materialize(resourceCommonProperties, common) as unknown as ResourceConfig['common'],
      parameters: materialize(type.privateProperties, parameters),
      dependencies: '',
    };
    created.set(canonicalName(name), result);
    out.push({
      commands: [
        { op: 'createKey', key },
        { op: 'setValue', key, name: 'Type', value: { type: 'string', data: type.name } },
        { op: 'setValue', key, name: 'Group', value: { type: 'string', data: group } },
        ...setCommands(key, onlyGiven(common, resourceCommonProperties, spec.common)),
        { op: 'createKey', key: `${key}\\${PARAMETERS_KEY}` },
        ...setCommands(`${key}\\${PARAMETERS_KEY}`, onlyGiven(parameters, type.privateProperties, spec.parameters)),
      ],
      result,
    });
  }
  // Dependencies once every new resource is known: they may name each other.
  const lookup = (n: string): ResourceConfig | undefined => created.get(canonicalName(n)) ?? s.resources.get(canonicalName(n));
  const expressions = new Map<string, DependencyExpr | undefined>();
  for (const spec of specs) {
    if (spec.dependencies === undefined) continue;
    if (typeof spec.dependencies !== 'string') throw new ClusterError('ERROR_INVALID_PARAMETER', `dependency expression of ${JSON.stringify(spec.name)} must be a string`);
    const parsed = parseDependencies(spec.dependencies);
    if (parsed && 'code' in parsed) raise(parsed);
    // Names in display case, so the model's checks (self, cycles) compare like with like.
    expressions.set(canonicalName(spec.name), parsed && renameProviders(parsed, (n) => lookup(n)?.name ?? n));
  }
  for (const [i, spec] of specs.entries()) {
    const canonical = canonicalName(spec.name);
    if (!expressions.has(canonical)) {
      out[i]!.commands.push({ op: 'setValue', key: `${RESOURCES_KEY}\\${spec.name}`, name: 'DependsOn', value: { type: 'string', data: '' } });
      continue;
    }
    const expr = expressions.get(canonical);
    const invalid = validateDependencies(
      out[i]!.result.name,
      expr,
      (n) => lookup(n)?.group,
      (n) => (expressions.has(canonicalName(n)) ? providersOf(expressions.get(canonicalName(n))) : s.providers(n)),
    );
    if (invalid) raise(invalid);
    const text = formatDependencies(expr);
    out[i]!.commands.push({ op: 'setValue', key: `${RESOURCES_KEY}\\${spec.name}`, name: 'DependsOn', value: { type: 'string', data: text } });
    out[i] = { commands: out[i]!.commands, result: { ...out[i]!.result, dependencies: text } };
  }
  return out;
}

/** Commands deleting a key's whole subtree, deepest keys first. */
function deleteTreeCommands(tree: KeyTree, path: string): BatchCommand[] {
  const out: BatchCommand[] = [];
  for (const sub of tree.subkeys) out.push(...deleteTreeCommands(sub, `${path}\\${sub.name}`));
  out.push({ op: 'deleteKey', key: path });
  return out;
}

/** Commands recreating a key's whole subtree at another path. */
function copyTreeCommands(tree: KeyTree, path: string): BatchCommand[] {
  const out: BatchCommand[] = [{ op: 'createKey', key: path }];
  for (const v of tree.values) out.push({ op: 'setValue', key: path, name: v.name, value: v.value });
  for (const sub of tree.subkeys) out.push(...copyTreeCommands(sub, `${path}\\${sub.name}`));
  return out;
}

function checkTypeDescriptor(d: ResourceTypeDescriptor): void {
  if (typeof d !== 'object' || d === null) throw new ClusterError('ERROR_INVALID_PARAMETER', 'a resource type descriptor must be an object');
  checkName('resource type', d.name);
  const where = `resource type ${JSON.stringify(d.name)}`;
  if (typeof d.description !== 'string') throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: description must be a string`);
  for (const field of ['looksAlivePollIntervalMs', 'isAlivePollIntervalMs'] as const) {
    const v = d[field];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > DWORD_MAX) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: ${field} ${String(v)} must be an integer 0..${DWORD_MAX}`);
    }
  }
  if (!Array.isArray(d.privateProperties)) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: privateProperties must be a list`);
  if (d.privateProperties.length > TYPE_PRIVATE_PROPERTIES_MAX) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${where} declares ${d.privateProperties.length} private properties, more than ${TYPE_PRIVATE_PROPERTIES_MAX}`);
  }
  const kinds: readonly PropertyKind[] = ['dword', 'qword', 'string', 'multiString', 'binary'];
  const seen = new Set<string>();
  for (const p of d.privateProperties) {
    const name: unknown = p?.name;
    if (typeof name !== 'string' || name === '' || name.length > PROPERTY_NAME_LENGTH_MAX || /[\x00-\x1f\x7f]/.test(name)) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: private property name ${JSON.stringify(name)} must be 1..${PROPERTY_NAME_LENGTH_MAX} printable characters`);
    }
    if (seen.has(canonicalName(name))) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: private property ${JSON.stringify(name)} is declared twice`);
    seen.add(canonicalName(name));
    if (!kinds.includes(p.kind)) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: private property ${JSON.stringify(name)} has unknown kind ${JSON.stringify(p.kind)}`);
    if (typeof p.description !== 'string') throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: private property ${JSON.stringify(name)} needs a description`);
    for (const bound of ['min', 'max'] as const) {
      if (p[bound] !== undefined && (typeof p[bound] !== 'number' || !Number.isFinite(p[bound]))) {
        throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: private property ${JSON.stringify(name)}: ${bound} must be a number`);
      }
    }
    if (p.values !== undefined && (!Array.isArray(p.values) || !(p.values as unknown[]).every((v) => Number.isInteger(v)))) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: private property ${JSON.stringify(name)}: values must be a list of integers`);
    }
    if (p.default !== undefined) {
      const invalid = validatePropertyValue(`${where}: default`, p, p.default);
      if (invalid) raise(invalid);
      toRegistryValue(`${where}: default of ${JSON.stringify(name)}`, p.kind, p.default);
    }
  }
}
