// What the placement policy and the API need besides the configuration:
// nodes with their state (from membership and pause records), owners, moves
// and the nodes' resource reports. RuntimeCache keeps them in memory, fed by
// the store informer; readRuntimeView reads them from the store at once (for
// one-off readers such as the simulator's checks).
import type { NodeState } from '../model/objects.ts';
import type { ClusterView, PolicyGroup } from '../policy/index.ts';
import type { ConfigSnapshot } from '../database/config.ts';
import type { ConfigState } from '../database/config-view.ts';
import { StoreInformer, type InformerView } from '../store/informer.ts';
import type { KeyValue, Store, WatchEvent } from '../store/store.ts';
import { CLUSTER_PREFIX, keys, nameAfter } from './keys.ts';
import { decodeObject, decodeOwner, decodeMove, decodeReport, type MoveRecord, type OwnerRecord, type ResourceReport } from './records.ts';

export interface RuntimeView {
  readonly revision: number;
  readonly config: ConfigSnapshot;
  readonly policy: ClusterView;
  readonly members: ReadonlySet<string>;
  readonly paused: ReadonlyMap<string, { drain: boolean }>;
  /** Owner records by group, with the owner key's modRevision (the epoch). */
  readonly owners: ReadonlyMap<string, OwnerRecord & { epoch: number }>;
  readonly moves: ReadonlyMap<string, MoveRecord>;
}

export function nodeState(name: string, members: ReadonlySet<string>, paused: ReadonlyMap<string, unknown>): NodeState {
  if (!members.has(name)) return 'Down';
  return paused.has(name) ? 'Paused' : 'Up';
}

export async function readRuntimeView(store: Store, config: ConfigSnapshot): Promise<RuntimeView> {
  const [members, paused, owners, moves] = await Promise.all([
    store.range(keys.members),
    store.range(keys.pausedAll),
    store.range(keys.owners),
    store.range(keys.moves),
  ]);
  const memberSet = new Set(members.kvs.map((kv) => nameAfter(keys.members, kv.key)));
  const pausedMap = new Map(paused.kvs.map((kv) => [nameAfter(keys.pausedAll, kv.key), { drain: decodeObject(kv.value)?.drain === true }]));
  const ownerMap = new Map<string, OwnerRecord & { epoch: number }>();
  for (const kv of owners.kvs) {
    const o = decodeOwner(kv.value);
    if (o) ownerMap.set(nameAfter(keys.owners, kv.key), { ...o, epoch: kv.modRevision });
  }
  const moveMap = new Map<string, MoveRecord>();
  for (const kv of moves.kvs) {
    const m = decodeMove(kv.value);
    if (m) moveMap.set(nameAfter(keys.moves, kv.key), m);
  }
  const groups: PolicyGroup[] = config.groups.map((g) => ({
    name: g.name,
    owner: ownerMap.get(g.name)?.node,
    common: g.common,
    resources: config.resources.filter((r) => r.group === g.name).map((r) => ({ name: r.name, common: r.common })),
  }));
  return {
    revision: Math.max(members.revision, paused.revision, owners.revision, moves.revision),
    config,
    policy: { nodes: config.nodes.map((n) => ({ name: n.name, id: n.id, state: nodeState(n.name, memberSet, pausedMap) })), groups },
    members: memberSet,
    paused: pausedMap,
    owners: ownerMap,
    moves: moveMap,
  };
}

/** Reports by node, then resource; a report's stateSeq is its key's modRevision (increasing whoever reports). */
export type ReportIndex = ReadonlyMap<string, ReadonlyMap<string, ResourceReport>>;

const runtimeCaches = new WeakMap<Store, Promise<RuntimeCache>>();

