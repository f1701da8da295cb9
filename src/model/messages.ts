// The texts failover writes to its cluster log for the events diagnostics read
// back. They follow WSFC's own wording where WSFC has a line for the event, so
// one set of diagnostics rules reads failover's logs and real cluster.log files.
// Producers (the RCM, the shell) and the diagnostics both use these functions.

export type LogLevel = 'DBG' | 'INFO' | 'WARN' | 'ERR';

/** Components as WSFC names them. */
export type LogComponent = 'RCM' | 'RHS' | 'RES' | 'GUM' | 'NM' | 'API' | 'CS' | 'DM' | 'QUORUM' | 'FM' | 'SIM';

export interface LogMessage {
  readonly level: LogLevel;
  readonly component: LogComponent;
  readonly text: string;
}

const msg = (level: LogLevel, component: LogComponent, text: string): LogMessage => ({ level, component, text });

export const messages = {
  transition: (resource: string, from: string, to: string) =>
    msg('INFO', 'RCM', `TransitionToState(${resource}) ${from}-->${to}.`),
  /** An entry point returned an error; written by the resource host for the resource. */
  entryPointFailed: (type: string, resource: string, entryPoint: string, errorName: string, code: number, detail: string) =>
    msg('ERR', 'RES', `${type} <${resource}>: ${entryPoint} failed: ${errorName}(${code}): ${detail}`),
  entryPointTimedOut: (resource: string, entryPoint: string, deadlineMs: number) =>
    msg('ERR', 'RHS', `RhsCall::DeadlockMonitor: Call ${entryPoint.toUpperCase()} timed out for resource '${resource}' after ${deadlineMs} ms.`),
  openRetryScheduled: (resource: string, code: number, attempt: number, attemptsMax: number, delayMs: number) =>
    msg('WARN', 'RCM', `Open of resource ${resource} failed (${code}); retry ${attempt} of ${attemptsMax} in ${delayMs} ms.`),
  openBeforeOnline: (resource: string) =>
    msg('INFO', 'RCM', `Resource ${resource} has not opened; issuing Open before Online.`),
  onlineResourceRequest: (resource: string) => msg('INFO', 'RCM', `rcm::RcmApi::OnlineResource: (${resource})`),
  offlineResourceRequest: (resource: string) => msg('INFO', 'RCM', `rcm::RcmApi::OfflineResource: (${resource})`),
  resetResourceRequest: (resource: string) => msg('INFO', 'RCM', `rcm::RcmApi::ResetResource: (${resource})`),
  /** Answer to a request while a move of the group is in progress (only then). */
  groupMovingRetry: (api: string, group: string) => msg('WARN', 'RCM', `rcm::RcmApi::${api}: retrying: ${group}, 5908.`),
  moveGroupRequest: (group: string, targetNodeId: number) => msg('INFO', 'RCM', `rcm::RcmApi::MoveGroup: (${group}, ${targetNodeId})`),
  groupMoveOperation: (group: string, targetNodeId: number) => msg('INFO', 'RCM', `rcm::RcmGum::GroupMoveOperation(${group}, ${targetNodeId})`),
  moveAboutToSucceed: (group: string, from: string, fromId: number, to: string, toId: number, type: 'Manual' | 'Failover' | 'Failback', failoverCount: number) =>
    msg('INFO', 'RCM', `move of group ${group} from ${from}(${fromId}) to ${to}(${toId}) of type MoveType::${type} is about to succeed, failoverCount=${failoverCount}`),
  movePhase: (group: string, phase: string) => msg('INFO', 'RCM', `move of group ${group}: phase ${phase}.`),
  moveCompleted: (group: string, to: string, toId: number) => msg('INFO', 'RCM', `move of group ${group} to ${to}(${toId}) completed.`),
  /** resource: the resource that made the move fail, or '-' when none is to blame (e.g. the deadline). */
  moveFailed: (group: string, to: string, toId: number, resource: string, errorName: string, code: number, detail: string) =>
    msg('ERR', 'RCM', `move of group ${group} to ${to}(${toId}) failed: resource ${resource}: ${errorName}(${code}): ${detail}`),
  moveReturned: (group: string, to: string, toId: number) => msg('WARN', 'RCM', `move of group ${group} returned to ${to}(${toId}) after an error.`),
  restartScheduled: (resource: string, restartCount: number, threshold: number, delayMs: number) =>
    msg('WARN', 'RCM', `Resource ${resource} failed; restart ${restartCount} of ${threshold} in ${delayMs} ms.`),
  restartThresholdExceeded: (resource: string, group: string) =>
    msg('WARN', 'RCM', `Resource ${resource} exceeded its restart threshold; failing over group ${group}.`),
  failoverThresholdExceeded: (group: string, count: number, periodHours: number) =>
    msg('ERR', 'RCM', `Group ${group} exceeded its failover threshold (${count} in ${periodHours} h); it stays Failed on this node.`),
  cannotHost: (resource: string, node: string, code: number) =>
    msg('ERR', 'RCM', `Node ${node} cannot host resource ${resource} (${code}).`),
  nodeUp: (node: string, id: number) => msg('INFO', 'NM', `Node ${node}(${id}) is Up.`),
  nodeDown: (node: string, id: number) => msg('WARN', 'NM', `Node ${node}(${id}) is Down.`),
  apiOnline: () => msg('INFO', 'API', 'Online.'),
  quorumLost: () => msg('ERR', 'QUORUM', 'Cluster has lost quorum (5925).'),
} as const;
