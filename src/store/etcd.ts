// The store on etcd v3, through the etcd3 client: what the cluster uses when
// it runs on several machines. Every key lives under an optional namespace
// prefix so clusters and test runs can share one etcd.
//
// Two of etcd3's conveniences are deliberately not used:
// - its Lease objects, whose automatic keep-alive loop outlives client.close()
//   and would keep a lease (and so a node's membership) alive after the node
//   has let go of it. Leases here are plain RPCs: one keepAlive() is one
//   renewal, so the caller alone decides whether a lease lives on.
// - its retrying fault policy: a transaction that reached etcd but whose
//   answer was lost would be sent again and could report failure for a write
//   that happened. Calls here are sent once; a failure is reported as
//   StoreError('unavailable') and the caller decides.

import { Etcd3, EtcdLeaseInvalidError, type IOptions, type IWatchResponse, type Namespace, type Watcher as EtcdWatcher } from 'etcd3';
import { RealClock } from '../clock/real.ts';
import type { Clock, TimerHandle } from '../model/clock.ts';
import { assert } from '../model/errors.ts';
import {
  EtcdKeys,
  checkLeaseId,
  deletePrefixRequest,
  deleteRequest,
  getRequest,
  headerRevision,
  putRequest,
  rangeRequest,
  toKeyValue,
  toNumber,
  txnOutcome,
  txnRequest,
} from './etcd-codec.ts';
import {
  StoreError,
  type KeyValue,
  type LeaseId,
  type RangeResult,
  type Store,
  type Txn,
  type TxnResult,
  type WatchCallback,
  type WatchErrorCallback,
  type WatchEvent,
  type Watcher,
  type WatchOptions,
} from './store.ts';
import { checkKey, checkPrefix, checkValue } from './txn.ts';

/** How long opening waits for etcd to answer before reporting it unavailable. */
export const etcdDialTimeoutMsDefault = 3_000;
/** Deadline of every unary request (get, put, txn, lease calls). */
export const etcdRequestTimeoutMsDefault = 5_000;
/** A watch that cannot reconnect for this long is given up and reported through onError. */
export const etcdWatchReconnectTimeoutMsDefault = 10_000;
/** close() waits this long for etcd to confirm each watch's cancellation. */
const watchCancelTimeoutMs = 1_000;
/**
 * etcd3 re-establishes a broken watch stream after a backoff timer it never
 * clears, not even on close; capping the backoff bounds how long that timer
 * can keep a closed store's process alive (and how long a watch waits to
 * resume once etcd is back).
 */
const watchReconnectDelayMsInitial = 100;
const watchReconnectDelayMsMax = 500;
/** The store contract's minimum TTL. etcd raises TTLs below its own minimum (about 2 s with default timing) to that. */
const leaseTtlSecondsMin = 1;
/** With several endpoints, one that failed is skipped for this long so calls go to the others. */
const endpointSkipAfterFailureMs = 1_000;

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ["http://10.0.0.1:2379", "http://10.0.0.2:2379"]. */
  readonly endpoints: readonly string[];
  /** Every key is stored under this prefix in etcd (e.g. "failover/cluster1/"). */
  readonly prefix?: string;
  readonly dialTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly watchReconnectTimeoutMs?: number;
  /** Wall clock for request deadlines and watch timers; the real one by default. */
  readonly clock?: Clock;
}

export interface EtcdStore extends Store {
  readonly endpoints: readonly string[];
  readonly prefix: string;
}

/**
 * Connects to etcd and checks it answers within the dial timeout, so a wrong
 * endpoint fails here with StoreError('unavailable') naming it.
 */
