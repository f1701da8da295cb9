// The two thresholds of WSFC's failure policy:
// - a resource that failed more than RestartThreshold times in RestartPeriod
//   is not restarted again; with RestartAction 2 its group fails over.
//   WSFC logs each failure as `resource R: failure count: N, restartAction: A
//   ...`, then either a restart (`Will queue immediate restart ...`) or the
//   group's failover (`move of group G ... of type MoveType::Failover`);
//   failover writes `Resource R exceeded its restart threshold; failing over
//   group G.`
// - a group that failed over more than FailoverThreshold times in
//   FailoverPeriod is left Failed where it is: WSFC writes `Not failing over
//   group G, failoverCount N, failoverThresholdSetting T, ...` (2012 and
//   later; `failover threshold T` before).

import type { LogLine } from '../reader.ts';
import type { EventOf, Evidence, Finding, Knowledge, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText, withNote } from './common.ts';

/** A failover of the resource's group this long after its last failure is the failover that failure caused. */
export const restartFailoverWindowMs = 5 * 60_000;

const restartThresholdEvents = ['resourceFailureCount', 'restartScheduled', 'resourceState', 'restartThresholdExceeded', 'moveAboutToSucceed', 'moveCompleted', 'moveRequest'] as const;

export const restartThreshold: Rule = {
  id: 'RESTART-THRESHOLD',
  title: 'Restart threshold exhausted: the group failed over',
  severity: 'warning',
  explanation:
    'The resource kept failing: it was restarted on the same node up to its RestartThreshold within RestartPeriod, and its ' +
    'next failure made the cluster fail the whole group over to another node (RestartAction 2).',
  remedies: {
    wsfc: [
      'Find why {resource} keeps failing on node {node} (the errors before the failures in the evidence; `Get-ClusterLog -Node {node}`).',
      'Check its restart policy: `Get-ClusterResource "{resource}" | Format-List RestartAction,RestartThreshold,RestartPeriod,RestartDelay`.',
      'Once fixed, move {group} back if it should run on {node}: `Move-ClusterGroup -Name "{group}" -Node {node}`.',
    ],
    failover: [
      'Find why {resource} keeps failing on node {node} (the errors before the restarts in the evidence).',
      'Check RestartThreshold and RestartPeriod of {resource}: `failover resource show {resource}`.',
      'Once fixed, move {group} back if it should run on {node}: `failover group move {group} --to {node}`.',
    ],
  },
  events: restartThresholdEvents,
  start(knowledge: Knowledge): RuleMatcher {
    return new RestartThresholdMatcher(knowledge);
  },
};

interface Exhausted {
  resource: string;
  group: string | undefined;
  node: string;
  restarts: Repeated;
  exceeded: Evidence;
  failover?: Evidence;
  failoverTo?: string;
}

interface Failing {
  node: string;
  failures: Repeated;
  restarts: number;
  lastFailure: Evidence;
}

class RestartThresholdMatcher implements RuleMatcher {
  private readonly restarts = new Map<string, Repeated>();
  /** WSFC: resources with failure-count lines and no restart after the last one. */
  private readonly failing = new Map<string, Failing>();
  private readonly exhausted: Exhausted[] = [];

  constructor(private readonly knowledge: Knowledge) {}

  observe({ event, line }: { event: EventOf<(typeof restartThresholdEvents)[number]>; line: LogLine }): void {
    switch (event.type) {
      case 'resourceFailureCount': {
        let f = this.failing.get(event.resource);
        if (!f) this.failing.set(event.resource, (f = { node: line.node, failures: new Repeated(), restarts: 0, lastFailure: evidence(line) }));
        f.failures.add(line);
        f.lastFailure = evidence(line);
        f.node = line.node;
        break;
      }
      case 'restartScheduled': {
        if (event.resource === undefined) break;
        const wsfc = this.failing.get(event.resource);
        if (wsfc) wsfc.restarts++;
        let r = this.restarts.get(event.resource);
        if (!r) this.restarts.set(event.resource, (r = new Repeated()));
        r.add(line);
        break;
      }
      case 'resourceState':
        // WSFC's failure count lasts RestartPeriod whatever the restarts do, so only failover's own restarts end here.
        if (event.to === 'Online') {
          if (!this.exhausted.some((e) => e.resource === event.resource && e.failover === undefined)) this.restarts.delete(event.resource);
        }
        break;
      case 'restartThresholdExceeded':
        this.exhausted.push({
          resource: event.resource,
          group: event.group ?? this.knowledge.groupOf(event.resource),
          node: line.node,
          restarts: this.restarts.get(event.resource) ?? new Repeated(),
          exceeded: evidence(line),
        });
        this.restarts.delete(event.resource);
        break;
      case 'moveAboutToSucceed':
        if (event.moveType === 'Failover') this.failedOver(event.group, line, event.to);
        this.noteFailover(event.group, line, event.to);
        break;
      case 'moveCompleted':
      case 'moveRequest':
        this.noteFailover(event.group, line, event.type === 'moveRequest' ? event.target : event.to);
        break;
      default:
        break;
    }
  }

