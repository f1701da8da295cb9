// Translation between the store's types and etcd's v3 protocol messages, as
// the etcd3 client exposes them (int64s as decimal strings, keys and values as
// Buffers). Pure: no I/O, so the mapping can be read and tested on its own.

import type * as Etcd from 'etcd3';
import { StoreError, type Compare, type KeyValue, type Txn, type TxnOp, type TxnOpResult } from './store.ts';
import { preview, validateTxn } from './txn.ts';

/** etcd's "no lease" id. */
const NO_LEASE = '0';

/**
 * Keys of one store live under a namespace prefix in etcd, so several clusters
 * (or test runs) can share one etcd.
 */
export class EtcdKeys {
  constructor(readonly namespace: string) {}

  key(key: string): Buffer {
    return Buffer.from(this.namespace + key, 'utf8');
  }

  /** [key, rangeEnd) covering every key that starts with prefix, inside the namespace. */
  prefixRange(prefix: string): { key: Buffer; range_end: Buffer } {
    const start = Buffer.from(this.namespace + prefix, 'utf8');
    // An empty start means "the whole keyspace": etcd spells that key=\0, range_end=\0.
    if (start.length === 0) return { key: Buffer.from([0]), range_end: Buffer.from([0]) };
    return { key: start, range_end: prefixEnd(start) };
  }

  /** The store key for an etcd key of this namespace. */
  unprefix(key: Buffer): string {
    const full = key.toString('utf8');
    if (!full.startsWith(this.namespace)) throw new Error(`etcd returned key ${preview(full)} outside namespace ${preview(this.namespace)}`);
    return full.slice(this.namespace.length);
  }
}

/** The smallest key greater than every key starting with prefix (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i] = end[i]! + 1;
      return end.subarray(0, i + 1);
    }
  }
  // All 0xff: no upper bound, range to the end of the keyspace.
  return Buffer.from([0]);
}

export function toNumber(value: string | number | undefined, what: string): number {
  const n = Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new StoreError('invalid', `etcd returned ${what} ${String(value)}, not a safe integer`);
  return n;
}

/** etcd's KeyValue as the store's, with the key taken out of the namespace. */
export function toKeyValue(keys: EtcdKeys, kv: Etcd.IKeyValue): KeyValue {
  const lease = kv.lease === undefined || String(kv.lease) === NO_LEASE ? undefined : String(kv.lease);
  return {
    key: keys.unprefix(kv.key),
    value: kv.value ? kv.value.toString('utf8') : '',
    createRevision: toNumber(kv.create_revision, 'create_revision'),
    modRevision: toNumber(kv.mod_revision, 'mod_revision'),
    version: toNumber(kv.version, 'version'),
    ...(lease !== undefined ? { lease } : {}),
  };
}

export function headerRevision(header: Etcd.IResponseHeader | undefined): number {
  return toNumber(header?.revision, 'header revision');
}

/** Leases are etcd's int64 ids; we pass them as decimal strings. */
export function checkLeaseId(lease: string): string {
  if (typeof lease !== 'string' || !/^[1-9][0-9]*$/.test(lease)) throw new StoreError('invalid', `lease id ${JSON.stringify(lease)} is not a positive decimal integer`);
  return lease;
}

// --- requests --------------------------------------------------------------

export function rangeRequest(keys: EtcdKeys, prefix: string): Etcd.IRangeRequest {
  return { ...keys.prefixRange(prefix), sort_target: 'Key', sort_order: 'Ascend' };
}

export function getRequest(keys: EtcdKeys, key: string): Etcd.IRangeRequest {
  return { key: keys.key(key) };
}

export function putRequest(keys: EtcdKeys, key: string, value: string, lease: string | undefined): Etcd.IPutRequest {
  return { key: keys.key(key), value: Buffer.from(value, 'utf8'), ...(lease !== undefined ? { lease: checkLeaseId(lease) } : {}) };
}

export function deleteRequest(keys: EtcdKeys, key: string): Etcd.IDeleteRangeRequest {
  return { key: keys.key(key) };
}

export function deletePrefixRequest(keys: EtcdKeys, prefix: string): Etcd.IDeleteRangeRequest {
  return keys.prefixRange(prefix);
}

function requestOp(keys: EtcdKeys, op: TxnOp): Etcd.IRequestOp {
  switch (op.type) {
    case 'put':
      return { request_put: putRequest(keys, op.key, op.value, op.lease) };
    case 'delete':
      return { request_delete_range: deleteRequest(keys, op.key) };
    case 'deletePrefix':
      return { request_delete_range: deletePrefixRequest(keys, op.prefix) };
    case 'get':
      return { request_range: getRequest(keys, op.key) };
    case 'range':
      return { request_range: rangeRequest(keys, op.prefix) };
  }
}

const compareResult = { '==': 'Equal', '!=': 'NotEqual', '<': 'Less', '>': 'Greater' } as const;
const compareTarget = { version: 'Version', createRevision: 'Create', modRevision: 'Mod' } as const;

function etcdCompare(keys: EtcdKeys, c: Compare): Etcd.ICompare {
  if (c.target === 'value') return { key: keys.key(c.key), target: 'Value', result: compareResult[c.op], value: Buffer.from(c.value, 'utf8') };
  const field = c.target === 'version' ? 'version' : c.target === 'createRevision' ? 'create_revision' : 'mod_revision';
  return { key: keys.key(c.key), target: compareTarget[c.target], result: compareResult[c.op], [field]: c.value };
}

/**
 * The etcd request for a store transaction. The semantics match one to one,
 * including etcd's rule that a value compare on a missing key is false.
 */
export function txnRequest(keys: EtcdKeys, txn: Txn): Etcd.ITxnRequest {
  // The same checks as the embedded store, before anything is sent (etcd refuses less helpfully).
  validateTxn(txn, (lease) => void checkLeaseId(lease));
  return {
    compare: txn.compare.map((c) => etcdCompare(keys, c)),
    success: txn.success.map((op) => requestOp(keys, op)),
    failure: (txn.failure ?? []).map((op) => requestOp(keys, op)),
  };
}

export function txnOutcome(keys: EtcdKeys, txn: Txn, response: Etcd.ITxnResponse): { succeeded: boolean; revision: number; results: TxnOpResult[] } {
  const ops = response.succeeded ? txn.success : (txn.failure ?? []);
  return { succeeded: response.succeeded, revision: headerRevision(response.header), results: opResults(keys, ops, response.responses) };
}

function opResults(keys: EtcdKeys, ops: readonly TxnOp[], responses: readonly Etcd.IResponseOp[]): TxnOpResult[] {
  if (responses.length !== ops.length) throw new StoreError('invalid', `etcd answered ${responses.length} results for ${ops.length} transaction ops`);
  return ops.map((op, i): TxnOpResult => {
    const response = responses[i]!;
    switch (op.type) {
      case 'put':
        return { type: 'put' };
      case 'delete':
      case 'deletePrefix':
        return { type: 'delete', deleted: toNumber(response.response_delete_range?.deleted, 'deleted') };
      case 'get': {
        const kv = response.response_range?.kvs[0];
        return { type: 'get', kv: kv ? toKeyValue(keys, kv) : undefined };
      }
      case 'range':
        return { type: 'range', kvs: (response.response_range?.kvs ?? []).map((kv) => toKeyValue(keys, kv)) };
    }
  });
}

