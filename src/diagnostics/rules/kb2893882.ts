// KB2893882: a group move that never completes because one of its resources
// is stuck in OpenCallFailed.
//
// Fires when, in this order: a resource's Open failed and it has not opened
// since; a move of its group started; requests for the group were answered
// `retrying: <group>, 5908` (ERROR_CLUSTER_GROUP_MOVING) at least
// stuckRetriesMin times; and to the end of the log the move neither completed
// nor failed nor returned, and the resource never left OpenCallFailed.
// It does not fire when the open succeeded before the move (the resource was
// never stuck) or when the retries ended with the move.

import type { LogLine } from '../reader.ts';
import type { EventOf, Evidence, Finding, Knowledge, Rule, RuleMatcher } from '../types.ts';
import { evidence, forOpenTracker, makeFinding, openFailureEvidence, OpenTracker, openTrackerEvents, Repeated, sortEvidence, timeText, withNote, type OpenFailure } from './common.ts';

/** Fewer 5908 answers than this are an ordinary moment of a move, not a stuck one. */
export const stuckRetriesMin = 3;

interface ActiveMove {
  group: string;
  target: string;
  from?: string;
  to?: string;
  request: Evidence;
  operation?: Evidence;
  aboutToSucceed?: Evidence;
  /** Resources that had failed to open (and not recovered) when the move started. */
  suspects: Map<string, OpenFailure>;
  retries: Repeated;
  onlineRequest?: Evidence;
}

const kbEvents = [
  ...openTrackerEvents,
  'moveRequest',
  'moveOperation',
  'moveAboutToSucceed',
  'groupMovingRetry',
  'moveCompleted',
  'moveFailed',
  'moveReturned',
  'groupState',
  'resourceState',
] as const;

export const kb2893882: Rule = {
  id: 'KB2893882',
  title: 'Group move stalls because a resource is stuck in OpenCallFailed (KB2893882)',
  severity: 'error',
  explanation:
    "The resource's Open failed when the cluster service started (Exchange 2007's resource DLL calls ClusterRegCreateKey() " +
    "for its 'Parameters' key before the cluster API is available; error 70), leaving it in OpenCallFailed. " +
    'A later move of the group brings a dependent resource online, which starts the stuck resource\'s online; its state ' +
    'cannot change, online processing stalls, the move never completes, and every OnlineResource request is answered ' +
    '5908 (ERROR_CLUSTER_GROUP_MOVING) for as long as the node runs.',
  remedies: {
    wsfc: [
      'Restart the Cluster service on node {node}, where {resource} is in OpenCallFailed, so that its Open runs again once the cluster API is up: `Stop-ClusterNode -Name {node}` then `Start-ClusterNode -Name {node}` (Windows Server 2008: `cluster node {node} /stop` then `cluster node {node} /start`). Recovering the stalled move may need a restart of that node.',
      'Move the group with the cluster tool instead of the Exchange Management Console - on single-copy clusters only: `Move-ClusterGroup -Name "{group}" -Node <node>` (2008: `cluster group "{group}" /moveto:<node>`). With Cluster Continuous Replication (CCR) keep using the Exchange Management Console.',
      'Remove the dependency of other resources on {resource}, so that bringing them online does not start its online while it has not opened: `Remove-ClusterResourceDependency -Resource <dependent> -Provider "{resource}"` (2008: `cluster res <dependent> /removedep:"{resource}"`).',
    ],
    failover: [
      '`failover resource reset {resource}` re-opens the resource without restarting any node or service.',
      'Then move the group again: `failover group move {group} --to {node}`.',
    ],
  },
  events: kbEvents,
  start(knowledge: Knowledge): RuleMatcher {
    return new Kb2893882Matcher(knowledge);
  },
};

function suspectKey(node: string, resource: string): string {
  return `${node}\u0000${resource}`;
}

class Kb2893882Matcher implements RuleMatcher {
  private readonly opens = new OpenTracker();
  private readonly moves = new Map<string, ActiveMove>();
  /** Suspects over all active moves: transitions cost nothing while there are none. */
  private suspects = 0;

  constructor(private readonly knowledge: Knowledge) {}

