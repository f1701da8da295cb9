// The store contract (etcd's), as tests any Store implementation must pass:
// the embedded store here, etcd in its own test file. Every test works under its
// own key prefix, so the suite can run against a shared etcd; lease tests use
// TTLs of 2 s (etcd's practical minimum) and let time pass through advanceMs.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import {
  STORE_KEY_BYTES_MAX,
  STORE_TXN_OPS_MAX,
  STORE_VALUE_BYTES_MAX,
  StoreError,
  type KeyValue,
  type Store,
  type StoreErrorKind,
  type TxnOp,
  type WatchEvent,
} from '../../src/store/store.ts';

export interface ConformanceTarget {
  store: Store;
  /** let time pass for leases: virtual advance or real sleep */
  advanceMs(ms: number): Promise<void>;
  cleanup(): Promise<void>;
  /**
   * Drops watch history before revision (etcd's Compact). Without it the
   * compacted-revision test is skipped.
   */
  compact?(revision: number): Promise<void>;
  /**
   * Other clients may write to the same store while a test runs (a shared
   * etcd): exact revision arithmetic (+1 per txn, no bump for a no-op) is then
   * checked only as "strictly increasing".
   */
  sharedWithOtherWriters?: boolean;
}

/** Real-time bound for asynchronous deliveries (watch events, lease expiry). */
const EVENTUALLY_TIMEOUT_MS = 8000;
const POLL_INTERVAL_MS = 5;
/** Lease TTL used throughout: etcd refuses shorter ones in practice. */
const LEASE_TTL_SECONDS = 2;

const runId = randomBytes(4).toString('hex');
let testCounter = 0;
/** A key prefix no other test (in this run or another) uses. */
function uniquePrefix(): string {
  testCounter += 1;
  return `conformance/${runId}/${testCounter}/`;
}

