// Soak under starvation: `failover up` (its own process, embedded store) with
// 200 groups x 5 Dummy resources, then 5 minutes of CPU hogs (4 busy
// processes per core, counting what already runs) while groups are moved one
// after another over the API. Issue 12's figures: no node loses its lease,
// and no operation fails with 5052 (ERROR_CLUSTER_NODE_NOT_MEMBER).
// SOAK_GROUPS and SOAK_MINUTES set another size and length.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCpuHogs } from '../test/support/load.ts';
import { Http, UpProcess, cli, leaseLosses, scaleYaml, until } from './scale-run.ts';
import { report, summary } from './stats.ts';

const GROUPS = Number(process.env.SOAK_GROUPS ?? 200);
const MINUTES = Number(process.env.SOAK_MINUTES ?? 5);
const NODES = 3;
/** A move that has not ended after this long counts as failed (its deadline is shorter). */
const MOVE_WAIT_MS = 120_000;
const POLL_MS = 100;

interface Operation {
  id: string;
  done: boolean;
  ok?: boolean;
  error?: { code: number; name: string; message: string };
}

const work = mkdtempSync(join(tmpdir(), 'failover-soak-'));
const dataDir = join(work, '.failover');
const up = new UpProcess(dataDir, NODES);
try {
  const file = join(work, 'cluster.yaml');
  writeFileSync(file, scaleYaml(GROUPS, 5, 10, NODES));
  const api = await up.start();
  const http = new Http(api.url, api.token);
  cli(['apply', '-f', file], dataDir);
  await until('every group Online', async () => ((await http.get('/v1/groups')) as { state: string }[]).every((g) => g.state === 'Online'));
  const lossesBefore = leaseLosses(dataDir);

  const hogs = startCpuHogs({ maxMs: MINUTES * 60_000 + 60_000 });
  console.log(`soak: ${GROUPS} groups, ${hogs.count} CPU hogs added (load average ${loadavg()[0]!.toFixed(1)}), ${MINUTES} min of moves`);
  const durations: number[] = [];
  const failures: string[] = [];
  let notMember = 0;
  const end = Date.now() + MINUTES * 60_000;
  try {
    for (let i = 0; Date.now() < end; i++) {
      const group = `G${String(i % GROUPS).padStart(5, '0')}`;
      const started = performance.now();
      try {
        const g = (await http.get(`/v1/groups/${group}`)) as { owner?: string };
        const to = `node${((Number((g.owner ?? 'node1').slice(4)) % NODES) + 1)}`;
        let op = (await http.request('POST', `/v1/groups/${group}/move`, { to })) as Operation;
        const deadline = Date.now() + MOVE_WAIT_MS;
        while (!op.done && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, POLL_MS));
          op = (await http.get(`/v1/operations/${encodeURIComponent(op.id)}`)) as Operation;
        }
        if (!op.done) failures.push(`${group}: move not ended after ${MOVE_WAIT_MS} ms`);
        else if (!op.ok) {
          failures.push(`${group}: ${op.error?.name} ${op.error?.message}`);
          if (op.error?.code === 5052) notMember++;
        } else durations.push(performance.now() - started);
      } catch (e) {
        const text = String((e as Error).message);
        failures.push(`${group}: ${text}`);
        if (text.includes('5052')) notMember++;
      }
    }
  } finally {
    await hogs.stop();
  }
  const moves = summary(durations);
  const losses = leaseLosses(dataDir) - lossesBefore;
  report('moves completed', moves.n);
  report('move, median', moves.median, 'ms');
  report('move, p99', moves.p99, 'ms');
  report('operations failed (target 0)', `${failures.length}${failures.length === 0 ? '' : '  MISSED'}`);
  report('operations failed with 5052 (target 0)', `${notMember}${notMember === 0 ? '' : '  MISSED'}`);
  report('nodes losing their lease (target 0)', `${losses}${losses === 0 ? '' : '  MISSED'}`);
  for (const f of failures.slice(0, 5)) console.log(`  ${f}`);
  await up.stop();
} finally {
  up.kill();
  rmSync(work, { recursive: true, force: true });
}
