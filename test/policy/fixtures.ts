// Small builders for policy tests: a cluster view from terse descriptions.
import type { NodeState } from '../../src/model/objects.ts';
import type { ClusterView, PolicyGroup, PolicyGroupCommon, PolicyNode } from '../../src/policy/view.ts';

/** nodes('A B C') -> Up nodes A(1), B(2), C(3); states override by name. */
export function nodes(names: string, states: Record<string, NodeState> = {}): PolicyNode[] {
  return names.split(/\s+/).filter(Boolean).map((name, i) => ({ name, id: i + 1, state: states[name] ?? 'Up' }));
}

export interface GroupSpec {
  owner?: string;
  preferred?: string[];
  classes?: string[];
  priority?: number;
  failback?: { start: number; end: number };
  /** resource name -> possible owners (empty: all) */
  resources?: Record<string, string[]>;
}

export function group(name: string, spec: GroupSpec = {}): PolicyGroup {
  const common: PolicyGroupCommon = {
    PreferredOwners: spec.preferred ?? [],
    AntiAffinityClassNames: spec.classes ?? [],
    Priority: spec.priority ?? 2000,
    AutoFailbackType: spec.failback ? 1 : 0,
    FailbackWindowStart: spec.failback?.start ?? 0xffffffff,
    FailbackWindowEnd: spec.failback?.end ?? 0xffffffff,
  };
  const resources = Object.entries(spec.resources ?? { [`${name}-R`]: [] }).map(([r, owners]) => ({
    name: r,
    common: { PossibleOwners: owners },
  }));
  return { name, owner: spec.owner, common, resources };
}

export function view(nodeList: PolicyNode[], ...groups: PolicyGroup[]): ClusterView {
  return { nodes: nodeList, groups };
}
