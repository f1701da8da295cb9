import type { Clock, TimerHandle } from '../model/clock.ts';

interface Pending {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

/**
 * A clock that moves only when told to. Timers fire in time order (ties in the
 * order they were set), so runs are deterministic.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private pending: Pending[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }
  now(): number {
    return this.current;
  }
  setTimer(ms: number, fn: () => void): TimerHandle {
    const id = this.nextId++;
    this.pending.push({ id, at: this.current + Math.max(0, ms), fn });
    return { id };
  }
  clearTimer(handle: TimerHandle): void {
    this.pending = this.pending.filter((p) => p.id !== handle.id);
  }
  /** Time of the next timer, or undefined if none is set. */
  nextTimerAt(): number | undefined {
    let min: number | undefined;
    for (const p of this.pending) if (min === undefined || p.at < min) min = p.at;
    return min;
  }
  pendingTimers(): number {
    return this.pending.length;
  }
  /** Fires the earliest due timer at or before `until`; returns false if none. */
  fireNext(until: number): boolean {
    let best: Pending | undefined;
    for (const p of this.pending) if (p.at <= until && (!best || p.at < best.at || (p.at === best.at && p.id < best.id))) best = p;
    if (!best) return false;
    this.pending = this.pending.filter((p) => p !== best);
    this.current = Math.max(this.current, best.at);
    best.fn();
    return true;
  }
  /** Moves time forward by ms, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const until = this.current + ms;
    while (this.fireNext(until)) {
      /* fire in order */
    }
    this.current = until;
  }
  /**
   * The whole process stalls for ms (a GC pause, a starved CPU, SIGSTOP): time
   * passes and no timer fires. Timers that fell due meanwhile fire late, at the
   * next advance.
   */
  stall(ms: number): void {
    this.current += ms;
  }
  /**
   * Like advance, but lets promise callbacks run between timers, so async code
   * driven by this clock (shells, stores) progresses as it would in real time.
   */
  async advanceAsync(ms: number): Promise<void> {
    const until = this.current + ms;
    await settle();
    while (this.fireNext(until)) await settle();
    this.current = until;
    await settle();
  }
}

/** Lets every queued promise callback and immediate run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
