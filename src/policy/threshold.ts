// FailoverThreshold within FailoverPeriod: how many times a group may fail over
// in a sliding window before it is left Failed on its node (as WSFC does, until
// an operator acts or the window slides on). Pure: time is the `nowMs` input.
import { clusterError, type ClusterErrorValue } from '../model/errors.ts';
import { messages, type LogMessage } from '../model/messages.ts';
import type { GroupCommon } from '../model/objects.ts';

export const MS_PER_HOUR = 3_600_000;

/** WSFC's default when FailoverThreshold is unset: the number of nodes - 1. */
export function effectiveFailoverThreshold(common: Pick<GroupCommon, 'FailoverThreshold'>, nodeCount: number): number {
  return common.FailoverThreshold ?? Math.max(0, nodeCount - 1);
}

export interface FailoverThresholdInput {
  readonly group: string;
  readonly common: Pick<GroupCommon, 'FailoverThreshold' | 'FailoverPeriod'>;
  readonly nodeCount: number;
  /** Times (ms) of the group's earlier failovers, any order; older ones are dropped. */
  readonly history: readonly number[];
  readonly nowMs: number;
}

export type FailoverThresholdDecision =
  | {
      readonly allowed: true;
      /** The history to keep: failovers inside the period, plus this one. */
      readonly history: readonly number[];
    }
  | {
      readonly allowed: false;
      /** The history inside the period (this failover is not counted: it does not happen). */
      readonly history: readonly number[];
      readonly error: ClusterErrorValue;
      readonly log: LogMessage;
    };

/**
 * Allows a failover while fewer than FailoverThreshold failovers happened in
 * the last FailoverPeriod hours (the window is (now - period, now]). A
 * threshold of 0 never allows one.
 */
export function decideFailover(input: FailoverThresholdInput): FailoverThresholdDecision {
  const threshold = effectiveFailoverThreshold(input.common, input.nodeCount);
  const periodHours = input.common.FailoverPeriod;
  const windowStart = input.nowMs - periodHours * MS_PER_HOUR;
  const recent = input.history.filter((t) => t > windowStart && t <= input.nowMs).sort((a, b) => a - b);
  if (recent.length < threshold) return { allowed: true, history: [...recent, input.nowMs] };
  return {
    allowed: false,
    history: recent,
    error: clusterError(
      'ERROR_RESOURCE_FAILED',
      `group ${JSON.stringify(input.group)} failed over ${recent.length} times in the last ${periodHours} h (FailoverThreshold ${threshold}); it stays Failed on its node`,
    ),
    log: messages.failoverThresholdExceeded(input.group, recent.length, periodHours),
  };
}
