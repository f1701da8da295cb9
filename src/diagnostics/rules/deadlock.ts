// A resource whose entry point calls hang: RHS's deadlock monitor times the
// call out (DeadlockTimeout), the resource host is restarted and the resource
// may be moved to a separate monitor; or a pending state outlives
// PendingTimeout and the resource is terminated. The errors the resource
// reported just before (the root cause more often than not: a disk, a
// service, a network path) are part of the evidence.

import type { LogLine } from '../reader.ts';
import type { EventOf, Evidence, Finding, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText, withNote } from './common.ts';

/** Errors of the resource this long before its first timed-out call count as the root cause. */
export const deadlockRootCauseWindowMs = 10 * 60_000;
/** Root-cause errors kept per resource (the most recent ones). */
const rootCauseErrorsMax = 3;

interface Hung {
  resource: string;
  node: string;
  calls: Set<string>;
  timeouts: Repeated;
  pendingTimeouts: Repeated;
  separateMonitor?: Evidence;
  rootCause: Evidence[];
}

const deadlockEvents = ['entryPointError', 'callFailed', 'callTimedOut', 'resourceState', 'separateMonitor'] as const;
type Seen = { event: EventOf<(typeof deadlockEvents)[number]>; line: LogLine };

export const resourceDeadlock: Rule = {
  id: 'RESOURCE-DEADLOCK',
  title: 'Resource calls hang: RHS deadlock or pending timeout',
  severity: 'warning',
  explanation:
    'An entry point of the resource (Online, Offline, IsAlive, ...) did not return within DeadlockTimeout, or the resource stayed ' +
    'in a pending state past PendingTimeout. The resource host (RHS) treats this as a deadlock: it is terminated and restarted, the ' +
    'resource fails, and it may be moved to a separate monitor so it cannot hang the other resources again. The errors the resource ' +
    'logged just before, when there are any, are usually the cause.',
  remedies: {
    wsfc: [
      'Find why the {resource} call hangs on node {node}: the errors before the time-out in the evidence, the application or service behind it, its storage or network; `Get-ClusterLog -Node {node} -TimeSpan 30` around the time.',
      'Keep {resource} in its own resource host until the cause is fixed: `(Get-ClusterResource "{resource}").SeparateMonitor = 1`.',
      'Raise its time-outs only if the operation legitimately takes that long: `(Get-ClusterResource "{resource}").DeadlockTimeout` and `.PendingTimeout` (milliseconds).',
    ],
    failover: [
      'Find why the {resource} call hangs on node {node}: the errors before the time-out in the evidence, the service behind it, its storage or network.',
      'Check its time-outs: `failover resource show {resource}`; raise them only if the operation legitimately takes that long: `failover resource set "{resource}" DeadlockTimeout=<ms> PendingTimeout=<ms>`.',
    ],
  },
  events: deadlockEvents,
  start(): RuleMatcher {
    return new DeadlockMatcher();
  },
};

class DeadlockMatcher implements RuleMatcher {
  private readonly hung = new Map<string, Hung>();
  private lastHung: Hung | undefined;
  /** Recent errors per resource, for the root cause. */
  private readonly recentErrors = new Map<string, Evidence[]>();

  private get(resource: string, node: string): Hung {
    let h = this.hung.get(resource);
    if (!h) {
      h = { resource, node, calls: new Set(), timeouts: new Repeated(), pendingTimeouts: new Repeated(), rootCause: this.recentErrors.get(resource) ?? [] };
      this.hung.set(resource, h);
    }
    return h;
  }

  observe({ event, line }: Seen): void {
    switch (event.type) {
      case 'entryPointError':
      case 'callFailed': {
        if (this.hung.has(event.resource)) break;
        let list = this.recentErrors.get(event.resource);
        if (!list) this.recentErrors.set(event.resource, (list = []));
        list.push(evidence(line, 'an error of the resource before the hang'));
        if (list.length > rootCauseErrorsMax) list.shift();
        break;
      }
      case 'callTimedOut': {
        const h = this.get(event.resource, line.node);
        h.calls.add(event.call.toUpperCase());
        h.timeouts.add(line);
        this.lastHung = h;
        break;
      }
      case 'resourceState':
        if (event.from.endsWith('Pending') && event.to === 'Terminating') {
          const h = this.get(event.resource, line.node);
          h.pendingTimeouts.add(line);
          this.lastHung = h;
        }
        break;
      case 'separateMonitor': {
        const h = event.resource !== undefined ? this.hung.get(event.resource) : this.lastHung;
        if (h && !h.separateMonitor) h.separateMonitor = evidence(line);
        break;
      }
      default:
        break;
    }
  }

  findings(): Finding[] {
    const out: Finding[] = [];
    for (const h of this.hung.values()) {
      const began = h.timeouts.first ?? h.pendingTimeouts.first;
      const rootCause = h.rootCause.filter((e) => began?.timeMs === undefined || e.timeMs === undefined || began.timeMs - e.timeMs <= deadlockRootCauseWindowMs);
      const ev = [...rootCause, ...h.timeouts.lines('calls timed out'), ...h.pendingTimeouts.lines('pending states timed out')];
      if (h.separateMonitor) ev.push(withNote(h.separateMonitor, 'the resource is moved to a separate monitor'));
      const parts: string[] = [];
      if (h.timeouts.count > 0) parts.push(`${h.timeouts.count} call(s) timed out (${[...h.calls].join(', ')})`);
      if (h.pendingTimeouts.count > 0) parts.push(`${h.pendingTimeouts.count} pending state(s) exceeded the pending timeout`);
      const cause = rootCause.length > 0 ? ` Before it, the resource reported: ${rootCause[rootCause.length - 1]!.line.replace(/^.*?\] /, '')}` : '';
      out.push(
        makeFinding(resourceDeadlock, {
          resource: h.resource,
          node: h.node,
          nodes: [h.node],
          ...(began ? { began } : {}),
          summary: `Resource ${h.resource} hung on node ${h.node} from ${timeText(began?.timeMs)}: ${parts.join('; ')}${h.separateMonitor ? '; it was moved to a separate monitor' : ''}.${cause}`,
          evidence: sortEvidence(ev),
          facts: { callTimeouts: h.timeouts.count, pendingTimeouts: h.pendingTimeouts.count, separateMonitor: h.separateMonitor !== undefined, rootCauseErrors: rootCause.length },
        }),
      );
    }
    return out;
  }
}
