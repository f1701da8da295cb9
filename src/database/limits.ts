// The cluster database's limits, in one place. Names follow the Windows
// registry where it has a limit (key names 255, value names 16383); the rest
// follow from the store's request limits (store.ts), so that every key path
// and value name the database accepts fits in one store key.
import { ClusterError } from '../model/errors.ts';
import { STORE_KEY_BYTES_MAX, STORE_TXN_OPS_MAX } from '../store/store.ts';

/** Longest name of one key, in UTF-16 units (the Windows registry's limit). */
export const KEY_NAME_LENGTH_MAX = 255;
/** Deepest key below the database root. */
export const KEY_DEPTH_MAX = 32;
/** Longest value name, in UTF-16 units (the Windows registry's limit). */
export const VALUE_NAME_LENGTH_MAX = 16_383;
/** Largest value data, counted as the registry counts it (UTF-16 strings with terminators). */
export const VALUE_DATA_BYTES_MAX = 1024 * 1024;

/** Longest root prefix a database may be given. */
export const ROOT_PREFIX_BYTES_MAX = 128;
/**
 * Value names whose encoded form is longer than this are stored under a hash of
 * the name (the record keeps the name itself), so long names fit a store key.
 */
export const VALUE_NAME_INLINE_BYTES_MAX = 128;
/** Room a value's store key needs after its key's prefix: "@v:" + an inline name, or "@h:" + 64 hex digits. */
const VALUE_SUFFIX_BYTES_MAX = 3 + VALUE_NAME_INLINE_BYTES_MAX;
/** Longest encoded key path, so that root + path + value suffix fits a store key. */
export const KEY_PATH_BYTES_MAX = STORE_KEY_BYTES_MAX - ROOT_PREFIX_BYTES_MAX - VALUE_SUFFIX_BYTES_MAX;

/** Most commands one batch may carry (each becomes a few store operations). */
export const BATCH_COMMANDS_MAX = 100;

/**
 * The error for a write too large for one store transaction (or one batch):
 * refused as a whole, nothing changed, naming the limit, so that no limit
 * silently caps work. `needs` says what the write needs, e.g. "2,003 store writes".
 */
export function tooLargeForOneTransaction(what: string, needs: string, limit: 'BATCH_COMMANDS_MAX' | 'STORE_TXN_OPS_MAX'): ClusterError {
  const holds =
    limit === 'BATCH_COMMANDS_MAX'
      ? `one batch holds at most ${BATCH_COMMANDS_MAX} commands (BATCH_COMMANDS_MAX)`
      : `one store transaction holds at most ${STORE_TXN_OPS_MAX} writes and ${STORE_TXN_OPS_MAX} compares (STORE_TXN_OPS_MAX, etcd's --max-txn-ops)`;
  return new ClusterError('ERROR_NOT_ENOUGH_QUOTA', `${what} needs ${needs}, but ${holds}; nothing was changed: make the change in smaller parts`);
}
/**
 * How many times a write is re-read and retried when another writer changed
 * what it read in between; past this the caller gets ERROR_CLUSTER_DATABASE_SEQMISMATCH.
 */
export const WRITE_CONFLICT_ATTEMPTS_MAX = 20;
