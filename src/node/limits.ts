// Every timeout and retry of the node agent, in one place, with units in names.

export interface AgentLimits {
  /** TTL of a node's membership lease; a node is Down this long after it stops renewing. */
  readonly leaseTtlSeconds: number;
  /** How often the lease is renewed (well under the TTL, so one lost renewal is harmless). */
  readonly leaseKeepAliveIntervalMs: number;
  /**
   * A node that has not renewed its lease for (TTL - this margin) stops its resources
   * itself, so they are stopped before the lease can expire and another node takes over.
   */
  readonly selfFenceMarginMs: number;
  /**
   * The node's watchdog process kills its resource processes this long before
   * the lease can expire, if the agent has not confirmed a renewal meanwhile
   * (it froze or died). Smaller than selfFenceMarginMs: the agent's own,
   * orderly fence comes first.
   */
  readonly watchdogMarginMs: number;
  /**
   * The coordinator fails a Down node's groups over only this long after it
   * saw the node's lease gone, unless the node's watchdog confirmed in the
   * store that it killed every resource process of that lease: the margin
   * covers the watchdog's worst kill latency (a starved or descheduled
   * watchdog). 0 in one process (the embedded mode), where a node's fence
   * is in-process and there is no watchdog to wait for.
   */
  readonly fenceMarginMs: number;
  /** After losing its lease, a node tries to join again this often. */
  readonly rejoinRetryIntervalMs: number;
  /** How long an operation's result stays in the store for clients to read. */
  readonly opResultRetentionMs: number;
  /** Bound on waiting for a store write issued by an effect before it is reported as failed. */
  readonly storeWriteTimeoutMs: number;
  /** Attempts of a read-modify-write of a shared record (move records) before giving up. */
  readonly recordUpdateAttemptsMax: number;
  /** A graceful stop takes the node's groups offline in order for at most this long, then terminates what is left. */
  readonly shutdownTimeoutMs: number;
  /** Interval of the coordinator's housekeeping (unowned groups, failback, stuck moves). */
  readonly coordinatorSweepIntervalMs: number;
  /**
   * An operation still not ended this long after it was requested is ended by
   * the coordinator with ERROR_TIMEOUT: the node that had it went down or could
   * not record its outcome. Longer than any RCM deadline (a move and its way back).
   */
  readonly operationEndDeadlineMs: number;
}

export const defaultAgentLimits: AgentLimits = {
  leaseTtlSeconds: 2,
  leaseKeepAliveIntervalMs: 250,
  selfFenceMarginMs: 800,
  watchdogMarginMs: 400,
  fenceMarginMs: 0,
  rejoinRetryIntervalMs: 500,
  opResultRetentionMs: 10 * 60_000,
  storeWriteTimeoutMs: 10_000,
  coordinatorSweepIntervalMs: 1000,
  shutdownTimeoutMs: 30_000,
  recordUpdateAttemptsMax: 10,
  operationEndDeadlineMs: 21 * 60_000,
};

/** Distributed mode (one agent per machine on etcd): the new owner also waits out the fence margin or a kill confirmation. */
export const distributedAgentLimits: AgentLimits = { ...defaultAgentLimits, fenceMarginMs: 1_000 };
