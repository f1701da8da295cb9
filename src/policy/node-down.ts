// When a node goes down: one placement decision for every group it owned, in
// Priority order (higher first; equal priorities by name, so plans are
// deterministic). Each decision sees the groups placed before it in the same
// plan (one index for the whole plan, plan.ts), so anti-affinity spreads a
// class over the surviving nodes and load spreads the groups.
//
// Cost: O(groups) to index the cluster once, then O(candidate nodes) per group
// of the down node (plus its resources' PossibleOwners) — about
// O(groups x nodes) in the worst case; see bench/placement.bench.ts.
//
// Groups with Priority 0 are still given a new owner (someone must own them)
// but are marked start: false — WSFC does not start them automatically.
// The plan is placement only: the caller applies FailoverThreshold
// (threshold.ts) to each decision it carries out.
import { planEvacuation, type PlacementDecision } from './plan.ts';
import type { ClusterView } from './view.ts';

export interface NodeDownDecision extends PlacementDecision {
  /** Whether the group is brought online on its new node (false for Priority 0). */
  readonly start: boolean;
}

export interface NodeDownPlan {
  readonly node: string;
  /** In the order the groups should be started. */
  readonly decisions: readonly NodeDownDecision[];
}

/** Plans the failover of every group owned by `downNode`; that node is treated as Down. */
export function planNodeDown(view: ClusterView, downNode: string): NodeDownPlan {
  const decisions = planEvacuation(view, [downNode]);
  return { node: downNode, decisions: decisions.map((d) => ({ ...d, start: d.priority > 0 })) };
}
