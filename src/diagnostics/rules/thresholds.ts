// The two thresholds of WSFC's failure policy:
// - a resource that failed more than RestartThreshold times in RestartPeriod
//   is not restarted again; with RestartAction 2 its group fails over;
// - a group that failed over more than FailoverThreshold times in
//   FailoverPeriod is left Failed where it is.

import type { Evidence, Finding, Knowledge, Observed, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText, withNote } from './common.ts';

export const restartThreshold: Rule = {
  id: 'RESTART-THRESHOLD',
  title: 'Restart threshold exhausted: the group failed over',
  severity: 'warning',
  explanation:
    'The resource kept failing: it was restarted on the same node up to its RestartThreshold within RestartPeriod, and its ' +
    'next failure made the cluster fail the whole group over to another node (RestartAction 2).',
  remedies: [
    'Find why {resource} keeps failing on node {node} (the errors before the restarts in the evidence).',
    'Check RestartThreshold and RestartPeriod of {resource}: `failover resource get {resource}`.',
    'Once fixed, move {group} back if it should run on {node}.',
  ],
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

class RestartThresholdMatcher implements RuleMatcher {
  private readonly restarts = new Map<string, Repeated>();
  private readonly exhausted: Exhausted[] = [];

  constructor(private readonly knowledge: Knowledge) {}

  observe({ event, line }: Observed): void {
    switch (event.type) {
      case 'restartScheduled': {
        let r = this.restarts.get(event.resource);
        if (!r) this.restarts.set(event.resource, (r = new Repeated()));
        r.add(line);
        break;
      }
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
      case 'moveCompleted':
      case 'moveRequest': {
        const e = this.exhausted.find((x) => x.group === event.group && x.failover === undefined);
        if (e) {
          e.failover = evidence(line, 'the group fails over');
          e.failoverTo = event.type === 'moveRequest' ? event.target : event.to;
        }
        break;
      }
      default:
        break;
    }
  }

  findings(): Finding[] {
    return this.exhausted.map((e) => {
      const ev = [...e.restarts.lines('restarts'), withNote(e.exceeded, 'restart threshold exceeded')];
      if (e.failover) ev.push(e.failover);
      const began = e.restarts.first ?? e.exceeded;
      return makeFinding(restartThreshold, {
        resource: e.resource,
        node: e.node,
        nodes: [e.node, ...(e.failoverTo ? [e.failoverTo] : [])],
        ...(e.group !== undefined ? { group: e.group } : {}),
        began,
        summary:
          `Resource ${e.resource} failed again after ${e.restarts.count} restart(s) on node ${e.node}, exceeding its restart threshold at ${timeText(e.exceeded.timeMs)}; ` +
          `group ${e.group ?? '(unknown)'} ${e.failover ? `failed over${e.failoverTo ? ` to ${e.failoverTo}` : ''}` : 'was to fail over'}.`,
        evidence: sortEvidence(ev),
        facts: { restarts: e.restarts.count, ...(e.failoverTo ? { failoverTo: e.failoverTo } : {}) },
      });
    });
  }
}

export const failoverThreshold: Rule = {
  id: 'FAILOVER-THRESHOLD',
  title: 'Failover threshold exhausted: the group was left Failed',
  severity: 'error',
  explanation:
    'The group failed over more than FailoverThreshold times within FailoverPeriod (by default nodes - 1 in 6 hours), so the ' +
    'cluster stopped moving it and left it Failed on its node. Repeated failovers usually mean the same resource fails on every node.',
  remedies: [
    'Find the resource that keeps failing in {group} (the failures before the failovers) and fix its cause.',
    'Then bring {group} online by hand on a healthy node: `failover group move {group} --node <node>`.',
    'During failover tests, raise FailoverThreshold of {group} for the duration and set it back afterwards.',
  ],
  start(): RuleMatcher {
    return new FailoverThresholdMatcher();
  },
};

class FailoverThresholdMatcher implements RuleMatcher {
  private readonly groups = new Map<string, { node: string; lines: Repeated; failoverCount: number }>();

  observe({ event, line }: Observed): void {
    if (event.type !== 'failoverThresholdExceeded') return;
    let g = this.groups.get(event.group);
    if (!g) this.groups.set(event.group, (g = { node: line.node, lines: new Repeated(), failoverCount: 0 }));
    g.lines.add(line);
    g.failoverCount = Math.max(g.failoverCount, event.failoverCount);
  }

  findings(): Finding[] {
    return [...this.groups.entries()].map(([group, g]) =>
      makeFinding(failoverThreshold, {
        group,
        node: g.node,
        nodes: [g.node],
        ...(g.lines.first ? { began: g.lines.first } : {}),
        summary: `Group ${group} exceeded its failover threshold (failover count ${g.failoverCount}) and was left Failed on node ${g.node} at ${timeText(g.lines.first?.timeMs)}.`,
        evidence: g.lines.lines('times the cluster refused to fail the group over'),
        facts: { failoverCount: g.failoverCount },
      }),
    );
  }
}
