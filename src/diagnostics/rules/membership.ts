// Membership and quorum: a node went down or lost communication with the
// others (its groups fail over), the cluster lost quorum (5925
// ERROR_CLUSTER_NO_QUORUM: every node stops its groups until enough votes are
// back), and the witness that gives the tie-breaking vote failed.

import type { LogLine } from '../reader.ts';
import type { EventOf, Evidence, Finding, Knowledge, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText, withNote } from './common.ts';

const nodeDownEvents = ['nodeState', 'communicationLost'] as const;

export const nodeDown: Rule = {
  id: 'NODE-DOWN',
  title: 'Node down or lost communication',
  severity: 'warning',
  explanation:
    'A node left the cluster membership (crash, reboot, lost network or a stopped cluster service), or the nodes stopped ' +
    'hearing each other on the cluster network (NetFT heartbeats). The groups the node owned fail over to the remaining nodes; ' +
    'with too few nodes left the cluster loses quorum.',
  remedies: {
    wsfc: [
      'Find why node {node} went down or could not be reached: its System event log around the time, the network between the nodes (`Test-Cluster -Include Network`), `Get-ClusterNetwork` and `Get-ClusterNetworkInterface` for failed or unreachable interfaces.',
      'Check the heartbeat tolerance if the network has short outages: `(Get-Cluster).SameSubnetThreshold` and `.CrossSubnetThreshold`.',
      'When it is healthy again: `Start-ClusterNode -Name {node}`, then move its groups back if they should run there (`Move-ClusterGroup`).',
    ],
    failover: [
      'Find why node {node} went down: its agent\'s log, the network between the nodes, the store (etcd) it talks to.',
      'When it is healthy again, start it and move its groups back if they should run there: `failover group move <group> --to {node}`.',
    ],
  },
  events: nodeDownEvents,
  start(knowledge: Knowledge): RuleMatcher {
    return new NodeDownMatcher(knowledge);
  },
};

interface NodeTrouble {
  downs: Repeated;
  lostCommunication: Repeated;
  upAgain?: Evidence;
  reportedBy: Set<string>;
}

class NodeDownMatcher implements RuleMatcher {
  private readonly nodes = new Map<string, NodeTrouble>();

  constructor(private readonly knowledge: Knowledge) {}

  private trouble(node: string): NodeTrouble {
    let n = this.nodes.get(node);
    if (!n) this.nodes.set(node, (n = { downs: new Repeated(), lostCommunication: new Repeated(), reportedBy: new Set() }));
    return n;
  }

  observe({ event, line }: { event: EventOf<(typeof nodeDownEvents)[number]>; line: LogLine }): void {
    if (event.type === 'nodeState') {
      const key = event.nodeId ?? event.node;
      if (event.state === 'Down') {
        const n = this.trouble(key);
        n.downs.add(line);
        n.reportedBy.add(line.node);
        delete n.upAgain;
      } else {
        const n = this.nodes.get(key);
        if (n && !n.upAgain) n.upAgain = evidence(line);
      }
    } else if (event.type === 'communicationLost') {
      const n = this.trouble(event.node ?? event.address ?? '?');
      n.lostCommunication.add(line);
      n.reportedBy.add(line.node);
    }
  }

