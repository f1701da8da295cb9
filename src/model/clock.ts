// The clock is injected everywhere time matters: the real one at run time,
// a virtual one in tests and the simulator. Nothing reads Date.now() directly.

export interface TimerHandle {
  readonly id: number;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (virtual clocks may start anywhere). */
  now(): number;
  /** Calls fn once after ms milliseconds of this clock's time. */
  setTimer(ms: number, fn: () => void): TimerHandle;
  clearTimer(handle: TimerHandle): void;
}
