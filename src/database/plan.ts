// A write plan: reads through to the store, records what it read as compares,
// buffers writes, and turns into ONE store transaction. This is how every
// database write stays all-or-nothing and loses no concurrent update
// (optimistic concurrency, as etcd's STM): if anything read changed before the
// transaction, its compares fail and the caller re-plans from fresh reads.
import { assert } from '../model/errors.ts';
import { STORE_TXN_OPS_MAX, type Compare, type KeyValue, type Store, type Txn, type TxnOp } from '../store/store.ts';

/**
 * How a read is guarded: 'identity' fails the transaction if the entry was
 * created or deleted since (createRevision), 'exact' if it changed at all
 * (modRevision).
 */
export type ReadGuard = 'identity' | 'exact';

export class WritePlan {
  private readonly base = new Map<string, KeyValue | null>();
  private readonly ranges = new Map<string, readonly KeyValue[]>();
  /** Pending writes: a string is a put, null a delete. */
  private readonly overlay = new Map<string, string | null>();
  private readonly deletedPrefixes: string[] = [];
  private readonly guards = new Map<string, Compare>();

  constructor(private readonly store: Store) {}

  /** The entry's value as this plan sees it (its own writes included). */
  async get(key: string, guard: ReadGuard): Promise<string | undefined> {
    if (this.overlay.has(key)) return this.overlay.get(key) ?? undefined;
    if (this.underDeletedPrefix(key)) return undefined;
    let kv = this.base.get(key);
    if (kv === undefined) {
      kv = (await this.store.get(key)) ?? null;
      this.base.set(key, kv);
    }
    this.guard(key, guard, kv);
    return kv?.value;
  }

  /**
   * Every entry under prefix as this plan sees it, sorted by key. Not guarded:
   * callers guard what makes the listing valid (e.g. a key's record, which every
   * child creation and value write touches).
   */
  async list(prefix: string): Promise<{ key: string; value: string }[]> {
    const baseEntries = await this.baseRange(prefix);
    const out = new Map<string, string>();
    for (const kv of baseEntries) {
      if (this.overlay.has(kv.key) || this.underDeletedPrefix(kv.key)) continue;
      out.set(kv.key, kv.value);
    }
    for (const [key, value] of this.overlay) if (key.startsWith(prefix) && value !== null) out.set(key, value);
    return [...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([key, value]) => ({ key, value }));
  }

  put(key: string, value: string): void {
    this.overlay.set(key, value);
  }

  delete(key: string): void {
    this.overlay.set(key, null);
  }

  /** Deletes everything under prefix; it must have been list()ed, so the plan knows what was there. */
  deletePrefix(prefix: string): void {
    assert(this.ranges.has(prefix), 'deletePrefix needs the prefix listed first');
    for (const key of [...this.overlay.keys()]) if (key.startsWith(prefix)) this.overlay.delete(key);
    this.deletedPrefixes.push(prefix);
  }

  /** Whether the plan writes anything. */
  get isEmpty(): boolean {
    return this.overlay.size === 0 && this.deletedPrefixes.length === 0;
  }

  /**
   * The transaction: compares for everything read, then the net writes. A
   * deleted prefix nothing is put under becomes one deletePrefix; otherwise its
   * entries are deleted one by one (a store may not put and delete a key in one
   * transaction).
   */
  toTxn(): Txn {
    const deletes = new Set<string>();
    const ops: TxnOp[] = [];
    const puts = [...this.overlay].filter((e): e is [string, string] => e[1] !== null);
    const prefixes = this.deletedPrefixes.filter((p, i, all) => !all.some((q, j) => j !== i && p.startsWith(q) && (q !== p || j < i)));
    for (const prefix of prefixes) {
      if (!puts.some(([key]) => key.startsWith(prefix))) {
        ops.push({ type: 'deletePrefix', prefix });
        continue;
      }
      for (const kv of this.ranges.get(prefix) ?? []) if (!this.overlay.has(kv.key)) deletes.add(kv.key);
    }
    const coveredByPrefix = (key: string): boolean => ops.some((op) => op.type === 'deletePrefix' && key.startsWith(op.prefix));
    for (const [key, value] of this.overlay) if (value === null && !coveredByPrefix(key)) deletes.add(key);
    for (const key of deletes) ops.push({ type: 'delete', key });
    for (const [key, value] of puts) ops.push({ type: 'put', key, value });
    return { compare: [...this.guards.values()], success: ops };
  }

  /** Whether the transaction fits the store's per-transaction limit. */
  static fits(txn: Txn): boolean {
    return txn.compare.length <= STORE_TXN_OPS_MAX && txn.success.length <= STORE_TXN_OPS_MAX;
  }

  private underDeletedPrefix(key: string): boolean {
    return this.deletedPrefixes.some((p) => key.startsWith(p));
  }

  private async baseRange(prefix: string): Promise<readonly KeyValue[]> {
    let kvs = this.ranges.get(prefix);
    if (!kvs) {
      kvs = (await this.store.range(prefix)).kvs;
      this.ranges.set(prefix, kvs);
    }
    return kvs;
  }

  private guard(key: string, guard: ReadGuard, kv: KeyValue | null): void {
    const existing = this.guards.get(key);
    if (existing && (existing.target === 'modRevision' || guard === 'identity')) return;
    if (guard === 'exact') this.guards.set(key, { key, target: 'modRevision', op: '==', value: kv?.modRevision ?? 0 });
    else this.guards.set(key, { key, target: 'createRevision', op: '==', value: kv?.createRevision ?? 0 });
  }
}
