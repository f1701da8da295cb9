// Move time of a group of 10 zero-delay Dummy resources in the in-process
// cluster on the real clock: from the move request to the group Online on the
// target (median, p99). Target: median < 50 ms.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/node/cluster.ts';
import { createInProcessApi } from '../src/api/service.ts';
import { report, summary } from './stats.ts';

const MOVES = Number(process.env.FAILOVER_BENCH_MOVES ?? 100);
const POLL_MS = 1;

async function measure(label: string, dataDir: string | undefined): Promise<void> {
  const cluster = await LocalCluster.start({ nodes: ['node1', 'node2'], ...(dataDir ? { dataDir } : {}) });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  try {
    await api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    for (let i = 0; i < 10; i++) await api.createResource(`R${i}`, 'Dummy', 'G', { parameters: { OpenReadsDatabase: 0 } });
    const waitFor = async (cond: () => Promise<boolean>): Promise<void> => {
      const deadline = Date.now() + 30_000;
      while (!(await cond())) {
        if (Date.now() > deadline) throw new Error('benchmark: condition not reached within 30 s');
        await new Promise((r) => setTimeout(r, POLL_MS));
      }
    };
    await waitFor(async () => (await api.getGroup('G')).state === 'Online');
    const samples: number[] = [];
    for (let i = 0; i < MOVES; i++) {
      const to = i % 2 === 0 ? 'node2' : 'node1';
      const start = performance.now();
      const op = await api.moveGroup('G', { to });
      await waitFor(async () => (await api.getOperation(op.id)).done);
      samples.push(performance.now() - start);
      const done = await api.getOperation(op.id);
      if (!done.ok) throw new Error(`move ${i} failed: ${JSON.stringify(done.error)}`);
    }
    const s = summary(samples);
    report(`move, 10 resources, ${label}: median`, s.median, 'ms');
    report(`move, 10 resources, ${label}: p99`, s.p99, 'ms');
  } finally {
    await cluster.stop();
  }
}

await measure('in-memory store', undefined);
const dir = mkdtempSync(join(tmpdir(), 'failover-bench-move-'));
try {
  await measure('embedded store on disk (fsync)', dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
