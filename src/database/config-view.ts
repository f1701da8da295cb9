// The cluster configuration kept in memory, one copy per store per process,
// fed by the store informer: listed once, then each changed object (a node,
// type, group or resource key with everything under it) is decoded again from
// its own store entries. Configuration reads and the validation of changes are
// served from here, so their cost follows what changed, not the cluster's size.
// Listeners are told which objects changed, so they can apply deltas.
import { ClusterError } from '../model/errors.ts';
import { parseDependencies, providersOf } from '../model/dependency.ts';
import type { GroupConfig, NodeConfig, ResourceConfig, ResourceTypeDescriptor } from '../model/objects.ts';
import { defaultsOf, type PropertyValue } from '../model/properties.ts';
import { StoreInformer, type InformerView } from '../store/informer.ts';
import type { KeyValue, Store, WatchEvent } from '../store/store.ts';
import { GENERATION_VALUE, GROUPS_KEY, NODES_KEY, RESOURCES_KEY, TYPES_KEY, decodeGroup, decodeNode, decodeResource, decodeType } from './config-codec.ts';
import { canonicalName, type StoreLayout } from './paths.ts';
import { decodeValueRecord } from './values.ts';
import { keyTreeFrom, type ClusterDatabase, type KeyTree } from './registry.ts';

export interface ConfigSnapshot {
  /** Store revision the snapshot was read at. */
  readonly revision: number;
  readonly nodes: NodeConfig[];
  readonly types: ResourceTypeDescriptor[];
  readonly groups: GroupConfig[];
  readonly resources: ResourceConfig[];
}

type ObjectKind = 'nodes' | 'types' | 'groups' | 'resources';

/** Which objects one revision changed (display names; a deleted object is named as it was). */
export interface ConfigChange {
  readonly revision: number;
  /** The view was listed again: anything may have changed. */
  readonly full: boolean;
  readonly nodes: ReadonlySet<string>;
  readonly types: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
  readonly resources: ReadonlySet<string>;
}

const KIND_BY_KEY = new Map<string, ObjectKind>([
  [canonicalName(NODES_KEY), 'nodes'],
  [canonicalName(TYPES_KEY), 'types'],
  [canonicalName(GROUPS_KEY), 'groups'],
  [canonicalName(RESOURCES_KEY), 'resources'],
]);
const GENERATION_CANONICAL = canonicalName(GENERATION_VALUE);

/** The values of a map keyed by canonical name, in name order. */
function inNameOrder<T>(map: ReadonlyMap<string, T>, keys: Iterable<string> = map.keys()): T[] {
  return [...keys].sort().flatMap((k) => map.get(k) ?? []);
}

/**
 * The configuration with case-insensitive lookups and the indexes validation
 * needs (a group's resources, a resource's dependents). Read it synchronously:
 * it changes in place as the watch delivers.
 */
export class ConfigState {
  readonly nodes = new Map<string, NodeConfig>();
  readonly types = new Map<string, ResourceTypeDescriptor>();
  readonly groups = new Map<string, GroupConfig>();
  readonly resources = new Map<string, ResourceConfig>();
  /** Builds an object's key tree again from its store entries (kept there, not here, to keep memory down). */
  treeOf: (kind: 'groups' | 'resources', canonical: string) => KeyTree | undefined = () => undefined;
  /** canonical group -> canonical names of its resources */
  private readonly byGroup = new Map<string, Set<string>>();
  /** canonical provider -> canonical names of the resources whose expression names it */
  private readonly dependentsOf = new Map<string, Set<string>>();
  /** canonical resource -> the private properties stored for it (the rest are its type's defaults) */
  private readonly storedParameters = new Map<string, Readonly<Record<string, PropertyValue>>>();
  revision = 0;
  generation: bigint | null = null;
  private cached: ConfigSnapshot | undefined;

