// Turns cluster log records into typed cluster events: the vocabulary the
// timelines and the known-issue rules are written in. It reads failover's own
// lines (the texts of src/model/messages.ts) and real WSFC lines alike; where
// both exist they were made to agree, so one pattern serves both. The WSFC
// texts each pattern reads, and where they come from, are listed in
// docs/diagnostics.md.
//
// This runs for every line the reader's pre-filter keeps, so each line is
// first sorted by component and by the first characters of its text, and only
// lines that can match run a regular expression.

import type { DiagRecord } from './line.ts';

export type ClusterEvent =
  | { type: 'resourceState'; resource: string; from: string; to: string }
  | { type: 'groupState'; group: string; from: string; to: string }
  | { type: 'createResource'; resource: string; group: string }
  | { type: 'moveRequest'; group: string; target: string }
  | { type: 'moveOperation'; group: string; target: string }
  | { type: 'moveAboutToSucceed'; group: string; from: string; fromId?: string; to: string; toId?: string; moveType: string }
  | { type: 'movePhase'; group: string; phase: string }
  | { type: 'moveCompleted'; group: string; to: string }
  | { type: 'moveFailed'; group: string; to: string; resource?: string; errorName: string; code: number; detail: string }
  | { type: 'moveReturned'; group: string; to: string }
  | { type: 'apiCall'; api: string; target: string }
  | { type: 'groupMovingRetry'; api: string; group: string }
  | { type: 'entryPointError'; resource: string; resourceType: string; entryPoint?: string; code?: number; detail: string }
  | { type: 'callTimedOut'; resource: string; call: string }
  | { type: 'callFailed'; resource: string; call: string; code: number }
  | { type: 'separateMonitor'; resource?: string }
  | { type: 'openRetry'; resource: string; code: number; attempt: number; attemptsMax: number; delayMs: number }
  | { type: 'openBeforeOnline'; resource: string }
  | { type: 'restartScheduled'; resource?: string; restartCount?: number; threshold?: number }
  | { type: 'resourceFailureCount'; resource: string; failureCount: number; restartAction: number }
  | { type: 'restartThresholdExceeded'; resource: string; group?: string }
  | { type: 'failoverThresholdExceeded'; group: string; failoverCount: number; threshold?: number }
  | { type: 'cannotHost'; resource?: string; node?: string; code: number }
  | { type: 'nodeState'; node: string; nodeId?: string; state: 'Up' | 'Down' }
  | { type: 'communicationLost'; node?: string; address?: string; detail: string }
  | { type: 'leaseTimeout'; resource: string; kind: 'lease' | 'healthCheck' }
  | { type: 'serviceStart'; node?: string; nodeId?: string }
  | { type: 'apiOnline' }
  | { type: 'quorumLost' };

export type ClusterEventType = ClusterEvent['type'];

/** `a, b, c` split at the last comma: names may contain commas, the last argument does not. */
function splitLastArg(args: string): [string, string] | undefined {
  const i = args.lastIndexOf(',');
  if (i < 0) return undefined;
  return [args.slice(0, i).trim(), args.slice(i + 1).trim()];
}

