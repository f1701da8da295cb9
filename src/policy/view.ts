// What the placement policy needs to know about the cluster: nodes with their
// state, groups with their owner, placement properties and resources' possible
// owners. The shapes are structural subsets of the model's NodeConfig,
// GroupConfig and ResourceConfig, so callers can pass those (plus state/owner).
import type { GroupCommon, NodeState, ResourceCommon } from '../model/objects.ts';

export interface PolicyNode {
  readonly name: string;
  /** WSFC node id; "the other nodes" are tried in this order. */
  readonly id: number;
  readonly state: NodeState;
}

export interface PolicyResource {
  readonly name: string;
  readonly common: Pick<ResourceCommon, 'PossibleOwners'>;
}

export type PolicyGroupCommon = Pick<
  GroupCommon,
  'PreferredOwners' | 'AntiAffinityClassNames' | 'Priority' | 'AutoFailbackType' | 'FailbackWindowStart' | 'FailbackWindowEnd'
>;

export interface PolicyGroup {
  readonly name: string;
  /** The node that owns the group now; undefined if it has none. */
  readonly owner: string | undefined;
  readonly common: PolicyGroupCommon;
  readonly resources: readonly PolicyResource[];
}

export interface ClusterView {
  readonly nodes: readonly PolicyNode[];
  /** Every group of the cluster: anti-affinity looks at where the others are. */
  readonly groups: readonly PolicyGroup[];
}

export function describeNode(node: PolicyNode): string {
  return `${node.name}(${node.id})`;
}
