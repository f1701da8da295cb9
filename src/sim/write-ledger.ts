// Invariant 6 (nothing lost) for the simulated store: a ledger of every write
// the store acknowledged, checked against what the store holds after it
// recovers from a crash. A write is acknowledged when the store's promise for
// it resolved (put, delete, deletePrefix, or the branch a transaction took).
// After a recovery at revision M, each key's last acknowledged write must be
// there, or superseded:
//
// - a put at revision R: the key holds that value at R, or a later write
//   (modRevision > R) replaced it, or it is gone and something sent after the
//   put can explain that (a delete, a prefix delete, a put under a lease that
//   has ended, or the put's own lease has ended);
// - a delete at R: the key is absent, or was written again after R;
// - a prefix delete at R: no key under the prefix is older than R;
// - a lease revoke: the lease is gone (lease ids are never reused);
// - and R <= M: the store came back at least as new as every acknowledged write.
//
// Writes the store applied but never acknowledged (cut off by the crash) may
// or may not survive; either is correct. Revisions are comparable across
// crashes because the first check after a crash stops the run if any
// acknowledged revision is missing, so every ledger entry lies in the history
// the recovered store continues. Lease grants and renewals are not checked:
// a lease may end at any time, so a missing one cannot be told from an
// expired one, and the nodes treat both alike.
import type { KeyValue, LeaseId, TxnOp } from '../store/store.ts';
import type { Finding } from './invariants.ts';

/** A key's last acknowledged write. */
interface Acked {
  readonly kind: 'put' | 'delete';
  readonly revision: number;
  /** Order in which the store received the write (see WriteLedger.sent). */
  readonly seq: number;
  readonly value?: string;
  readonly lease?: LeaseId;
}

/** A write sent that may have removed a key: a delete (no lease) or a put under a lease (gone once that lease ends). */
interface Removal {
  readonly seq: number;
  readonly lease?: LeaseId;
}

/** What the store holds right after it recovered. */
export interface RecoveredStore {
  readonly revision: number;
  readonly kvs: ReadonlyMap<string, KeyValue>;
  /** Whether the lease still exists (false once it expired or was revoked). */
  hasLease(lease: LeaseId): boolean;
}

export class WriteLedger {
  private readonly keys = new Map<string, Acked>();
  private readonly prefixDeletes = new Map<string, { readonly revision: number; readonly seq: number }>();
  private readonly removals = new Map<string, Removal[]>();
  private readonly prefixRemovals = new Map<string, number>();
  private readonly revokedLeases = new Set<LeaseId>();
  private nextSeq = 0;
  /** Writes acknowledged so far. */
  acknowledged = 0;

  /**
   * A write reached the store, which applies writes in the order they arrive:
   * returns its sequence number. ops: every op it may apply (both branches of
   * a transaction), so what it may have removed is known even if its answer
   * is lost.
   */
  sent(ops: readonly TxnOp[]): number {
    const seq = ++this.nextSeq;
    for (const op of ops) {
      if (op.type === 'delete') this.noteRemoval(op.key, { seq });
      else if (op.type === 'put' && op.lease !== undefined) this.noteRemoval(op.key, { seq, lease: op.lease });
      else if (op.type === 'deletePrefix') this.prefixRemovals.set(op.prefix, seq);
    }
    return seq;
  }

  /** The write numbered seq was acknowledged at revision; ops: those it applied (the branch taken). */
  acked(seq: number, ops: readonly TxnOp[], revision: number): void {
    let wrote = false;
    for (const op of ops) {
      if (op.type === 'put') {
        wrote = true;
        this.record(op.key, { kind: 'put', revision, seq, value: op.value, ...(op.lease !== undefined ? { lease: op.lease } : {}) });
      } else if (op.type === 'delete') {
        wrote = true;
        this.record(op.key, { kind: 'delete', revision, seq });
      } else if (op.type === 'deletePrefix') {
        wrote = true;
        const last = this.prefixDeletes.get(op.prefix);
        if (!last || last.seq < seq) this.prefixDeletes.set(op.prefix, { revision, seq });
        for (const [key, entry] of this.keys) if (key.startsWith(op.prefix) && entry.seq < seq) this.record(key, { kind: 'delete', revision, seq });
      }
    }
    if (wrote) this.acknowledged++;
  }

