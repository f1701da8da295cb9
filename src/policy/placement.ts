// Choosing a node for a group: the target of a failover, of a move that names
// no node, and the check of a move that names one. Pure: the cluster is an input.
//
// Rules (WSFC's):
// - candidates are the group's PreferredOwners in their order, then every other
//   node, the one hosting the fewest groups first (load spreading; ties in
//   node-id order). Names in PreferredOwners that are not nodes are ignored;
// - only Up nodes qualify (Down, Joining and Paused nodes host nothing new);
// - PossibleOwners of every resource of the group is a hard limit (an empty
//   list means every node);
// - a failover leaves the failed owner where another node qualifies, and comes
//   back to it (a restart in place) only when none does; a move never targets
//   the current owner;
// - anti-affinity: a node already hosting another group that shares one of the
//   group's AntiAffinityClassNames is passed over where another qualifying
//   node exists. Where every qualifying node hosts one, the node hosting the
//   fewest of them is used (the choice says it was relaxed), so a class
//   larger than the cluster still spreads evenly.
//
// Plans that place many groups (plan.ts) do so over one PlacementIndex that
// records each decision, so every rule above holds among the groups of one plan.
import { clusterError, type ClusterErrorValue } from '../model/errors.ts';
import { describeNode, type ClusterView, type PolicyGroup, type PolicyNode } from './view.ts';

export type PlacementPurpose = 'failover' | 'move';

export interface PlacementChoice {
  readonly node: string;
  /** True when every qualifying node hosts a group of the same anti-affinity class. */
  readonly antiAffinityRelaxed: boolean;
}

export type PlacementResult = PlacementChoice | ClusterErrorValue;

export function isPlacementError(r: PlacementResult): r is ClusterErrorValue {
  return 'code' in r;
}

/** The names of the nodes every resource of the group may run on; undefined = no limit. */
export function possibleOwnerLimit(group: PolicyGroup): ReadonlySet<string> | undefined {
  let limit: Set<string> | undefined;
  for (const r of group.resources) {
    const owners = r.common.PossibleOwners;
    if (owners.length === 0) continue;
    if (limit === undefined) limit = new Set(owners);
    else {
      const next = new Set<string>();
      for (const n of owners) if (limit.has(n)) next.add(n);
      limit = next;
    }
  }
  return limit;
}

function uniqueClasses(group: PolicyGroup): readonly string[] {
  const classes = group.common.AntiAffinityClassNames;
  return classes.length <= 1 ? classes : [...new Set(classes)];
}

/**
 * Node lookup and, per node, how many groups it hosts and how many of each
 * anti-affinity class. Built once per decision (or per plan) in O(groups); a
 * plan updates it as it places groups, so later decisions see the earlier ones.
 */
export class PlacementIndex {
  readonly nodesInIdOrder: readonly PolicyNode[];
  private readonly nodeByName = new Map<string, PolicyNode>();
  private readonly groupByName = new Map<string, PolicyGroup>();
  /** Where each group is counted. */
  private readonly placedOn = new Map<string, string>();
  private readonly groupCounts = new Map<string, number>();
  private readonly classCounts = new Map<string, Map<string, number>>();

  constructor(view: ClusterView) {
    this.nodesInIdOrder = [...view.nodes].sort((a, b) => a.id - b.id);
    for (const n of this.nodesInIdOrder) this.nodeByName.set(n.name, n);
    for (const g of view.groups) {
      this.groupByName.set(g.name, g);
      if (g.owner !== undefined) this.place(g, g.owner);
    }
  }

  node(name: string): PolicyNode | undefined {
    return this.nodeByName.get(name);
  }

  group(name: string): PolicyGroup | undefined {
    return this.groupByName.get(name);
  }

  /** How many groups sit on `node`. */
  load(node: string): number {
    return this.groupCounts.get(node) ?? 0;
  }

