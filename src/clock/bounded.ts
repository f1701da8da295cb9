// Bounding a wait on a clock (real or virtual): the promise's outcome if it
// settles in time, else a rejection with the given error. The work itself goes
// on; only the wait for it ends.
import type { Clock } from '../model/clock.ts';

export function boundedBy<T>(clock: Clock, ms: number, promise: Promise<T>, timeoutError: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimer(ms, () => reject(timeoutError()));
    promise.then(
      (v) => {
        clock.clearTimer(timer);
        resolve(v);
      },
      (e: unknown) => {
        clock.clearTimer(timer);
        reject(e);
      },
    );
  });
}
