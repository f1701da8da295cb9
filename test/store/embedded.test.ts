// The embedded store: the shared conformance suite in memory and on disk, plus
// what only a data directory has — persistence, torn and corrupt logs, the
// lock, snapshots.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.ts';
import { storeConformance, type ConformanceTarget } from './conformance.ts';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'failover-'));
}

function virtualTarget(store: EmbeddedStore, clock: VirtualClock, cleanup: () => Promise<void>): ConformanceTarget {
  return {
    store,
    advanceMs: (ms) => clock.advanceAsync(ms),
    compact: (revision) => store.compact(revision),
    cleanup,
  };
}

storeConformance('embedded, in memory', async () => {
  const clock = new VirtualClock();
  const store = await openEmbeddedStore({ clock });
  return virtualTarget(store, clock, () => store.close());
});

storeConformance('embedded, on disk', async () => {
  const clock = new VirtualClock();
  const dir = tempDir();
  const store = await openEmbeddedStore({ clock, dataDir: dir });
  return virtualTarget(store, clock, async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
