// A move that failed because a resource of the group could not open.
//
// This is KB2893882 as failover's own log records it: failover retries the
// failed Open and ends the move at its deadline or at the resource's error,
// writing `move of group G to N(id) failed: resource R: ...`. The rule fires
// when R is a resource whose Open failed and that had not opened since.

import type { LogLine } from '../reader.ts';
import type { EventOf, Evidence, Finding, Rule, RuleMatcher } from '../types.ts';
import { evidence, forOpenTracker, makeFinding, openFailureEvidence, OpenTracker, openTrackerEvents, sortEvidence, timeText, withNote } from './common.ts';

const moveFailedOpenEvents = [...openTrackerEvents, 'moveRequest', 'moveReturned', 'moveFailed'] as const;

export const moveFailedOpen: Rule = {
  id: 'MOVE-FAILED-OPEN',
  title: 'Group move failed because a resource could not open',
  severity: 'error',
  explanation:
    'The resource\'s Open entry point kept failing, so the resource never reached Offline and could not be brought online; ' +
    'the move of its group ended with an error naming it (failover ends every move at its deadline instead of waiting ' +
    'forever, which is what KB2893882 describes for WSFC). The error the Open returned, shown in the evidence, is the cause to fix.',
  remedies: {
    failover: [
      'Fix what makes the Open of {resource} fail (see its error in the evidence), then run `failover resource reset {resource}`: it re-opens the resource without restarting any node or other resource.',
      'Then move the group again: `failover group move {group} --to {node}`.',
      'If other resources depend on {resource} only by accident, remove that dependency so they can come online without it: `failover resource remove-dependency <dependent> "{resource}"`.',
    ],
    wsfc: [
      'Fix what makes the Open of {resource} fail (see its error in the evidence), then restart the Cluster service on the node where it failed: `Stop-ClusterNode` / `Start-ClusterNode`.',
      'Then move the group again: `Move-ClusterGroup -Name "{group}" -Node {node}`.',
    ],
  },
  events: moveFailedOpenEvents,
  start(): RuleMatcher {
    return new MoveFailedOpenMatcher();
  },
};

class MoveFailedOpenMatcher implements RuleMatcher {
  private readonly opens = new OpenTracker();
  private readonly requests = new Map<string, Evidence>();
  private readonly out: Finding[] = [];

  observe({ event, line }: { event: EventOf<(typeof moveFailedOpenEvents)[number]>; line: LogLine }): void {
    if (forOpenTracker(event)) this.opens.observe(event, line);
    if (event.type === 'moveRequest') {
      this.requests.set(event.group, evidence(line));
    } else if (event.type === 'moveReturned') {
      const last = this.out[this.out.length - 1];
      if (last && last.group === event.group) last.evidence.push(evidence(line, 'the group is back where it was'));
    } else if (event.type === 'moveFailed' && event.resource !== undefined) {
      const f = this.opens.get(event.resource);
      if (!f) return;
      const request = this.requests.get(event.group);
      this.requests.delete(event.group);
      const failed = evidence(line, `the move fails naming ${event.resource}`);
      const target = event.to.replace(/\(\d+\)$/, '');
      const ev: Evidence[] = [...openFailureEvidence(f)];
      if (request) ev.push(withNote(request, 'the group move starts'));
      ev.push(failed);
      const retries = f.retries.count > 0 ? `, ${f.retries.count} open retries failed too` : '';
      this.out.push(
        makeFinding(moveFailedOpen, {
          resource: event.resource,
          group: event.group,
          node: target,
          nodes: [f.node, target],
          began: f.began,
          summary:
            `The move of group ${event.group} to ${event.to} failed with ${event.errorName}(${event.code}) because resource ${event.resource} ` +
            `could not open: its Open failed${f.code !== undefined ? ` (error ${f.code})` : ''} on node ${f.node} from ${timeText(f.began.timeMs)}${retries}.`,
          evidence: sortEvidence(ev),
          facts: { moveTarget: event.to, moveError: event.code, ...(f.code !== undefined ? { openError: f.code } : {}), openRetries: f.retries.count },
        }),
      );
    }
  }

  findings(): Finding[] {
    return this.out;
  }
}
