// The simulator's report as text (the CLI's default) and as JSON. Both depend
// only on the report, which depends only on the seed and the options: the same
// seed prints the same bytes.
import type { SimReport } from './simulation.ts';

function counts(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? 'none' : entries.map(([k, v]) => `${k} ${v}`).join(', ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(3)} s`;
}

/** The command that replays this run. */
export function reproduceCommand(r: SimReport, scenarioPath?: string): string {
  return [
    'failover simulate',
    `--seed ${r.seed}`,
    `--steps ${r.steps}`,
    ...(scenarioPath ? [`--scenario ${scenarioPath}`] : [`--nodes ${r.nodes}`, `--groups ${r.groups}`]),
  ].join(' ');
}

export function formatReport(r: SimReport, scenarioPath?: string): string {
  const lines: string[] = [];
  lines.push(`failover simulate: seed ${r.seed}, ${r.steps} steps, ${r.nodes} nodes, ${r.groups} groups, ${r.resources} resources`);
  lines.push(r.mix === 'scripted' ? `faults: scripted by scenario ${JSON.stringify(r.scenario ?? '')}` : `fault mix (weights): ${counts(r.mix)}`);
  const s = r.stats;
  if (r.ok) {
    lines.push(`result: ok, every invariant held; persistent state reached ${seconds(s.livenessMs ?? 0)} after every fault was healed`);
  } else {
    const v = r.violation!;
    lines.push(`result: VIOLATION of ${v.invariant} at step ${v.step} (${v.phase} phase, +${seconds(v.atMs)})`);
    lines.push(`  ${v.detail}`);
    lines.push(`reproduce: ${reproduceCommand(r, scenarioPath)}`);
  }
  lines.push(`virtual time: ${seconds(s.virtualMs)}; steps run: ${s.stepsRun}; transitions: ${s.transitions}`);
  lines.push(`actions: ${counts(s.actions)}`);
  lines.push(`entry-point faults hit: ${counts(s.faultHits)}`);
  const o = s.operations;
  lines.push(`operations: ${o.submitted} submitted, ${o.succeeded} succeeded, ${o.failed} failed; ${o.refused} refused at once`);
  lines.push(`store: ${s.store.crashes} crashes recovered, ${s.store.acknowledgedWrites} acknowledged writes checked`);
  if (!r.ok) {
    lines.push('last events:');
    for (const e of r.lastEvents) lines.push(`  ${e}`);
  }
  return `${lines.join('\n')}\n`;
}

export function formatReportJson(r: SimReport): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