/** `TransitionToState(name) From-->To.`: the most common line a log has; the name may hold ") ". */
const reTransition = /^TransitionToState\((.*)\) ([A-Za-z]+)-->([A-Za-z]+)\.?$/;
const reResState = /^Res (.+?): ([A-Za-z]+) -> ([A-Za-z]+)/;
const reGroupStateWsfc = /^rcm::RcmGroup::UpdateStateIfChanged: \((.+), ([A-Za-z]+) --> ([A-Za-z]+)\)/;
const reGroupState = /^Group (.+): ([A-Za-z]+) -> ([A-Za-z]+)/;
/** An API call, `rcm::RcmApi::Name: (args)`, or its answer `rcm::RcmApi::Name: retrying: group, 5908.`: one expression for both, the most common lines after transitions. */
const reApi = /^rcm::RcmApi::(\w+): (?:retrying: (.+), 5908\.?|\((.*)\)\.?)$/;
const reGumCall = /^rcm::RcmGum::(\w+)\((.*)\)\.?$/;
const reAboutToSucceed = /^move of group (.+) from (.+?)\((\d+)\) to (.+?)\((\d+)\) of type MoveType::(\w+)/;
const reMovePhase = /^move of group (.+): phase (.+?)\.?$/;
const reMoveCompleted = /^move of group (.+) to (.+?\(\d+\)) completed\.?$/;
const reMoveFailed = /^move of group (.+?) to (.+?\(\d+\)) failed: resource (.+?): ([A-Z][A-Z0-9_]*)\((\d+)\): ?(.*)$/;
const reMoveReturned = /^move of group (.+) returned to (.+?\(\d+\)) after an error\.?$/;
const reOpenRetry = /^Open of resource (.+) failed \((\d+)\); retry (\d+) of (\d+) in (\d+) ms\.?$/;
const reOpenBeforeOnline = /^Resource (.+) has not opened; issuing Open before Online\.?$/;
const reRestartScheduled = /^Resource (.+) failed; restart (\d+) of (\d+) in \d+ ms\.?$/;
const reWillRestart = /^Will queue (?:immediate|delayed) restart \(\d+ milliseconds\) of (.+?) after terminate is complete/;
const reFailureCount = /^resource (.+?): failure count: (\d+), restartAction: (\d+)/;
const reRestartExceeded = /^Resource (.+) exceeded its restart threshold; failing over group (.+?)\.?$/;
const reFailoverExceeded = /^Group (.+) exceeded its failover threshold \((\d+) in /;
const reNotFailingOver = /^Not failing over group (.+?), failoverCount (\d+), (?:failoverThresholdSetting|failover threshold) (\d+)/;
const reCannotHost = /^Node (.+) cannot host resource (.+) \((50(?:15|71))\)\.?$/;
const reMonitorReply = /^(?:rcm::RcmResource::)?HandleMonitorReply: (\w+) for '(.+?)', gen\(\d+\) result (\d+)\/\d+/;
const reCannotHostCode = /\b(5015|5071)\b|ERROR_(NODE_CANT_HOST_RESOURCE|HOST_NODE_NOT_RESOURCE_OWNER)/;
const reResourcePhrase = /\bresource '?([^'(),]+?)'?(?:[,.:]|\s+(?:on|to|from|because|cannot|is|in)\b|$)/i;
const reOnNode = /\bnode '?([\w-]+)'?/i;
const reNodeState = /^Node (\S+?)(?:\s*\((\w+)\))? is (?:now )?(Up|Down)\b/i;
const reRemovedFromMembership = /node '([^']+)' was removed from the active failover cluster membership/i;
const reFailedHandlers = /executing node (\d+) failed handlers/i;
const reConnectionBroken = /Connection to Node (\d+) is broken/i;
const reRemoteUnreachable = /NetftRemoteUnreachable event, local address \S+ remote address (\S+)/i;
const reLostCommunication = /lost communication with (?:node )?'?([^'\s.,]+)'?/i;
const reDeadlock = /^RhsCall::DeadlockMonitor: Call (\w+) timed out(?: by \d+ milliseconds)? for resource '(.+?)'/;
const reTimeoutThreshold = /cluster resource '(.+?)' \(resource type .*? to exceed its time-out threshold/i;
const reQuoted = /'([^']+)'/;
const reResourceLine = /^([^<>]*?) ?<(.+?)>: (.*)$/;
const reEntryPointFailed = /^(\w+) failed: ([A-Z][A-Z0-9_]*)\((\d+)\): ?(.*)$/;
const reEntryPointWord = /(Open|Online|Offline|Close|Terminate|LooksAlive|IsAlive)(?:Resource)?\b/i;
const reErrorCode = /\b[Ee]rror:? *(\d+)|\((\d+)\)|\b(?:status|error code|result) (\d+)\b/;
const reErrorWords = /\b(?:fail(?:ed|ure)?|error|unable|cannot|denied|timed out)\b/i;
const reLease = /Lease timeout detected|lease (?:has )?expired|lease is no longer valid/i;
const reHealthCheck = /diagnostics heartbeat is lost|not healthy with given HealthCheckTimeout|health check (?:has )?timed out/i;
const reQuorumLost = /lost quorum|quorum (?:was |has been |is )?lost|status = 5925|\(5925\)|ERROR_CLUSTER_NO_QUORUM|\b5925\b/i;
const reServiceStart = /^Starting clussvc as a service|^Starting node (.+?)\((\d+)\)\.$/;

