// Transactions on a KeySpace: validation (limits, duplicate writes, leases),
// compare evaluation and execution as one revision. Pure: no I/O, no clock.

import type { KeySpace, Write } from './keyspace.ts';
import {
  STORE_KEY_BYTES_MAX,
  STORE_TXN_OPS_MAX,
  STORE_VALUE_BYTES_MAX,
  StoreError,
  type Compare,
  type Txn,
  type TxnOp,
  type TxnOpResult,
  type WatchEvent,
} from './store.ts';

export interface TxnOutcome {
  readonly succeeded: boolean;
  readonly results: TxnOpResult[];
  /** The concrete writes applied (deletePrefix expanded); empty if nothing changed. */
  readonly writes: Write[];
  readonly events: WatchEvent[];
}

/** Throws StoreError('too-large'/'invalid') if the key breaks the limits. */
export function checkKey(key: string, what = 'key'): void {
  if (typeof key !== 'string' || key.length === 0) throw new StoreError('invalid', `${what} must be a non-empty string, got ${JSON.stringify(key)}`);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > STORE_KEY_BYTES_MAX) throw new StoreError('too-large', `${what} ${preview(key)} is ${bytes} bytes; the limit is ${STORE_KEY_BYTES_MAX}`);
}

export function checkPrefix(prefix: string): void {
  if (typeof prefix !== 'string') throw new StoreError('invalid', `prefix must be a string, got ${typeof prefix}`);
  const bytes = Buffer.byteLength(prefix, 'utf8');
  if (bytes > STORE_KEY_BYTES_MAX) throw new StoreError('too-large', `prefix ${preview(prefix)} is ${bytes} bytes; the limit is ${STORE_KEY_BYTES_MAX}`);
}

export function checkValue(key: string, value: string): void {
  if (typeof value !== 'string') throw new StoreError('invalid', `value of ${preview(key)} must be a string, got ${typeof value}`);
  // Cheap upper bound first: a UTF-8 byte is at most 3 per UTF-16 unit.
  if (value.length * 3 <= STORE_VALUE_BYTES_MAX) return;
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > STORE_VALUE_BYTES_MAX) throw new StoreError('too-large', `value of ${preview(key)} is ${bytes} bytes; the limit is ${STORE_VALUE_BYTES_MAX}`);
}

/**
 * Checks everything that could make the transaction fail, before anything is
 * applied, so a refused transaction changes nothing: sizes, op counts, leases
 * named by puts (checkLease: each store its own way), and (as etcd) that no key
 * is written twice. Both stores use it, so they refuse the same transactions
 * with the same error kinds.
 */
export function validateTxn(txn: Txn, checkLease: (lease: string, key: string) => void): void {
  if (!txn || !Array.isArray(txn.compare) || !Array.isArray(txn.success) || (txn.failure !== undefined && !Array.isArray(txn.failure))) {
    throw new StoreError('invalid', 'txn needs compare and success arrays (and optionally failure)');
  }
  for (const [name, list] of [['compare', txn.compare], ['success', txn.success], ['failure', txn.failure ?? []]] as const) {
    if (list.length > STORE_TXN_OPS_MAX) throw new StoreError('too-large', `txn ${name} has ${list.length} entries; the limit is ${STORE_TXN_OPS_MAX}`);
  }
  for (const c of txn.compare) validateCompare(c);
  validateBranch(txn.success, 'success', checkLease);
  validateBranch(txn.failure ?? [], 'failure', checkLease);
}

function validateCompare(c: Compare): void {
  checkKey(c?.key, 'compare key');
  if (c.target === 'value') {
    if (c.op !== '==' && c.op !== '!=') throw new StoreError('invalid', `compare on value of ${preview(c.key)}: op ${String(c.op)} is not == or !=`);
    if (typeof c.value !== 'string') throw new StoreError('invalid', `compare on value of ${preview(c.key)}: value must be a string`);
    return;
  }
  if (c.target !== 'version' && c.target !== 'createRevision' && c.target !== 'modRevision') {
    throw new StoreError('invalid', `compare on ${preview(c.key)}: unknown target ${String((c as { target: unknown }).target)}`);
  }
  if (!['==', '!=', '<', '>'].includes(c.op)) throw new StoreError('invalid', `compare on ${c.target} of ${preview(c.key)}: unknown op ${String(c.op)}`);
  if (typeof c.value !== 'number' || !Number.isSafeInteger(c.value)) throw new StoreError('invalid', `compare on ${c.target} of ${preview(c.key)}: value must be an integer`);
}

