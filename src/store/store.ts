// The store: the one place cluster state is kept and agreed on. Its contract is
// etcd's v3 KV, watch and lease API, so the embedded store and etcd are
// interchangeable and nothing else in the code knows which one runs.
//
// Keys and values are strings (UTF-8). Revisions are store-wide and increase by
// one for every write transaction, as in etcd.

export type LeaseId = string;

export interface KeyValue {
  readonly key: string;
  readonly value: string;
  /** Revision of the transaction that created the key (since its last deletion). */
  readonly createRevision: number;
  /** Revision of the last transaction that modified the key. */
  readonly modRevision: number;
  /** Number of modifications since creation; 1 after the first put. */
  readonly version: number;
  /** The lease the key is attached to, or undefined. */
  readonly lease?: LeaseId;
}

export type Compare =
  | { readonly key: string; readonly target: 'value'; readonly op: '==' | '!='; readonly value: string }
  | {
      readonly key: string;
      /** A key that does not exist has version, createRevision and modRevision 0. */
      readonly target: 'version' | 'createRevision' | 'modRevision';
      readonly op: '==' | '!=' | '<' | '>';
      readonly value: number;
    };

export type TxnOp =
  | { readonly type: 'put'; readonly key: string; readonly value: string; readonly lease?: LeaseId }
  | { readonly type: 'delete'; readonly key: string }
  | { readonly type: 'deletePrefix'; readonly prefix: string }
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'range'; readonly prefix: string };

export type TxnOpResult =
  | { readonly type: 'put' }
  | { readonly type: 'delete'; readonly deleted: number }
  | { readonly type: 'get'; readonly kv: KeyValue | undefined }
  | { readonly type: 'range'; readonly kvs: readonly KeyValue[] };

export interface Txn {
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure?: readonly TxnOp[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  /** The store's revision after the transaction. */
  readonly revision: number;
  readonly results: readonly TxnOpResult[];
}

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  /** For a delete: the key with an empty value and the deletion's modRevision. */
  readonly kv: KeyValue;
  readonly prevKv?: KeyValue;
}

export interface WatchOptions {
  /** Deliver events from this revision on (inclusive); default: only new events. */
  readonly fromRevision?: number;
}

export interface Watcher {
  cancel(): Promise<void>;
}

/**
 * Called with the events of one revision at a time, in revision order. Called
 * with an error if the watch cannot go on (for example the requested revision
 * was compacted); no events follow an error.
 */
export type WatchCallback = (events: readonly WatchEvent[], revision: number) => void;
export type WatchErrorCallback = (error: Error) => void;

export interface RangeResult {
  readonly kvs: readonly KeyValue[];
  /** The store's revision at which the range was read. */
  readonly revision: number;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /** Every key starting with prefix, sorted by key. */
  range(prefix: string): Promise<RangeResult>;
  put(key: string, value: string, options?: { lease?: LeaseId }): Promise<{ revision: number }>;
  delete(key: string): Promise<{ revision: number; deleted: number }>;
  deletePrefix(prefix: string): Promise<{ revision: number; deleted: number }>;
  /** All-or-nothing: the compares are evaluated and one branch applied as one revision. */
  txn(txn: Txn): Promise<TxnResult>;
  watchPrefix(prefix: string, onEvents: WatchCallback, options?: WatchOptions & { onError?: WatchErrorCallback }): Promise<Watcher>;

  /** Grants a lease with a TTL in whole seconds (etcd's unit; at least 1). */
  grantLease(ttlSeconds: number): Promise<LeaseId>;
  /** Renews the lease to its full TTL; fails with ERROR_NOT_FOUND-like StoreError if it expired. */
  keepAlive(lease: LeaseId): Promise<void>;
  /** Ends the lease now and deletes its keys. */
  revokeLease(lease: LeaseId): Promise<void>;
  /** Remaining TTL in seconds, or -1 if the lease does not exist. */
  leaseTimeToLive(lease: LeaseId): Promise<number>;

  /** Current revision of the store. */
  revision(): Promise<number>;
  close(): Promise<void>;
}

export type StoreErrorKind = 'lease-not-found' | 'compacted' | 'closed' | 'unavailable' | 'too-large' | 'invalid';

/** Store failures, typed so callers can react (e.g. a lost lease means self-fencing). */
export class StoreError extends Error {
  readonly kind: StoreErrorKind;
  constructor(kind: StoreErrorKind, message: string) {
    super(message);
    this.kind = kind;
    this.name = 'StoreError';
  }
}

/** Limits the store enforces, so one huge value cannot stall the cluster. */
export const STORE_KEY_BYTES_MAX = 1024;
export const STORE_VALUE_BYTES_MAX = 1_536 * 1024; // etcd's default request limit is 1.5 MiB
export const STORE_TXN_OPS_MAX = 128; // etcd's default --max-txn-ops
