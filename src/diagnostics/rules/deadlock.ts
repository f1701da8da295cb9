// A resource whose entry point calls hang: RHS's deadlock monitor times the
// call out (DeadlockTimeout), the resource host is restarted and the resource
// may be moved to a separate monitor; or a pending state outlives
// PendingTimeout and the resource is terminated.

import type { Evidence, Finding, Observed, Rule, RuleMatcher } from '../types.ts';
import { evidence, makeFinding, Repeated, sortEvidence, timeText, withNote } from './common.ts';

interface Hung {
  resource: string;
  node: string;
  calls: Set<string>;
  timeouts: Repeated;
  pendingTimeouts: Repeated;
  separateMonitor?: Evidence;
}

export const resourceDeadlock: Rule = {
  id: 'RESOURCE-DEADLOCK',
  title: 'Resource calls hang (deadlock or pending timeout)',
  severity: 'warning',
  explanation:
    'An entry point of the resource (Online, Offline, IsAlive, ...) did not return within DeadlockTimeout, or the resource stayed ' +
    'in a pending state past PendingTimeout. The resource host treats this as a deadlock: it is terminated and restarted, the ' +
    'resource fails, and it may be moved to a separate monitor so it cannot hang the other resources again.',
  remedies: [
    'Find why the {resource} call hangs on node {node}: the application or service behind it, its storage or network, a dump of the resource host.',
    'Keep {resource} in its own resource host (SeparateMonitor) until the cause is fixed.',
    'Raise DeadlockTimeout or PendingTimeout of {resource} only if the operation legitimately takes that long.',
  ],
  start(): RuleMatcher {
    return new DeadlockMatcher();
  },
};

class DeadlockMatcher implements RuleMatcher {
  private readonly hung = new Map<string, Hung>();
  private lastHung: Hung | undefined;

  private get(resource: string, node: string): Hung {
    let h = this.hung.get(resource);
    if (!h) {
      h = { resource, node, calls: new Set(), timeouts: new Repeated(), pendingTimeouts: new Repeated() };
      this.hung.set(resource, h);
    }
    return h;
  }

  observe({ event, line }: Observed): void {
    if (event.type === 'callTimedOut') {
      const h = this.get(event.resource, line.node);
      h.calls.add(event.call.toUpperCase());
      h.timeouts.add(line);
      this.lastHung = h;
    } else if (event.type === 'resourceState' && event.from.endsWith('Pending') && event.to === 'Terminating') {
      const h = this.get(event.resource, line.node);
      h.pendingTimeouts.add(line);
      this.lastHung = h;
    } else if (event.type === 'separateMonitor') {
      const h = event.resource !== undefined ? this.hung.get(event.resource) : this.lastHung;
      if (h && !h.separateMonitor) h.separateMonitor = evidence(line);
    }
  }

  findings(): Finding[] {
    const out: Finding[] = [];
    for (const h of this.hung.values()) {
      const ev = [...h.timeouts.lines('calls timed out'), ...h.pendingTimeouts.lines('pending states timed out')];
      if (h.separateMonitor) ev.push(withNote(h.separateMonitor, 'the resource is moved to a separate monitor'));
      const began = h.timeouts.first ?? h.pendingTimeouts.first;
      const parts: string[] = [];
      if (h.timeouts.count > 0) parts.push(`${h.timeouts.count} call(s) timed out (${[...h.calls].join(', ')})`);
      if (h.pendingTimeouts.count > 0) parts.push(`${h.pendingTimeouts.count} pending state(s) exceeded the pending timeout`);
      out.push(
        makeFinding(resourceDeadlock, {
          resource: h.resource,
          node: h.node,
          nodes: [h.node],
          ...(began ? { began } : {}),
          summary: `Resource ${h.resource} hung on node ${h.node} from ${timeText(began?.timeMs)}: ${parts.join('; ')}${h.separateMonitor ? '; it was moved to a separate monitor' : ''}.`,
          evidence: sortEvidence(ev),
          facts: { callTimeouts: h.timeouts.count, pendingTimeouts: h.pendingTimeouts.count, separateMonitor: h.separateMonitor !== undefined },
        }),
      );
    }
    return out;
  }
}