export async function openEtcdStore(options: EtcdStoreOptions): Promise<EtcdStore> {
  if (!Array.isArray(options.endpoints) || options.endpoints.length === 0 || options.endpoints.some((e) => typeof e !== 'string' || e === '')) {
    throw new StoreError('invalid', `etcd endpoints must be a non-empty list of URLs, got ${JSON.stringify(options.endpoints)}`);
  }
  const prefix = options.prefix ?? '';
  if (typeof prefix !== 'string') throw new StoreError('invalid', `etcd key prefix must be a string, got ${typeof prefix}`);
  if (prefix !== '') checkPrefix(prefix);
  const store = new EtcdStoreImpl(options, prefix);
  try {
    await store.probe(options.dialTimeoutMs ?? etcdDialTimeoutMsDefault);
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

interface ActiveWatch {
  readonly watcher: EtcdWatcher;
  stop(): void;
}

class EtcdStoreImpl implements EtcdStore {
  readonly endpoints: readonly string[];
  readonly prefix: string;
  private readonly client: Etcd3;
  private readonly ns: Namespace;
  private readonly keys: EtcdKeys;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  private readonly watchReconnectTimeoutMs: number;
  private readonly watches = new Set<ActiveWatch>();
  private closed = false;

  constructor(options: EtcdStoreOptions, prefix: string) {
    this.endpoints = [...options.endpoints];
    this.prefix = prefix;
    this.clock = options.clock ?? new RealClock();
    this.requestTimeoutMs = options.requestTimeoutMs ?? etcdRequestTimeoutMsDefault;
    this.watchReconnectTimeoutMs = options.watchReconnectTimeoutMs ?? etcdWatchReconnectTimeoutMsDefault;
    const clientOptions: IOptions = {
      hosts: [...this.endpoints],
      // Unary calls get a deadline; streams (watches, keep-alives) set their own.
      defaultCallOptions: (context) => (context.isStream ? {} : { deadline: this.deadline(this.requestTimeoutMs) }),
      faultHandling: {
        global: sendOncePolicy(),
        host: () => (this.endpoints.length > 1 ? skipFailedEndpointPolicy(this.clock) : sendOncePolicy()),
        watchBackoff: watchReconnectBackoff(watchReconnectDelayMsInitial),
      },
    };
    this.client = new Etcd3(clientOptions);
    this.ns = prefix === '' ? this.client : this.client.namespace(prefix);
    this.keys = new EtcdKeys(prefix);
  }

  /** One cheap read with the dial deadline: proves etcd is there. */
  async probe(dialTimeoutMs: number): Promise<void> {
    const deadline = this.deadline(dialTimeoutMs);
    await this.read(`connecting (dial timeout ${dialTimeoutMs} ms)`, () => this.ns.kv.range({ key: this.keys.key('\0probe'), count_only: true }, { deadline }));
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const res = await this.read(`get ${JSON.stringify(key)}`, () => this.ns.kv.range(getRequest(this.keys, key)));
    const kv = res.kvs[0];
    return kv ? toKeyValue(this.keys, kv) : undefined;
  }

  async range(prefix: string): Promise<RangeResult> {
    checkPrefix(prefix);
    const res = await this.read(`range ${JSON.stringify(prefix)}`, () => this.ns.kv.range(rangeRequest(this.keys, prefix)));
    return { kvs: res.kvs.map((kv) => toKeyValue(this.keys, kv)), revision: headerRevision(res.header) };
  }

  async put(key: string, value: string, options?: { lease?: LeaseId }): Promise<{ revision: number }> {
    checkKey(key);
    checkValue(key, value);
    const res = await this.call(`put ${JSON.stringify(key)}`, () => this.ns.kv.put(putRequest(this.keys, key, value, options?.lease)));
    return { revision: headerRevision(res.header) };
  }

  async delete(key: string): Promise<{ revision: number; deleted: number }> {
    checkKey(key);
    const res = await this.call(`delete ${JSON.stringify(key)}`, () => this.ns.kv.deleteRange(deleteRequest(this.keys, key)));
    return { revision: headerRevision(res.header), deleted: toNumber(res.deleted, 'deleted') };
  }

  async deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }> {
    checkPrefix(prefix);
    const res = await this.call(`delete prefix ${JSON.stringify(prefix)}`, () => this.ns.kv.deleteRange(deletePrefixRequest(this.keys, prefix)));
    return { revision: headerRevision(res.header), deleted: toNumber(res.deleted, 'deleted') };
  }

  async txn(txn: Txn): Promise<TxnResult> {
    const request = txnRequest(this.keys, txn);
    const res = await this.call('txn', () => this.ns.kv.txn(request));
    return txnOutcome(this.keys, txn, res);
  }

  async revision(): Promise<number> {
    // etcd reports its revision in every response header; a count-only read is the cheapest.
    const res = await this.read('revision', () => this.ns.kv.range({ key: this.keys.key('\0revision'), count_only: true }));
    return headerRevision(res.header);
  }

  // --- leases ---------------------------------------------------------------

  async grantLease(ttlSeconds: number): Promise<LeaseId> {
    if (!Number.isInteger(ttlSeconds) || ttlSeconds < leaseTtlSecondsMin) {
      throw new StoreError('invalid', `lease TTL must be a whole number of seconds >= ${leaseTtlSecondsMin}, got ${ttlSeconds}`);
    }
    const res = await this.call(`grant lease (TTL ${ttlSeconds} s)`, () => this.ns.leaseClient.leaseGrant({ TTL: ttlSeconds }));
    if (res.error) throw new StoreError('unavailable', `etcd at ${this.endpointList()} refused a lease of ${ttlSeconds} s: ${res.error}`);
    return String(res.ID);
  }

  /** One renewal over a short-lived keep-alive stream: nothing keeps renewing afterwards. */
  async keepAlive(lease: LeaseId): Promise<void> {
    checkLeaseId(lease);
    const what = `keep lease ${lease} alive`;
    // A renewal is idempotent, so it may go to another endpoint if the first is down.
    const res = await this.read(what, async () => {
      const stream = await this.ns.leaseClient.leaseKeepAlive({ deadline: this.deadline(this.requestTimeoutMs) });
      try {
        return await new Promise<{ TTL: string }>((resolve, reject) => {
          stream.on('data', resolve);
          stream.on('error', reject);
          stream.on('end', () => reject(new StoreError('unavailable', `etcd at ${this.endpointList()} ended the keep-alive stream of lease ${lease} without answering`)));
          stream.write({ ID: lease });
        });
      } finally {
        // Cancelling ends the call at once; its 'error' (CANCELLED) lands on the listener above and is ignored.
        stream.cancel();
      }
    });
    if (toNumber(res.TTL, 'TTL') <= 0) throw new StoreError('lease-not-found', `lease ${lease} not found (expired or revoked)`);
  }

  async revokeLease(lease: LeaseId): Promise<void> {
    checkLeaseId(lease);
    await this.call(`revoke lease ${lease}`, () => this.ns.leaseClient.leaseRevoke({ ID: lease }));
  }

  async leaseTimeToLive(lease: LeaseId): Promise<number> {
    checkLeaseId(lease);
    try {
      const res = await this.read(`lease ${lease} time to live`, () => this.ns.leaseClient.leaseTimeToLive({ ID: lease }));
      // etcd truncates the remaining time to whole seconds (2.9 s left reads
      // as 2); the store reports it rounded up, as the embedded store does, so
      // a just-renewed lease reads as its full TTL. 0 stays 0: the lease may
      // already be past its expiry, waiting for etcd to revoke it.
      const truncated = toNumber(res.TTL, 'TTL');
      return truncated < 0 ? -1 : truncated === 0 ? 0 : truncated + 1;
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'lease-not-found') return -1;
      throw err;
    }
  }

  // --- watches ----------------------------------------------------------------

  async watchPrefix(prefix: string, onEvents: WatchCallback, options?: WatchOptions & { onError?: WatchErrorCallback }): Promise<Watcher> {
    checkPrefix(prefix);
    this.assertOpen('watch');
    const requested = options?.fromRevision;
    if (requested !== undefined && (!Number.isSafeInteger(requested) || requested < 0)) {
      throw new StoreError('invalid', `watch of ${JSON.stringify(prefix)}: fromRevision ${requested} is not a whole number >= 0`);
    }
    // Revision 0 means "from now", as in etcd.
    const from = requested === 0 ? undefined : requested;
    if (from !== undefined && (await this.isCompacted(from))) {
      // Same contract as the embedded store: reported through onError if there is one, else thrown.
      const error = new StoreError('compacted', `watch of ${JSON.stringify(prefix)} from revision ${from}: that revision has been compacted`);
      const onError = options?.onError;
      if (!onError) throw error;
      queueMicrotask(() => onError(error));
      return { cancel: async () => {} };
    }
    let builder = this.ns.watch().prefix(prefix).withPreviousKV();
    if (from !== undefined) builder = builder.startRevision(String(from));
    return this.follow(builder.watcher(), prefix, from, onEvents, options?.onError);
  }

  /** Whether etcd has compacted away the given revision (a read at it says so). */
  private async isCompacted(revision: number): Promise<boolean> {
    try {
      await this.read(`read at revision ${revision}`, () => this.ns.kv.range({ key: this.keys.key('\0compacted'), count_only: true, revision }));
      return false;
    } catch (err) {
      if (err instanceof StoreError && err.kind === 'compacted') return true;
      // A future revision is not compacted; the watch will simply wait for it.
      if (err instanceof StoreError && /future revision/.test(err.message)) return false;
      throw err;
    }
  }

  /**
   * Attaches to a new etcd3 watcher before it connects, resolves once etcd has
   * created the watch, then delivers its events per revision, resumes it
   * across reconnects and reports its end through onError.
   */
  private follow(
    watcher: EtcdWatcher,
    prefix: string,
    from: number | undefined,
    onEvents: WatchCallback,
    onError: WatchErrorCallback | undefined,
  ): Promise<Watcher> {
    const what = `watch of ${JSON.stringify(prefix)}${from !== undefined ? ` from revision ${from}` : ''}`;
    // The revision to resume from after a reconnect. etcd3 resumes from the
    // last response header's revision, which, while etcd replays history in
    // batches, can be past events not yet delivered; we resume after the last
    // event we delivered instead. Unknown until etcd creates the watch if no
    // start revision was asked for.
    let nextRevision = from;
    let started = false;
    let ended = false;
    let timer: TimerHandle | undefined;
    let settle: { resolve(w: Watcher): void; reject(e: StoreError): void } | undefined;

    const clearTimer = (): void => {
      if (timer) this.clock.clearTimer(timer);
      timer = undefined;
    };
    const stop = (): void => {
      ended = true;
      clearTimer();
      this.watches.delete(active);
    };
    const handle: Watcher = {
      cancel: async () => {
        if (ended) return;
        stop();
        await withTimeout(watcher.cancel(), watchCancelTimeoutMs).catch(() => undefined);
      },
    };
    const fail = (error: StoreError): void => {
      if (ended) return;
      stop();
      void withTimeout(watcher.cancel(), watchCancelTimeoutMs).catch(() => undefined);
      if (!started) settle?.reject(error);
      else onError?.(error);
    };
    const resumeFrom = (): void => {
      if (nextRevision !== undefined) watcher.request.start_revision = String(nextRevision);
    };

    watcher.on('connected', () => {
      if (ended) return;
      clearTimer();
      // etcd3's own listener ran first and set start_revision from the header.
      nextRevision ??= toNumber(watcher.request.start_revision, 'watch start revision');
      resumeFrom();
      if (!started) {
        started = true;
        settle?.resolve(handle);
      }
    });
    watcher.on('data', (res: IWatchResponse) => {
      if (ended) return;
      for (const [revision, events] of groupByRevision(res, nextRevision ?? 0)) {
        nextRevision = revision + 1;
        onEvents(events, revision);
        if (ended) return; // the callback cancelled the watch
      }
      // A progress notification (no events) says everything up to its revision was sent.
      if (res.events.length === 0) nextRevision = Math.max(nextRevision ?? 0, headerRevision(res.header) + 1);
      resumeFrom();
    });
    watcher.on('disconnected', (err: Error) => {
      if (ended || timer || !started) return;
      timer = this.clock.setTimer(this.watchReconnectTimeoutMs, () => {
        timer = undefined;
        fail(new StoreError('unavailable', `${what} lost etcd at ${this.endpointList()} for ${this.watchReconnectTimeoutMs} ms: ${err.message}`));
      });
    });
    // etcd cancels a watch whose start revision was compacted (or for other
    // reasons); etcd3 emits that as 'error', which must have a listener.
    watcher.on('error', (err: Error) => void this.watchError(err, what, nextRevision).then(fail));

    const active: ActiveWatch = { watcher, stop };
    this.watches.add(active);
    return new Promise<Watcher>((resolve, reject) => {
      settle = { resolve, reject };
      timer = this.clock.setTimer(this.requestTimeoutMs, () => {
        timer = undefined;
        fail(new StoreError('unavailable', `${what}: etcd at ${this.endpointList()} did not create the watch within ${this.requestTimeoutMs} ms`));
      });
    });
  }

  /**
   * Why etcd cancelled a watch. etcd 3.4 cancels a watch whose next revision
   * was compacted without saying so in a way etcd3 passes on ("Watcher
   * canceled: "), so ask etcd whether that revision can still be read.
   */
  private async watchError(err: Error, what: string, nextRevision: number | undefined): Promise<StoreError> {
    const compacted = (): StoreError => new StoreError('compacted', `${what}: revision ${nextRevision ?? '?'} has been compacted`);
    if (/compact/i.test(err.message)) return compacted();
    if (nextRevision !== undefined && !this.closed && (await this.isCompacted(nextRevision).catch(() => false))) return compacted();
    return this.storeError(err, what);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Watches first: etcd3 re-establishes a watch stream (on a timer) as long
    // as any watcher is attached, which would keep the process alive.
    const watches = [...this.watches];
    for (const w of watches) w.stop();
    await Promise.all(watches.map((w) => withTimeout(w.watcher.cancel(), watchCancelTimeoutMs).catch(() => undefined)));
    this.client.close();
  }

  // --- plumbing ---------------------------------------------------------------

  private deadline(ms: number): Date {
    return new Date(this.clock.now() + ms);
  }

  private endpointList(): string {
    return this.endpoints.join(',');
  }

  private assertOpen(what: string): void {
    if (this.closed) throw new StoreError('closed', `${what}: the etcd store (${this.endpointList()}) is closed`);
  }

  /** Sends a request once; a failure becomes a StoreError. */
  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    this.assertOpen(what);
    try {
      return await fn();
    } catch (err) {
      throw this.storeError(err, what);
    }
  }

  /**
   * A request that is safe to repeat (a read, a lease renewal): if etcd was
   * unavailable and there are other endpoints, it is sent again, once per
   * endpoint; the failed endpoint is skipped meanwhile, so the retry goes to
   * another one.
   */
  private async read<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.call(what, fn);
      } catch (err) {
        const retry = err instanceof StoreError && err.kind === 'unavailable' && attempt < this.endpoints.length && !this.closed;
        if (!retry) throw err;
      }
    }
  }

  /** Every failure as a StoreError whose kind says what the caller can do about it. */
  private storeError(err: unknown, what: string): StoreError {
    if (err instanceof StoreError) return err;
    const error = err instanceof Error ? err : new Error(String(err));
    const message = error.message;
    if (this.closed || error.name === 'ClientClosedError' || /client was already closed/.test(message)) {
      return new StoreError('closed', `${what}: the etcd store (${this.endpointList()}) is closed`);
    }
    if (error instanceof EtcdLeaseInvalidError || /lease not found/i.test(message)) {
      return new StoreError('lease-not-found', `${what}: lease not found (expired or revoked)`);
    }
    if (/compacted/i.test(message)) return new StoreError('compacted', `${what}: ${message}`);
    if (/future revision/i.test(message)) return new StoreError('invalid', `${what}: ${message}`);
    if (/too large|too many operations|exceeds? .*(limit|max)/i.test(message)) return new StoreError('too-large', `${what}: ${message}`);
    if (/duplicate key|key is not provided|invalid argument|INVALID_ARGUMENT/i.test(message)) return new StoreError('invalid', `${what}: ${message}`);
    // Connection refused, deadline exceeded, no leader, a broken stream: etcd could not serve us.
    return new StoreError('unavailable', `${what}: etcd at ${this.endpointList()} is unavailable: ${message}`);
  }
}

