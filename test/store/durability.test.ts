// Durability at a power cut: the embedded store runs on a simulated disk whose
// unsynced data (and unsynced directory entries) is lost when the power fails,
// unlike kill -9, where the page cache survives. Writes go on concurrently; at
// a random moment the power fails (part of each file's unsynced tail may have
// been written back); the store is opened again and every acknowledged write
// must be there, whole. The same check run on a store that skips fsync must
// find lost writes: it can see a missing fsync.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { SimulatedDisk } from '../../src/sim/disk.ts';
import { Prng } from '../../src/sim/prng.ts';
import { seedFromEnv } from '../support/seed.ts';
import { crashKey, crashValue, crashValueIsWhole } from './crash-values.ts';

const seed = seedFromEnv(20261202);
const ITERATIONS = 40;
const WRITES_MAX = 200;
/** Small, so the log is replaced by a snapshot several times within a run. */
const SNAPSHOT_THRESHOLD_BYTES = 64 * 1024;
const DATA_DIR = '/data';

/** One life of the store on the disk: writes until the power fails; returns the acknowledged writes. */
async function runUntilPowerCut(disk: SimulatedDisk, prng: Prng, fsync: boolean, firstIndex: number): Promise<Map<string, string>> {
  const store = await openEmbeddedStore({ dataDir: DATA_DIR, files: disk, clock: new VirtualClock(0), fsync, snapshotThresholdBytes: SNAPSHOT_THRESHOLD_BYTES });
  const acked = new Map<string, string>();
  let cut = false;
  const writes = prng.int(1, WRITES_MAX);
  const cutAfterTurns = prng.int(0, writes);
  for (let i = 0; i < writes; i++) {
    const key = crashKey(firstIndex + i);
    const value = crashValue(key, firstIndex + i);
    void store.put(key, value).then(
      () => void (cut || acked.set(key, value)),
      () => undefined, // refused after the power cut: never acknowledged
    );
    if (i === cutAfterTurns) break;
    // Let the journal's group commit interleave with new writes.
    if (prng.chance(0.5)) await new Promise((r) => setImmediate(r));
  }
  for (let t = prng.int(0, 3); t > 0; t--) await new Promise((r) => setImmediate(r));
  cut = true;
  disk.powerCut((unsynced) => (prng.chance(0.5) ? 0 : prng.int(0, unsynced)));
  return acked;
}

/** Power cuts on one disk; returns the acknowledged writes that did not survive (with why). */
async function lostAfterPowerCuts(fsync: boolean): Promise<string[]> {
  const prng = new Prng(seed);
  const disk = new SimulatedDisk();
  const lost: string[] = [];
  const acked = new Map<string, string>();
  let next = 0;
  for (let i = 0; i < ITERATIONS; i++) {
    for (const [k, v] of await runUntilPowerCut(disk, prng, fsync, next)) acked.set(k, v);
    next += WRITES_MAX;
    const reopened = await openEmbeddedStore({ dataDir: DATA_DIR, files: disk, clock: new VirtualClock(0), fsync });
    for (const [key, value] of acked) {
      const kv = await reopened.get(key);
      if (!kv) lost.push(`${key}: acknowledged, missing after power cut ${i + 1}`);
      else if (kv.value !== value || !crashValueIsWhole(key, kv.value)) lost.push(`${key}: damaged after power cut ${i + 1}`);
    }
    await reopened.close();
    if (lost.length > 0) break;
  }
  return lost;
}

test(`every acknowledged write survives power cuts (seed ${seed})`, async () => {
  assert.deepEqual(await lostAfterPowerCuts(true), []);
});

test(`a store that skips fsync loses acknowledged writes at a power cut, and the check sees it (seed ${seed})`, async () => {
  const lost = await lostAfterPowerCuts(false);
  assert.ok(lost.length > 0, 'without fsync some acknowledged write must be lost');
  assert.match(lost[0]!, /acknowledged, missing after power cut/);
});