  /** Records that the group now sits on `node` (moving its count and anti-affinity classes there). */
  place(group: PolicyGroup, node: string): void {
    const classes = uniqueClasses(group);
    const previous = this.placedOn.get(group.name);
    if (previous === node) return;
    this.placedOn.set(group.name, node);
    if (previous !== undefined) this.groupCounts.set(previous, this.load(previous) - 1);
    this.groupCounts.set(node, this.load(node) + 1);
    if (classes.length === 0) return;
    if (previous !== undefined) {
      const counts = this.classCounts.get(previous)!;
      for (const c of classes) counts.set(c, counts.get(c)! - 1);
    }
    let counts = this.classCounts.get(node);
    if (!counts) this.classCounts.set(node, (counts = new Map()));
    for (const c of classes) counts.set(c, (counts.get(c) ?? 0) + 1);
  }

  /**
   * How many other groups on `node` share an anti-affinity class with `group`
   * (a group sharing two classes counts twice); 0 = no conflict.
   */
  conflicts(group: PolicyGroup, node: string): number {
    const classes = uniqueClasses(group);
    if (classes.length === 0) return 0;
    const counts = this.classCounts.get(node);
    if (!counts) return 0;
    const self = this.placedOn.get(group.name) === node ? 1 : 0;
    let n = 0;
    for (const c of classes) n += (counts.get(c) ?? 0) - self;
    return n;
  }
}

/** How a search treats nodes beyond the rules every placement follows. */
export interface SearchOptions {
  /** The node the group is leaving (failed or current owner). */
  readonly leaving: string | undefined;
  /** true: never return `leaving` (a move); false: only when nothing else qualifies (a failover). */
  readonly leavingIsForbidden: boolean;
  /** Nodes to treat as Down whatever their reported state (the nodes a plan empties). */
  readonly down?: ReadonlySet<string>;
}

/**
 * The core search: O(candidate nodes) (one pass that keeps the best node so
 * far), plus O(resources' PossibleOwners) to intersect the limits. A preferred
 * node with no conflict ends the search at once.
 */
export function searchTarget(index: PlacementIndex, group: PolicyGroup, opts: SearchOptions): PlacementResult {
  const limit = possibleOwnerLimit(group);
  let leavingQualifies = false;
  const qualifies = (node: PolicyNode): boolean => {
    if (node.state !== 'Up' || opts.down?.has(node.name)) return false;
    if (limit !== undefined && !limit.has(node.name)) return false;
    if (node.name === opts.leaving) {
      leavingQualifies = !opts.leavingIsForbidden;
      return false;
    }
    return true;
  };
  // The best so far: fewest conflicts, then preferred order, then (others) least load; ties keep node-id order.
  let best: string | undefined;
  let bestConflicts = Infinity;
  let bestIsPreferred = false;
  let bestLoad = Infinity;
  const preferred = group.common.PreferredOwners;
  for (const name of preferred) {
    const node = index.node(name);
    if (!node || !qualifies(node)) continue;
    const conflicts = index.conflicts(group, node.name);
    if (conflicts === 0) return { node: node.name, antiAffinityRelaxed: false };
    if (conflicts < bestConflicts) {
      best = node.name;
      bestConflicts = conflicts;
      bestIsPreferred = true;
    }
  }
  const preferredSet = preferred.length > 0 ? new Set(preferred) : undefined;
  for (const node of index.nodesInIdOrder) {
    if (preferredSet?.has(node.name) || !qualifies(node)) continue;
    const conflicts = index.conflicts(group, node.name);
    if (conflicts > bestConflicts || (conflicts === bestConflicts && bestIsPreferred)) continue;
    const load = index.load(node.name);
    if (conflicts < bestConflicts || load < bestLoad) {
      best = node.name;
      bestConflicts = conflicts;
      bestIsPreferred = false;
      bestLoad = load;
    }
  }
  if (best !== undefined) return { node: best, antiAffinityRelaxed: bestConflicts > 0 };
  if (leavingQualifies && opts.leaving !== undefined) {
    return { node: opts.leaving, antiAffinityRelaxed: index.conflicts(group, opts.leaving) > 0 };
  }
  return explainNoTarget(index, group, opts);
}

