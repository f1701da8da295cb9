// The embedded store with durability on (on disk, fsync before every
// acknowledgement): put throughput one writer at a time and with 64 concurrent
// writers (group commit shares fsyncs), compare-and-swap transaction
// throughput, and watch latency from put to callback. An in-memory figure is
// printed for comparison. Each phase runs for a fixed time, so the whole
// benchmark stays well under a minute on a small machine.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { openEmbeddedStore, type EmbeddedStore } from '../src/store/embedded.ts';
import { report, summary } from './stats.ts';

const phaseDurationMs = 3000;
const concurrentWriters = 64;
const valueBytes = 256;
const watchSamples = 1000;

const value = 'v'.repeat(valueBytes);

/** Runs `writers` loops of op for phaseDurationMs; returns completed ops per second. */
async function throughput(writers: number, op: (writer: number, i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  const deadline = start + phaseDurationMs;
  let done = 0;
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; performance.now() < deadline; i++) {
        await op(w, i);
        done++;
      }
    }),
  );
  return done / ((performance.now() - start) / 1000);
}

async function casThroughput(store: EmbeddedStore, writers: number, prefix: string): Promise<number> {
  // Each writer increments its own counter: read modRevision, then swap if unchanged.
  for (let w = 0; w < writers; w++) await store.put(`${prefix}${w}`, '0');
  return throughput(writers, async (w) => {
    const key = `${prefix}${w}`;
    const kv = (await store.get(key))!;
    const r = await store.txn({
      compare: [{ key, target: 'modRevision', op: '==', value: kv.modRevision }],
      success: [{ type: 'put', key, value: String(Number(kv.value) + 1) }],
    });
    if (!r.succeeded) throw new Error(`compare-and-swap on ${key} lost to nobody`);
  });
}

async function watchLatencies(store: EmbeddedStore): Promise<number[]> {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let wake: (() => void) | undefined;
  const w = await store.watchPrefix('watch/', (events) => {
    const now = performance.now();
    for (const e of events) latencies.push(now - sentAt.get(e.kv.key)!);
    wake?.();
  });
  for (let i = 0; i < watchSamples; i++) {
    const key = `watch/${i}`;
    const seen = new Promise<void>((r) => (wake = r));
    sentAt.set(key, performance.now());
    await store.put(key, value);
    await seen;
  }
  await w.cancel();
  return latencies;
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
try {
  const disk = await openEmbeddedStore({ dataDir: dir, fsync: true });
  const sequential = await throughput(1, (_w, i) => disk.put(`seq/${i % 1000}`, value));
  report('store on disk (fsync): put, 1 writer', Math.round(sequential), 'ops/s');
  const concurrent = await throughput(concurrentWriters, (w, i) => disk.put(`conc/${w}/${i % 100}`, value));
  report(`store on disk (fsync): put, ${concurrentWriters} concurrent writers`, Math.round(concurrent), 'ops/s');
  const cas1 = await casThroughput(disk, 1, 'cas1/');
  report('store on disk (fsync): compare-and-swap txn, 1 writer', Math.round(cas1), 'txn/s');
  const casN = await casThroughput(disk, concurrentWriters, 'casN/');
  report(`store on disk (fsync): compare-and-swap txn, ${concurrentWriters} writers`, Math.round(casN), 'txn/s');
  const lat = summary(await watchLatencies(disk));
  report('store on disk (fsync): watch latency put -> callback, median', lat.median, 'ms');
  report('store on disk (fsync): watch latency put -> callback, p99', lat.p99, 'ms');
  await disk.close();

  const memory = await openEmbeddedStore({});
  const memPut = await throughput(1, (_w, i) => memory.put(`seq/${i % 1000}`, value));
  report('store in memory: put, 1 writer', Math.round(memPut), 'ops/s');
  const memLat = summary(await watchLatencies(memory));
  report('store in memory: watch latency put -> callback, median', memLat.median, 'ms');
  await memory.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