function int(s: string | undefined): number {
  return s === undefined ? NaN : Number.parseInt(s, 10);
}

/** An error or warning, or a line without a level (Windows Server 2008) that may be either. */
function severe(level: string | undefined): boolean {
  return level === undefined || level === 'ERR' || level === 'WARN';
}

function rcmEvent(text: string, level: string | undefined): ClusterEvent | undefined {
  switch (text.charCodeAt(0)) {
    case 84 /* T */: {
      const e = transition(text);
      if (e) return e;
      break;
    }
    case 114 /* r */: {
      if (text.startsWith('rcm::RcmApi::')) {
        const m = reApi.exec(text);
        if (m) {
          const api = m[1]!;
          if (m[2] !== undefined) return { type: 'groupMovingRetry', api, group: m[2] };
          if (api === 'MoveGroup') {
            const args = splitLastArg(m[3]!);
            if (args) return { type: 'moveRequest', group: args[0], target: args[1] };
          }
          return { type: 'apiCall', api, target: m[3]! };
        }
      } else if (text.startsWith('rcm::RcmGum::')) {
        const m = reGumCall.exec(text);
        if (m) {
          if (m[1] === 'GroupMoveOperation') {
            const args = splitLastArg(m[2]!);
            if (args) return { type: 'moveOperation', group: args[0], target: args[1] };
          } else if (m[1] === 'CreateResource') {
            // (name, id, group): the name may contain commas, id and group do not.
            const all = m[2]!;
            const g = all.lastIndexOf(',');
            const id = g > 0 ? all.lastIndexOf(',', g - 1) : -1;
            if (id > 0) return { type: 'createResource', resource: all.slice(0, id).trim(), group: all.slice(g + 1).trim() };
          }
        }
      } else if (text.startsWith('rcm::RcmGroup::UpdateStateIfChanged')) {
        const m = reGroupStateWsfc.exec(text);
        if (m) return { type: 'groupState', group: m[1]!, from: m[2]!, to: m[3]! };
      } else if (text.startsWith('rcm::RcmResource::HandleMonitorReply')) {
        return monitorReply(text);
      } else if (text.startsWith('resource ')) {
        const m = reFailureCount.exec(text);
        if (m) return { type: 'resourceFailureCount', resource: m[1]!, failureCount: int(m[2]), restartAction: int(m[3]) };
      }
      break;
    }
    case 72 /* H */:
      if (text.startsWith('HandleMonitorReply')) return monitorReply(text);
      break;
    case 87 /* W */: {
      const m = reWillRestart.exec(text);
      if (m) return { type: 'restartScheduled', resource: m[1]! };
      break;
    }
    case 82 /* R */: {
      if (text.startsWith('Res ')) {
        const m = reResState.exec(text);
        if (m) return { type: 'resourceState', resource: m[1]!, from: m[2]!, to: m[3]! };
      } else if (text.startsWith('Resource ')) {
        let m = reOpenBeforeOnline.exec(text);
        if (m) return { type: 'openBeforeOnline', resource: m[1]! };
        m = reRestartScheduled.exec(text);
        if (m) return { type: 'restartScheduled', resource: m[1]!, restartCount: int(m[2]), threshold: int(m[3]) };
        m = reRestartExceeded.exec(text);
        if (m) return { type: 'restartThresholdExceeded', resource: m[1]!, group: m[2]! };
      }
      break;
    }
    case 109 /* m */: {
      if (!text.startsWith('move of group ')) break;
      let m = reAboutToSucceed.exec(text);
      if (m) return { type: 'moveAboutToSucceed', group: m[1]!, from: m[2]!, fromId: m[3]!, to: m[4]!, toId: m[5]!, moveType: m[6]! };
      m = reMoveFailed.exec(text);
      if (m) {
        const resource = m[3]!;
        const e: ClusterEvent = { type: 'moveFailed', group: m[1]!, to: m[2]!, errorName: m[4]!, code: int(m[5]), detail: m[6]! };
        if (resource !== '-') e.resource = resource;
        return e;
      }
      m = reMoveCompleted.exec(text);
      if (m) return { type: 'moveCompleted', group: m[1]!, to: m[2]! };
      m = reMoveReturned.exec(text);
      if (m) return { type: 'moveReturned', group: m[1]!, to: m[2]! };
      m = reMovePhase.exec(text);
      if (m) return { type: 'movePhase', group: m[1]!, phase: m[2]! };
      break;
    }
    case 79 /* O */: {
      const m = reOpenRetry.exec(text);
      if (m) return { type: 'openRetry', resource: m[1]!, code: int(m[2]), attempt: int(m[3]), attemptsMax: int(m[4]), delayMs: int(m[5]) };
      break;
    }
    case 71 /* G */: {
      let m = reFailoverExceeded.exec(text);
      if (m) return { type: 'failoverThresholdExceeded', group: m[1]!, failoverCount: int(m[2]) };
      m = reGroupState.exec(text);
      if (m) return { type: 'groupState', group: m[1]!, from: m[2]!, to: m[3]! };
      break;
    }
    case 78 /* N */: {
      let m = reNotFailingOver.exec(text);
      if (m) return { type: 'failoverThresholdExceeded', group: m[1]!, failoverCount: int(m[2]), threshold: Number(m[3]) };
      m = reCannotHost.exec(text);
      if (m) return { type: 'cannotHost', node: m[1]!, resource: m[2]!, code: int(m[3]) };
      break;
    }
  }
  if (severe(level)) return cannotHostByCode(text);
  return undefined;
}

