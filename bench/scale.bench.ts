// Scale: a cluster of 2,000 groups x 5 Dummy resources (dependencies inside each
// group, rotating preferred owners, 10 anti-affinity classes) built with
// `failover apply` against `failover up` as its own process, then read, changed,
// drained and restarted. Whole-process figures, each beside its target.
// SCALE_GROUPS sets another size (the test suite runs 500).
import { report } from './stats.ts';
import { runScale } from './scale-run.ts';

const groups = Number(process.env.SCALE_GROUPS ?? 2000);
const f = await runScale({ groups, log: (line) => console.log(`  ${line}`) });

function line(name: string, value: number, unit: string, target: string, met: boolean): void {
  report(`${name} (target ${target})`, `${value.toFixed(unit === 'ms' ? 0 : 1)} ${unit}${met ? '' : '  MISSED'}`);
}
console.log(`scale: ${f.groups} groups, ${f.resources} resources, failover up with 3 nodes on the embedded store`);
line('apply from YAML', f.applyMs / 1000, 's', '< 30 s', f.applyMs < 30_000);
line('all resources Online after apply', f.onlineAfterApplyMs / 1000, 's', '< 60 s', f.onlineAfterApplyMs < 60_000);
line('failover status, median of 10', f.statusMedianMs, 'ms', '< 300 ms', f.statusMedianMs < 300);
line('GET /v1/groups, median of 10', f.listGroupsMedianMs, 'ms', '< 100 ms', f.listGroupsMedianMs < 100);
line('API reads with 8 clients', f.readsPerSecond, '/s', '>= 2,000/s', f.readsPerSecond >= 2000);
line('API configuration mutations with 8 clients', f.mutationsPerSecond, '/s', '>= 300/s', f.mutationsPerSecond >= 300);
line('mutations refused', f.mutationErrors, '', '0', f.mutationErrors === 0);
line('drain of node1: every group online elsewhere', f.drainMs / 1000, 's', '< 10 s', f.drainMs < 10_000);
line('anti-affinity spread after the drain (excess per class)', f.drainAntiAffinityViolations, '', '0', f.drainAntiAffinityViolations === 0);
line('restart: API answering', f.restartApiMs / 1000, 's', '< 10 s', f.restartApiMs < 10_000);
line('restart: everything Online again', f.restartOnlineMs / 1000, 's', '< 60 s', f.restartOnlineMs < 60_000);
line('nodes losing their lease (whole run)', f.leaseLosses, '', '0', f.leaseLosses === 0);
line('RSS of failover up, peak', f.rssPeakMb, 'MB', '< 500 MB', f.rssPeakMb < 500);
line('RSS of failover up, idle after apply', f.rssIdleMb, 'MB', '< 500 MB', f.rssIdleMb < 500);