  node(name: string): NodeConfig {
    const n = this.nodes.get(canonicalName(name));
    if (!n) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(name)} not found`);
    return n;
  }

  type(name: string): ResourceTypeDescriptor {
    const t = this.types.get(canonicalName(name));
    if (!t) throw new ClusterError('ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND', `resource type ${JSON.stringify(name)} not found`);
    return t;
  }

  group(name: string): GroupConfig {
    const g = this.groups.get(canonicalName(name));
    if (!g) throw new ClusterError('ERROR_GROUP_NOT_FOUND', `group ${JSON.stringify(name)} not found`);
    return g;
  }

  resource(name: string): ResourceConfig {
    const r = this.resources.get(canonicalName(name));
    if (!r) throw new ClusterError('ERROR_RESOURCE_NOT_FOUND', `resource ${JSON.stringify(name)} not found`);
    return r;
  }

  /** Direct providers of a resource, as stored (display names). */
  providers(name: string): string[] {
    const r = this.resources.get(canonicalName(name));
    return r ? providerNames(r) : [];
  }

  /** Resources whose expression names this one, in name order. */
  dependents(name: string): string[] {
    return inNameOrder(this.resources, this.dependentsOf.get(canonicalName(name)) ?? []).map((r) => r.name);
  }

  /** A group's resources, in name order. */
  resourcesIn(group: string): ResourceConfig[] {
    return inNameOrder(this.resources, this.byGroup.get(canonicalName(group)) ?? []);
  }

  /** A group's key with everything under it (to delete or copy it whole). */
  groupTree(name: string): KeyTree {
    const tree = this.treeOf('groups', canonicalName(name));
    if (!tree) throw new ClusterError('ERROR_GROUP_NOT_FOUND', `group ${JSON.stringify(name)} not found`);
    return tree;
  }

  /** A resource's key with everything under it (to delete or copy it whole). */
  resourceTree(name: string): KeyTree {
    const tree = this.treeOf('resources', canonicalName(name));
    if (!tree) throw new ClusterError('ERROR_RESOURCE_NOT_FOUND', `resource ${JSON.stringify(name)} not found`);
    return tree;
  }

  /** Everything, as arrays in name order (nodes by id); built once per change. */
  snapshot(): ConfigSnapshot {
    this.cached ??= {
      revision: this.revision,
      nodes: Object.freeze([...this.nodes.values()].sort((a, b) => a.id - b.id)) as NodeConfig[],
      types: Object.freeze(inNameOrder(this.types)) as ResourceTypeDescriptor[],
      groups: Object.freeze(inNameOrder(this.groups)) as GroupConfig[],
      resources: Object.freeze(inNameOrder(this.resources)) as ResourceConfig[],
    };
    return this.cached;
  }

  // ---- updates (the view's only) ----

  clear(): void {
    for (const m of [this.nodes, this.types, this.groups, this.resources, this.byGroup, this.dependentsOf, this.storedParameters]) m.clear();
    this.generation = null;
    this.cached = undefined;
  }

  /** Sets (tree) or removes (undefined) one object; returns the display names it had and has. */
  setObject(kind: ObjectKind, canonical: string, tree: KeyTree | undefined): string[] {
    this.cached = undefined;
    switch (kind) {
      case 'nodes':
        return this.replace(this.nodes, canonical, tree && decodeNode(tree));
      case 'types':
        return this.replace(this.types, canonical, tree && decodeType(tree));
      case 'groups':
        return this.replace(this.groups, canonical, tree && decodeGroup(tree));
      case 'resources': {
        const before = this.resources.get(canonical);
        if (before) this.unindex(canonical, before);
        const stored = tree && decodeResource(tree);
        if (stored) this.storedParameters.set(canonical, stored.parameters);
        else this.storedParameters.delete(canonical);
        const after = stored && this.withTypeDefaults(stored, stored.parameters);
        if (after) this.index(canonical, after);
        return this.replace(this.resources, canonical, after);
      }
    }
  }

  /**
   * After a type changed: its resources' private properties read its new
   * defaults. Returns the resources' display names. (Types change rarely:
   * this looks at every resource.)
   */
  retype(typeCanonical: string): string[] {
    const names: string[] = [];
    for (const [canonical, r] of this.resources) {
      if (canonicalName(r.type) !== typeCanonical) continue;
      this.resources.set(canonical, this.withTypeDefaults(r, this.storedParameters.get(canonical) ?? {}));
      names.push(r.name);
    }
    if (names.length > 0) this.cached = undefined;
    return names;
  }

  /**
   * A resource whose private properties are its type's defaults with the
   * stored values over them: only values set are stored, as in WSFC, and every
   * reader sees the values the type will use.
   */
  private withTypeDefaults(r: ResourceConfig, stored: Readonly<Record<string, PropertyValue>>): ResourceConfig {
    const type = this.types.get(canonicalName(r.type));
    return { ...r, parameters: { ...(type ? defaultsOf(type.privateProperties) : {}), ...stored } };
  }

  private replace<T extends { name: string }>(map: Map<string, T>, canonical: string, value: T | undefined): string[] {
    const names = [map.get(canonical)?.name, value?.name].filter((n): n is string => n !== undefined);
    if (value) map.set(canonical, value);
    else map.delete(canonical);
    return [...new Set(names)];
  }

  private index(canonical: string, r: ResourceConfig): void {
    const group = canonicalName(r.group);
    let members = this.byGroup.get(group);
    if (!members) this.byGroup.set(group, (members = new Set()));
    members.add(canonical);
    for (const p of providerNames(r)) {
      const provider = canonicalName(p);
      let set = this.dependentsOf.get(provider);
      if (!set) this.dependentsOf.set(provider, (set = new Set()));
      set.add(canonical);
    }
  }

  private unindex(canonical: string, r: ResourceConfig): void {
    const group = canonicalName(r.group);
    const members = this.byGroup.get(group);
    members?.delete(canonical);
    if (members?.size === 0) this.byGroup.delete(group);
    for (const p of providerNames(r)) {
      const provider = canonicalName(p);
      const set = this.dependentsOf.get(provider);
      set?.delete(canonical);
      if (set?.size === 0) this.dependentsOf.delete(provider);
    }
  }
}

function providerNames(r: ResourceConfig): string[] {
  const expr = parseDependencies(r.dependencies);
  return expr && 'code' in expr ? [] : providersOf(expr);
}

export type ConfigListener = (change: ConfigChange) => void;

const views = new WeakMap<Store, Promise<ConfigView>>();

/** The informer-fed configuration of one store in this process. */
export class ConfigView implements InformerView {
  readonly state = new ConfigState();
  /** Store entries of each object, by "KIND/canonical name". */
  private readonly entries = new Map<string, Map<string, KeyValue>>();
  private readonly listeners = new Set<ConfigListener>();

  private constructor(
    private readonly layout: StoreLayout,
    readonly informer: StoreInformer,
  ) {
    this.state.treeOf = (kind, canonical) => this.tree(kind, canonical);
  }

  private tree(kind: ObjectKind, canonical: string): KeyTree | undefined {
    const object = this.entries.get(`${kind}/${canonical}`);
    const top = kind === 'types' ? TYPES_KEY : kind === 'nodes' ? NODES_KEY : kind === 'groups' ? GROUPS_KEY : RESOURCES_KEY;
    return object && keyTreeFrom(this.layout, object.values(), { display: [top, canonical], canonical: [canonicalName(top), canonical] });
  }

  /** The shared view of the database's store, listed on first use. */
  static for(db: ClusterDatabase): Promise<ConfigView> {
    const store = db.backingStore;
    let view = views.get(store);
    if (!view) {
      const informer = StoreInformer.for(store);
      const created = new ConfigView(db.storeLayout, informer);
      view = informer.register(db.storeLayout.root, created).then(() => created);
      view.catch(() => views.delete(store));
      views.set(store, view);
    }
    return view;
  }

  /** Calls back after every change the view applies; returns the function that stops it. */
  listen(listener: ConfigListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  reset(kvs: readonly KeyValue[], revision: number): void {
    this.state.clear();
    this.entries.clear();
    const dirty = new Set<string>();
    for (const kv of kvs) this.absorb(kv.key, kv, dirty);
    this.state.revision = revision;
    this.rebuild(dirty, { revision, full: true });
  }

  apply(events: readonly WatchEvent[], revision: number): void {
    const dirty = new Set<string>();
    for (const e of events) this.absorb(e.kv.key, e.type === 'put' ? e.kv : undefined, dirty);
    this.state.revision = revision;
    if (dirty.size > 0) this.rebuild(dirty, { revision, full: false });
  }

  /** Files one store entry (undefined: deleted) under its object, or takes the generation from it. */
  private absorb(key: string, kv: KeyValue | undefined, dirty: Set<string>): void {
    const entry = this.layout.parse(key);
    if (!entry) return;
    if (entry.canonical.length === 0) {
      if (entry.kind === 'value' && entry.valueName === GENERATION_CANONICAL) {
        const value = kv && decodeValueRecord(key, kv.value).value;
        this.state.generation = value?.type === 'qword' ? value.data : null;
      }
      return;
    }
    const kind = KIND_BY_KEY.get(entry.canonical[0]!);
    if (!kind || entry.canonical.length < 2) return;
    const id = `${kind}/${entry.canonical[1]!}`;
    let object = this.entries.get(id);
    if (!object) this.entries.set(id, (object = new Map()));
    if (kv) object.set(key, kv);
    else object.delete(key);
    if (object.size === 0) this.entries.delete(id);
    dirty.add(id);
  }

  private rebuild(dirty: ReadonlySet<string>, base: { revision: number; full: boolean }): void {
    const changed: Record<ObjectKind, Set<string>> = { nodes: new Set(), types: new Set(), groups: new Set(), resources: new Set() };
    // Types first: a resource reads its type's defaults.
    const ordered = [...dirty].sort((a, b) => Number(!a.startsWith('types/')) - Number(!b.startsWith('types/')));
    for (const id of ordered) {
      const slash = id.indexOf('/');
      const kind = id.slice(0, slash) as ObjectKind;
      const canonical = id.slice(slash + 1);
      const tree = this.tree(kind, canonical);
      let names: string[];
      try {
        names = this.state.setObject(kind, canonical, tree);
      } catch {
        // Entries this database did not write in this shape: the object is left out, as a full read would fail on it.
        names = this.state.setObject(kind, canonical, undefined);
      }
      for (const name of names) changed[kind].add(name);
      if (kind === 'types' && !base.full) for (const name of this.state.retype(canonical)) changed.resources.add(name);
    }
    const change: ConfigChange = { ...base, ...changed };
    for (const l of this.listeners) l(change);
  }
}
