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
  rejoinRetryIntervalMs: 500,
  opResultRetentionMs: 10 * 60_000,
  storeWriteTimeoutMs: 10_000,
  coordinatorSweepIntervalMs: 1000,
  shutdownTimeoutMs: 30_000,
  recordUpdateAttemptsMax: 10,
  operationEndDeadlineMs: 21 * 60_000,
};
