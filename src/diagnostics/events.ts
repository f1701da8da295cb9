// Turns cluster log records into typed cluster events: the vocabulary the
// timelines and the known-issue rules are written in. It reads failover's own
// lines (the texts of src/model/messages.ts) and real WSFC lines alike; where
// both exist they were made to agree, so one pattern serves both.
//
// This runs for every line of a log that may be a gigabyte, so each line is
// first sorted by component and by the first characters of its text, and only
// lines that can match run a regular expression.

import type { LogRecord } from '../log/format.ts';

export type ClusterEvent =
  | { type: 'resourceState'; resource: string; from: string; to: string }
  | { type: 'groupState'; group: string; from: string; to: string }
  | { type: 'createResource'; resource: string; group: string }
  | { type: 'moveRequest'; group: string; target: string }
  | { type: 'moveOperation'; group: string; target: string }
  | { type: 'moveAboutToSucceed'; group: string; from: string; to: string; moveType: string }
  | { type: 'movePhase'; group: string; phase: string }
  | { type: 'moveCompleted'; group: string; to: string }
  | { type: 'moveFailed'; group: string; to: string; resource?: string; errorName: string; code: number; detail: string }
  | { type: 'moveReturned'; group: string; to: string }
  | { type: 'apiCall'; api: string; target: string }
  | { type: 'groupMovingRetry'; api: string; group: string }
  | { type: 'entryPointError'; resource: string; resourceType: string; entryPoint?: string; code?: number; detail: string }
  | { type: 'callTimedOut'; resource: string; call: string }
  | { type: 'separateMonitor'; resource?: string }
  | { type: 'openRetry'; resource: string; code: number; attempt: number; attemptsMax: number; delayMs: number }
  | { type: 'openBeforeOnline'; resource: string }
  | { type: 'restartScheduled'; resource: string; restartCount: number; threshold: number }
  | { type: 'restartThresholdExceeded'; resource: string; group?: string }
  | { type: 'failoverThresholdExceeded'; group: string; failoverCount: number }
  | { type: 'cannotHost'; resource?: string; node?: string; code: number }
  | { type: 'nodeState'; node: string; state: 'Up' | 'Down' }
  | { type: 'apiOnline' }
  | { type: 'quorumLost' };

export type ClusterEventType = ClusterEvent['type'];

/** `a, b, c` split at the last comma: names may contain commas, the last argument does not. */
function splitLastArg(args: string): [string, string] | undefined {
  const i = args.lastIndexOf(',');
  if (i < 0) return undefined;
  return [args.slice(0, i).trim(), args.slice(i + 1).trim()];
}

const reTransition = /^TransitionToState\((.+)\) ([A-Za-z]+)-->([A-Za-z]+)\.?$/;
const reResState = /^Res (.+): ([A-Za-z]+) -> ([A-Za-z]+)/;
const reGroupStateWsfc = /^rcm::RcmGroup::UpdateStateIfChanged: \((.+), ([A-Za-z]+) --> ([A-Za-z]+)\)/;
const reGroupState = /^Group (.+): ([A-Za-z]+) -> ([A-Za-z]+)/;
const reApi = /^rcm::RcmApi::(\w+): \((.*)\)\.?$/;
const reRetry = /^rcm::RcmApi::(\w+): retrying: (.+), 5908\.?$/;
const reGumCall = /^rcm::RcmGum::(\w+)\((.*)\)\.?$/;
const reAboutToSucceed = /^move of group (.+) from (.+?)\(\d+\) to (.+?)\(\d+\) of type MoveType::(\w+)/;
const reMovePhase = /^move of group (.+): phase (.+?)\.?$/;
const reMoveCompleted = /^move of group (.+) to (.+?\(\d+\)) completed\.?$/;
const reMoveFailed = /^move of group (.+?) to (.+?\(\d+\)) failed: resource (.+?): ([A-Z][A-Z0-9_]*)\((\d+)\): ?(.*)$/;
const reMoveReturned = /^move of group (.+) returned to (.+?\(\d+\)) after an error\.?$/;
const reOpenRetry = /^Open of resource (.+) failed \((\d+)\); retry (\d+) of (\d+) in (\d+) ms\.?$/;
const reOpenBeforeOnline = /^Resource (.+) has not opened; issuing Open before Online\.?$/;
const reRestartScheduled = /^Resource (.+) failed; restart (\d+) of (\d+) in \d+ ms\.?$/;
const reRestartExceeded = /^Resource (.+) exceeded its restart threshold; failing over group (.+?)\.?$/;
const reFailoverExceeded = /^Group (.+) exceeded its failover threshold \((\d+) in /;
const reNotFailingOver = /^Not failing over group (.+), failoverCount (\d+), failover threshold/;
const reCannotHost = /^Node (.+) cannot host resource (.+) \((50(?:15|71))\)\.?$/;
const reCannotHostCode = /\b(5015|5071)\b|ERROR_(NODE_CANT_HOST_RESOURCE|HOST_NODE_NOT_RESOURCE_OWNER)/;
const reFirstParenArg = /\(([^,()]+(?:\([^()]*\))?[^,()]*)[,)]/;
const reNodeState = /^Node (.+?)(?:\(\d+\))? is (Up|Down)\b/i;
const reDeadlock = /^RhsCall::DeadlockMonitor: Call (\w+) timed out(?: by \d+ milliseconds)? for resource '(.+?)'/;
const reQuoted = /'([^']+)'/;
const reResourceLine = /^([^<>]*?) ?<(.+?)>: (.*)$/;
const reEntryPointFailed = /^(\w+) failed: ([A-Z][A-Z0-9_]*)\((\d+)\): ?(.*)$/;
const reEntryPointWord = /(Open|Online|Offline|Close|Terminate|LooksAlive|IsAlive)(?:Resource)?\b/i;
const reErrorCode = /\b[Ee]rror:? *(\d+)|\((\d+)\)|\b(?:status|error code|result) (\d+)\b/;
const reQuorumLost = /lost quorum|quorum (?:is |was |has been )?lost|\(5925\)|\b5925\b|ERROR_CLUSTER_NO_QUORUM/i;

