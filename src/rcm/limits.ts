// Every timeout and retry of the RCM, in one place, with its unit in its name.
// Per-resource limits (PendingTimeout, DeadlockTimeout, RestartDelay, ...) are
// WSFC common properties and come from each resource's configuration; these
// are the RCM's own limits. A node may be given other values (tests do), but
// the defaults below are what runs in production.

export interface RcmLimits {
  /**
   * Delays between background retries of a failed Open, in order; the last
   * delay repeats if openRetryAttemptsMax is longer than the list. Backoff keeps
   * a resource whose dependencies are still starting (the seed's cluster API)
   * from being hammered, while a slow start still ends in an opened resource.
   */
  readonly openRetryDelaysMs: readonly number[];
  /** Background retries after a failed Open; then the resource stays OpenCallFailed until an online request or a reset. */
  readonly openRetryAttemptsMax: number;
  /**
   * Time a move may take from its acceptance on the source to the group settling
   * on the target (offline on source + transfer + online on target). Longer than
   * the default PendingTimeout (180 s) of one offline plus one online, so a move
   * of well-behaved resources never ends at its deadline.
   */
  readonly moveDeadlineMs: number;
  /**
   * Safety net for online/offline/reset requests: each resource's own calls are
   * bounded by PendingTimeout and DeadlockTimeout already, this only bounds the
   * request as a whole should a chain of dependencies add up.
   */
  readonly operationDeadlineMs: number;
  /** Poll intervals used when a resource's type is unknown to this node (its Open fails anyway). */
  readonly looksAlivePollIntervalFallbackMs: number;
  readonly isAlivePollIntervalFallbackMs: number;
}

export const defaultRcmLimits: RcmLimits = {
  openRetryDelaysMs: [1_000, 5_000, 15_000, 30_000, 60_000],
  openRetryAttemptsMax: 5,
  moveDeadlineMs: 600_000,
  operationDeadlineMs: 900_000,
  looksAlivePollIntervalFallbackMs: 5_000,
  isAlivePollIntervalFallbackMs: 60_000,
};

/** RetryPeriodOnFailure's value for "never retry" (WSFC's 0xFFFFFFFF). */
export const retryPeriodOnFailureNeverMs = 0xffffffff;

/** Delay before background Open retry number `attempt` (1-based). */
export function openRetryDelayMs(limits: RcmLimits, attempt: number): number {
  const delays = limits.openRetryDelaysMs;
  if (delays.length === 0) return 0;
  return delays[Math.min(attempt, delays.length) - 1]!;
}
