// Plans that place many groups at once: the owners of every unowned group
// (cluster start, groups just created), the failover of a Down node's groups
// (node-down.ts), the drain of a node (planEvacuation) and the failovers
// groups ask for past their restart threshold (planFailovers). Each plan builds ONE PlacementIndex
// and records every decision in it before the next, so anti-affinity,
// preferred owners and load spreading hold among the groups of the plan — not
// only against the groups placed before it. Groups are placed in Priority
// order (higher first; equal priorities by name), so plans are deterministic
// and the most important groups get the best nodes.
//
// Cost: O(groups) to build the index, then O(candidate nodes) per placed group
// (see bench/placement.bench.ts). Pure: the cluster is an input, the plan the output.
import type { ClusterErrorValue } from '../model/errors.ts';
import { PlacementIndex, isPlacementError, searchTarget, type PlacementChoice, type SearchOptions } from './placement.ts';
import type { ClusterView, PolicyGroup } from './view.ts';

export interface PlacementDecision {
  readonly group: string;
  readonly priority: number;
  readonly target: PlacementChoice | ClusterErrorValue;
}

/** Higher Priority first; equal priorities by name. */
export function byPriority(a: PolicyGroup, b: PolicyGroup): number {
  return b.common.Priority - a.common.Priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/**
 * Places `groups` (in Priority order) over one index of `view`, recording each
 * successful decision before the next search.
 */
export function placeInOrder(view: ClusterView, groups: readonly PolicyGroup[], options: SearchOptions | ((group: PolicyGroup) => SearchOptions)): PlacementDecision[] {
  const index = new PlacementIndex(view);
  const decisions: PlacementDecision[] = [];
  for (const group of [...groups].sort(byPriority)) {
    const target = searchTarget(index, group, typeof options === 'function' ? options(group) : options);
    if (!isPlacementError(target)) index.place(group, target.node);
    decisions.push({ group: group.name, priority: group.common.Priority, target });
  }
  return decisions;
}

/** An owner for every group that has none (as a failover with no node to leave). */
export function planPlacement(view: ClusterView): PlacementDecision[] {
  return placeInOrder(
    view,
    view.groups.filter((g) => g.owner === undefined),
    { leaving: undefined, leavingIsForbidden: true },
  );
}

/**
 * New owners for every group the `nodes` own, never one of those nodes
 * whatever state the view reports for them: the moves of a drain (which pauses
 * the node first) and the failover of Down nodes (node-down.ts), all over one
 * index, so the groups of two nodes that went down together spread as well.
 */
export function planEvacuation(view: ClusterView, nodes: readonly string[]): PlacementDecision[] {
  const down = new Set(nodes);
  return placeInOrder(
    view,
    view.groups.filter((g) => g.owner !== undefined && down.has(g.owner)),
    { leaving: undefined, leavingIsForbidden: true, down },
  );
}

/**
 * Targets for groups that asked to fail over (a resource past its restart
 * threshold), each leaving its current owner: another node where one
 * qualifies, else a restart in place. Groups answered together spread as any
 * plan does.
 */
export function planFailovers(view: ClusterView, groups: readonly string[]): PlacementDecision[] {
  const asked = new Set(groups);
  return placeInOrder(
    view,
    view.groups.filter((g) => asked.has(g.name)),
    (g) => ({ leaving: g.owner, leavingIsForbidden: false }),
  );
}
