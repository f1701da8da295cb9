// The store every simulated node shares: the real embedded store — its
// write-ahead log, group commit, snapshots and recovery — on a simulated disk
// that loses what was not synced when the power fails (disk.ts). The
// simulator can crash it: every client sees it unavailable (requests in flight
// fail, whether or not their writes were applied), the disk loses its
// unsynced data, and later the store opens again from what the disk kept,
// through the same recovery code `failover up` runs. Watches then resume
// after the last revision they were shown, as an etcd client's do when its
// server restarts; leases start their TTL afresh, as etcd's do after a leader
// change. A slow disk makes every sync take virtual time.
//
// Every write the store acknowledges goes into a WriteLedger, which is checked
// against the recovered store before any client can reach it (invariant 6).
import type { Clock } from '../model/clock.ts';
import { assert } from '../model/errors.ts';
import { openEmbeddedStore, type EmbeddedStore } from '../store/embedded.ts';
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
  type Watcher,
  type WatchErrorCallback,
  type WatchOptions,
} from '../store/store.ts';
import { SimulatedDisk } from './disk.ts';
import type { Finding } from './invariants.ts';
import { WriteLedger } from './write-ledger.ts';

/** The store's data directory on the simulated disk. */
const DATA_DIR = '/data';

export interface CrashableStoreOptions {
  readonly clock: Clock;
  /** Sync the log before acknowledging; false only in the simulator's self-test (a broken build that must be caught). */
  readonly fsync: boolean;
}

export type StoreStatus = 'up' | 'down' | 'recovering';

/** A client's watch, kept across crashes so it can resume. */
interface ResumableWatch {
  readonly prefix: string;
  readonly onEvents: WatchCallback;
  readonly onError: WatchErrorCallback | undefined;
  /** The revision the client asked to start from (0: from the current one). */
  readonly from: number;
  inner: Watcher | undefined;
  cancelled: boolean;
}

export class CrashableStore implements Store {
  readonly disk: SimulatedDisk;
  readonly ledger = new WriteLedger();
  /** Crashes so far (each followed by a recovery and a check of the ledger). */
  crashes = 0;
  private inner: EmbeddedStore | undefined;
  private state: StoreStatus = 'down';
  private closed = false;
  /** Bumped by each crash: answers and watch events of an earlier life are dropped. */
  private life = 0;
  /** Last revision the current life showed its watchers. */
  private published = 0;
  /** Where watches resume after the crash in progress. */
  private resumeFrom = 0;
  private readonly inflight = new Set<(e: Error) => void>();
  private readonly watches = new Set<ResumableWatch>();

  private constructor(private readonly options: CrashableStoreOptions) {
    this.disk = new SimulatedDisk(options.clock);
  }

  /** Creates the store on a new, empty disk. */
  static async open(options: CrashableStoreOptions): Promise<CrashableStore> {
    const store = new CrashableStore(options);
    store.inner = await store.openInner();
    store.state = 'up';
    return store;
  }

  get status(): StoreStatus {
    return this.state;
  }

  /** Makes every sync of the disk take this long in virtual time (0: at once). */
  setSyncDelayMs(ms: number): void {
    this.disk.setSyncDelayMs(ms);
  }

  /**
   * The store's process dies and the power fails: requests in flight fail,
   * the disk keeps only what was synced (plus, per file, the part of the
   * unsynced tail keepUnsyncedBytes allows: a partial writeback).
   */
  crash(keepUnsyncedBytes: (unsynced: number) => number): void {
    assert(this.state === 'up', `the simulated store crashes only while up (it is ${this.state})`);
    this.crashes++;
    this.state = 'down';
    this.cutClients(new StoreError('unavailable', 'the store crashed (simulated)'));
    this.resumeFrom = this.published + 1;
    this.disk.powerCut(keepUnsyncedBytes);
    // Its timers stop with it; its log can no longer reach the disk, so a flush in progress fails.
    void this.inner?.close().catch(() => undefined);
    this.inner = undefined;
  }

