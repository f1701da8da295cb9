// When a node goes down: one placement decision for every group it owned, in
// Priority order (higher first; equal priorities by name, so plans are
// deterministic). Each decision sees the groups placed before it in the same
// plan, so anti-affinity spreads a class over the surviving nodes.
//
// Cost: O(groups) to index the cluster once, then O(candidate nodes) per group
// of the down node (plus its resources' PossibleOwners) — about
// O(groups x nodes) in the worst case; see bench/placement.bench.ts.
//
// Groups with Priority 0 are still given a new owner (someone must own them)
// but are marked start: false — WSFC does not start them automatically.
// The plan is placement only: the caller applies FailoverThreshold
// (threshold.ts) to each decision it carries out.
import type { ClusterErrorValue } from '../model/errors.ts';
import { PlacementIndex, isPlacementError, searchTarget, type PlacementChoice } from './placement.ts';
import type { ClusterView } from './view.ts';

export interface NodeDownDecision {
  readonly group: string;
  readonly priority: number;
  /** Whether the group is brought online on its new node (false for Priority 0). */
  readonly start: boolean;
  readonly target: PlacementChoice | ClusterErrorValue;
}

export interface NodeDownPlan {
  readonly node: string;
  /** In the order the groups should be started. */
  readonly decisions: readonly NodeDownDecision[];
}

/** Plans the failover of every group owned by `downNode`; that node is treated as Down. */
export function planNodeDown(view: ClusterView, downNode: string): NodeDownPlan {
  const index = new PlacementIndex(view);
  const orphans = view.groups
    .filter((g) => g.owner === downNode)
    .sort((a, b) => b.common.Priority - a.common.Priority || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const decisions: NodeDownDecision[] = [];
  for (const group of orphans) {
    const target = searchTarget(index, group, { leaving: downNode, leavingIsForbidden: true, down: downNode });
    if (!isPlacementError(target)) index.place(group, target.node);
    decisions.push({ group: group.name, priority: group.common.Priority, start: group.common.Priority > 0, target });
  }
  return { node: downNode, decisions };
}
