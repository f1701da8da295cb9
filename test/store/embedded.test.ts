// The embedded store: the shared conformance suite in memory and on disk, plus
// what only a data directory has — persistence, torn and corrupt logs, the
// lock, snapshots.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { isClusterError } from '../../src/model/errors.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../../src/store/embedded.ts';
import { WATCH_HISTORY_REVISIONS_MAX } from '../../src/store/limits.ts';
import { StoreError } from '../../src/store/store.ts';
import { storeConformance, type ConformanceTarget } from './conformance.ts';
import { Prng } from '../../src/sim/prng.ts';

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

/** Everything a store holds, for comparing two stores. */
async function dump(store: EmbeddedStore): Promise<{ revision: number; kvs: unknown[] }> {
  const { kvs, revision } = await store.range('');
  return { revision, kvs: kvs.map((kv) => ({ ...kv })) };
}

function withDir(body: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempDir();
    try {
      await body(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}

function walPath(dir: string): string {
  return path.join(dir, 'wal');
}

async function refusesCorrupt(dir: string, file: string, offset?: number, mention?: RegExp): Promise<void> {
  await assert.rejects(openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() }), (e: unknown) => {
    assert.ok(isClusterError(e), `expected a ClusterError, got ${String(e)}`);
    assert.equal(e.code, 5029);
    assert.equal(e.name, 'ERROR_CLUSTERLOG_CORRUPT');
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    if (offset !== undefined) assert.ok(e.message.includes(`byte ${offset}`), `message names byte ${offset}: ${e.message}`);
    if (mention) assert.match(e.message, mention);
    return true;
  });
  // A refused open leaves no lock behind.
  assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false);
}

/** Writes n keys one at a time and returns the WAL size after each acknowledged write. */
async function writeKeys(store: EmbeddedStore, dir: string, n: number): Promise<number[]> {
  const sizes: number[] = [];
  for (let i = 0; i < n; i++) {
    await store.put(`k/${i}`, `value ${i}`);
    sizes.push(fs.statSync(walPath(dir)).size);
  }
  return sizes;
}

