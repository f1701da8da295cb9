// The embedded store: etcd's contract in-process, optionally persisted to a data
// directory. Every write is applied to memory synchronously (which fixes its
// order and revision), appended to the write-ahead log in that same order, and
// acknowledged — and shown to watchers — only once the log is on disk.

import { RealClock } from '../clock/real.ts';
import type { Clock, TimerHandle } from '../model/clock.ts';
import { loadDataDir } from './datadir.ts';
import type { StoreFiles } from './files.ts';
import { KeySpace } from './keyspace.ts';
import { LEASE_TTL_SECONDS_MAX, LEASE_TTL_SECONDS_MIN, WATCH_HISTORY_BYTES_MAX, WATCH_HISTORY_REVISIONS_MAX } from './limits.ts';
import { applyRecord, captureSnapshot, encodeWrite, type SnapshotState, type WalRecord } from './records.ts';
import {
  StoreError,
  type KeyValue,
  type LeaseId,
  type RangeResult,
  type Store,
  type Txn,
  type TxnOp,
  type TxnResult,
  type WatchCallback,
  type WatchErrorCallback,
  type WatchEvent,
  type Watcher,
  type WatchOptions,
} from './store.ts';
import { checkKey, checkPrefix, executeTxn, preview, validateTxn } from './txn.ts';
import { StallMeter } from './stalls.ts';
import { WatchHub } from './watch.ts';

/** Where records go to become durable; the in-memory store has none. */
export interface Journal {
  /** Sequence number of the last record known to be on disk. */
  readonly durableSeq: number;
  /** Queues a record (records arrive in sequence order); the owner hears when it is durable. */
  append(record: WalRecord): void;
  close(): Promise<void>;
}

/** What a journal needs from the store: a snapshot on demand, and news of durability. */
export interface JournalOwner {
  /** The full state including every record appended so far. */
  snapshot(): SnapshotState;
  /** Called, in order, whenever records up to seq became durable. */
  durable(seq: number): void;
  /** Called if the journal cannot write; the store stops accepting work. */
  failed(error: Error): void;
}

export interface EmbeddedStoreOptions {
  /** Persist here; without it the store lives in memory only. */
  readonly dataDir?: string;
  /** Drives lease expiry; RealClock by default. */
  readonly clock?: Clock;
  /** fsync the log before acknowledging (default true). Off only for throwaway data. */
  readonly fsync?: boolean;
  /** Snapshot once the log grows past this many bytes (default WAL_SNAPSHOT_THRESHOLD_BYTES_DEFAULT). */
  readonly snapshotThresholdBytes?: number;
  /** The filesystem of dataDir (default: the real one; tests pass a disk that can lose power). */
  readonly files?: StoreFiles;
}

/** What a loaded data directory hands to the store. */
export interface LoadedState {
  readonly space: KeySpace;
  readonly seq: number;
  /** Revision the watch history starts after, and the replayed revisions since. */
  readonly historyBase: number;
  readonly replayed: readonly { revision: number; events: WatchEvent[] }[];
  openJournal(owner: JournalOwner): Journal;
}

interface LeaseClock {
  /** On the stall meter's time (the clock less process stalls). */
  deadlineMs: number;
  timer: TimerHandle;
}

interface Unpublished {
  readonly seq: number;
  readonly revision: number;
  readonly events: WatchEvent[];
}