function transition(text: string): ClusterEvent | undefined {
  const m = reTransition.exec(text);
  return m ? { type: 'resourceState', resource: m[1]!, from: m[2]!, to: m[3]! } : undefined;
}

/** `HandleMonitorReply: ONLINERESOURCE for 'R', gen(8) result 5015/0.`: the resource is the quoted name, never the gen(N) number. */
function monitorReply(text: string): ClusterEvent | undefined {
  const m = reMonitorReply.exec(text);
  if (!m) return undefined;
  const code = int(m[3]);
  if (code === 0) return undefined;
  if (code === 5015 || code === 5071) return { type: 'cannotHost', resource: m[2]!, code };
  return { type: 'callFailed', call: m[1]!, resource: m[2]!, code };
}

/**
 * WSFC words "cannot host" in several ways; the codes are what they share. The
 * resource is a quoted or "resource X" name - never a number such as gen(8)'s
 * - looked for first in the reason of 2012+ errors (`(5015)' because of '...'`).
 */
function cannotHostByCode(text: string): ClusterEvent | undefined {
  const code = reCannotHostCode.exec(text);
  if (!code) return undefined;
  const e: ClusterEvent = { type: 'cannotHost', code: code[1] ? int(code[1]) : code[2] === 'NODE_CANT_HOST_RESOURCE' ? 5071 : 5015 };
  const because = text.indexOf("' because of '");
  const reason = because >= 0 ? text.slice(because + 14) : text;
  const named = reResourcePhrase.exec(reason) ?? reQuoted.exec(because >= 0 ? reason.replace(/'$/, '') : text);
  const name = named?.[1]?.trim();
  if (name && !/^\d+$/.test(name)) e.resource = name;
  const node = reOnNode.exec(reason);
  if (node) e.node = node[1]!;
  return e;
}

/** An error a resource DLL (or failover's resource host) reported: `Type <Resource>: ...`. */
function resourceLine(text: string, level: string | undefined): ClusterEvent | undefined {
  const m = reResourceLine.exec(text);
  if (!m) return undefined;
  const resourceType = m[1]!;
  const resource = m[2]!;
  const rest = m[3]!;
  if (reLease.test(rest)) return { type: 'leaseTimeout', resource, kind: 'lease' };
  if (reHealthCheck.test(rest)) return { type: 'leaseTimeout', resource, kind: 'healthCheck' };
  if (level === undefined && !reErrorWords.test(rest)) return undefined;
  const own = reEntryPointFailed.exec(rest);
  if (own) {
    return { type: 'entryPointError', resource, resourceType, entryPoint: capitalize(own[1]!), code: int(own[3]), detail: rest };
  }
  const e: ClusterEvent = { type: 'entryPointError', resource, resourceType, detail: rest };
  const ep = reEntryPointWord.exec(rest);
  if (ep) e.entryPoint = capitalize(ep[1]!);
  const code = reErrorCode.exec(rest);
  if (code) e.code = int(code[1] ?? code[2] ?? code[3]);
  return e;
}

function capitalize(s: string): string {
  const lower = s.toLowerCase();
  if (lower === 'looksalive') return 'LooksAlive';
  if (lower === 'isalive') return 'IsAlive';
  return lower.charAt(0).toUpperCase() + lower.slice(1);
}

function rhsEvent(text: string, level: string | undefined): ClusterEvent | undefined {
  if (text.startsWith('RhsCall::DeadlockMonitor')) {
    const m = reDeadlock.exec(text);
    if (m) return { type: 'callTimedOut', call: m[1]!, resource: m[2]! };
  }
  if (text.includes('separate monitor')) return separateMonitor(text);
  if (severe(level)) return resourceLine(text, level);
  return undefined;
}

function separateMonitor(text: string): ClusterEvent {
  const q = reQuoted.exec(text);
  const e: ClusterEvent = { type: 'separateMonitor' };
  if (q) e.resource = q[1]!;
  return e;
}

/** Membership and communication lines, whatever component (NM, NODE, CORE, NETFT, ...) or channel wrote them. */
function membershipEvent(text: string): ClusterEvent | undefined {
  let m = reNodeState.exec(text);
  if (m) {
    const e: ClusterEvent = { type: 'nodeState', node: m[1]!, state: m[3]!.toLowerCase() === 'up' ? 'Up' : 'Down' };
    if (m[2] !== undefined) {
      // `Node 2 (NODE2) is down` names the node in parentheses; failover writes `Node node2(2) is Down.`.
      if (/^\d+$/.test(m[1]!)) {
        e.nodeId = m[1]!;
        e.node = m[2]!;
      } else e.nodeId = m[2]!;
    } else if (/^\d+$/.test(m[1]!)) e.nodeId = m[1]!;
    return e;
  }
  m = reRemovedFromMembership.exec(text);
  if (m) return { type: 'nodeState', node: m[1]!, state: 'Down' };
  m = reFailedHandlers.exec(text);
  if (m) return { type: 'nodeState', node: m[1]!, nodeId: m[1]!, state: 'Down' };
  m = reConnectionBroken.exec(text);
  if (m) return { type: 'communicationLost', node: m[1]!, detail: text };
  m = reRemoteUnreachable.exec(text);
  if (m) return { type: 'communicationLost', address: m[1]!.replace(/:~?\d+~?$/, ''), detail: text };
  m = reLostCommunication.exec(text);
  if (m) return { type: 'communicationLost', node: m[1]!, detail: text };
  return undefined;
}

/** The event a line records, or undefined for the many lines that record none. */
export function extractEvent(record: DiagRecord): ClusterEvent | undefined {
  const { component, text, level } = record;
  switch (component) {
    case 'RCM': {
      const e = rcmEvent(text, level);
      if (e) return e;
      if (text.includes('separate monitor')) return separateMonitor(text);
      break;
    }
    case 'RES':
      if (severe(level)) return resourceLine(text, level);
      return undefined;
    case 'RHS':
      return rhsEvent(text, level);
    case 'API':
      if (text === 'Online.' || text === 'Online') return { type: 'apiOnline' };
      return undefined;
    case 'CS': {
      const m = reServiceStart.exec(text);
      if (m) return m[1] !== undefined ? { type: 'serviceStart', node: m[1], nodeId: m[2]! } : { type: 'serviceStart' };
      break;
    }
  }
  if (component !== 'RCM') {
    const member = membershipEvent(text);
    if (member) return member;
  }
  if (severe(level)) {
    if (reQuorumLost.test(text) && !/\bregained|\bone off quorum/i.test(text)) return { type: 'quorumLost' };
    const t = reTimeoutThreshold.exec(text);
    if (t) return { type: 'callTimedOut', resource: t[1]!, call: 'time-out threshold' };
  }
  return undefined;
}
