// What the write-ahead log and the snapshot hold, and how a record is applied
// to a KeySpace. Live writes and replay go through the same applyRecord, so a
// replayed store is the store that was acknowledged.

import { assert } from '../model/errors.ts';
import type { KeySpace, Write } from './keyspace.ts';
import type { KeyValue, LeaseId, WatchEvent } from './store.ts';

/**
 * One durable step of the store. `s` numbers records consecutively (a snapshot
 * says which record it includes); `r` is the revision of the writes `w`; `g`
 * grants a lease; `x` ends one (after its keys' deletes in `w`).
 */
export interface WalRecord {
  readonly s: number;
  readonly r?: number;
  readonly w?: readonly EncodedWrite[];
  readonly g?: readonly [LeaseId, number];
  readonly x?: LeaseId;
}

/** [key, value] or [key, value, lease] for a put; [key] for a delete. */
export type EncodedWrite = readonly [string] | readonly [string, string] | readonly [string, string, LeaseId];

export function encodeWrite(w: Write): EncodedWrite {
  if (w.type === 'delete') return [w.key];
  return w.lease !== undefined ? [w.key, w.value, w.lease] : [w.key, w.value];
}

function decodeWrite(e: EncodedWrite): Write {
  if (e.length === 1) return { type: 'delete', key: e[0] };
  return e.length === 3 ? { type: 'put', key: e[0], value: e[1], lease: e[2] } : { type: 'put', key: e[0], value: e[1] };
}

/** A record that parsed as JSON but cannot be applied: the log is not ours or is damaged. */
export class RecordShapeError extends Error {}

/** Checks a parsed record's shape against the state it is applied to; throws RecordShapeError. */
export function checkRecord(space: KeySpace, value: unknown, expectedSeq: number): WalRecord {
  const fail = (why: string): never => {
    throw new RecordShapeError(why);
  };
  if (typeof value !== 'object' || value === null) fail('record is not an object');
  const rec = value as Record<string, unknown>;
  if (rec.s !== expectedSeq) fail(`record sequence ${String(rec.s)}, expected ${expectedSeq}`);
  if (rec.w !== undefined) {
    if (!Array.isArray(rec.w) || rec.w.length === 0) fail('writes are not a non-empty array');
    if (rec.r !== space.revision + 1) fail(`revision ${String(rec.r)}, expected ${space.revision + 1}`);
    for (const w of rec.w as unknown[]) {
      if (!Array.isArray(w) || w.length < 1 || w.length > 3 || w.some((p) => typeof p !== 'string')) fail('a write is not [key], [key, value] or [key, value, lease]');
      const lease = (w as string[])[2];
      if (lease !== undefined && !space.hasLease(lease)) fail(`put names unknown lease ${lease}`);
    }
  } else if (rec.r !== undefined) fail('revision without writes');
  if (rec.g !== undefined) {
    const g = rec.g;
    if (!Array.isArray(g) || g.length !== 2 || typeof g[0] !== 'string' || typeof g[1] !== 'number' || space.hasLease(g[0])) fail('bad lease grant');
  }
  if (rec.x !== undefined && (typeof rec.x !== 'string' || !space.hasLease(rec.x))) fail(`revokes unknown lease ${String(rec.x)}`);
  return rec as unknown as WalRecord;
}

/** Applies a (checked) record; returns the watch events of its revision, if it has one. */
export function applyRecord(space: KeySpace, rec: WalRecord): WatchEvent[] {
  const events: WatchEvent[] = [];
  if (rec.g) space.addLease(rec.g[0], rec.g[1]);
  if (rec.w) {
    const revision = rec.r!;
    for (const e of rec.w) {
      const event = space.applyWrite(revision, decodeWrite(e));
      if (event) events.push(event);
    }
    assert(events.length > 0, `record ${rec.s} changed something`);
    space.revision = revision;
  }
  if (rec.x !== undefined) space.removeLease(rec.x);
  return events;
}

/** The whole state at one record, as a snapshot file holds it. */
export interface SnapshotState {
  readonly seq: number;
  readonly revision: number;
  readonly nextLeaseNumber: number;
  readonly leases: readonly (readonly [LeaseId, number])[];
  /** [key, value, createRevision, modRevision, version, lease?] in key order. */
  readonly kvs: readonly (readonly [string, string, number, number, number, LeaseId?])[];
}

export function captureSnapshot(space: KeySpace, seq: number): SnapshotState {
  const kvs: [string, string, number, number, number, LeaseId?][] = [];
  for (const kv of space.allEntries()) {
    kvs.push(kv.lease !== undefined ? [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version, kv.lease] : [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version]);
  }
  return {
    seq,
    revision: space.revision,
    nextLeaseNumber: space.nextLeaseNumber,
    leases: space.leaseIds().map((id) => [id, space.lease(id)!.ttlSeconds] as const),
    kvs,
  };
}

/** Builds the state a snapshot describes into an empty KeySpace; throws RecordShapeError if it is malformed. */
export function restoreSnapshot(space: KeySpace, value: unknown): SnapshotState {
  const fail = (why: string): never => {
    throw new RecordShapeError(why);
  };
  if (typeof value !== 'object' || value === null) fail('snapshot is not an object');
  const snap = value as SnapshotState;
  const isCount = (n: unknown): n is number => typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
  if (!isCount(snap.seq) || !isCount(snap.revision) || !isCount(snap.nextLeaseNumber)) fail('snapshot counters are not whole numbers');
  if (!Array.isArray(snap.leases) || !Array.isArray(snap.kvs)) fail('snapshot lacks leases or keys');
  for (const l of snap.leases) {
    if (!Array.isArray(l) || typeof l[0] !== 'string' || typeof l[1] !== 'number' || space.hasLease(l[0])) fail('bad lease in snapshot');
    space.addLease(l[0], l[1]);
  }
  let previousKey: string | undefined;
  for (const e of snap.kvs) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'string' || !isCount(e[2]) || !isCount(e[3]) || !isCount(e[4])) fail('bad key in snapshot');
    if (previousKey !== undefined && !(previousKey < e[0])) fail(`snapshot keys out of order at ${JSON.stringify(e[0])}`);
    if (e[5] !== undefined && (typeof e[5] !== 'string' || !space.hasLease(e[5]))) fail(`snapshot key ${JSON.stringify(e[0])} names unknown lease`);
    previousKey = e[0];
    const kv: KeyValue = { key: e[0], value: e[1], createRevision: e[2], modRevision: e[3], version: e[4], ...(e[5] !== undefined ? { lease: e[5] } : {}) };
    space.restoreEntry(kv);
  }
  space.revision = snap.revision;
  space.nextLeaseNumber = Math.max(space.nextLeaseNumber, snap.nextLeaseNumber);
  return snap;
}