  /** WSFC: a failover of a group whose resource just failed without a restart since its last failure. */
  private failedOver(group: string, line: LogLine, to: string): void {
    for (const [resource, f] of this.failing) {
      if (this.knowledge.groupOf(resource) !== group || f.failures.count === 0) continue;
      const t = line.record.timeMs;
      if (t !== undefined && f.lastFailure.timeMs !== undefined && t - f.lastFailure.timeMs > restartFailoverWindowMs) continue;
      const restarts = new Repeated();
      restarts.first = f.failures.first;
      restarts.last = f.failures.last;
      restarts.count = f.failures.count;
      this.exhausted.push({
        resource,
        group,
        node: f.node,
        restarts,
        exceeded: withNote(f.lastFailure, `failure ${f.failures.count}, after ${f.restarts} restart(s): no restart is left`),
        failover: evidence(line, 'the group fails over'),
        failoverTo: to,
      });
      this.failing.delete(resource);
    }
  }

  private noteFailover(group: string, line: LogLine, to: string): void {
    const e = this.exhausted.find((x) => x.group === group && x.failover === undefined);
    if (e) {
      e.failover = evidence(line, 'the group fails over');
      e.failoverTo = to;
    }
  }

  findings(): Finding[] {
    return this.exhausted.map((e) => {
      const ev = [...e.restarts.lines('failures'), withNote(e.exceeded, e.exceeded.note ?? 'restart threshold exceeded')];
      if (e.failover) ev.push(e.failover);
      const began = e.restarts.first ?? e.exceeded;
      const to = e.failoverTo !== undefined ? this.knowledge.nodeName(e.failoverTo) : undefined;
      return makeFinding(restartThreshold, {
        resource: e.resource,
        node: e.node,
        nodes: [e.node, ...(to ? [to] : [])],
        ...(e.group !== undefined ? { group: e.group } : {}),
        began,
        summary:
          `Resource ${e.resource} failed ${e.restarts.count} time(s) on node ${e.node} and exhausted its restart threshold at ${timeText(e.exceeded.timeMs)}; ` +
          `group ${e.group ?? '(unknown)'} ${e.failover ? `failed over${to ? ` to ${to}` : ''}` : 'was to fail over'}.`,
        evidence: sortEvidence(dedupe(ev)),
        facts: { failures: e.restarts.count, ...(to ? { failoverTo: to } : {}) },
      });
    });
  }
}

function dedupe(list: Evidence[]): Evidence[] {
  const seen = new Set<string>();
  return list.filter((e) => {
    const k = `${e.file}:${e.lineNo}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

const failoverThresholdEvents = ['failoverThresholdExceeded'] as const;

export const failoverThreshold: Rule = {
  id: 'FAILOVER-THRESHOLD',
  title: 'Failover threshold exhausted: the group was left Failed',
  severity: 'error',
  explanation:
    'The group failed over more than FailoverThreshold times within FailoverPeriod (by default nodes - 1 in 6 hours), so the ' +
    'cluster stopped moving it and left it Failed on its node. Repeated failovers usually mean the same resource fails on every node.',
  remedies: {
    wsfc: [
      'Find the resource that keeps failing in {group} (the failures before the failovers) and fix its cause.',
      'Then bring {group} online by hand on a healthy node: `Move-ClusterGroup -Name "{group}" -Node <node>` and `Start-ClusterGroup -Name "{group}"`.',
      'Check the group\'s policy: `Get-ClusterGroup "{group}" | Format-List FailoverThreshold,FailoverPeriod`; during failover tests raise FailoverThreshold for the duration and set it back afterwards.',
    ],
    failover: [
      'Find the resource that keeps failing in {group} (the failures before the failovers) and fix its cause.',
      'Then bring {group} online by hand on a healthy node: `failover group move "{group}" --to <node>`.',
      'During failover tests, raise FailoverThreshold of {group} for the duration and set it back afterwards: `failover group set "{group}" FailoverThreshold=<n>`.',
    ],
  },
  events: failoverThresholdEvents,
  start(): RuleMatcher {
    return new FailoverThresholdMatcher();
  },
};

class FailoverThresholdMatcher implements RuleMatcher {
  private readonly groups = new Map<string, { node: string; lines: Repeated; failoverCount: number; threshold?: number }>();

  observe({ event, line }: { event: EventOf<(typeof failoverThresholdEvents)[number]>; line: LogLine }): void {
    if (event.type !== 'failoverThresholdExceeded') return;
    let g = this.groups.get(event.group);
    if (!g) this.groups.set(event.group, (g = { node: line.node, lines: new Repeated(), failoverCount: 0 }));
    g.lines.add(line);
    g.failoverCount = Math.max(g.failoverCount, event.failoverCount);
    if (event.threshold !== undefined) g.threshold = event.threshold;
  }

  findings(): Finding[] {
    return [...this.groups.entries()].map(([group, g]) =>
      makeFinding(failoverThreshold, {
        group,
        node: g.node,
        nodes: [g.node],
        ...(g.lines.first ? { began: g.lines.first } : {}),
        summary: `Group ${group} exceeded its failover threshold (failover count ${g.failoverCount}${g.threshold !== undefined ? `, threshold setting ${g.threshold}` : ''}) and was left Failed on node ${g.node} at ${timeText(g.lines.first?.timeMs)}.`,
        evidence: g.lines.lines('times the cluster refused to fail the group over'),
        facts: { failoverCount: g.failoverCount, ...(g.threshold !== undefined ? { threshold: g.threshold } : {}) },
      }),
    );
  }
}
