// SQL Server availability group lease and health-check time-outs: the
// resource DLL (hadrag) and SQL Server renew a lease; when SQL Server does not
// renew it in LeaseTimeout, or its health check does not answer within
// HealthCheckTimeout, the availability group resource fails and the group
// fails over or goes to RESOLVING.

import type { LogLine } from '../reader.ts';
import type { EventOf, Finding, Knowledge, Rule, RuleMatcher } from '../types.ts';
import { makeFinding, Repeated, sortEvidence, timeText } from './common.ts';

const leaseEvents = ['leaseTimeout'] as const;
type LeaseEvent = (typeof leaseEvents)[number];
type Seen = { event: EventOf<LeaseEvent>; line: LogLine };

export const leaseTimeout: Rule = {
  id: 'LEASE-TIMEOUT',
  title: 'Availability group lease or health-check time-out',
  severity: 'warning',
  explanation:
    'The SQL Server availability group resource did not hear from SQL Server in time: the lease between the resource DLL and ' +
    'SQL Server was not renewed within LeaseTimeout, or the health check (sp_server_diagnostics) did not answer within ' +
    'HealthCheckTimeout. The resource fails and the availability group fails over or goes to RESOLVING. The usual causes are a ' +
    'stalled SQL Server process, CPU or memory pressure, or a paused virtual machine.',
  remedies: {
    wsfc: [
      'Look at node {node} at that time: CPU and memory pressure, SQL Server\'s error log and its system_health / AlwaysOn_health sessions, a paused or migrated virtual machine.',
      'Check the time-outs: `Get-ClusterResource "{resource}" | Get-ClusterParameter LeaseTimeout,HealthCheckTimeout,FailureConditionLevel`; raise them only when the pauses are expected: `Get-ClusterResource "{resource}" | Set-ClusterParameter HealthCheckTimeout 60000`.',
    ],
    failover: ['Check the resource\'s time-outs and its host node\'s load: `failover resource show {resource}`.'],
  },
  events: leaseEvents,
  start(knowledge: Knowledge): RuleMatcher {
    return new LeaseMatcher(knowledge);
  },
};

class LeaseMatcher implements RuleMatcher {
  private readonly seen = new Map<string, { resource: string; node: string; lease: Repeated; healthCheck: Repeated }>();

  constructor(private readonly knowledge: Knowledge) {}

  observe({ event, line }: Seen): void {
    if (event.type !== 'leaseTimeout') return;
    const key = `${line.node}\u0000${event.resource}`;
    let s = this.seen.get(key);
    if (!s) this.seen.set(key, (s = { resource: event.resource, node: line.node, lease: new Repeated(), healthCheck: new Repeated() }));
    (event.kind === 'lease' ? s.lease : s.healthCheck).add(line);
  }

  findings(): Finding[] {
    return [...this.seen.values()].map((s) => {
      const first = [s.lease.first, s.healthCheck.first].filter((e) => e !== undefined).sort((a, b) => (a.timeMs ?? 0) - (b.timeMs ?? 0))[0];
      const what = [s.lease.count > 0 ? `lease time-out (${s.lease.count}x)` : '', s.healthCheck.count > 0 ? `health-check time-out (${s.healthCheck.count}x)` : ''].filter(Boolean).join(' and ');
      const group = this.knowledge.groupOf(s.resource);
      return makeFinding(leaseTimeout, {
        resource: s.resource,
        ...(group !== undefined ? { group } : {}),
        node: s.node,
        nodes: [s.node],
        ...(first ? { began: first } : {}),
        summary: `Availability group resource ${s.resource} on node ${s.node}: ${what}, first at ${timeText(first?.timeMs)}.`,
        evidence: sortEvidence([...s.lease.lines('lease time-outs'), ...s.healthCheck.lines('health-check time-outs')]),
        facts: { leaseTimeouts: s.lease.count, healthCheckTimeouts: s.healthCheck.count },
      });
    });
  }
}
