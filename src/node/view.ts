// Reads what the placement policy needs from the store: nodes with their
// state (from membership and pause records), groups with owners and resources.
import type { NodeState } from '../model/objects.ts';
import type { ClusterView, PolicyGroup } from '../policy/index.ts';
import type { ConfigSnapshot } from '../database/config.ts';
import type { Store } from '../store/store.ts';
import { keys, nameAfter } from './keys.ts';
import { decodeObject, decodeOwner, decodeMove, type MoveRecord, type OwnerRecord } from './records.ts';

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
