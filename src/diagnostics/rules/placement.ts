// Resources that cannot come online on a node: the node is not among the
// resource's possible owners (5015 ERROR_HOST_NODE_NOT_RESOURCE_OWNER) or the
// node cannot run the resource (5071 ERROR_NODE_CANT_HOST_RESOURCE).

import type { Finding, Observed, Rule, RuleMatcher } from '../types.ts';
import { makeFinding, Repeated, timeText } from './common.ts';

export const cannotHost: Rule = {
  id: 'CANNOT-HOST',
  title: 'Resource cannot come online on this node (possible owners)',
  severity: 'warning',
  explanation:
    'The cluster tried to bring the resource online on a node that is not one of its possible owners (5015) or that cannot ' +
    'run it (5071). Its group can then only run where every resource may run; a move or failover to this node fails.',
  remedies: [
    'If {node} should run {resource}, add it to the possible owners of {resource}.',
    'Otherwise move the group to a node that is a possible owner of every resource in it, and keep the group\'s preferred owners within those nodes.',
  ],
  start(): RuleMatcher {
    return new CannotHostMatcher();
  },
};

class CannotHostMatcher implements RuleMatcher {
  private readonly seen = new Map<string, { resource?: string; node: string; codes: Set<number>; lines: Repeated }>();

  observe({ event, line }: Observed): void {
    if (event.type !== 'cannotHost') return;
    const node = event.node ?? line.node;
    const key = `${event.resource ?? ''}\u0000${node}`;
    let s = this.seen.get(key);
    if (!s) {
      s = { node, codes: new Set(), lines: new Repeated() };
      if (event.resource !== undefined) s.resource = event.resource;
      this.seen.set(key, s);
    }
    s.codes.add(event.code);
    s.lines.add(line);
  }

  findings(): Finding[] {
    return [...this.seen.values()].map((s) =>
      makeFinding(cannotHost, {
        ...(s.resource !== undefined ? { resource: s.resource } : {}),
        node: s.node,
        nodes: [s.node],
        ...(s.lines.first ? { began: s.lines.first } : {}),
        summary: `Resource ${s.resource ?? '(unnamed)'} cannot come online on node ${s.node} (${[...s.codes].join(', ')}), first at ${timeText(s.lines.first?.timeMs)}${s.lines.count > 1 ? `, ${s.lines.count} times` : ''}.`,
        evidence: s.lines.lines('refusals'),
        facts: { codes: [...s.codes].join(','), count: s.lines.count },
      }),
    );
  }
}
