// Node and quorum events: a node went down (its groups fail over), and the
// cluster lost quorum (5925 ERROR_CLUSTER_NO_QUORUM: every node stops its
// groups until enough nodes are back).

import type { Evidence, Finding, Observed, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText, withNote } from './common.ts';

export const nodeDown: Rule = {
  id: 'NODE-DOWN',
  title: 'Node down',
  severity: 'warning',
  explanation:
    'A node left the cluster membership (crash, reboot, lost network or a stopped cluster service). The groups it owned fail ' +
    'over to the remaining nodes; with too few nodes left the cluster loses quorum.',
  remedies: [
    'Find why node {node} went down: its system log, the network between the nodes, the cluster service on it.',
    'When it is healthy again, start it and move its groups back if they should run there.',
  ],
  start(): RuleMatcher {
    return new NodeDownMatcher();
  },
};

class NodeDownMatcher implements RuleMatcher {
  private readonly nodes = new Map<string, { downs: Repeated; upAgain?: Evidence; reportedBy: string }>();

  observe({ event, line }: Observed): void {
    if (event.type !== 'nodeState') return;
    const n = this.nodes.get(event.node);
    if (event.state === 'Down') {
      if (!n) this.nodes.set(event.node, { downs: new Repeated(), reportedBy: line.node });
      const m = this.nodes.get(event.node)!;
      m.downs.add(line);
      delete m.upAgain;
    } else if (n && !n.upAgain) {
      n.upAgain = evidence(line);
    }
  }

  findings(): Finding[] {
    return [...this.nodes.entries()].map(([node, n]) => {
      const ev = n.downs.lines('down events');
      if (n.upAgain) ev.push(withNote(n.upAgain, 'the node is up again'));
      return makeFinding(nodeDown, {
        node,
        nodes: [node, n.reportedBy],
        ...(n.downs.first ? { began: n.downs.first } : {}),
        summary:
          `Node ${node} went down at ${timeText(n.downs.first?.timeMs)}${n.downs.count > 1 ? ` (${n.downs.count} times)` : ''}; ` +
          (n.upAgain ? `it was up again at ${timeText(n.upAgain.timeMs)}.` : 'it was still down at the end of the log.'),
        evidence: sortEvidence(ev),
        facts: { downs: n.downs.count, upAgain: n.upAgain !== undefined },
      });
    });
  }
}

/** Node-down lines kept as context for a quorum loss. */
const quorumContextDownsMax = 3;

export const quorumLost: Rule = {
  id: 'QUORUM-LOST',
  title: 'Cluster lost quorum (5925)',
  severity: 'error',
  explanation:
    'Fewer than a majority of the votes (nodes and witness) could reach each other, so the cluster stopped to protect its data ' +
    '(5925 ERROR_CLUSTER_NO_QUORUM): no group runs anywhere until quorum is back.',
  remedies: [
    'Bring the down nodes back (see the node-down events) or restore the network between the nodes.',
    'Check the quorum configuration: with an even number of nodes, add a witness.',
    'Force quorum on the surviving nodes only as a last resort, and only if the other nodes are known to be stopped.',
  ],
  start(): RuleMatcher {
    return new QuorumMatcher();
  },
};

class QuorumMatcher implements RuleMatcher {
  private readonly lost = new Repeated();
  private readonly downsBefore: Evidence[] = [];

  observe({ event, line }: Observed): void {
    if (event.type === 'quorumLost') this.lost.add(line);
    else if (event.type === 'nodeState' && event.state === 'Down' && this.lost.count === 0) {
      this.downsBefore.push(evidence(line, 'a node went down before quorum was lost'));
      if (this.downsBefore.length > quorumContextDownsMax) this.downsBefore.shift();
    }
  }

  findings(): Finding[] {
    if (this.lost.count === 0 || !this.lost.first) return [];
    const first = this.lost.first;
    return [
      makeFinding(quorumLost, {
        node: first.node,
        nodes: [first.node, ...this.downsBefore.map((d) => d.node)],
        began: first,
        summary: `The cluster lost quorum at ${timeText(first.timeMs)} (seen from node ${first.node}${this.lost.count > 1 ? `, ${this.lost.count} quorum-loss lines` : ''}).`,
        evidence: sortEvidence([...this.downsBefore, ...this.lost.lines('quorum-loss lines')]),
        facts: { lines: this.lost.count },
      }),
    ];
  }
}
