// How the console words errors, moves and operations. Pure: the time is passed
// in, so the same text can be checked in tests.
import type { MoveView, OperationView } from '../../api/types.ts';

export interface ErrorLike {
  readonly code: number;
  readonly name: string;
  readonly message: string;
}

/** Every error the page shows reads `NAME (code): message`. */
export function formatError(e: ErrorLike): string {
  return `${e.name} (${e.code}): ${e.message}`;
}

/** "in 598 s", "in 2 min 5 s", or "passed" once the deadline is behind us. */
export function formatCountdown(deadlineAt: number, nowMs: number): string {
  const left = Math.ceil((deadlineAt - nowMs) / 1000);
  if (left <= 0) return 'passed';
  if (left < 120) return `in ${left} s`;
  return `in ${Math.floor(left / 60)} min ${left % 60} s`;
}

/** A move still in progress: its phase, route and deadline. */
export function describeMoveProgress(m: MoveView, nowMs: number): string {
  return `${m.phase} ${m.from} → ${m.to}, deadline ${formatCountdown(m.deadlineAt, nowMs)}`;
}

/** A move that ended: its outcome, route, and the error that ended it (naming the resource, if one). */
export function describeMoveOutcome(m: MoveView): string {
  const outcome = `${m.outcome ?? 'ended'} ${m.from} → ${m.to}`;
  if (!m.error) return outcome;
  const where = m.error.resource !== undefined ? ` (resource ${m.error.resource})` : '';
  return `${outcome}: ${formatError(m.error)}${where}`;
}

export type ActivityState = 'running' | 'ok' | 'failed';

/** One line of progress for an operation, and whether it still runs, succeeded or failed. */
export function describeOperation(op: OperationView, startedAtMs: number, nowMs: number): { state: ActivityState; text: string } {
  const m = op.move;
  if (!op.done) {
    if (m && m.phase !== 'ended') return { state: 'running', text: `running: ${describeMoveProgress(m, nowMs)}` };
    return { state: 'running', text: 'running' };
  }
  const took = `in ${((nowMs - startedAtMs) / 1000).toFixed(1)} s`;
  const route = m ? ` (${m.from} → ${m.to})` : '';
  if (op.ok) return { state: 'ok', text: `done ${took}${route}` };
  const why = op.error ? formatError(op.error) : m?.error ? formatError(m.error) : 'no reason given';
  const outcome = m?.outcome === 'returned' ? 'returned to the source' : 'failed';
  return { state: 'failed', text: `${outcome} ${took}${route}: ${why}` };
}