export class EmbeddedStore implements Store {
  /**
   * Stalls of this whole process, measured while the store holds leases. A
   * lease is not charged for them: every lease is extended by the stall, as
   * etcd refreshes leases on a leader change. Nodes in this process use the
   * same meter for their own fence deadlines.
   */
  readonly stalls: StallMeter;
  private readonly hub: WatchHub;
  private readonly journal: Journal | undefined;
  private readonly leaseClocks = new Map<LeaseId, LeaseClock>();
  /** Revisions applied but not yet durable, so not yet shown to watchers. */
  private readonly unpublished: Unpublished[] = [];
  /** Sequence number of the last record applied. */
  private seq: number;
  private closed = false;
  private failure: Error | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly space: KeySpace,
    loaded?: LoadedState,
  ) {
    this.seq = loaded?.seq ?? 0;
    this.stalls = new StallMeter(clock);
    this.hub = new WatchHub(loaded?.historyBase ?? space.revision, WATCH_HISTORY_REVISIONS_MAX, WATCH_HISTORY_BYTES_MAX);
    for (const r of loaded?.replayed ?? []) this.hub.publish(r.revision, r.events);
    this.journal = loaded?.openJournal({
      snapshot: () => captureSnapshot(this.space, this.seq),
      durable: (seq) => this.publishUpTo(seq),
      failed: (error) => this.fail(error),
    });
    // A lease's TTL restarts from full when the store opens, as etcd does after a leader change.
    for (const id of space.leaseIds()) this.armLease(id, space.lease(id)!.ttlSeconds);
  }

  async get(key: string): Promise<KeyValue | undefined> {
    this.checkUsable();
    checkKey(key);
    const kv = this.space.get(key);
    await this.settled();
    return kv;
  }

  async range(prefix: string): Promise<RangeResult> {
    this.checkUsable();
    checkPrefix(prefix);
    const result = { kvs: this.space.range(prefix), revision: this.space.revision };
    await this.settled();
    return result;
  }

  async put(key: string, value: string, options?: { lease?: LeaseId }): Promise<{ revision: number }> {
    const lease = options?.lease;
    const r = await this.txn({ compare: [], success: [lease !== undefined ? { type: 'put', key, value, lease } : { type: 'put', key, value }] });
    return { revision: r.revision };
  }

  async delete(key: string): Promise<{ revision: number; deleted: number }> {
    const r = await this.txn({ compare: [], success: [{ type: 'delete', key }] });
    const first = r.results[0];
    return { revision: r.revision, deleted: first?.type === 'delete' ? first.deleted : 0 };
  }

  async deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    const r = await this.txn({ compare: [], success: [{ type: 'deletePrefix', prefix }] });
    const first = r.results[0];
    return { revision: r.revision, deleted: first?.type === 'delete' ? first.deleted : 0 };
  }

  async txn(txn: Txn): Promise<TxnResult> {
    this.checkUsable();
    // A lease past its deadline whose timer has not fired yet is already gone.
    for (const branch of [txn?.success, txn?.failure]) {
      if (!Array.isArray(branch)) continue; // validateTxn names the problem
      for (const op of branch as readonly TxnOp[]) if (op?.type === 'put' && op.lease !== undefined) this.expireIfOverdue(op.lease);
    }
    validateTxn(txn, (lease, key) => {
      if (!this.space.hasLease(lease)) throw new StoreError('lease-not-found', `put of ${preview(key)}: lease ${lease} not found (expired or revoked)`);
    });
    const outcome = executeTxn(this.space, txn);
    if (outcome.writes.length > 0) {
      this.commit({ s: this.seq + 1, r: this.space.revision, w: outcome.writes.map(encodeWrite) }, outcome.events);
    }
    const result: TxnResult = { succeeded: outcome.succeeded, revision: this.space.revision, results: outcome.results };
    await this.settled();
    return result;
  }

  async watchPrefix(
    prefix: string,
    onEvents: WatchCallback,
    options?: WatchOptions & { onError?: WatchErrorCallback },
  ): Promise<Watcher> {
    this.checkUsable();
    checkPrefix(prefix);
    const from = options?.fromRevision;
    if (from !== undefined && (!Number.isSafeInteger(from) || from < 0)) {
      throw new StoreError('invalid', `watch of prefix ${JSON.stringify(prefix)}: fromRevision ${from} is not a whole number >= 0`);
    }
    return this.hub.add(prefix, onEvents, {
      nextRevision: this.space.revision + 1,
      ...(from !== undefined ? { fromRevision: from } : {}),
      ...(options?.onError ? { onError: options.onError } : {}),
    });
  }

  async grantLease(ttlSeconds: number): Promise<LeaseId> {
    this.checkUsable();
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < LEASE_TTL_SECONDS_MIN || ttlSeconds > LEASE_TTL_SECONDS_MAX) {
      throw new StoreError('invalid', `lease TTL ${ttlSeconds} s is not a whole number from ${LEASE_TTL_SECONDS_MIN} to ${LEASE_TTL_SECONDS_MAX}`);
    }
    const id = String(this.space.nextLeaseNumber);
    this.space.addLease(id, ttlSeconds);
    this.commit({ s: this.seq + 1, g: [id, ttlSeconds] });
    this.armLease(id, ttlSeconds);
    await this.settled();
    return id;
  }

  async keepAlive(lease: LeaseId): Promise<void> {
    this.checkUsable();
    this.expireIfOverdue(lease);
    const record = this.space.lease(lease);
    if (!record) throw new StoreError('lease-not-found', `keepAlive: lease ${lease} not found (expired or revoked)`);
    this.armLease(lease, record.ttlSeconds);
    // No wait for the log: a renewal writes nothing, and a slow disk must not delay it past the lease's end.
  }

  async revokeLease(lease: LeaseId): Promise<void> {
    this.checkUsable();
    this.expireIfOverdue(lease);
    if (!this.space.hasLease(lease)) throw new StoreError('lease-not-found', `revoke: lease ${lease} not found (expired or revoked)`);
    this.endLease(lease);
    await this.settled();
  }

  async leaseTimeToLive(lease: LeaseId): Promise<number> {
    this.checkUsable();
    this.expireIfOverdue(lease);
    const clock = this.leaseClocks.get(lease);
    const ttl = clock ? Math.max(0, Math.ceil((clock.deadlineMs - this.stalls.now()) / 1000)) : -1;
    await this.settled();
    return ttl;
  }

  async revision(): Promise<number> {
    this.checkUsable();
    const revision = this.space.revision;
    await this.settled();
    return revision;
  }

  /**
   * Drops the watch history before revision, as etcd's compaction does (the
   * keys themselves hold only their latest version anyway). Not part of Store:
   * the cluster never needs it; tests and tools do.
   */
  async compact(revision: number): Promise<void> {
    this.checkUsable();
    if (!Number.isSafeInteger(revision) || revision < 0 || revision > this.space.revision) {
      throw new StoreError('invalid', `compact to revision ${revision}: must be a whole number from 0 to the current revision ${this.space.revision}`);
    }
    await this.settled();
    this.hub.compact(revision);
  }

  /** Flushes the log, stops lease timers and watches; later calls fail with StoreError('closed'). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.leaseClocks.values()) this.clock.clearTimer(c.timer);
    this.leaseClocks.clear();
    this.stalls.stop();
    try {
      await this.journal?.close();
    } finally {
      this.hub.cancelAll();
    }
  }

  // --- internals ---

  private checkUsable(): void {
    if (this.closed) throw new StoreError('closed', 'the store is closed');
    if (this.failure) throw new StoreError('unavailable', `the store stopped after a write failure: ${this.failure.message}`);
  }

  /** Records an applied step: to the journal if there is one, else straight to watchers. */
  private commit(record: WalRecord, events?: WatchEvent[]): void {
    this.seq = record.s;
    if (events && events.length > 0) this.unpublished.push({ seq: record.s, revision: record.r!, events });
    if (!this.journal) {
      this.publishUpTo(record.s);
      return;
    }
    this.journal.append(record);
  }

  /** Waits until everything applied so far is durable, so no caller sees state a crash could undo. */
  private async settled(): Promise<void> {
    if (!this.journal) return;
    const target = this.seq;
    if (this.journal.durableSeq < target && !this.failure) await this.waitDurable(target);
    if (this.journal.durableSeq < target) {
      throw new StoreError('unavailable', `write not acknowledged: ${this.failure?.message ?? 'the log stopped'}`);
    }
  }

  private readonly durableWaiters: { seq: number; resolve: () => void }[] = [];

  private waitDurable(seq: number): Promise<void> {
    return new Promise((resolve) => this.durableWaiters.push({ seq, resolve }));
  }

  private publishUpTo(seq: number): void {
    while (this.unpublished.length > 0 && this.unpublished[0]!.seq <= seq) {
      const next = this.unpublished.shift()!;
      this.hub.publish(next.revision, next.events);
    }
    if (this.durableWaiters.length === 0) return;
    const still: { seq: number; resolve: () => void }[] = [];
    for (const w of this.durableWaiters) (w.seq <= seq ? w.resolve() : still.push(w));
    this.durableWaiters.splice(0, this.durableWaiters.length, ...still);
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const c of this.leaseClocks.values()) this.clock.clearTimer(c.timer);
    this.leaseClocks.clear();
    this.stalls.stop();
    for (const w of this.durableWaiters.splice(0)) w.resolve();
    this.hub.cancelAll();
  }

  private armLease(id: LeaseId, ttlSeconds: number): void {
    this.stalls.start();
    this.setLeaseTimer(id, this.stalls.now() + ttlSeconds * 1000);
  }

  /** The lease ends at deadlineMs of stall-free time; a stall meanwhile moves its end later by as much. */
  private setLeaseTimer(id: LeaseId, deadlineMs: number): void {
    const old = this.leaseClocks.get(id);
    if (old) this.clock.clearTimer(old.timer);
    const timer = this.clock.setTimer(deadlineMs - this.stalls.now(), () => {
      if (this.closed || this.failure || this.leaseClocks.get(id)?.timer !== timer) return;
      if (this.stalls.now() < deadlineMs) this.setLeaseTimer(id, deadlineMs);
      else this.endLease(id);
    });
    this.leaseClocks.set(id, { deadlineMs, timer });
  }

  private expireIfOverdue(id: LeaseId): void {
    const c = this.leaseClocks.get(id);
    if (c && this.stalls.now() >= c.deadlineMs) this.endLease(id);
  }

  /** Revokes or expires a lease: its keys are deleted in one revision, then the lease is forgotten. */
  private endLease(id: LeaseId): void {
    const c = this.leaseClocks.get(id);
    if (c) this.clock.clearTimer(c.timer);
    this.leaseClocks.delete(id);
    if (this.leaseClocks.size === 0) this.stalls.stop();
    const keys = [...this.space.lease(id)!.keys].sort();
    if (keys.length === 0) {
      this.space.removeLease(id);
      this.commit({ s: this.seq + 1, x: id });
      return;
    }
    const outcome = executeTxn(this.space, { compare: [], success: keys.map((key) => ({ type: 'delete', key })) });
    this.space.removeLease(id);
    this.commit({ s: this.seq + 1, r: this.space.revision, w: outcome.writes.map(encodeWrite), x: id }, outcome.events);
  }
}

/** Opens the store: in memory without dataDir, else loaded from and persisted to that directory. */
export async function openEmbeddedStore(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
  const clock = options.clock ?? new RealClock();
  if (options.dataDir === undefined) return new EmbeddedStore(clock, new KeySpace());
  const loaded = await loadDataDir(options.dataDir, {
    fsync: options.fsync ?? true,
    ...(options.snapshotThresholdBytes !== undefined ? { snapshotThresholdBytes: options.snapshotThresholdBytes } : {}),
    ...(options.files ? { files: options.files } : {}),
  });
  return new EmbeddedStore(clock, loaded.space, loaded);
}