function int(s: string | undefined): number {
  return s === undefined ? NaN : Number.parseInt(s, 10);
}

function rcmEvent(text: string, level: string): ClusterEvent | undefined {
  switch (text.charCodeAt(0)) {
    case 84 /* T */: {
      const m = reTransition.exec(text);
      if (m) return { type: 'resourceState', resource: m[1]!, from: m[2]!, to: m[3]! };
      break;
    }
    case 114 /* r */: {
      if (text.startsWith('rcm::RcmApi::')) {
        const retry = reRetry.exec(text);
        if (retry) return { type: 'groupMovingRetry', api: retry[1]!, group: retry[2]! };
        const m = reApi.exec(text);
        if (m) {
          const api = m[1]!;
          if (api === 'MoveGroup') {
            const args = splitLastArg(m[2]!);
            if (args) return { type: 'moveRequest', group: args[0], target: args[1] };
          }
          return { type: 'apiCall', api, target: m[2]! };
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
      }
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
      if (m) return { type: 'moveAboutToSucceed', group: m[1]!, from: m[2]!, to: m[3]!, moveType: m[4]! };
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
      if (m) return { type: 'failoverThresholdExceeded', group: m[1]!, failoverCount: int(m[2]) };
      m = reCannotHost.exec(text);
      if (m) return { type: 'cannotHost', node: m[1]!, resource: m[2]!, code: int(m[3]) };
      break;
    }
  }
  if (level === 'ERR' || level === 'WARN') {
    // WSFC words "cannot host" in several ways; the codes are what they share.
    const code = reCannotHostCode.exec(text);
    if (code) {
      const e: ClusterEvent = { type: 'cannotHost', code: code[1] ? int(code[1]) : code[2] === 'NODE_CANT_HOST_RESOURCE' ? 5071 : 5015 };
      const arg = reFirstParenArg.exec(text) ?? reQuoted.exec(text);
      if (arg) e.resource = arg[1]!.trim();
      return e;
    }
  }
  return undefined;
}

/** An error a resource DLL (or failover's resource host) reported: `Type <Resource>: ...`. */
function entryPointError(text: string): ClusterEvent | undefined {
  const m = reResourceLine.exec(text);
  if (!m) return undefined;
  const resourceType = m[1]!;
  const resource = m[2]!;
  const rest = m[3]!;
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

function rhsEvent(text: string, level: string): ClusterEvent | undefined {
  if (text.startsWith('RhsCall::DeadlockMonitor')) {
    const m = reDeadlock.exec(text);
    if (m) return { type: 'callTimedOut', call: m[1]!, resource: m[2]! };
  }
  if (text.includes('separate monitor')) return separateMonitor(text);
  if (level === 'ERR') return entryPointError(text);
  return undefined;
}

function separateMonitor(text: string): ClusterEvent {
  const q = reQuoted.exec(text);
  const e: ClusterEvent = { type: 'separateMonitor' };
  if (q) e.resource = q[1]!;
  return e;
}

/** The event a line records, or undefined for the many lines that record none. */
export function extractEvent(record: LogRecord): ClusterEvent | undefined {
  const { component, text, level } = record;
  switch (component) {
    case 'RCM': {
      const e = rcmEvent(text, level);
      if (e) return e;
      if (text.includes('separate monitor')) return separateMonitor(text);
      break;
    }
    case 'RES':
      if (level === 'ERR') return entryPointError(text);
      return undefined;
    case 'RHS':
      return rhsEvent(text, level);
    case 'NM':
    case 'NODE': {
      const m = reNodeState.exec(text);
      if (m) return { type: 'nodeState', node: m[1]!, state: m[2]!.toLowerCase() === 'up' ? 'Up' : 'Down' };
      break;
    }
    case 'API':
      if (text === 'Online.' || text === 'Online') return { type: 'apiOnline' };
      return undefined;
  }
  if ((level === 'ERR' || level === 'WARN') && reQuorumLost.test(text)) return { type: 'quorumLost' };
  return undefined;
}
