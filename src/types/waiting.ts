// Waiting inside entry points: on the injected clock (so tests can use a
// VirtualClock) and always ending when the call's signal aborts.
import type { Clock } from '../model/clock.ts';
import { ClusterError } from '../model/errors.ts';

export function abortedError(what: string): ClusterError {
  return new ClusterError('ERROR_OPERATION_ABORTED', `${what}: aborted at the call's deadline`);
}

/** Resolves after ms of the clock's time; rejects with ERROR_OPERATION_ABORTED if the signal aborts first. */
export function delay(clock: Clock, ms: number, signal: AbortSignal, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(abortedError(what));
    const onAbort = (): void => {
      clock.clearTimer(timer);
      reject(abortedError(what));
    };
    const timer = clock.setTimer(ms, () => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Never resolves; rejects with ERROR_OPERATION_ABORTED when the signal aborts. */
export function untilAborted(signal: AbortSignal, what: string): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) return reject(abortedError(what));
    signal.addEventListener('abort', () => reject(abortedError(what)), { once: true });
  });
}