  /** A lease revoke was acknowledged. */
  revoked(lease: LeaseId): void {
    this.revokedLeases.add(lease);
    this.acknowledged++;
  }

  /** Leases the check may ask about. */
  leases(): Set<LeaseId> {
    const out = new Set<LeaseId>(this.revokedLeases);
    for (const e of this.keys.values()) if (e.lease !== undefined) out.add(e.lease);
    for (const list of this.removals.values()) for (const r of list) if (r.lease !== undefined) out.add(r.lease);
    return out;
  }

  /** The first acknowledged write the recovered store lost, or nothing. */
  check(store: RecoveredStore): Finding | undefined {
    const lost = (detail: string): Finding => ({ invariant: 'nothing-lost', detail });
    for (const [key, e] of this.keys) {
      const what = `acknowledged ${e.kind} of ${key} (revision ${e.revision})`;
      if (e.revision > store.revision) return lost(`${what} is lost: the store came back at revision ${store.revision}`);
      const kv = store.kvs.get(key);
      if (e.kind === 'delete') {
        if (kv && kv.modRevision <= e.revision) return lost(`${what} is lost: the key is back, at revision ${kv.modRevision}`);
        continue;
      }
      if (!kv) {
        if (!this.removedSince(key, e, store)) return lost(`${what} is lost: the key is missing, and no later delete or lease end explains it`);
      } else if (kv.modRevision < e.revision) {
        return lost(`${what} is lost: the key holds an older write (revision ${kv.modRevision})`);
      } else if (kv.modRevision === e.revision && kv.value !== e.value) {
        return lost(`${what} is damaged: ${preview(kv.value)} instead of ${preview(e.value ?? '')}`);
      }
    }
    for (const [prefix, d] of this.prefixDeletes) {
      if (d.revision > store.revision) return lost(`acknowledged delete of prefix ${prefix} (revision ${d.revision}) is lost: the store came back at revision ${store.revision}`);
      for (const [key, kv] of store.kvs) {
        if (key.startsWith(prefix) && kv.modRevision <= d.revision) {
          return lost(`acknowledged delete of prefix ${prefix} (revision ${d.revision}) is lost: ${key} is back, at revision ${kv.modRevision}`);
        }
      }
    }
    for (const lease of this.revokedLeases) if (store.hasLease(lease)) return lost(`acknowledged revoke of lease ${lease} is lost: the lease is back`);
    return undefined;
  }

  private record(key: string, entry: Acked): void {
    const last = this.keys.get(key);
    if (last && last.seq > entry.seq) return;
    this.keys.set(key, entry);
    // Removals sent before this write cannot explain its absence.
    const removals = this.removals.get(key)?.filter((r) => r.seq > entry.seq);
    if (removals && removals.length > 0) this.removals.set(key, removals);
    else this.removals.delete(key);
  }

  private noteRemoval(key: string, removal: Removal): void {
    const list = this.removals.get(key);
    if (list) list.push(removal);
    else this.removals.set(key, [removal]);
  }

  /** Whether something sent after the put, or its lease's end, can have removed the key. */
  private removedSince(key: string, put: Acked, store: RecoveredStore): boolean {
    if (put.lease !== undefined && !store.hasLease(put.lease)) return true;
    for (const r of this.removals.get(key) ?? []) if (r.seq > put.seq && (r.lease === undefined || !store.hasLease(r.lease))) return true;
    for (const [prefix, seq] of this.prefixRemovals) if (seq > put.seq && key.startsWith(prefix)) return true;
    return false;
  }
}

function preview(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}...` : value);
}
