// The RCM's call effects and the results the resource host feeds back.
// Shapes agreed with src/rcm; the call id is whatever the RCM chose.
import type { ClusterErrorValue } from '../model/errors.ts';
import type { ControlRequest, EntryPoint } from '../types/resource-type.ts';

export type CallId = number | string;

export interface CallEffect<Id extends CallId = CallId> {
  readonly type: 'call';
  readonly resource: string;
  readonly entryPoint: EntryPoint;
  readonly callId: Id;
  /** How long the call may take, in ms from when the host starts it. */
  readonly deadlineMs: number;
  /** For entryPoint 'control' only. */
  readonly control?: ControlRequest;
}

/**
 * ok: the entry point succeeded (for looksAlive/isAlive: the resource is alive).
 * pending: an online or offline is taking long; its final result follows.
 * failed: the entry point failed, timed out, or (looksAlive/isAlive) the resource is not alive.
 */
export type CallOutcome = 'ok' | 'pending' | 'failed';

export interface CallResult<Id extends CallId = CallId> {
  readonly type: 'callResult';
  readonly resource: string;
  readonly callId: Id;
  readonly outcome: CallOutcome;
  /** Set when outcome is 'failed'. */
  readonly error?: ClusterErrorValue;
  /** A control call's output, when outcome is 'ok'. */
  readonly output?: unknown;
}