describe('embedded store on disk', () => {
  it(
    'keeps keys, revisions, versions and leases across close and reopen; lease TTLs restart from full',
    withDir(async (dir) => {
      const clock = new VirtualClock();
      const first = await openEmbeddedStore({ dataDir: dir, clock });
      const lease = await first.grantLease(10);
      await first.put('a', '1');
      await first.put('a', '2');
      await first.put('leased', 'x', { lease });
      await first.txn({ compare: [], success: [{ type: 'put', key: 'b', value: '3' }, { type: 'put', key: 'c', value: '4' }] });
      await first.delete('c');
      await clock.advanceAsync(8000); // 2 s of the lease's 10 s left
      const before = await dump(first);
      await first.close();

      const second = await openEmbeddedStore({ dataDir: dir, clock });
      try {
        assert.deepEqual(await dump(second), before);
        assert.equal(await second.leaseTimeToLive(lease), 10);
        // Revisions continue where they were; the lease still works and still expires.
        const next = await second.put('d', '5');
        assert.equal(next.revision, before.revision + 1);
        await second.keepAlive(lease);
        await clock.advanceAsync(10_001);
        assert.equal(await second.get('leased'), undefined);
        const other = await second.grantLease(5);
        assert.notEqual(other, lease, 'lease ids are not reused after reopen');
      } finally {
        await second.close();
      }
    }),
  );

  it(
    'a watch after reopen can start from a revision still in the log',
    withDir(async (dir) => {
      const first = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      const r1 = (await first.put('w/a', '1')).revision;
      await first.put('w/b', '2');
      await first.close();
      const second = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      try {
        const seen: string[] = [];
        const w = await second.watchPrefix('w/', (events) => seen.push(...events.map((e) => `${e.kv.key}=${e.kv.value}`)), { fromRevision: r1 });
        await second.put('w/c', '3');
        for (let i = 0; i < 100 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(seen, ['w/a=1', 'w/b=2', 'w/c=3']);
        await w.cancel();
      } finally {
        await second.close();
      }
    }),
  );

  it(
    'drops a torn last record (short, or failing its checksum), truncates it away, and keeps every acknowledged write',
    withDir(async (dir) => {
      const store = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      const sizes = await writeKeys(store, dir, 5);
      await store.close();
      const intact = fs.readFileSync(walPath(dir));
      assert.equal(intact.length, sizes[4]);
      const lastRecord = intact.subarray(sizes[3]!);

      // 1. A record cut short: only its first half reached the disk.
      fs.appendFileSync(walPath(dir), lastRecord.subarray(0, Math.floor(lastRecord.length / 2)));
      // 2. A whole record whose bytes are damaged (checksum fails), at the very end.
      const damaged = Buffer.from(lastRecord);
      damaged[damaged.length - 2] = damaged[damaged.length - 2]! ^ 0xff;
      for (const tail of [lastRecord.subarray(0, Math.floor(lastRecord.length / 2)), damaged, Buffer.from([0, 0, 0])]) {
        fs.writeFileSync(walPath(dir), Buffer.concat([intact, tail]));
        const reopened = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
        try {
          assert.deepEqual(
            (await reopened.range('k/')).kvs.map((kv) => kv.value),
            ['value 0', 'value 1', 'value 2', 'value 3', 'value 4'],
          );
          assert.equal(fs.statSync(walPath(dir)).size, intact.length, 'the torn tail is truncated away');
          await reopened.put('k/5', 'value 5');
        } finally {
          await reopened.close();
        }
        // The log is whole again: the next open sees the write made after the repair.
        const again = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
        assert.equal((await again.get('k/5'))?.value, 'value 5');
        await again.delete('k/5');
        await again.close();
        fs.writeFileSync(walPath(dir), intact);
      }
    }),
  );

  it(
    'refuses to open a log damaged before its end, naming file and byte offset, and leaves the file as it was',
    withDir(async (dir) => {
      const store = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      const sizes = await writeKeys(store, dir, 6);
      await store.close();
      const original = fs.readFileSync(walPath(dir));
      // Damage one byte inside the third record's payload; intact records follow it.
      const damaged = Buffer.from(original);
      const third = sizes[1]!;
      damaged[third + 12] = damaged[third + 12]! ^ 0x20;
      fs.writeFileSync(walPath(dir), damaged);
      await refusesCorrupt(dir, walPath(dir), third, /checksum/);
      assert.deepEqual(fs.readFileSync(walPath(dir)), damaged, 'the file is untouched');

      // A damaged length field reads as "runs past the end"; the intact records after it still give it away.
      const badLength = Buffer.from(original);
      badLength.writeUInt32BE(0x00ffffff, third);
      fs.writeFileSync(walPath(dir), badLength);
      await refusesCorrupt(dir, walPath(dir), third);
      assert.deepEqual(fs.readFileSync(walPath(dir)), badLength);
    }),
  );

  it(
    'refuses garbage files and unknown format versions with ERROR_CLUSTERLOG_CORRUPT',
    withDir(async (dir) => {
      const store = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      await writeKeys(store, dir, 2);
      await store.close();
      const original = fs.readFileSync(walPath(dir));

      fs.writeFileSync(walPath(dir), Buffer.from('this is not a failover log, just some text\n'.repeat(20)));
      await refusesCorrupt(dir, walPath(dir), 0, /magic/);

      fs.writeFileSync(walPath(dir), Buffer.alloc(3));
      await refusesCorrupt(dir, walPath(dir), 0);

      const future = Buffer.from(original);
      future.writeUInt16BE(99, 6);
      fs.writeFileSync(walPath(dir), future);
      await refusesCorrupt(dir, walPath(dir), 0, /unknown format version 99/);

      // A damaged snapshot is refused too, never half-loaded.
      fs.writeFileSync(walPath(dir), original);
      fs.writeFileSync(path.join(dir, 'snapshot'), Buffer.from('FOSNP1\u0000\u0001garbage garbage garbage'));
      await refusesCorrupt(dir, path.join(dir, 'snapshot'), 8);
    }),
  );

  it(
    'refuses a second opener of the same directory while the first holds it',
    withDir(async (dir) => {
      const first = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      await assert.rejects(openEmbeddedStore({ dataDir: dir }), (e: unknown) => {
        assert.ok(isClusterError(e));
        assert.equal(e.name, 'ERROR_SHARING_VIOLATION');
        assert.ok(e.message.includes(dir), e.message);
        return true;
      });
      await first.close();
      const second = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      await second.close();
    }),
  );

  it(
    'refuses an opener while another live process holds the directory; takes over the lock once that process is gone',
    withDir(async (dir) => {
      const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-writer.ts');
      const child = spawn(process.execPath, ['--import', 'tsx', writer, dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise((r) => child.on('exit', r));
      try {
        await new Promise<void>((resolve, reject) => {
          child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
          child.on('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
        });
        await assert.rejects(openEmbeddedStore({ dataDir: dir }), (e: unknown) => {
          assert.ok(isClusterError(e));
          assert.equal(e.name, 'ERROR_SHARING_VIOLATION');
          assert.ok(e.message.includes(`process ${child.pid}`), e.message);
          return true;
        });
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      // The lock file still names the dead writer; it is stale now.
      assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(child.pid));
      const store = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      try {
        assert.ok((await store.range('crash/')).kvs.length >= 0);
        assert.equal(fs.readFileSync(path.join(dir, 'LOCK'), 'utf8').trim(), String(process.pid));
      } finally {
        await store.close();
      }
      assert.equal(fs.existsSync(path.join(dir, 'LOCK')), false, 'close removes the lock');
    }),
  );

  it(
    'close waits for writes in flight; they are all there after reopen',
    withDir(async (dir) => {
      const store = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock() });
      const writes = Array.from({ length: 50 }, (_, i) => store.put(`f/${String(i).padStart(2, '0')}`, String(i)));
      await store.close();
      const revisions = (await Promise.all(writes)).map((r) => r.revision);
      assert.deepEqual(revisions, Array.from({ length: 50 }, (_, i) => i + 1));
      const reopened = await openEmbeddedStore({ dataDir: dir, clock: new VirtualClock(), fsync: false });
      try {
        assert.deepEqual((await reopened.range('f/')).kvs.map((kv) => kv.value), Array.from({ length: 50 }, (_, i) => String(i)));
      } finally {
        await reopened.close();
      }
    }),
  );

  it(
    'snapshots when the log outgrows its threshold; snapshot plus log replay to the same state',
    withDir(async (dir) => {
      const clock = new VirtualClock();
      const onDisk = await openEmbeddedStore({ dataDir: dir, clock, snapshotThresholdBytes: 4096 });
      const inMemory = await openEmbeddedStore({ clock });
      const prng = new Prng(20260101);
      const random = (): number => prng.float();
      const leases: string[][] = [[], []];
      for (let step = 0; step < 600; step++) {
        const key = `s/${Math.floor(random() * 40)}`;
        const choice = random();
        const outcomes: string[] = [];
        for (const [i, store] of [onDisk, inMemory].entries()) {
          const mine = leases[i]!;
          try {
            if (choice < 0.5) await store.put(key, `v${step}`);
            else if (choice < 0.6) await store.delete(key);
            else if (choice < 0.7) await store.deletePrefix(`${key}`);
            else if (choice < 0.8) {
              await store.txn({
                compare: [{ key, target: 'version', op: '<', value: 3 }],
                success: [{ type: 'put', key, value: `t${step}` }, { type: 'put', key: `${key}/child`, value: 'c' }],
                failure: [{ type: 'delete', key }],
              });
            } else if (choice < 0.85) mine.push(await store.grantLease(1 + (step % 5)));
            else if (choice < 0.95 && mine.length > 0) await store.put(key, `leased${step}`, { lease: mine[step % mine.length]! });
            else if (mine.length > 0) await store.revokeLease(mine.shift()!);
            outcomes.push('ok');
          } catch (e) {
            // Leases expire by the shared clock, so both stores refuse alike.
            if (!(e instanceof StoreError) || e.kind !== 'lease-not-found') throw e;
            outcomes.push(e.kind);
          }
        }
        assert.equal(outcomes[0], outcomes[1], `step ${step}: both stores answer alike`);
        if (step % 97 === 0) await clock.advanceAsync(1500); // some leases expire, in both stores alike
      }
      assert.deepEqual(leases[0], leases[1]);
      const expected = await dump(inMemory);
      assert.deepEqual(await dump(onDisk), expected, 'the stores agree before reopening');
      await onDisk.close();
      await inMemory.close();
      assert.ok(fs.existsSync(path.join(dir, 'snapshot')), 'a snapshot was taken');
      assert.ok(fs.statSync(walPath(dir)).size < 4096 * 2, 'the log was restarted');

      const reopened = await openEmbeddedStore({ dataDir: dir, clock });
      try {
        assert.deepEqual(await dump(reopened), expected, 'snapshot + log replay to the same state');
        const live = await Promise.all(leases[0]!.map((lease) => reopened.leaseTimeToLive(lease)));
        assert.ok(live.some((ttl) => ttl > 0), 'some leases survived the reopen');
      } finally {
        await reopened.close();
      }
    }),
  );

  it(
    'loads a new snapshot next to the old log (a crash between the two renames) without replaying twice',
    withDir(async (dir) => {
      const clock = new VirtualClock();
      const first = await openEmbeddedStore({ dataDir: dir, clock });
      await writeKeys(first, dir, 20);
      await first.close();
      const oldLog = fs.readFileSync(walPath(dir));

      // Reopen with a tiny threshold: the next write snapshots and restarts the log.
      const second = await openEmbeddedStore({ dataDir: dir, clock, snapshotThresholdBytes: 16 });
      await second.put('k/0', 'changed');
      const expected = await dump(second);
      await second.close();
      assert.ok(fs.existsSync(path.join(dir, 'snapshot')));
      assert.ok(fs.statSync(walPath(dir)).size < oldLog.length, 'the log was restarted');

      // What a crash between the snapshot's rename and the log's would leave:
      // the new snapshot, the old log (all of it covered by the snapshot) and a temp file.
      fs.writeFileSync(walPath(dir), oldLog);
      fs.writeFileSync(`${walPath(dir)}.tmp`, 'half-written');
      const third = await openEmbeddedStore({ dataDir: dir, clock });
      try {
        assert.deepEqual(await dump(third), expected);
        assert.equal(fs.existsSync(`${walPath(dir)}.tmp`), false, 'the leftover temp file is removed');
        await third.put('after', 'reopen');
      } finally {
        await third.close();
      }
      const fourth = await openEmbeddedStore({ dataDir: dir, clock });
      assert.equal((await fourth.get('after'))?.value, 'reopen');
      assert.equal((await fourth.get('k/0'))?.value, 'changed');
      await fourth.close();
    }),
  );
});

describe('embedded store watch history', () => {
  it('keeps a bounded history: a watch from before it is compacted, one from inside it replays', async () => {
    const store = await openEmbeddedStore({ clock: new VirtualClock() });
    try {
      const total = WATCH_HISTORY_REVISIONS_MAX + 50;
      for (let i = 0; i < total; i++) await store.put(`h/${i % 10}`, String(i));
      const errors: Error[] = [];
      await store.watchPrefix('h/', () => assert.fail('no events from a compacted revision'), { fromRevision: 1, onError: (e) => errors.push(e) });
      await new Promise((r) => setImmediate(r));
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof StoreError && errors[0].kind === 'compacted', String(errors[0]));
      assert.match(errors[0].message, /revision 1/);

      const oldest = total - WATCH_HISTORY_REVISIONS_MAX + 1;
      const revisions: number[] = [];
      const w = await store.watchPrefix('h/', (_events, revision) => revisions.push(revision), { fromRevision: oldest });
      await new Promise((r) => setImmediate(r));
      assert.equal(revisions.length, WATCH_HISTORY_REVISIONS_MAX);
      assert.equal(revisions[0], oldest);
      await w.cancel();
      // Without onError, the refusal is the watchPrefix call's own rejection.
      await assert.rejects(store.watchPrefix('h/', () => {}, { fromRevision: 2 }), (e: unknown) => e instanceof StoreError && e.kind === 'compacted');
    } finally {
      await store.close();
    }
  });
});