function validateBranch(ops: readonly TxnOp[], branch: string, checkLease: (lease: string, key: string) => void): void {
  const putKeys = new Set<string>();
  const deletedKeys: string[] = [];
  const deletedPrefixes: string[] = [];
  for (const op of ops) {
    switch (op?.type) {
      case 'put':
        checkKey(op.key);
        checkValue(op.key, op.value);
        if (putKeys.has(op.key)) throw new StoreError('invalid', `txn ${branch} puts key ${preview(op.key)} twice`);
        putKeys.add(op.key);
        if (op.lease !== undefined) checkLease(op.lease, op.key);
        break;
      case 'delete':
      case 'get':
        checkKey(op.key);
        if (op.type === 'delete') deletedKeys.push(op.key);
        break;
      case 'deletePrefix':
      case 'range':
        checkPrefix(op.prefix);
        if (op.type === 'deletePrefix') deletedPrefixes.push(op.prefix);
        break;
      default:
        throw new StoreError('invalid', `txn ${branch} has an unknown op type ${JSON.stringify((op as { type?: unknown })?.type)}`);
    }
  }
  for (const key of putKeys) {
    if (deletedKeys.includes(key) || deletedPrefixes.some((p) => key.startsWith(p))) {
      throw new StoreError('invalid', `txn ${branch} both puts and deletes key ${preview(key)}`);
    }
  }
}

export function compareHolds(space: KeySpace, c: Compare): boolean {
  const kv = space.get(c.key);
  if (c.target === 'value') {
    // As etcd: a value compare on a missing key is false whatever the op, since
    // a missing value cannot be told from an empty one otherwise.
    if (!kv) return false;
    return c.op === '==' ? kv.value === c.value : kv.value !== c.value;
  }
  const actual = kv ? kv[c.target] : 0;
  switch (c.op) {
    case '==':
      return actual === c.value;
    case '!=':
      return actual !== c.value;
    case '<':
      return actual < c.value;
    case '>':
      return actual > c.value;
  }
}

/**
 * Runs a validated transaction: evaluates the compares, then applies the chosen
 * branch in order (later ops see earlier writes) at revision space.revision + 1.
 * The revision is taken only if something changed.
 */
export function executeTxn(space: KeySpace, txn: Txn): TxnOutcome {
  const succeeded = txn.compare.every((c) => compareHolds(space, c));
  const ops = succeeded ? txn.success : (txn.failure ?? []);
  const revision = space.revision + 1;
  const results: TxnOpResult[] = [];
  const writes: Write[] = [];
  const events: WatchEvent[] = [];
  const apply = (write: Write): boolean => {
    const event = space.applyWrite(revision, write);
    if (!event) return false;
    writes.push(write);
    events.push(event);
    return true;
  };
  for (const op of ops) {
    switch (op.type) {
      case 'put':
        apply(op.lease !== undefined ? { type: 'put', key: op.key, value: op.value, lease: op.lease } : { type: 'put', key: op.key, value: op.value });
        results.push({ type: 'put' });
        break;
      case 'delete':
        results.push({ type: 'delete', deleted: apply({ type: 'delete', key: op.key }) ? 1 : 0 });
        break;
      case 'deletePrefix': {
        let deleted = 0;
        for (const kv of space.range(op.prefix)) if (apply({ type: 'delete', key: kv.key })) deleted++;
        results.push({ type: 'delete', deleted });
        break;
      }
      case 'get':
        results.push({ type: 'get', kv: space.get(op.key) });
        break;
      case 'range':
        results.push({ type: 'range', kvs: space.range(op.prefix) });
        break;
    }
  }
  if (writes.length > 0) space.revision = revision;
  return { succeeded, results, writes, events };
}

/** The key as shown in error messages: quoted, shortened if huge. */
export function preview(key: string): string {
  return JSON.stringify(key.length > 80 ? `${key.slice(0, 77)}...` : key);
}