/** Why no node qualified, node by node; only computed on failure. */
function explainNoTarget(index: PlacementIndex, group: PolicyGroup, opts: SearchOptions): ClusterErrorValue {
  const reasons: string[] = [];
  let upNodes = 0;
  const cannotHost = new Set<string>();
  for (const node of index.nodesInIdOrder) {
    const state = node.state === 'Up' && opts.down?.has(node.name) ? 'Down' : node.state;
    let reason: string;
    if (state !== 'Up') reason = state;
    else {
      upNodes++;
      const refusing = group.resources.find((r) => r.common.PossibleOwners.length > 0 && !r.common.PossibleOwners.includes(node.name));
      if (refusing) {
        cannotHost.add(refusing.name);
        reason = `not a possible owner of resource ${JSON.stringify(refusing.name)}`;
      } else if (node.name === opts.leaving) reason = 'current owner';
      else reason = 'not eligible'; // unreachable while the rules above are complete
    }
    reasons.push(`${describeNode(node)}: ${reason}`);
  }
  const detail = `group ${JSON.stringify(group.name)} has no node to go to: ${reasons.length > 0 ? reasons.join('; ') : 'the cluster has no nodes'}`;
  if (upNodes === 0) return clusterError('ERROR_HOST_NODE_NOT_AVAILABLE', detail);
  if (cannotHost.size > 0) return clusterError('ERROR_NODE_CANT_HOST_RESOURCE', detail);
  return clusterError('ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST', detail);
}

/**
 * The target of a failover or of a move that names no node.
 * failover: `leaving` defaults to the group's owner and is used only when no other node qualifies.
 * move: the current owner is never the target.
 */
export function chooseTarget(view: ClusterView, groupName: string, purpose: PlacementPurpose, leaving?: string): PlacementResult {
  const index = new PlacementIndex(view);
  const group = index.group(groupName);
  if (!group) return clusterError('ERROR_GROUP_NOT_FOUND', `group ${JSON.stringify(groupName)} not found`);
  return searchTarget(index, group, {
    leaving: leaving ?? group.owner,
    leavingIsForbidden: purpose === 'move',
  });
}

/**
 * Checks a move that names its target: the node must be a member, Up, and a
 * possible owner of every resource of the group. Anti-affinity does not refuse
 * an explicit move (the operator chose). A move to the current owner is not an
 * error here; the caller decides whether it is a no-op.
 */
export function validateMoveTarget(view: ClusterView, groupName: string, target: string): ClusterErrorValue | undefined {
  const group = view.groups.find((g) => g.name === groupName);
  if (!group) return clusterError('ERROR_GROUP_NOT_FOUND', `group ${JSON.stringify(groupName)} not found`);
  const node = view.nodes.find((n) => n.name === target);
  const where = `move of group ${JSON.stringify(groupName)} to node ${JSON.stringify(target)}`;
  if (!node) return clusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `${where}: no such node`);
  switch (node.state) {
    case 'Down':
      return clusterError('ERROR_CLUSTER_NODE_DOWN', `${where}: the node is down`);
    case 'Paused':
      return clusterError('ERROR_CLUSTER_NODE_PAUSED', `${where}: the node is paused`);
    case 'Joining':
      return clusterError('ERROR_CLUSTER_NODE_NOT_READY', `${where}: the node is still joining`);
    case 'Up':
      break;
  }
  for (const r of group.resources) {
    const owners = r.common.PossibleOwners;
    if (owners.length > 0 && !owners.includes(target)) {
      return clusterError('ERROR_NODE_CANT_HOST_RESOURCE', `${where}: the node is not a possible owner of resource ${JSON.stringify(r.name)}`);
    }
  }
  return undefined;
}