  /**
   * Opens the store again from the disk and checks every acknowledged write
   * against it before any client can reach it; then watches resume. Returns
   * what was lost, if anything (the store stays down if it cannot open).
   */
  async recover(): Promise<Finding | undefined> {
    assert(this.state === 'down', `the simulated store recovers only while down (it is ${this.state})`);
    this.state = 'recovering';
    let inner: EmbeddedStore;
    try {
      inner = await this.openInner();
    } catch (e) {
      this.state = 'down';
      return { invariant: 'nothing-lost', detail: `the store did not open after a crash: ${e instanceof Error ? e.message : String(e)}` };
    }
    if (this.closed) {
      // Closed while it was opening: nobody will use it.
      await inner.close();
      return undefined;
    }
    const finding = await this.checkLedger(inner);
    for (const w of this.watches) {
      try {
        w.inner = await this.attach(w, inner, Math.max(this.resumeFrom, w.from));
      } catch {
        // Only without onError does a watch that cannot resume throw; the client's watch ends.
        w.cancelled = true;
        this.watches.delete(w);
      }
    }
    this.inner = inner;
    this.state = 'up';
    return finding;
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.call(`get ${key}`, (s) => s.get(key));
  }
  range(prefix: string): Promise<RangeResult> {
    return this.call(`range ${prefix}`, (s) => s.range(prefix));
  }
  put(key: string, value: string, options?: { lease?: LeaseId }): Promise<{ revision: number }> {
    const op: TxnOp = options?.lease !== undefined ? { type: 'put', key, value, lease: options.lease } : { type: 'put', key, value };
    return this.write(`put ${key}`, [op], (s) => s.put(key, value, options), (r) => ({ ops: [op], revision: r.revision }));
  }
  delete(key: string): Promise<{ revision: number; deleted: number }> {
    const ops: TxnOp[] = [{ type: 'delete', key }];
    return this.write(`delete ${key}`, ops, (s) => s.delete(key), (r) => ({ ops, revision: r.revision }));
  }
  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    const ops: TxnOp[] = [{ type: 'deletePrefix', prefix }];
    return this.write(`deletePrefix ${prefix}`, ops, (s) => s.deletePrefix(prefix), (r) => ({ ops, revision: r.revision }));
  }
  txn(txn: Txn): Promise<TxnResult> {
    const branches = [txn?.success, txn?.failure].filter((b): b is readonly TxnOp[] => Array.isArray(b));
    return this.write('txn', branches.flat(), (s) => s.txn(txn), (r) => ({ ops: (r.succeeded ? txn.success : txn.failure) ?? [], revision: r.revision }));
  }
  grantLease(ttlSeconds: number): Promise<LeaseId> {
    return this.call('grantLease', (s) => s.grantLease(ttlSeconds));
  }
  keepAlive(lease: LeaseId): Promise<void> {
    return this.call(`keepAlive ${lease}`, (s) => s.keepAlive(lease));
  }
  revokeLease(lease: LeaseId): Promise<void> {
    return this.call(
      `revokeLease ${lease}`,
      (s) => s.revokeLease(lease),
      () => this.ledger.revoked(lease),
    );
  }
  leaseTimeToLive(lease: LeaseId): Promise<number> {
    return this.call(`leaseTimeToLive ${lease}`, (s) => s.leaseTimeToLive(lease));
  }
  revision(): Promise<number> {
    return this.call('revision', (s) => s.revision());
  }

  async watchPrefix(prefix: string, onEvents: WatchCallback, options?: WatchOptions & { onError?: WatchErrorCallback }): Promise<Watcher> {
    const inner = this.usable(`watch ${prefix}`);
    const w: ResumableWatch = { prefix, onEvents, onError: options?.onError, from: options?.fromRevision ?? 0, inner: undefined, cancelled: false };
    w.inner = await this.attach(w, inner, options?.fromRevision);
    this.watches.add(w);
    return {
      cancel: async () => {
        w.cancelled = true;
        this.watches.delete(w);
        await w.inner?.cancel();
      },
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.state = 'down';
    this.cutClients(new StoreError('closed', 'the store is closed'));
    const inner = this.inner;
    this.inner = undefined;
    await inner?.close();
  }

  // --- internals ---

  private async openInner(): Promise<EmbeddedStore> {
    const inner = await openEmbeddedStore({ dataDir: DATA_DIR, files: this.disk, clock: this.options.clock, fsync: this.options.fsync });
    const life = this.life;
    this.published = await inner.revision();
    await inner.watchPrefix('', (_events, revision) => {
      if (this.life === life) this.published = revision;
    });
    return inner;
  }

  private async checkLedger(inner: EmbeddedStore): Promise<Finding | undefined> {
    const { kvs, revision } = await inner.range('');
    const alive = new Set<LeaseId>();
    for (const lease of this.ledger.leases()) if ((await inner.leaseTimeToLive(lease)) >= 0) alive.add(lease);
    return this.ledger.check({ revision, kvs: new Map(kvs.map((kv) => [kv.key, kv])), hasLease: (lease) => alive.has(lease) });
  }

  /** Every request in flight fails, watches detach, and nothing of this life reaches a client any more. */
  private cutClients(error: StoreError): void {
    this.life++;
    const inflight = [...this.inflight];
    this.inflight.clear();
    for (const reject of inflight) reject(error);
    for (const w of this.watches) w.inner = undefined;
  }

  private usable(what: string): EmbeddedStore {
    if (this.closed) throw new StoreError('closed', `${what}: the store is closed`);
    if (this.state !== 'up' || !this.inner) throw new StoreError('unavailable', `${what}: the store is down (simulated crash)`);
    return this.inner;
  }

  /** Sends a request; it fails at once if the store crashes before answering. onAck runs when the store answered it. */
  private call<T>(what: string, send: (store: EmbeddedStore) => Promise<T>, onAck?: (value: T) => void): Promise<T> {
    let inner: EmbeddedStore;
    try {
      inner = this.usable(what);
    } catch (e) {
      return Promise.reject(e);
    }
    const life = this.life;
    return new Promise<T>((resolve, reject) => {
      this.inflight.add(reject);
      send(inner).then(
        (value) => {
          if (this.life !== life) return; // answered after the crash: the client already heard it failed
          this.inflight.delete(reject);
          onAck?.(value);
          resolve(value);
        },
        (error: unknown) => {
          if (this.life !== life) return;
          this.inflight.delete(reject);
          reject(error);
        },
      );
    });
  }

  /** A write: numbered in the ledger as it reaches the store (which applies writes in arrival order), recorded there once acknowledged. */
  private write<T>(what: string, mayApply: readonly TxnOp[], send: (store: EmbeddedStore) => Promise<T>, applied: (value: T) => { ops: readonly TxnOp[]; revision: number }): Promise<T> {
    let seq = 0;
    return this.call(
      what,
      (store) => {
        seq = this.ledger.sent(mayApply);
        return send(store);
      },
      (value) => {
        const a = applied(value);
        this.ledger.acked(seq, a.ops, a.revision);
      },
    );
  }

  private attach(w: ResumableWatch, store: EmbeddedStore, fromRevision: number | undefined): Promise<Watcher> {
    const life = this.life;
    const live = (): boolean => this.life === life && !w.cancelled;
    const onError = w.onError;
    return store.watchPrefix(
      w.prefix,
      (events, revision) => {
        if (live()) w.onEvents(events, revision);
      },
      {
        ...(fromRevision !== undefined && fromRevision > 0 ? { fromRevision } : {}),
        ...(onError ? { onError: (e: Error) => void (live() && onError(e)) } : {}),
      },
    );
  }
}
