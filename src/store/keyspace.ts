// The store's state: keys with their revisions, and leases with the keys
// attached to them. Pure data and bookkeeping — no I/O, no clock — so the same
// code applies live writes and replays the write-ahead log.

import sortedBtree from 'sorted-btree';
import { assert } from '../model/errors.ts';
import type { KeyValue, LeaseId, WatchEvent } from './store.ts';

// A CommonJS package: its class is the default export of its module object.
const BTree = sortedBtree.default;

/** One concrete change to one key; what the write-ahead log records. */
export type Write =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly lease?: LeaseId }
  | { readonly type: 'delete'; readonly key: string };

export interface LeaseRecord {
  readonly ttlSeconds: number;
  readonly keys: Set<string>;
}

export class KeySpace {
  /** Revision of the last write transaction; 0 for an empty store. */
  revision = 0;
  /** Number the next granted lease gets; never reused, so a stale lease id never matches a new lease. */
  nextLeaseNumber = 1;
  private readonly entries = new Map<string, KeyValue>();
  /** Every key, in sort order (a B+ tree: inserts and deletes cost log n), so a prefix range is a seek and a walk. */
  private readonly sortedKeys = new BTree<string, undefined>(undefined, compareKeys);
  private readonly leases = new Map<LeaseId, LeaseRecord>();

  get(key: string): KeyValue | undefined {
    return this.entries.get(key);
  }

  get size(): number {
    return this.entries.size;
  }

  /** Every key starting with prefix, sorted by key. */
  range(prefix: string): KeyValue[] {
    const out: KeyValue[] = [];
    for (const key of this.sortedKeys.keys(prefix)) {
      if (!key.startsWith(prefix)) break;
      out.push(this.entries.get(key)!);
    }
    return out;
  }

  /**
   * Applies one write as part of the transaction with the given revision and
   * returns its watch event, or undefined if it changed nothing (deleting a
   * missing key). The caller validated it: leases exist.
   */
  applyWrite(revision: number, write: Write): WatchEvent | undefined {
    const prev = this.entries.get(write.key);
    if (write.type === 'delete') {
      if (!prev) return undefined;
      this.entries.delete(write.key);
      this.sortedKeys.delete(write.key);
      if (prev.lease !== undefined) this.leases.get(prev.lease)?.keys.delete(write.key);
      return { type: 'delete', kv: { key: write.key, value: '', createRevision: 0, modRevision: revision, version: 0 }, prevKv: prev };
    }
    assert(write.lease === undefined || this.leases.has(write.lease), `lease ${write.lease} exists for put of ${write.key}`);
    const kv: KeyValue = {
      key: write.key,
      value: write.value,
      createRevision: prev ? prev.createRevision : revision,
      modRevision: revision,
      version: prev ? prev.version + 1 : 1,
      ...(write.lease !== undefined ? { lease: write.lease } : {}),
    };
    if (!prev) this.sortedKeys.set(write.key, undefined);
    if (prev?.lease !== undefined && prev.lease !== write.lease) this.leases.get(prev.lease)?.keys.delete(write.key);
    if (write.lease !== undefined) this.leases.get(write.lease)!.keys.add(write.key);
    this.entries.set(write.key, kv);
    return prev ? { type: 'put', kv, prevKv: prev } : { type: 'put', kv };
  }

  hasLease(id: LeaseId): boolean {
    return this.leases.has(id);
  }

  lease(id: LeaseId): LeaseRecord | undefined {
    return this.leases.get(id);
  }

  leaseIds(): LeaseId[] {
    return [...this.leases.keys()];
  }

  addLease(id: LeaseId, ttlSeconds: number): void {
    assert(!this.leases.has(id), `lease ${id} is new`);
    this.leases.set(id, { ttlSeconds, keys: new Set() });
    const n = Number(id);
    if (Number.isSafeInteger(n) && n >= this.nextLeaseNumber) this.nextLeaseNumber = n + 1;
  }

  /** Forgets the lease; its keys must have been deleted first. */
  removeLease(id: LeaseId): void {
    const lease = this.leases.get(id);
    assert(lease !== undefined && lease.keys.size === 0, `lease ${id} exists and has no keys left`);
    this.leases.delete(id);
  }

  /** Every key and lease, for a snapshot. */
  *allEntries(): IterableIterator<KeyValue> {
    for (const key of this.sortedKeys.keys()) yield this.entries.get(key)!;
  }

  /** Restores one key from a snapshot (its lease must be restored first). */
  restoreEntry(kv: KeyValue): void {
    assert(!this.entries.has(kv.key), `snapshot key ${kv.key} is unique`);
    this.entries.set(kv.key, kv);
    this.sortedKeys.set(kv.key, undefined);
    if (kv.lease !== undefined) {
      const lease = this.leases.get(kv.lease);
      assert(lease !== undefined, `snapshot lease ${kv.lease} of key ${kv.key} exists`);
      lease.keys.add(kv.key);
    }
  }
}

/**
 * Keys compare as UTF-16 strings: every key with a given prefix is contiguous
 * in this order, which is all a prefix range needs (etcd orders by UTF-8 bytes;
 * the two differ only for characters above U+E000 against surrogate pairs).
 */
function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