async function eventually(what: string, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + EVENTUALLY_TIMEOUT_MS;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) assert.fail(`timed out after ${EVENTUALLY_TIMEOUT_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

/** A short real pause, to show that something does NOT happen. */
function pause(ms = 50): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function rejectsWith(promise: Promise<unknown>, kind: StoreErrorKind, what: string): Promise<void> {
  await assert.rejects(promise, (e: unknown) => {
    assert.ok(e instanceof StoreError, `${what}: expected a StoreError, got ${String(e)}`);
    assert.equal(e.kind, kind, `${what}: error kind (message: ${e.message})`);
    return true;
  });
}

interface Delivery {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

/** Records every callback of a watch, and whether any came synchronously inside a store call. */
class Recorder {
  readonly deliveries: Delivery[] = [];
  readonly errors: Error[] = [];
  insideCall = false;
  deliveredInsideCall = false;
  readonly onEvents = (events: readonly WatchEvent[], revision: number): void => {
    if (this.insideCall) this.deliveredInsideCall = true;
    this.deliveries.push({ revision, events });
  };
  readonly onError = (error: Error): void => {
    this.errors.push(error);
  };
  get events(): WatchEvent[] {
    return this.deliveries.flatMap((d) => d.events);
  }
  async waitForEvents(n: number): Promise<void> {
    await eventually(`${n} watch events (have ${this.events.length})`, () => this.events.length >= n);
  }
}

function summarize(e: WatchEvent): string {
  return `${e.type} ${e.kv.key}${e.type === 'put' ? `=${e.kv.value}` : ''}`;
}

export function storeConformance(name: string, open: () => Promise<ConformanceTarget>): void {
  /** Opens a target for one test and always cleans it up. */
  function test(title: string, body: (t: ConformanceTarget, p: string) => Promise<void>): void {
    it(title, async () => {
      const target = await open();
      try {
        await body(target, uniquePrefix());
      } finally {
        await target.cleanup();
      }
    });
  }

  /** Asserts the revision moved by exactly `by` (or, on a shared store, at least by 1 when by > 0). */
  function assertRevisionStep(t: ConformanceTarget, before: number, after: number, by: number, what: string): void {
    if (t.sharedWithOtherWriters) {
      if (by > 0) assert.ok(after > before, `${what}: revision ${after} after ${before}`);
      else assert.ok(after >= before, `${what}: revision ${after} after ${before}`);
    } else {
      assert.equal(after, before + by, `${what}: revision moves by ${by}`);
    }
  }

  describe(`store conformance: ${name}`, () => {
    describe('keys and revisions', () => {
      test('a put creates a key with createRevision = modRevision = the new revision and version 1', async (t, p) => {
        const { store } = t;
        const before = await store.revision();
        const { revision } = await store.put(`${p}a`, 'one');
        assertRevisionStep(t, before, revision, 1, 'first put');
        const kv = await store.get(`${p}a`);
        assert.deepEqual(kv && pick(kv), { key: `${p}a`, value: 'one', createRevision: revision, modRevision: revision, version: 1 });
        assert.equal(kv?.lease, undefined);
        assert.ok((await store.revision()) >= revision);
      });

      test('overwriting bumps version and modRevision, keeps createRevision', async (t, p) => {
        const { store } = t;
        const r1 = (await store.put(`${p}a`, 'one')).revision;
        const r2 = (await store.put(`${p}a`, 'two')).revision;
        const r3 = (await store.put(`${p}a`, 'three')).revision;
        assertRevisionStep(t, r1, r2, 1, 'second put');
        assertRevisionStep(t, r2, r3, 1, 'third put');
        const kv = await store.get(`${p}a`);
        assert.equal(kv?.value, 'three');
        assert.equal(kv?.version, 3);
        assert.equal(kv?.createRevision, r1);
        assert.equal(kv?.modRevision, r3);
      });

      test('a missing key reads as undefined; deleting it deletes nothing and does not bump the revision', async (t, p) => {
        const { store } = t;
        assert.equal(await store.get(`${p}missing`), undefined);
        const before = await store.revision();
        const r = await store.delete(`${p}missing`);
        assert.equal(r.deleted, 0);
        assertRevisionStep(t, before, r.revision, 0, 'delete of a missing key');
        const p2 = await store.deletePrefix(`${p}nothing/`);
        assert.equal(p2.deleted, 0);
        assertRevisionStep(t, before, p2.revision, 0, 'deletePrefix matching nothing');
      });

      test('delete removes a key; putting it again starts a new life (new createRevision, version 1)', async (t, p) => {
        const { store } = t;
        await store.put(`${p}a`, 'one');
        await store.put(`${p}a`, 'two');
        const del = await store.delete(`${p}a`);
        assert.equal(del.deleted, 1);
        assert.equal(await store.get(`${p}a`), undefined);
        const again = await store.put(`${p}a`, 'three');
        assertRevisionStep(t, del.revision, again.revision, 1, 'put after delete');
        const kv = await store.get(`${p}a`);
        assert.equal(kv?.createRevision, again.revision);
        assert.equal(kv?.version, 1);
      });

      test('range returns exactly the keys under the prefix, sorted by key', async ({ store }, p) => {
        for (const k of ['b', 'a/2', 'a/10', 'a/1', 'ab', 'a', 'c/x']) await store.put(`${p}${k}`, k);
        await store.put(`${p.slice(0, -1)}-sibling`, 'outside');
        const all = await store.range(p);
        assert.deepEqual(
          all.kvs.map((kv) => kv.key.slice(p.length)),
          ['a', 'a/1', 'a/10', 'a/2', 'ab', 'b', 'c/x'],
        );
        const under = await store.range(`${p}a/`);
        assert.deepEqual(under.kvs.map((kv) => kv.value), ['a/1', 'a/10', 'a/2']);
        assert.ok(under.revision >= Math.max(...all.kvs.map((kv) => kv.modRevision)), 'range revision is at least every modRevision');
        assert.deepEqual((await store.range(`${p}zzz/`)).kvs, []);
      });

      test('deletePrefix deletes exactly the keys under the prefix, in one revision', async (t, p) => {
        const { store } = t;
        for (const k of ['x/1', 'x/2', 'x/3', 'xy', 'y']) await store.put(`${p}${k}`, k);
        const before = await store.revision();
        const r = await store.deletePrefix(`${p}x/`);
        assert.equal(r.deleted, 3);
        assertRevisionStep(t, before, r.revision, 1, 'deletePrefix of 3 keys');
        assert.deepEqual((await store.range(p)).kvs.map((kv) => kv.key.slice(p.length)), ['xy', 'y']);
      });

      test('values keep any UTF-8 text, including empty and multi-byte', async ({ store }, p) => {
        const values = ['', 'plain', 'ünïcødé ✓', '日本語のテキスト', '😀 emoji', 'line\nbreak\u0000nul'];
        for (const [i, v] of values.entries()) await store.put(`${p}${i}`, v);
        for (const [i, v] of values.entries()) assert.equal((await store.get(`${p}${i}`))?.value, v);
      });
    });

    describe('transactions', () => {
      test('compares on value: == and !=; a value compare on a missing key is false', async ({ store }, p) => {
        await store.put(`${p}k`, 'v');
        const cases: [string, '==' | '!=', string, boolean][] = [
          [`${p}k`, '==', 'v', true],
          [`${p}k`, '==', 'w', false],
          [`${p}k`, '!=', 'w', true],
          [`${p}k`, '!=', 'v', false],
          [`${p}missing`, '==', '', false],
          [`${p}missing`, '!=', 'x', false],
        ];
        for (const [key, op, value, expected] of cases) {
          const r = await store.txn({ compare: [{ key, target: 'value', op, value }], success: [] });
          assert.equal(r.succeeded, expected, `${key.slice(p.length)} value ${op} ${JSON.stringify(value)}`);
        }
      });

      test('compares on version, createRevision and modRevision with ==, !=, <, >; a missing key counts as 0', async ({ store }, p) => {
        const r1 = (await store.put(`${p}k`, 'a')).revision;
        const r2 = (await store.put(`${p}k`, 'b')).revision;
        const actual = { version: 2, createRevision: r1, modRevision: r2 };
        for (const target of ['version', 'createRevision', 'modRevision'] as const) {
          const v = actual[target];
          const cases: ['==' | '!=' | '<' | '>', number, boolean][] = [
            ['==', v, true],
            ['==', v + 1, false],
            ['!=', v, false],
            ['!=', v - 1, true],
            ['<', v + 1, true],
            ['<', v, false],
            ['>', v - 1, true],
            ['>', v, false],
          ];
          for (const [op, value, expected] of cases) {
            const r = await store.txn({ compare: [{ key: `${p}k`, target, op, value }], success: [] });
            assert.equal(r.succeeded, expected, `${target} (${v}) ${op} ${value}`);
          }
          const missing = await store.txn({ compare: [{ key: `${p}missing`, target, op: '==', value: 0 }], success: [] });
          assert.equal(missing.succeeded, true, `missing key: ${target} == 0`);
          const missingGt = await store.txn({ compare: [{ key: `${p}missing`, target, op: '>', value: 0 }], success: [] });
          assert.equal(missingGt.succeeded, false, `missing key: ${target} > 0`);
        }
      });

      test('all compares must hold; the success branch runs as one revision shared by all its writes', async (t, p) => {
        const { store } = t;
        await store.put(`${p}a`, '1');
        await store.put(`${p}old`, 'x');
        const before = await store.revision();
        const r = await store.txn({
          compare: [
            { key: `${p}a`, target: 'value', op: '==', value: '1' },
            { key: `${p}b`, target: 'version', op: '==', value: 0 },
          ],
          success: [
            { type: 'put', key: `${p}a`, value: '2' },
            { type: 'put', key: `${p}b`, value: 'new' },
            { type: 'delete', key: `${p}old` },
            { type: 'get', key: `${p}a` },
            { type: 'range', prefix: p },
          ],
          failure: [{ type: 'put', key: `${p}failed`, value: 'yes' }],
        });
        assert.equal(r.succeeded, true);
        assertRevisionStep(t, before, r.revision, 1, 'multi-write txn');
        assert.equal(r.results.length, 5);
        assert.deepEqual(r.results[0], { type: 'put' });
        assert.deepEqual(r.results[2], { type: 'delete', deleted: 1 });
        const get = r.results[3];
        assert.equal(get?.type, 'get');
        assert.equal(get.type === 'get' ? get.kv?.value : undefined, '2', 'a get after a put in the same txn sees the put');
        const range = r.results[4];
        assert.deepEqual(range?.type === 'range' ? range.kvs.map((kv) => kv.key.slice(p.length)) : undefined, ['a', 'b']);
        const a = await store.get(`${p}a`);
        const b = await store.get(`${p}b`);
        assert.equal(a?.modRevision, r.revision);
        assert.equal(b?.modRevision, r.revision);
        assert.equal(b?.createRevision, r.revision);
        assert.equal(await store.get(`${p}failed`), undefined);
      });

      test('a failed compare runs the failure branch only', async ({ store }, p) => {
        await store.put(`${p}a`, '1');
        const r = await store.txn({
          compare: [{ key: `${p}a`, target: 'value', op: '==', value: 'other' }],
          success: [{ type: 'put', key: `${p}success`, value: 'yes' }],
          failure: [
            { type: 'put', key: `${p}failure`, value: 'yes' },
            { type: 'get', key: `${p}a` },
          ],
        });
        assert.equal(r.succeeded, false);
        assert.equal(r.results.length, 2);
        const get = r.results[1];
        assert.equal(get?.type === 'get' ? get.kv?.value : undefined, '1');
        assert.equal(await store.get(`${p}success`), undefined);
        assert.equal((await store.get(`${p}failure`))?.value, 'yes');
        assert.equal((await store.get(`${p}failure`))?.modRevision, r.revision);
      });

      test('a failed compare without failure branch, or a read-only txn, writes nothing and keeps the revision', async (t, p) => {
        const { store } = t;
        await store.put(`${p}a`, '1');
        const before = await store.revision();
        const failed = await store.txn({ compare: [{ key: `${p}a`, target: 'version', op: '>', value: 5 }], success: [{ type: 'put', key: `${p}a`, value: '2' }] });
        assert.equal(failed.succeeded, false);
        assert.deepEqual(failed.results, []);
        assertRevisionStep(t, before, failed.revision, 0, 'failed txn');
        const readOnly = await store.txn({ compare: [], success: [{ type: 'get', key: `${p}a` }, { type: 'range', prefix: p }] });
        assert.equal(readOnly.succeeded, true);
        assertRevisionStep(t, before, readOnly.revision, 0, 'read-only txn');
        assert.equal((await store.get(`${p}a`))?.value, '1');
      });

      test('compare-and-swap on modRevision lets exactly one of two racing writers win', async ({ store }, p) => {
        const { revision } = await store.put(`${p}counter`, '0');
        const attempt = (value: string) =>
          store.txn({
            compare: [{ key: `${p}counter`, target: 'modRevision', op: '==', value: revision }],
            success: [{ type: 'put', key: `${p}counter`, value }],
          });
        const [x, y] = await Promise.all([attempt('x'), attempt('y')]);
        assert.equal([x, y].filter((r) => r.succeeded).length, 1);
        assert.equal((await store.get(`${p}counter`))?.value, x.succeeded ? 'x' : 'y');
      });

      test('deletePrefix inside a txn reports its count; deleting then reading in one txn sees the delete', async ({ store }, p) => {
        for (const k of ['d/1', 'd/2', 'keep']) await store.put(`${p}${k}`, k);
        const r = await store.txn({
          compare: [],
          success: [
            { type: 'deletePrefix', prefix: `${p}d/` },
            { type: 'range', prefix: p },
          ],
        });
        assert.deepEqual(r.results[0], { type: 'delete', deleted: 2 });
        const range = r.results[1];
        assert.deepEqual(range?.type === 'range' ? range.kvs.map((kv) => kv.key.slice(p.length)) : undefined, ['keep']);
      });

      test('writing one key twice in a txn is refused (as etcd) and changes nothing', async (t, p) => {
        const { store } = t;
        const before = await store.revision();
        await rejectsWith(
          store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: '1' }, { type: 'put', key: `${p}a`, value: '2' }] }),
          'invalid',
          'duplicate put',
        );
        await rejectsWith(
          store.txn({ compare: [], success: [{ type: 'put', key: `${p}a`, value: '1' }, { type: 'delete', key: `${p}a` }] }),
          'invalid',
          'put and delete of one key',
        );
        assert.equal(await store.get(`${p}a`), undefined);
        assertRevisionStep(t, before, await store.revision(), 0, 'refused txns');
      });

      test('a txn refused for one bad op applies none of its ops', async (t, p) => {
        const { store } = t;
        await store.put(`${p}a`, 'original');
        const before = await store.revision();
        const big = 'x'.repeat(STORE_VALUE_BYTES_MAX + 1);
        await rejectsWith(
          store.txn({
            compare: [],
            success: [
              { type: 'put', key: `${p}a`, value: 'changed' },
              { type: 'put', key: `${p}b`, value: 'new' },
              { type: 'put', key: `${p}c`, value: big },
            ],
          }),
          'too-large',
          'txn with an oversized value',
        );
        await rejectsWith(
          store.txn({
            compare: [],
            success: [
              { type: 'put', key: `${p}a`, value: 'changed' },
              { type: 'put', key: `${p}d`, value: 'leased', lease: '7342110985341' },
            ],
          }),
          'lease-not-found',
          'txn with an unknown lease',
        );
        assert.equal((await store.get(`${p}a`))?.value, 'original');
        assert.equal(await store.get(`${p}b`), undefined);
        assert.equal(await store.get(`${p}d`), undefined);
        assertRevisionStep(t, before, await store.revision(), 0, 'refused txns');
      });
    });

    describe('limits', () => {
      test(`keys over ${STORE_KEY_BYTES_MAX} bytes and values over ${STORE_VALUE_BYTES_MAX} bytes are refused as too-large`, async (t, p) => {
        const { store } = t;
        const before = await store.revision();
        const longKey = p + 'k'.repeat(STORE_KEY_BYTES_MAX);
        await rejectsWith(store.put(longKey, 'v'), 'too-large', 'long key');
        // Multi-byte characters count by their UTF-8 bytes: 1000 × 3 bytes > the limit.
        await rejectsWith(store.put(p + '€'.repeat(Math.ceil(STORE_KEY_BYTES_MAX / 3) + 1), 'v'), 'too-large', 'long multi-byte key');
        await rejectsWith(store.put(`${p}big`, 'v'.repeat(STORE_VALUE_BYTES_MAX + 1)), 'too-large', 'big value');
        assertRevisionStep(t, before, await store.revision(), 0, 'refused puts');
        assert.equal(await store.get(`${p}big`), undefined);
        // At the limits exactly, both are accepted.
        const atLimitKey = p + 'k'.repeat(STORE_KEY_BYTES_MAX - Buffer.byteLength(p));
        await store.put(atLimitKey, 'v');
        assert.equal((await store.get(atLimitKey))?.value, 'v');
      });

      test(`a txn with more than ${STORE_TXN_OPS_MAX} ops or compares is refused as too-large`, async (t, p) => {
        const { store } = t;
        const before = await store.revision();
        const puts: TxnOp[] = Array.from({ length: STORE_TXN_OPS_MAX + 1 }, (_, i) => ({ type: 'put', key: `${p}${i}`, value: 'v' }));
        await rejectsWith(store.txn({ compare: [], success: puts }), 'too-large', 'too many success ops');
        await rejectsWith(store.txn({ compare: [], success: [], failure: puts }), 'too-large', 'too many failure ops');
        const compares = Array.from({ length: STORE_TXN_OPS_MAX + 1 }, (_, i) => ({ key: `${p}${i}`, target: 'version' as const, op: '==' as const, value: 0 }));
        await rejectsWith(store.txn({ compare: compares, success: [] }), 'too-large', 'too many compares');
        assertRevisionStep(t, before, await store.revision(), 0, 'refused txns');
        assert.deepEqual((await store.range(p)).kvs, []);
        // Exactly at the limit is fine.
        const r = await store.txn({ compare: [], success: puts.slice(0, STORE_TXN_OPS_MAX) });
        assert.equal(r.succeeded, true);
        assert.equal((await store.range(p)).kvs.length, STORE_TXN_OPS_MAX);
      });
    });

    describe('watches', () => {
      test('a prefix watch delivers each revision once, in order, with only the keys under the prefix', async ({ store }, p) => {
        const rec = new Recorder();
        const w = await store.watchPrefix(`${p}w/`, rec.onEvents, { onError: rec.onError });
        try {
          const r1 = (await store.put(`${p}w/a`, '1')).revision;
          await store.put(`${p}other`, 'not watched');
          const r2 = (await store.put(`${p}w/b`, '2')).revision;
          const r3 = (await store.put(`${p}w/a`, '3')).revision;
          const r4 = (await store.delete(`${p}w/b`)).revision;
          await rec.waitForEvents(4);
          await pause();
          assert.deepEqual(
            rec.deliveries.map((d) => [d.revision, d.events.map(summarize)]),
            [
              [r1, [`put ${p}w/a=1`]],
              [r2, [`put ${p}w/b=2`]],
              [r3, [`put ${p}w/a=3`]],
              [r4, [`delete ${p}w/b`]],
            ],
          );
          assert.deepEqual(rec.errors, []);
        } finally {
          await w.cancel();
        }
      });

      test('events carry revisions and prevKv; a delete event has an empty value and the deletion revision', async ({ store }, p) => {
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          const created = (await store.put(`${p}k`, 'v1')).revision;
          const updated = (await store.put(`${p}k`, 'v2')).revision;
          const deleted = (await store.delete(`${p}k`)).revision;
          await rec.waitForEvents(3);
          const [e1, e2, e3] = rec.events;
          assert.equal(e1?.type, 'put');
          assert.deepEqual(pick(e1!.kv), { key: `${p}k`, value: 'v1', createRevision: created, modRevision: created, version: 1 });
          assert.equal(e1?.prevKv, undefined, 'a created key has no previous version');
          assert.deepEqual(pick(e2!.kv), { key: `${p}k`, value: 'v2', createRevision: created, modRevision: updated, version: 2 });
          assert.deepEqual(e2?.prevKv && pick(e2.prevKv), pick(e1!.kv));
          assert.equal(e3?.type, 'delete');
          assert.equal(e3?.kv.key, `${p}k`);
          assert.equal(e3?.kv.value, '');
          assert.equal(e3?.kv.modRevision, deleted);
          assert.deepEqual(e3?.prevKv && pick(e3.prevKv), pick(e2!.kv));
        } finally {
          await w.cancel();
        }
      });

      test('a multi-key txn and a deletePrefix each arrive as one callback with all their events', async ({ store }, p) => {
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          const t = await store.txn({
            compare: [],
            success: [
              { type: 'put', key: `${p}a`, value: '1' },
              { type: 'put', key: `${p}b`, value: '2' },
              { type: 'put', key: `${p}c`, value: '3' },
            ],
          });
          const d = await store.deletePrefix(p);
          await rec.waitForEvents(6);
          await pause();
          assert.equal(rec.deliveries.length, 2);
          assert.equal(rec.deliveries[0]?.revision, t.revision);
          assert.deepEqual(rec.deliveries[0]?.events.map(summarize), [`put ${p}a=1`, `put ${p}b=2`, `put ${p}c=3`]);
          assert.equal(rec.deliveries[1]?.revision, d.revision);
          assert.deepEqual(rec.deliveries[1]?.events.map(summarize).sort(), [`delete ${p}a`, `delete ${p}b`, `delete ${p}c`]);
          for (const e of rec.deliveries[1]!.events) assert.equal(e.kv.modRevision, d.revision);
        } finally {
          await w.cancel();
        }
      });

      test('callbacks never run inside the store call that caused them', async ({ store }, p) => {
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          for (let i = 0; i < 20; i++) {
            rec.insideCall = true;
            const pending = store.put(`${p}${i % 3}`, String(i));
            rec.insideCall = false;
            await pending;
          }
          await rec.waitForEvents(20);
          assert.equal(rec.deliveredInsideCall, false);
          const revisions = rec.deliveries.map((d) => d.revision);
          assert.deepEqual(revisions, [...revisions].sort((a, b) => a - b));
        } finally {
          await w.cancel();
        }
      });

      test('concurrent writers: the watch sees every revision exactly once, in increasing order', async ({ store }, p) => {
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          const results = await Promise.all(Array.from({ length: 40 }, (_, i) => store.put(`${p}${i % 7}`, String(i))));
          await rec.waitForEvents(40);
          await pause();
          const seen = rec.deliveries.map((d) => d.revision);
          assert.deepEqual(seen, [...new Set(results.map((r) => r.revision))].sort((a, b) => a - b));
          // The last value each key got in revision order is what the store holds.
          for (let k = 0; k < 7; k++) {
            const last = rec.events.filter((e) => e.kv.key === `${p}${k}`).at(-1);
            assert.equal((await store.get(`${p}${k}`))?.value, last?.kv.value);
          }
        } finally {
          await w.cancel();
        }
      });

      test('a watch from a past revision replays from that revision (inclusive), then continues live', async ({ store }, p) => {
        await store.put(`${p}a`, 'before');
        const from = (await store.put(`${p}a`, 'first')).revision;
        await store.put(`${p}b`, 'second');
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents, { fromRevision: from, onError: rec.onError });
        try {
          await rec.waitForEvents(2);
          await store.put(`${p}c`, 'live');
          await rec.waitForEvents(3);
          await pause();
          assert.deepEqual(rec.events.map(summarize), [`put ${p}a=first`, `put ${p}b=second`, `put ${p}c=live`]);
          assert.equal(rec.deliveries[0]?.revision, from);
          assert.deepEqual(rec.errors, []);
        } finally {
          await w.cancel();
        }
      });

      test('a watch without fromRevision sees only writes after it started', async ({ store }, p) => {
        await store.put(`${p}old`, 'old');
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          await store.put(`${p}new`, 'new');
          await rec.waitForEvents(1);
          await pause();
          assert.deepEqual(rec.events.map(summarize), [`put ${p}new=new`]);
        } finally {
          await w.cancel();
        }
      });

      test('after cancel no more events arrive', async ({ store }, p) => {
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        await store.put(`${p}a`, '1');
        await rec.waitForEvents(1);
        await w.cancel();
        await store.put(`${p}a`, '2');
        await store.put(`${p}b`, '3');
        await pause(100);
        assert.deepEqual(rec.events.map(summarize), [`put ${p}a=1`]);
      });

      test('a watch from a compacted revision reports StoreError compacted through onError', async (t, p) => {
        if (!t.compact) return;
        const { store } = t;
        const old = (await store.put(`${p}a`, '1')).revision;
        await store.put(`${p}a`, '2');
        const latest = (await store.put(`${p}a`, '3')).revision;
        await t.compact(latest);
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents, { fromRevision: old, onError: rec.onError });
        try {
          await eventually('the compacted error', () => rec.errors.length > 0);
          const error = rec.errors[0];
          assert.ok(error instanceof StoreError, `got ${String(error)}`);
          assert.equal(error.kind, 'compacted');
          await store.put(`${p}a`, '4');
          await pause();
          assert.deepEqual(rec.deliveries, [], 'no events follow the error');
        } finally {
          await w.cancel();
        }
        // The compaction point itself can still be watched from.
        const rec2 = new Recorder();
        const w2 = await store.watchPrefix(p, rec2.onEvents, { fromRevision: latest, onError: rec2.onError });
        try {
          await rec2.waitForEvents(2);
          assert.deepEqual(rec2.events.map(summarize), [`put ${p}a=3`, `put ${p}a=4`]);
          assert.deepEqual(rec2.errors, []);
        } finally {
          await w2.cancel();
        }
      });
    });

    describe('leases', () => {
      test('a granted lease reports its TTL; keys attached carry it', async ({ store }, p) => {
        const lease = await store.grantLease(LEASE_TTL_SECONDS);
        const ttl = await store.leaseTimeToLive(lease);
        assert.ok(ttl > 0 && ttl <= LEASE_TTL_SECONDS, `time to live ${ttl}`);
        await store.put(`${p}a`, 'v', { lease });
        assert.equal((await store.get(`${p}a`))?.lease, lease);
        await store.revokeLease(lease);
      });

      test('revoke deletes every attached key in one revision; the lease is gone afterwards', async (t, p) => {
        const { store } = t;
        const lease = await store.grantLease(LEASE_TTL_SECONDS);
        await store.put(`${p}a`, '1', { lease });
        await store.put(`${p}b`, '2', { lease });
        await store.put(`${p}free`, '3');
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          const before = await store.revision();
          await store.revokeLease(lease);
          assertRevisionStep(t, before, await store.revision(), 1, 'revoke with two keys');
          assert.equal(await store.get(`${p}a`), undefined);
          assert.equal(await store.get(`${p}b`), undefined);
          assert.equal((await store.get(`${p}free`))?.value, '3');
          await rec.waitForEvents(2);
          await pause();
          assert.equal(rec.deliveries.length, 1);
          assert.deepEqual(rec.events.map(summarize).sort(), [`delete ${p}a`, `delete ${p}b`]);
          assert.equal(await store.leaseTimeToLive(lease), -1);
          await rejectsWith(store.keepAlive(lease), 'lease-not-found', 'keepAlive of a revoked lease');
          await rejectsWith(store.put(`${p}c`, 'v', { lease }), 'lease-not-found', 'put with a revoked lease');
          assert.equal(await store.get(`${p}c`), undefined);
        } finally {
          await w.cancel();
        }
      });

      test('a lease that is not kept alive expires: its keys vanish and watchers see the deletes', async ({ store, advanceMs }, p) => {
        const lease = await store.grantLease(LEASE_TTL_SECONDS);
        await store.put(`${p}a`, '1', { lease });
        await store.put(`${p}b`, '2', { lease });
        await store.put(`${p}free`, '3');
        const rec = new Recorder();
        const w = await store.watchPrefix(p, rec.onEvents);
        try {
          await advanceMs(LEASE_TTL_SECONDS * 1000 + 1000);
          await eventually('the leased keys to vanish', async () => (await store.range(p)).kvs.length === 1);
          await rec.waitForEvents(2);
          assert.deepEqual(rec.events.map(summarize).sort(), [`delete ${p}a`, `delete ${p}b`]);
          assert.equal(rec.deliveries.length, 1, 'the expiry deletes are one revision');
          assert.equal((await store.get(`${p}free`))?.value, '3');
          assert.equal(await store.leaseTimeToLive(lease), -1);
          await rejectsWith(store.keepAlive(lease), 'lease-not-found', 'keepAlive of an expired lease');
          await rejectsWith(store.put(`${p}c`, 'v', { lease }), 'lease-not-found', 'put with an expired lease');
        } finally {
          await w.cancel();
        }
      });

      test('keepAlive renews the lease to its full TTL', async ({ store, advanceMs }, p) => {
        const lease = await store.grantLease(LEASE_TTL_SECONDS);
        await store.put(`${p}a`, '1', { lease });
        const stepMs = (LEASE_TTL_SECONDS * 1000 * 3) / 4;
        for (let i = 0; i < 3; i++) {
          await advanceMs(stepMs);
          await store.keepAlive(lease);
          const ttl = await store.leaseTimeToLive(lease);
          assert.ok(ttl > LEASE_TTL_SECONDS / 2 && ttl <= LEASE_TTL_SECONDS, `TTL after keepAlive: ${ttl}`);
        }
        // 3 × 3/4 TTL has passed since the grant: without the renewals the key would be gone.
        assert.equal((await store.get(`${p}a`))?.value, '1');
        await store.revokeLease(lease);
      });

      test('a lease with no keys can be revoked; revoking it twice fails with lease-not-found', async ({ store }) => {
        const lease = await store.grantLease(LEASE_TTL_SECONDS);
        await store.revokeLease(lease);
        await rejectsWith(store.revokeLease(lease), 'lease-not-found', 'second revoke');
        assert.equal(await store.leaseTimeToLive(lease), -1);
      });

      test('a put with a lease that was never granted fails with lease-not-found and writes nothing', async ({ store }, p) => {
        await rejectsWith(store.put(`${p}a`, 'v', { lease: '6148914691236517' }), 'lease-not-found', 'unknown lease');
        assert.equal(await store.get(`${p}a`), undefined);
        assert.equal(await store.leaseTimeToLive('6148914691236517'), -1);
      });

      test('a key moved to another lease, or overwritten without one, no longer goes with the old lease', async ({ store }, p) => {
        const first = await store.grantLease(LEASE_TTL_SECONDS);
        const second = await store.grantLease(LEASE_TTL_SECONDS * 10);
        await store.put(`${p}moved`, '1', { lease: first });
        await store.put(`${p}freed`, '1', { lease: first });
        await store.put(`${p}moved`, '2', { lease: second });
        await store.put(`${p}freed`, '2');
        assert.equal((await store.get(`${p}freed`))?.lease, undefined);
        await store.revokeLease(first);
        assert.equal((await store.get(`${p}moved`))?.value, '2');
        assert.equal((await store.get(`${p}freed`))?.value, '2');
        await store.revokeLease(second);
        assert.equal(await store.get(`${p}moved`), undefined);
        assert.equal((await store.get(`${p}freed`))?.value, '2');
      });

      test('a TTL below 1 second or not whole is refused', async ({ store }) => {
        await rejectsWith(store.grantLease(0), 'invalid', 'TTL 0');
        await rejectsWith(store.grantLease(-5), 'invalid', 'negative TTL');
        await rejectsWith(store.grantLease(1.5), 'invalid', 'fractional TTL');
      });
    });

    describe('closing', () => {
      it('after close every call fails with StoreError closed', async () => {
        const t = await open();
        try {
          const p = uniquePrefix();
          await t.store.put(`${p}a`, '1');
          await t.store.close();
          await rejectsWith(t.store.get(`${p}a`), 'closed', 'get');
          await rejectsWith(t.store.put(`${p}a`, '2'), 'closed', 'put');
          await rejectsWith(t.store.range(p), 'closed', 'range');
          await rejectsWith(t.store.txn({ compare: [], success: [] }), 'closed', 'txn');
          await rejectsWith(t.store.grantLease(LEASE_TTL_SECONDS), 'closed', 'grantLease');
          await rejectsWith(t.store.watchPrefix(p, () => {}), 'closed', 'watchPrefix');
          await rejectsWith(t.store.revision(), 'closed', 'revision');
        } finally {
          await t.cleanup();
        }
      });
    });
  });
}

function pick(kv: KeyValue): Pick<KeyValue, 'key' | 'value' | 'createRevision' | 'modRevision' | 'version'> {
  return { key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.modRevision, version: kv.version };
}
