// Where the cluster's run-time state lives in the store. Configuration (desired
// state) lives in the cluster database under its own root; everything here is
// reported or agreed state that agents write and watch.
//
//   members/<node>           a node's liveness: attached to the node's lease
//   paused/<node>            pause request ({ drain })
//   coordinator              the elected coordinator (attached to its lease)
//   owners/<group>           { node, reason, moveId? }; the key's modRevision is the ownership epoch
//   moves/<group>            the group's current or last move (MoveRecord)
//   state/<node>/<resource>  a node's report of one resource (ResourceReport)
//   ops/<node>/<opId>        an operation addressed to the node that owns the object
//   results/<opId>           the operation's progress and outcome
//   failovers/<group>        timestamps of the group's recent failovers (for FailoverThreshold)
//   failover-requests/<group> a node asks the coordinator to fail a group over
//   api-tokens               the REST API's tokens every agent of a distributed cluster serves with
//   fenced/<node>            { lease }: the node's watchdog killed every resource process it started under that lease

export const CLUSTER_PREFIX = '/failover/cluster/';

export const keys = {
  member: (node: string) => `${CLUSTER_PREFIX}members/${node}`,
  members: `${CLUSTER_PREFIX}members/`,
  paused: (node: string) => `${CLUSTER_PREFIX}paused/${node}`,
  pausedAll: `${CLUSTER_PREFIX}paused/`,
  coordinator: `${CLUSTER_PREFIX}coordinator`,
  owner: (group: string) => `${CLUSTER_PREFIX}owners/${group}`,
  owners: `${CLUSTER_PREFIX}owners/`,
  move: (group: string) => `${CLUSTER_PREFIX}moves/${group}`,
  moves: `${CLUSTER_PREFIX}moves/`,
  state: (node: string, resource: string) => `${CLUSTER_PREFIX}state/${node}/${resource}`,
  states: `${CLUSTER_PREFIX}state/`,
  op: (node: string, opId: string) => `${CLUSTER_PREFIX}ops/${node}/${opId}`,
  opsOf: (node: string) => `${CLUSTER_PREFIX}ops/${node}/`,
  result: (opId: string) => `${CLUSTER_PREFIX}results/${opId}`,
  results: `${CLUSTER_PREFIX}results/`,
  failovers: (group: string) => `${CLUSTER_PREFIX}failovers/${group}`,
  failoverRequest: (group: string) => `${CLUSTER_PREFIX}failover-requests/${group}`,
  failoverRequests: `${CLUSTER_PREFIX}failover-requests/`,
  apiTokens: `${CLUSTER_PREFIX}api-tokens`,
  fenced: (node: string) => `${CLUSTER_PREFIX}fenced/${node}`,
  fencedAll: `${CLUSTER_PREFIX}fenced/`,
} as const;

/** The last path segment of a key under a prefix. */
export function nameAfter(prefix: string, key: string): string {
  return key.slice(prefix.length);
}
