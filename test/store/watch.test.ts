// The watch hub's bounded history, on its own (the store-level behaviour is in
// the conformance suite).

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { StoreError, type WatchEvent } from '../../src/store/store.ts';
import { WatchHub } from '../../src/store/watch.ts';

function put(key: string, value: string, revision: number): WatchEvent[] {
  return [{ type: 'put', kv: { key, value, createRevision: revision, modRevision: revision, version: 1 } }];
}

it('trims the history by size as well as by count, keeping the newest revision', async () => {
  const hub = new WatchHub(0, 100, 1000);
  for (let r = 1; r <= 5; r++) hub.publish(r, put(`k${r}`, 'x'.repeat(398), r)); // 400 units each
  const revisions: number[] = [];
  hub.add('', (_e, revision) => revisions.push(revision), { fromRevision: 4, nextRevision: 6 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(revisions, [4, 5]);
  assert.throws(() => hub.add('', () => {}, { fromRevision: 3, nextRevision: 6 }), (e: unknown) => e instanceof StoreError && e.kind === 'compacted');

  // One revision bigger than the whole budget still stays available.
  hub.publish(6, put('huge', 'y'.repeat(5000), 6));
  const seen: number[] = [];
  hub.add('', (_e, revision) => seen.push(revision), { fromRevision: 6, nextRevision: 7 });
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(seen, [6]);
});

it('a watch from a revision not yet written waits for it', async () => {
  const hub = new WatchHub(0, 100, 1_000_000);
  hub.publish(1, put('a', '1', 1));
  const revisions: number[] = [];
  hub.add('', (_e, revision) => revisions.push(revision), { fromRevision: 3, nextRevision: 2 });
  hub.publish(2, put('a', '2', 2));
  hub.publish(3, put('a', '3', 3));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(revisions, [3]);
});