/** etcd3's namespaced watcher has already taken the namespace off event keys. */
const watchedKeys = new EtcdKeys('');

/** Splits a watch response into its revisions, in order, skipping any already delivered. */
function groupByRevision(res: IWatchResponse, nextRevision: number): Array<[number, WatchEvent[]]> {
  const keys = watchedKeys;
  const groups: Array<[number, WatchEvent[]]> = [];
  for (const ev of res.events) {
    const revision = toNumber(ev.kv.mod_revision, 'event mod_revision');
    if (revision < nextRevision) continue; // replayed after a reconnect
    const event: WatchEvent = {
      type: ev.type === 'Delete' ? 'delete' : 'put',
      kv: ev.type === 'Delete' ? { key: keys.unprefix(ev.kv.key), value: '', createRevision: 0, modRevision: revision, version: 0 } : toKeyValue(keys, ev.kv),
      ...(ev.prev_kv ? { prevKv: toKeyValue(keys, ev.prev_kv) } : {}),
    };
    const last = groups[groups.length - 1];
    if (last && last[0] === revision) last[1].push(event);
    else {
      assert(!last || last[0] < revision, `etcd watch events in revision order (${last?.[0]} then ${revision})`);
      groups.push([revision, [event]]);
    }
  }
  return groups;
}