  findings(): Finding[] {
    // One finding per node by name: its id (`2`), its name and its address may each have been used.
    const byName = new Map<string, NodeTrouble>();
    const addressOnly: NodeTrouble[] = [];
    for (const [key, n] of this.nodes) {
      if (reAddress.test(key)) {
        addressOnly.push(n);
        continue;
      }
      const name = this.knowledge.nodeName(key);
      const m = byName.get(name);
      if (!m) byName.set(name, n);
      else mergeTrouble(m, n);
    }
    // An unreachable address belongs to the node that went down right after, when one did.
    for (const a of addressOnly) {
      const t = a.lostCommunication.first?.timeMs;
      const down = [...byName.values()].find((n) => t !== undefined && n.downs.first?.timeMs !== undefined && n.downs.first.timeMs >= t && n.downs.first.timeMs - t <= nodeDownAfterUnreachableMs);
      if (down) mergeTrouble(down, a);
      else byName.set(a.lostCommunication.first?.line.match(reAddressInLine)?.[1] ?? '(unknown address)', a);
    }
    const out: Finding[] = [];
    for (const [node, n] of byName) {
      const ev = [...n.lostCommunication.lines('lines saying the node could not be reached'), ...n.downs.lines('down events')];
      if (n.upAgain) ev.push(withNote(n.upAgain, 'the node is up again'));
      const first = [n.lostCommunication.first, n.downs.first].filter((e) => e !== undefined).sort((a, b) => (a.timeMs ?? 0) - (b.timeMs ?? 0))[0];
      const what =
        n.downs.count > 0
          ? `Node ${node} went down at ${timeText(n.downs.first?.timeMs)}${n.downs.count > 1 ? ` (${n.downs.count} down lines)` : ''}`
          : `Node ${node} could not be reached from ${[...n.reportedBy].map((r) => this.knowledge.nodeName(r)).join(', ')} at ${timeText(first?.timeMs)}`;
      const comm = n.downs.count > 0 && n.lostCommunication.count > 0 ? ' after communication with it was lost' : '';
      out.push(
        makeFinding(nodeDown, {
          node,
          nodes: [node, ...n.reportedBy],
          ...(first ? { began: first } : {}),
          summary: `${what}${comm}; ${n.upAgain ? `it was up again at ${timeText(n.upAgain.timeMs)}.` : n.downs.count > 0 ? 'it was still down at the end of the log.' : 'no down event followed in the log.'}`,
          evidence: sortEvidence(ev),
          facts: { downs: n.downs.count, lostCommunication: n.lostCommunication.count, upAgain: n.upAgain !== undefined },
        }),
      );
    }
    return out;
  }
}

/** A node that goes down this soon after an address became unreachable is the node behind that address. */
export const nodeDownAfterUnreachableMs = 60_000;
const reAddress = /^\d{1,3}(?:\.\d{1,3}){3}$|:/;
const reAddressInLine = /remote address (\S+?)(?::\d+)?$/;

function mergeTrouble(into: NodeTrouble, from: NodeTrouble): void {
  for (const r of [from.downs.first, from.downs.last]) if (r) into.downs.add(r);
  for (const r of [from.lostCommunication.first, from.lostCommunication.last]) if (r) into.lostCommunication.add(r);
  for (const r of from.reportedBy) into.reportedBy.add(r);
  if (from.upAgain && (!into.upAgain || (from.upAgain.timeMs ?? 0) > (into.upAgain.timeMs ?? 0))) into.upAgain = from.upAgain;
}

/** Node-down lines kept as context for a quorum loss. */
const quorumContextDownsMax = 3;

const quorumLostEvents = ['quorumLost', 'nodeState', 'communicationLost'] as const;

export const quorumLost: Rule = {
  id: 'QUORUM-LOST',
  title: 'Cluster lost quorum (5925)',
  severity: 'error',
  explanation:
    'Fewer than a majority of the votes (nodes and witness) could reach each other, so the cluster service stopped to protect the ' +
    'data (5925 ERROR_CLUSTER_NO_QUORUM): no group runs anywhere until quorum is back.',
  remedies: {
    wsfc: [
      'Bring the down nodes back or restore the network between the nodes (see the node-down and communication lines): `Start-ClusterNode`.',
      'Check the quorum configuration and the witness: `Get-ClusterQuorum`; with an even number of votes configure a witness (`Set-ClusterQuorum -FileShareWitness \\\\server\\share` or `-CloudWitness`), and on 2012 R2 and later keep dynamic quorum on.',
      'Force quorum on the surviving nodes only as a last resort, and only if the other nodes are known to be stopped: `Start-ClusterNode -Name <node> -FixQuorum` (2008: `net start clussvc /forcequorum`).',
    ],
    failover: [
      'Bring the down nodes back or restore the network between the nodes (see the node-down events); check the store (etcd) members are up.',
      'Check the cluster: `failover status`.',
    ],
  },
  events: quorumLostEvents,
  start(): RuleMatcher {
    return new QuorumMatcher();
  },
};

