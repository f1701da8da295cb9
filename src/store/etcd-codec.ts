// Translation between the store's types and etcd's v3 protocol messages, as
// the etcd3 client exposes them (int64s as decimal strings, keys and values as
// Buffers). Pure: no I/O, so the mapping can be read and tested on its own.

import type * as Etcd from 'etcd3';
import { STORE_TXN_OPS_MAX, StoreError, type Compare, type KeyValue, type Txn, type TxnOp, type TxnOpResult } from './store.ts';
import { checkKey, checkPrefix, checkValue, preview } from './txn.ts';

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
  validateTxn(txn);
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

/**
 * The same checks as the embedded store, before anything is sent, so both
 * stores refuse the same transactions with the same error kinds (etcd would
 * refuse most of them too, with less helpful messages).
 */
export function validateTxn(txn: Txn): void {
  if (!txn || !Array.isArray(txn.compare) || !Array.isArray(txn.success) || (txn.failure !== undefined && !Array.isArray(txn.failure))) {
    throw new StoreError('invalid', 'txn needs compare and success arrays (and optionally failure)');
  }
  for (const [name, list] of [['compare', txn.compare], ['success', txn.success], ['failure', txn.failure ?? []]] as const) {
    if (list.length > STORE_TXN_OPS_MAX) throw new StoreError('too-large', `txn ${name} has ${list.length} entries; the limit is ${STORE_TXN_OPS_MAX}`);
  }
  for (const c of txn.compare) validateCompare(c);
  validateBranch(txn.success, 'success');
  validateBranch(txn.failure ?? [], 'failure');
}

function validateCompare(c: Compare): void {
  checkKey(c?.key, 'compare key');
  if (c.target === 'value') {
    if (c.op !== '==' && c.op !== '!=') throw new StoreError('invalid', `compare on value of ${preview(c.key)}: op ${String(c.op)} is not == or !=`);
    if (typeof c.value !== 'string') throw new StoreError('invalid', `compare on value of ${preview(c.key)}: value must be a string`);
    return;
  }
  if (!(c.target in compareTarget)) throw new StoreError('invalid', `compare on ${preview(c.key)}: unknown target ${String((c as { target: unknown }).target)}`);
  if (!(c.op in compareResult)) throw new StoreError('invalid', `compare on ${c.target} of ${preview(c.key)}: unknown op ${String(c.op)}`);
  if (typeof c.value !== 'number' || !Number.isSafeInteger(c.value)) throw new StoreError('invalid', `compare on ${c.target} of ${preview(c.key)}: value must be an integer`);
}

function validateBranch(ops: readonly TxnOp[], branch: string): void {
  const putKeys = new Set<string>();
  const deletedKeys = new Set<string>();
  const deletedPrefixes: string[] = [];
  for (const op of ops) {
    switch (op?.type) {
      case 'put':
        checkKey(op.key);
        checkValue(op.key, op.value);
        if (op.lease !== undefined) checkLeaseId(op.lease);
        if (putKeys.has(op.key)) throw new StoreError('invalid', `txn ${branch} puts key ${preview(op.key)} twice`);
        putKeys.add(op.key);
        break;
      case 'delete':
        checkKey(op.key);
        deletedKeys.add(op.key);
        break;
      case 'get':
        checkKey(op.key);
        break;
      case 'deletePrefix':
        checkPrefix(op.prefix);
        deletedPrefixes.push(op.prefix);
        break;
      case 'range':
        checkPrefix(op.prefix);
        break;
      default:
        throw new StoreError('invalid', `txn ${branch} has an unknown op type ${JSON.stringify((op as { type?: unknown })?.type)}`);
    }
  }
  for (const key of putKeys) {
    if (deletedKeys.has(key) || deletedPrefixes.some((p) => key.startsWith(p))) {
      throw new StoreError('invalid', `txn ${branch} both puts and deletes key ${preview(key)}`);
    }
  }
}