/**
 * Settles with the promise, or after ms: rejected with timeoutError() if given,
 * else resolved with undefined (for best-effort waits such as cancellations).
 */
function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError: () => Error): Promise<T>;
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | undefined>;
function withTimeout<T>(promise: Promise<T>, ms: number, timeoutError?: () => Error): Promise<T | undefined> {
  return new Promise<T | undefined>((resolve, reject) => {
    const timer = setTimeout(() => (timeoutError ? reject(timeoutError()) : resolve(undefined)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

// --- fault policies -----------------------------------------------------------
// etcd3 takes cockatiel policies; these two small ones implement only what
// etcd3 calls (execute), so we need no direct dependency on cockatiel.

type Policy = NonNullable<NonNullable<IOptions['faultHandling']>['global']>;
/** What cockatiel hands each call: an abort signal we never fire. */
interface IDefaultPolicyContext {
  readonly signal: AbortSignal;
}

function asPolicy(execute: <T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T) => Promise<T>): Policy {
  const noEvent = () => ({ dispose: () => undefined });
  return { execute, onSuccess: noEvent, onFailure: noEvent } as unknown as Policy;
}

type Backoff = NonNullable<NonNullable<IOptions['faultHandling']>['watchBackoff']>;

/** Doubling delays up to watchReconnectDelayMsMax. */
function watchReconnectBackoff(delayMs: number): Backoff {
  return { duration: delayMs, next: () => watchReconnectBackoff(Math.min(2 * delayMs, watchReconnectDelayMsMax)) };
}

/** Runs the call once: no retries, no circuit breaking. */
function sendOncePolicy(): Policy {
  const signal = new AbortController().signal;
  return asPolicy(async (fn) => fn({ signal }));
}

/**
 * For one of several endpoints: after a connection failure, refuse calls to it
 * (without sending them) for a while, so etcd3 moves on to the next endpoint.
 */
function skipFailedEndpointPolicy(clock: Clock): Policy {
  const signal = new AbortController().signal;
  let skipUntil = 0;
  return asPolicy(async (fn) => {
    if (clock.now() < skipUntil) throw new Error('endpoint recently failed; trying another');
    try {
      return await fn({ signal });
    } catch (err) {
      if (err instanceof Error && /unavailable|deadline|ECONNREFUSED|connect/i.test(err.message + err.name)) skipUntil = clock.now() + endpointSkipAfterFailureMs;
      throw err;
    }
  });
}