class QuorumMatcher implements RuleMatcher {
  private readonly lost = new Repeated();
  private readonly downsBefore: Evidence[] = [];

  observe({ event, line }: { event: EventOf<(typeof quorumLostEvents)[number]>; line: LogLine }): void {
    if (event.type === 'quorumLost') this.lost.add(line);
    else if ((event.type === 'nodeState' && event.state === 'Down') || event.type === 'communicationLost') {
      if (this.lost.count > 0) return;
      this.downsBefore.push(evidence(line, 'a node went down or could not be reached before quorum was lost'));
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

const reWitnessText = /witness|arbitrate for the file share/i;

const witnessFailedEvents = ['entryPointError', 'resourceState'] as const;

export const witnessFailed: Rule = {
  id: 'WITNESS-FAILED',
  title: 'Quorum witness failed',
  severity: 'warning',
  explanation:
    'The witness resource (file share, disk or cloud witness) that gives the cluster its tie-breaking vote failed or could not be ' +
    'reached. The cluster keeps running while the nodes hold a majority, but one more lost vote stops it (5925).',
  remedies: {
    wsfc: [
      'Check the witness from node {node}: `Get-ClusterQuorum`, `Get-ClusterResource "{resource}" | Format-List *`; for a file share witness, that the share exists, is reachable from every node and grants the cluster name object (CNO) full control; for a cloud witness, the storage account name, key and that the nodes reach it on HTTPS.',
      'Bring it back online: `Start-ClusterResource "{resource}"`, or configure another witness: `Set-ClusterQuorum -FileShareWitness \\\\server\\share` / `Set-ClusterQuorum -CloudWitness -AccountName <name> -AccessKey <key>`.',
    ],
    failover: ['failover keeps quorum in its store (etcd): check the store members with `failover status`.'],
  },
  events: witnessFailedEvents,
  start(): RuleMatcher {
    return new WitnessMatcher();
  },
};

class WitnessMatcher implements RuleMatcher {
  private readonly witnesses = new Map<string, { node: string; errors: Repeated; failed?: Evidence; online?: Evidence }>();

  private witness(name: string, node: string): { node: string; errors: Repeated; failed?: Evidence; online?: Evidence } {
    let w = this.witnesses.get(name);
    if (!w) this.witnesses.set(name, (w = { node, errors: new Repeated() }));
    return w;
  }

  observe({ event, line }: { event: EventOf<(typeof witnessFailedEvents)[number]>; line: LogLine }): void {
    if (event.type === 'entryPointError' && (reWitnessText.test(event.resourceType) || reWitnessText.test(event.resource) || reWitnessText.test(event.detail))) {
      const w = this.witness(event.resource, line.node);
      w.errors.add(line);
      delete w.online;
    } else if (event.type === 'resourceState' && /witness/i.test(event.resource)) {
      if (event.to === 'Failed') {
        const w = this.witness(event.resource, line.node);
        w.failed ??= evidence(line, 'the witness resource failed');
        delete w.online;
      } else if (event.to === 'Online') {
        const w = this.witnesses.get(event.resource);
        if (w) w.online = evidence(line, 'the witness is online again');
      }
    }
  }

  findings(): Finding[] {
    return [...this.witnesses.entries()].map(([resource, w]) => {
      const ev = [...w.errors.lines('witness errors')];
      if (w.failed) ev.push(w.failed);
      if (w.online) ev.push(w.online);
      const began = w.errors.first ?? w.failed;
      return makeFinding(witnessFailed, {
        resource,
        node: w.node,
        nodes: [w.node],
        ...(began ? { began } : {}),
        summary: `The quorum witness ${resource} failed on node ${w.node} at ${timeText(began?.timeMs)}${w.errors.count > 0 ? ` (${w.errors.count} error line(s))` : ''}; ${w.online ? `it was online again at ${timeText(w.online.timeMs)}.` : 'it was not online again by the end of the log.'}`,
        evidence: sortEvidence(ev),
        facts: { errors: w.errors.count, onlineAgain: w.online !== undefined },
      });
    });
  }
}