/** The cluster's run-time records in memory, one copy per store per process. */
export class RuntimeCache implements InformerView {
  readonly members = new Set<string>();
  readonly paused = new Map<string, { drain: boolean }>();
  readonly owners = new Map<string, OwnerRecord & { epoch: number }>();
  readonly moves = new Map<string, MoveRecord>();
  readonly reports = new Map<string, Map<string, ResourceReport>>();
  revision = 0;

  private constructor(readonly informer: StoreInformer) {}

  static for(store: Store): Promise<RuntimeCache> {
    let cache = runtimeCaches.get(store);
    if (!cache) {
      const informer = StoreInformer.for(store);
      const created = new RuntimeCache(informer);
      cache = informer.register(CLUSTER_PREFIX, created).then(() => created);
      cache.catch(() => runtimeCaches.delete(store));
      runtimeCaches.set(store, cache);
    }
    return cache;
  }

  reset(kvs: readonly KeyValue[], revision: number): void {
    for (const m of [this.members, this.paused, this.owners, this.moves, this.reports]) m.clear();
    for (const kv of kvs) this.absorb(kv.key, kv);
    this.revision = revision;
  }

  apply(events: readonly WatchEvent[], revision: number): void {
    for (const e of events) this.absorb(e.kv.key, e.type === 'put' ? e.kv : undefined);
    this.revision = revision;
  }

  private absorb(key: string, kv: KeyValue | undefined): void {
    if (key.startsWith(keys.states)) {
      const rest = nameAfter(keys.states, key);
      const slash = rest.indexOf('/');
      if (slash <= 0) return;
      const node = rest.slice(0, slash);
      const resource = rest.slice(slash + 1);
      const report = kv && decodeReport(kv.value);
      let m = this.reports.get(node);
      if (report) {
        if (!m) this.reports.set(node, (m = new Map()));
        m.set(resource, { ...report, stateSeq: kv.modRevision });
      } else {
        m?.delete(resource);
        if (m?.size === 0) this.reports.delete(node);
      }
    } else if (key.startsWith(keys.owners)) {
      const owner = kv && decodeOwner(kv.value);
      if (owner) this.owners.set(nameAfter(keys.owners, key), { ...owner, epoch: kv.modRevision });
      else this.owners.delete(nameAfter(keys.owners, key));
    } else if (key.startsWith(keys.moves)) {
      const move = kv && decodeMove(kv.value);
      if (move) this.moves.set(nameAfter(keys.moves, key), move);
      else this.moves.delete(nameAfter(keys.moves, key));
    } else if (key.startsWith(keys.members)) {
      if (kv) this.members.add(nameAfter(keys.members, key));
      else this.members.delete(nameAfter(keys.members, key));
    } else if (key.startsWith(keys.pausedAll)) {
      if (kv) this.paused.set(nameAfter(keys.pausedAll, key), { drain: decodeObject(kv.value)?.drain === true });
      else this.paused.delete(nameAfter(keys.pausedAll, key));
    }
  }

  /** The view over this cache and a configuration; the policy's view is built when first asked for. */
  view(config: ConfigState): RuntimeView & { readonly state: ConfigState; readonly reports: ReportIndex } {
    let policy: ClusterView | undefined;
    const cache = this;
    return {
      revision: Math.max(this.revision, config.revision),
      // Arrays of everything are built only for readers that list (and once per configuration change).
      get config() {
        return config.snapshot();
      },
      state: config,
      members: this.members,
      paused: this.paused,
      owners: this.owners,
      moves: this.moves,
      reports: this.reports,
      get policy(): ClusterView {
        const snapshot = config.snapshot();
        policy ??= {
          nodes: snapshot.nodes.map((n) => ({ name: n.name, id: n.id, state: nodeState(n.name, cache.members, cache.paused) })),
          groups: snapshot.groups.map((g) => ({
            name: g.name,
            owner: cache.owners.get(g.name)?.node,
            common: g.common,
            resources: config.resourcesIn(g.name).map((r) => ({ name: r.name, common: r.common })),
          })),
        };
        return policy;
      },
    };
  }
}
