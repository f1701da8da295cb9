// Measures how long the whole process stalled, by the lateness of a timer on
// the injected clock. The embedded store runs in the same process as the nodes
// it serves: when the process stalls nobody can renew a lease, so a stall is
// not a node's silence. The store does not count stalled time against leases
// (as etcd refreshes every lease when a new leader takes over), and an agent
// on that store does not count it against its own self-fence deadline.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { STALL_CREDIT_MIN_MS, STALL_REPORT_MIN_MS, STALL_SAMPLE_INTERVAL_MS } from './limits.ts';

export type StallListener = (stalledMs: number) => void;

export class StallMeter {
  private timer: TimerHandle | undefined;
  /** When the running sample is due; a later observation means the process stalled meanwhile. */
  private dueAt = 0;
  private totalMs = 0;
  private readonly listeners = new Set<StallListener>();

  constructor(private readonly clock: Clock) {}

  /**
   * Milliseconds of process stall measured so far. A stall still being caught
   * up on (the sample timer has not run yet) is counted first, so a decision
   * taken right after a stall never sees the stalled time as elapsed.
   */
  stalledMs(): number {
    this.observe();
    return this.totalMs;
  }

  /** Clock time less every stall measured: the time a lease has really been left without renewal. */
  now(): number {
    return this.clock.now() - this.stalledMs();
  }

  /** Hears every stall of at least STALL_REPORT_MIN_MS. Returns the unsubscribe function. */
  onStall(listener: StallListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /** Starts sampling (idempotent). */
  start(): void {
    if (this.timer) return;
    this.arm();
  }

  /** Stops sampling; the total stays. */
  stop(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.dueAt = this.clock.now() + STALL_SAMPLE_INTERVAL_MS;
    this.timer = this.clock.setTimer(STALL_SAMPLE_INTERVAL_MS, () => {
      this.observe();
      this.arm();
    });
  }

  private observe(): void {
    if (!this.timer) return;
    const now = this.clock.now();
    const lateMs = now - this.dueAt;
    if (lateMs < STALL_CREDIT_MIN_MS) return;
    this.totalMs += lateMs;
    this.dueAt = now; // counted up to now; the sample, still due, measures from here
    if (lateMs >= STALL_REPORT_MIN_MS) for (const l of this.listeners) l(lateMs);
  }
}
