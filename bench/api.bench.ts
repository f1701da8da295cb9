// REST API over loopback: reads/s (GET /v1/groups), mutations/s (PUT a group
// property) and event latency (a configuration change acknowledged by the API
// until its event reaches an SSE subscriber), through the HTTP client, over
// the in-process cluster as `failover up` runs it (store, agents).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCluster } from '../src/node/cluster.ts';
import { createInProcessApi } from '../src/api/service.ts';
import { startApiServer } from '../src/api/server.ts';
import { createHttpApi } from '../src/api/http-client.ts';
import type { ClusterApi, ClusterEvent } from '../src/api/types.ts';
import { report, summary } from './stats.ts';

const PHASE_MS = Number(process.env.FAILOVER_BENCH_API_MS ?? 3000);
const READ_CONCURRENCY = 8;
// One writer: the in-process cluster serialises configuration writes with compare-and-swap
// on the cluster database, and concurrent writers currently exhaust its retries (5083).
const WRITE_CONCURRENCY = 1;
const LATENCY_SAMPLES = 200;
const TOKENS = { full: 'bench-full', read: 'bench-read' };

async function throughput(run: () => Promise<unknown>, concurrency: number): Promise<number> {
  let done = 0;
  const end = performance.now() + PHASE_MS;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await run();
        done++;
      }
    }),
  );
  return done / (PHASE_MS / 1000);
}

async function measure(label: string, backend: ClusterApi): Promise<void> {
  const server = await startApiServer({ api: backend, tokens: TOKENS });
  const api = createHttpApi({ url: server.url, token: TOKENS.full });
  try {
    await api.createGroup('BenchGroup');
    for (let i = 0; i < 5; i++) await api.createResource(`Bench R${i}`, 'Dummy', 'BenchGroup');

    report(`api ${label}: reads (GET /v1/groups, ${READ_CONCURRENCY} clients)`, Math.round(await throughput(() => api.listGroups(), READ_CONCURRENCY)), 'req/s');
    for (let w = 0; w < WRITE_CONCURRENCY; w++) await api.createGroup(`BenchWriter${w}`);
    let n = 0;
    let writer = 0;
    const writes = Array.from({ length: WRITE_CONCURRENCY }, (_, w) => () => api.setGroupProperties(`BenchWriter${w}`, { Description: `d${n++}` }));
    report(
      `api ${label}: mutations (PUT group properties, ${WRITE_CONCURRENCY} clients)`,
      Math.round(await throughput(() => writes[writer++ % WRITE_CONCURRENCY]!(), WRITE_CONCURRENCY)),
      'req/s',
    );

    // Event latency: one change at a time, from the request to the subscriber seeing its event.
    let waiting: ((e: ClusterEvent) => void) | undefined;
    const sub = await api.subscribe({ group: 'BenchGroup', types: ['config'] }, (e) => waiting?.(e));
    const samples: number[] = [];
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      const seen = new Promise<void>((resolve) => (waiting = () => resolve()));
      const start = performance.now();
      await api.setGroupProperties('BenchGroup', { Description: `latency ${i}` });
      await seen;
      samples.push(performance.now() - start);
    }
    sub.close();
    const s = summary(samples);
    report(`api ${label}: event latency, change -> SSE subscriber: median`, s.median, 'ms');
    report(`api ${label}: event latency, change -> SSE subscriber: p99`, s.p99, 'ms');
  } finally {
    await server.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'failover-'));
try {
  const cluster = await LocalCluster.start({ nodes: 3, dataDir: dir });
  try {
    await measure('in-process cluster', createInProcessApi({ store: cluster.store, clock: cluster.clock }));
  } finally {
    await cluster.stop();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
