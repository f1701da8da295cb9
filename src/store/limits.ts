// The embedded store's own limits, in one place. The request limits shared with
// etcd (key, value and txn sizes) live in store.ts.

/**
 * How many past revisions a watch can start from. Older ones are reported as
 * compacted, as etcd does after compaction; this bounds the memory the event
 * history takes.
 */
export const WATCH_HISTORY_REVISIONS_MAX = 10_000;
/** The history also stays under about this many bytes of keys and values (values can be 1.5 MiB each). */
export const WATCH_HISTORY_BYTES_MAX = 64 * 1024 * 1024;

/** Once the write-ahead log grows past this, the state is snapshotted and the log restarted. */
export const WAL_SNAPSHOT_THRESHOLD_BYTES_DEFAULT = 64 * 1024 * 1024;

/** A record longer than this cannot have been written by us: it marks corruption, not a big write. */
export const WAL_RECORD_BYTES_MAX = 512 * 1024 * 1024;

/** Leases are granted in whole seconds, as in etcd. */
export const LEASE_TTL_SECONDS_MIN = 1;
/**
 * Longest lease: about 23 days, so one timer (at most 2^31 - 1 ms in Node) covers
 * it. etcd allows more, but cluster leases live for seconds.
 */
export const LEASE_TTL_SECONDS_MAX = 2_000_000;

/**
 * The embedded store samples its own timers this often while it holds leases:
 * a sample that comes late means the whole process stalled (a GC pause, a
 * starved CPU, SIGSTOP), and every lease is extended by the stall.
 */
export const STALL_SAMPLE_INTERVAL_MS = 100;
/** A sample later than this counts as a stall (its whole lateness); less is ordinary timer jitter. */
export const STALL_CREDIT_MIN_MS = 50;
/** Stalls at least this long are reported (the cluster log gets a WARN line). */
export const STALL_REPORT_MIN_MS = 250;