  observe({ event, line }: { event: EventOf<(typeof kbEvents)[number]>; line: LogLine }): void {
    if (forOpenTracker(event)) this.opens.observe(event, line);
    switch (event.type) {
      case 'moveRequest':
        this.startMove(event.group, event.target, line, true);
        break;
      case 'moveOperation': {
        const m = this.moves.get(event.group) ?? this.startMove(event.group, event.target, line, false);
        if (m.operation === undefined) m.operation = evidence(line);
        break;
      }
      case 'moveAboutToSucceed': {
        const m = this.moves.get(event.group);
        if (m) {
          m.from = event.from;
          m.to = event.to;
          m.aboutToSucceed = evidence(line);
        }
        break;
      }
      case 'groupMovingRetry': {
        const m = this.moves.get(event.group);
        if (!m) break;
        m.retries.add(line);
        if (m.onlineRequest === undefined) {
          const request = this.knowledge.requestOnThread(line);
          if (request) m.onlineRequest = evidence(request.line);
        }
        break;
      }
      case 'moveCompleted':
      case 'moveFailed':
      case 'moveReturned':
        this.endMove(event.group);
        break;
      case 'groupState':
        if (event.to === 'Online') this.endMove(event.group);
        break;
      case 'resourceState':
        // A suspect that opened after all (on its own node) is no longer stuck.
        if (this.suspects > 0 && this.opens.get(event.resource, line.node) === undefined) {
          const key = suspectKey(line.node, event.resource);
          for (const m of this.moves.values()) if (m.suspects.delete(key)) this.suspects--;
        }
        break;
      default:
        break;
    }
  }

  private endMove(group: string): void {
    const m = this.moves.get(group);
    if (!m) return;
    this.suspects -= m.suspects.size;
    this.moves.delete(group);
  }

  private startMove(group: string, target: string, line: LogLine, isRequest: boolean): ActiveMove {
    const existing = this.moves.get(group);
    if (existing && !isRequest) return existing;
    if (existing) this.suspects -= existing.suspects.size;
    const m: ActiveMove = {
      group,
      target,
      request: evidence(line),
      suspects: new Map(this.opens.current().map((f) => [suspectKey(f.node, f.resource), f])),
      retries: new Repeated(),
    };
    this.moves.set(group, m);
    this.suspects += m.suspects.size;
    return m;
  }

  findings(): Finding[] {
    const out: Finding[] = [];
    for (const m of this.moves.values()) {
      if (m.retries.count < stuckRetriesMin) continue;
      // Only a resource known to be in the moving group (section tables, CreateResource, the 5908 answer to its own
      // request) that is still stuck on the node it failed on; never one on the node the group is leaving.
      const source = m.from !== undefined ? this.knowledge.nodeName(m.from) : undefined;
      const target = this.knowledge.nodeName(m.to ?? m.target);
      const stuck = [...m.suspects.values()].filter(
        (f) => this.knowledge.groupOf(f.resource) === m.group && this.opens.get(f.resource, f.node) === f && this.knowledge.nodeName(f.node) !== source,
      );
      const onTarget = stuck.filter((f) => this.knowledge.nodeName(f.node) === target);
      const culprits = onTarget.length > 0 ? onTarget : stuck;
      const first = culprits[0];
      if (!first) continue;
      out.push(this.finding(m, first, culprits));
    }
    return out;
  }

  private finding(m: ActiveMove, f: OpenFailure, all: OpenFailure[]): Finding {
    const moveEvidence: Evidence[] = [withNote(m.request, 'the group move starts')];
    if (m.operation && m.operation !== m.request) moveEvidence.push(withNote(m.operation, 'the move is carried out'));
    if (m.aboutToSucceed) moveEvidence.push(withNote(m.aboutToSucceed, 'the move reports it is about to succeed - it never does'));
    if (m.onlineRequest) moveEvidence.push(withNote(m.onlineRequest, 'an online request for the group during the move'));
    moveEvidence.push(...m.retries.lines('requests answered 5908 (ERROR_CLUSTER_GROUP_MOVING)'));
    const target = this.knowledge.nodeName(m.to ?? m.target);
    const node = this.knowledge.nodeName(f.node);
    const nodes = [node, ...(m.from ? [this.knowledge.nodeName(m.from)] : []), target];
    const code = f.code !== undefined ? ` (error ${f.code})` : '';
    const others = all.length > 1 ? ` Also stuck in OpenCallFailed: ${all.slice(1).map((x) => x.resource).join(', ')}.` : '';
    return makeFinding(kb2893882, {
      resource: f.resource,
      group: m.group,
      node,
      nodes,
      began: f.began,
      summary:
        `Resource ${f.resource} of group ${m.group} failed to open${code} on node ${node} at ${timeText(f.began.timeMs)} and stayed in OpenCallFailed; ` +
        `the move of ${m.group} to ${target} never completed: ${m.retries.count} requests were answered 5908 (ERROR_CLUSTER_GROUP_MOVING) ` +
        `up to the end of the log.${others}`,
      evidence: sortEvidence([...openFailureEvidence(f), ...moveEvidence]),
      facts: {
        moveTarget: target,
        retries5908: m.retries.count,
        ...(f.code !== undefined ? { openError: f.code } : {}),
        ...(m.from ? { moveSource: m.from } : {}),
      },
    });
  }
}
