// One node's view of the shared store, with faults the simulator injects:
//
// - unavailable: requests fail with StoreError('unavailable') as they would
//   across a network partition; watch deliveries are held back and arrive in
//   order once the store is reachable again (an etcd client resumes its
//   watches from the last revision it saw). A request already sent when the
//   partition starts is applied, but its answer is lost.
// - slow: every request takes delayMs of virtual time, half on the way to
//   the store and half on the way back, so a lease renewal is applied well
//   before its caller hears of it.
//
// Other nodes and the operator's API use the store directly and see none of this.
import type { Clock } from '../model/clock.ts';
import {
  StoreError,
  type KeyValue,
  type LeaseId,
  type RangeResult,
  type Store,
  type Txn,
  type TxnResult,
  type WatchCallback,
  type Watcher,
  type WatchErrorCallback,
  type WatchOptions,
} from '../store/store.ts';

export class FaultyStore implements Store {
  private available = true;
  private delayMs = 0;
  private held: (() => void)[] = [];

  constructor(
    private readonly inner: Store,
    private readonly clock: Clock,
    readonly node: string,
  ) {}

  get isAvailable(): boolean {
    return this.available;
  }

  get requestDelayMs(): number {
    return this.delayMs;
  }

  /** Cuts the node off the store, or reconnects it (held watch events are delivered then). */
  setAvailable(available: boolean): void {
    this.available = available;
    if (!available) return;
    const held = this.held;
    this.held = [];
    for (const deliver of held) deliver();
  }

  /** Makes every request take this long (0: as fast as the store). */
  setDelayMs(ms: number): void {
    this.delayMs = Math.max(0, ms);
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.request(`get ${key}`, () => this.inner.get(key));
  }
  range(prefix: string): Promise<RangeResult> {
    return this.request(`range ${prefix}`, () => this.inner.range(prefix));
  }
  put(key: string, value: string, options?: { lease?: LeaseId }): Promise<{ revision: number }> {
    return this.request(`put ${key}`, () => this.inner.put(key, value, options));
  }
  delete(key: string): Promise<{ revision: number; deleted: number }> {
    return this.request(`delete ${key}`, () => this.inner.delete(key));
  }
  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    return this.request(`deletePrefix ${prefix}`, () => this.inner.deletePrefix(prefix));
  }
  txn(txn: Txn): Promise<TxnResult> {
    return this.request('txn', () => this.inner.txn(txn));
  }
  grantLease(ttlSeconds: number): Promise<LeaseId> {
    return this.request('grantLease', () => this.inner.grantLease(ttlSeconds));
  }
  keepAlive(lease: LeaseId): Promise<void> {
    return this.request(`keepAlive ${lease}`, () => this.inner.keepAlive(lease));
  }
  revokeLease(lease: LeaseId): Promise<void> {
    return this.request(`revokeLease ${lease}`, () => this.inner.revokeLease(lease));
  }
  leaseTimeToLive(lease: LeaseId): Promise<number> {
    return this.request(`leaseTimeToLive ${lease}`, () => this.inner.leaseTimeToLive(lease));
  }
  revision(): Promise<number> {
    return this.request('revision', () => this.inner.revision());
  }

  async watchPrefix(prefix: string, onEvents: WatchCallback, options?: WatchOptions & { onError?: WatchErrorCallback }): Promise<Watcher> {
    return this.request(`watch ${prefix}`, async () => {
      let cancelled = false;
      const deliver = (fn: () => void): void => {
        const guarded = (): void => {
          if (!cancelled) fn();
        };
        if (this.available) guarded();
        else this.held.push(guarded);
      };
      const onError = options?.onError;
      const inner = await this.inner.watchPrefix(prefix, (events, revision) => deliver(() => onEvents(events, revision)), {
        ...(options?.fromRevision !== undefined ? { fromRevision: options.fromRevision } : {}),
        ...(onError ? { onError: (e: Error) => deliver(() => onError(e)) } : {}),
      });
      return {
        cancel: async () => {
          cancelled = true;
          await inner.cancel();
        },
      };
    });
  }

  /** The shared store belongs to the simulation; a node never closes it. */
  async close(): Promise<void> {}

  private async request<T>(what: string, send: () => Promise<T>): Promise<T> {
    const there = Math.floor(this.delayMs / 2);
    const back = this.delayMs - there;
    if (there > 0) await this.sleep(there);
    this.ensureReachable(what);
    const result = await send();
    if (back > 0) await this.sleep(back);
    this.ensureReachable(what); // the answer is lost on the way back
    return result;
  }

  private ensureReachable(what: string): void {
    if (!this.available) throw new StoreError('unavailable', `${what}: the store is unreachable from node ${this.node} (simulated partition)`);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.clock.setTimer(ms, resolve));
  }
}
