// Resources that cannot come online on a node: the node is not among the
// resource's possible owners (5015 ERROR_HOST_NODE_NOT_RESOURCE_OWNER) or the
// node cannot run the resource (5071 ERROR_NODE_CANT_HOST_RESOURCE). When the
// resource itself reported an error before (a deleted computer object, a
// missing disk), that error is the cause, and the advice is to fix it, not to
// change possible owners.

import type { LogLine } from '../reader.ts';
import type { EventOf, Evidence, Finding, Knowledge, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText } from './common.ts';

/** Errors of a resource kept as the possible cause of a later refusal (the most recent ones). */
const precedingErrorsMax = 2;

const cannotHostEvents = ['entryPointError', 'callFailed', 'cannotHost'] as const;
type Seen = { event: EventOf<(typeof cannotHostEvents)[number]>; line: LogLine };

export const cannotHost: Rule = {
  id: 'CANNOT-HOST',
  title: 'Resource cannot come online on this node (5015 / 5071)',
  severity: 'warning',
  explanation:
    'The cluster tried to bring the resource online on a node that is not one of its possible owners (5015) or that cannot ' +
    'run it (5071, for instance after the resource failed there). Its group can then only run where every resource may run; a move ' +
    'or failover to this node fails. When the resource logged an error of its own before, that error is the cause.',
  remedies: {
    wsfc: [
      { when: 'ownError', text: 'The resource failed on its own before it was refused (see the evidence): fix that error first (for a Network Name whose computer object was deleted or disabled: restore it in Active Directory, then `Get-ClusterResource "{resource}" | Update-ClusterNetworkNameResource` or "Repair Active Directory Object" in Failover Cluster Manager), then `Start-ClusterResource "{resource}"`. Changing possible owners will not help.' },
      { unless: 'ownError', text: 'If {node} should run {resource}, check and set its possible owners: `Get-ClusterOwnerNode -Resource "{resource}"`, `Set-ClusterOwnerNode -Resource "{resource}" -Owners <node1>,<node2>`.' },
      'Otherwise move the group to a node that is a possible owner of every resource in it: `Move-ClusterGroup -Name "<group>" -Node <node>`.',
    ],
    failover: [
      { when: 'ownError', text: 'The resource failed on its own before it was refused (see the evidence): fix that error first, then `failover resource reset {resource}`. Changing possible owners will not help.' },
      { unless: 'ownError', text: 'If {node} should run {resource}, add it to the possible owners: `failover resource add-owner "{resource}" {node}`.' },
      'Otherwise move the group to a node that is a possible owner of every resource in it: `failover group move <group> --to <node>`.',
    ],
  },
  events: cannotHostEvents,
  start(knowledge: Knowledge): RuleMatcher {
    return new CannotHostMatcher(knowledge);
  },
};

interface Refusal {
  resource?: string;
  /** The nodes that refused, as the lines name them (the log's own node when they name none). */
  nodes: Set<string>;
  codes: Set<number>;
  lines: Repeated;
  cause: Evidence[];
}

class CannotHostMatcher implements RuleMatcher {
  private readonly seen = new Map<string, Refusal>();
  private readonly errors = new Map<string, Evidence[]>();

  constructor(private readonly knowledge: Knowledge) {}

  observe({ event, line }: Seen): void {
    if (event.type === 'entryPointError' || event.type === 'callFailed') {
      let list = this.errors.get(event.resource);
      if (!list) this.errors.set(event.resource, (list = []));
      list.push(evidence(line, 'the resource\'s own error before it was refused'));
      if (list.length > precedingErrorsMax) list.shift();
      return;
    }
    if (event.type !== 'cannotHost') return;
    const node = event.node ?? line.node;
    const key = event.resource ?? '';
    let s = this.seen.get(key);
    if (!s) {
      s = { nodes: new Set(), codes: new Set(), lines: new Repeated(), cause: event.resource !== undefined ? [...(this.errors.get(event.resource) ?? [])] : [] };
      if (event.resource !== undefined) s.resource = event.resource;
      this.seen.set(key, s);
    }
    s.nodes.add(node);
    s.codes.add(event.code);
    s.lines.add(line);
  }

  findings(): Finding[] {
    return [...this.seen.values()].map((s) => {
      const nodes = [...new Set([...s.nodes].map((n) => this.knowledge.nodeName(n)))];
      const node = nodes[nodes.length - 1]!;
      const cause = s.cause[s.cause.length - 1];
      const because = cause ? ` Before that, the resource itself failed: ${cause.line.replace(/^.*?\] /, '')}` : '';
      const group = s.resource !== undefined ? this.knowledge.groupOf(s.resource) : undefined;
      return makeFinding(cannotHost, {
        ...(s.resource !== undefined ? { resource: s.resource } : {}),
        ...(group !== undefined ? { group } : {}),
        node,
        nodes,
        ...(s.lines.first ? { began: s.lines.first } : {}),
        summary: `Resource ${s.resource ?? '(unnamed)'} cannot come online on node ${nodes.join(', ')} (${[...s.codes].join(', ')}), first at ${timeText(s.lines.first?.timeMs)}${s.lines.count > 1 ? `, ${s.lines.count} times` : ''}.${because}`,
        evidence: sortEvidence([...s.cause, ...s.lines.lines('refusals')]),
        facts: { codes: [...s.codes].join(','), count: s.lines.count, ownError: cause !== undefined },
      });
    });
  }
}
