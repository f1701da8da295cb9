// Every duration and bound of the simulator, in one place, with units in names.
// The cluster under simulation runs with shortened WSFC timeouts (the same
// rules, minutes turned into seconds) so a run covers many deadlines in little
// virtual time.
import type { RcmLimits } from '../rcm/index.ts';
import type { AgentLimits } from '../node/limits.ts';
import type { ResourceCommon } from '../model/objects.ts';

/** Cluster size when neither the options nor a scenario give one. */
export const simDefaults = { nodes: 3, groups: 2 } as const;

export const simLimits = {
  /** Virtual time one simulation step lets pass. */
  tickMs: 250,
  /** The liveness phase fails if the cluster has not reached its persistent state within this. */
  livenessBoundMs: 300_000,
  /** Events kept for a violation report. */
  eventsKept: 40,
  /** The coordinator ends a move its nodes could not end 5 sweeps after its deadline; store writes add a little. */
  moveGraceMs: 10_000,
  /** An operation may end this long after its deadline (the coordinator's sweep, a coordinator election). */
  operationGraceMs: 10_000,
  /** Partition (store unreachable from one node) length. */
  partitionMsMin: 500,
  partitionMsMax: 6_000,
  /** Slow store: per-request delay and how long it lasts. */
  slowStoreDelayMsMin: 20,
  slowStoreDelayMsMax: 400,
  slowStoreDurationMsMin: 2_000,
  slowStoreDurationMsMax: 20_000,
  /** Largest weight of store crashes in a run's fault mix (the others go up to 4). */
  crashStoreWeightMax: 1,
  /** A crashed store is down this long before it recovers (an etcd restart). */
  storeDownMsMin: 100,
  storeDownMsMax: 3_000,
  /** Slow disk: how long each sync of the store's disk takes, and for how long. */
  slowDiskSyncMsMin: 5,
  slowDiskSyncMsMax: 250,
  slowDiskDurationMsMin: 2_000,
  slowDiskDurationMsMax: 20_000,
  /** The simulator's own reads of the store (to check operations and moves) must be answered within this. */
  storeAnswerBoundMs: 60_000,
  /** A node started with its cluster API held offline brings it online after this long. */
  apiOfflineMsMin: 500,
  apiOfflineMsMax: 30_000,
  /** Calls one injected entry-point fault applies to. */
  callFaultCallsMax: 3,
  /** Extra time of a 'slow' entry-point fault. */
  slowCallDelayMsMax: 12_000,
  /** Base duration of a resource's online/offline (some report pending after 500 ms). */
  baseCallDelayMsMax: 900,
  /** Base duration of the other entry points. */
  baseShortCallDelayMsMax: 200,
  /** Share of steps that carry a fault or operator action: drawn per seed from this range. */
  actionRateMin: 0.05,
  actionRateMax: 0.45,
  /** Resources per group. */
  resourcesPerGroupMin: 1,
  resourcesPerGroupMax: 4,
} as const;

/** The RCM's own limits in the simulated cluster. */
export const simRcmLimits: Partial<RcmLimits> = {
  openRetryDelaysMs: [500, 1_000, 2_000, 4_000, 8_000],
  openRetryAttemptsMax: 5,
  moveDeadlineMs: 60_000,
  operationDeadlineMs: 90_000,
};

/** The node agents' limits in the simulated cluster: an operation's outer deadline covers a move and its way back. */
export const simAgentLimits: Partial<AgentLimits> = {
  operationEndDeadlineMs: 2 * simRcmLimits.moveDeadlineMs! + 5_000,
};

/** Common properties every simulated resource starts with (the rest keep WSFC's defaults). */
export const simResourceCommon: Partial<ResourceCommon> = {
  PendingTimeout: 10_000,
  DeadlockTimeout: 15_000,
  RestartDelay: 500,
  RetryPeriodOnFailure: 20_000,
};

/** Where the virtual clock starts: a fixed instant, so log timestamps depend on the seed only. */
export const simStartMs = Date.UTC(2026, 0, 1, 0, 0, 0);
