// The watchdog's decisions, apart from its process plumbing so they can be
// tested on a virtual clock: when to fire and what firing does. The agent
// pets it with the time its lease is known to hold for; if the agent goes
// silent past that (frozen, SIGSTOP) or its pipe closes (it exited or was
// killed), the watchdog kills every process group the agent's resources
// started, then exits — so a resource never outlives its agent's lease
// (Pacemaker's sbd and Patroni's watchdog play the same part).
import type { Clock, TimerHandle } from '../model/clock.ts';
import type { WatchdogCommand, WatchdogReport } from './watchdog-protocol.ts';

export interface WatchdogActions {
  /** Kills the given process groups and any other process carrying the agent's mark; returns the groups killed. */
  killAll(pgids: readonly number[]): number[];
  report(report: WatchdogReport): void;
  log(line: string): void;
  exit(): void;
}

export class WatchdogCore {
  private readonly guarded = new Map<number, string>();
  private deadline: TimerHandle | undefined;
  private fired = false;
  /** The membership lease of the last pet: the kill confirmation names it. */
  private leaseId: string | undefined;
  /** Whether the agent cannot start anything after this firing (it is gone, or stopping). */
  private agentDone = false;

  constructor(
    private readonly clock: Clock,
    private readonly actions: WatchdogActions,
  ) {}

  get hasFired(): boolean {
    return this.fired;
  }

  /**
   * The lease a kill may be confirmed for in the store: the lease of the last
   * pet, once the watchdog fired because the agent is gone or asked it to
   * (stopping). Not after a missed deadline: the agent may be only starved or
   * frozen, and could resume and start a resource under that lease again.
   */
  get confirmableLease(): string | undefined {
    return this.fired && this.agentDone ? this.leaseId : undefined;
  }

  /** The process groups it would kill now. */
  guardedGroups(): number[] {
    return [...this.guarded.keys()];
  }

  onCommand(command: WatchdogCommand): void {
    if (this.fired) return;
    switch (command.type) {
      case 'pet':
        if (command.lease !== undefined) this.leaseId = command.lease;
        this.arm(command.fireInMs);
        return;
      case 'guard':
        this.guarded.set(command.pgid, command.label);
        return;
      case 'unguard':
        this.guarded.delete(command.pgid);
        return;
      case 'fire':
        this.agentDone = true;
        this.fire(`the agent asked: ${command.reason}`);
        return;
    }
  }

  /** The agent's end of the pipe closed: it exited or was killed. */
  onAgentGone(): void {
    if (!this.fired) this.agentDone = true;
    this.fire('the agent is gone (its pipe closed: it exited or was killed)');
  }

  private arm(fireInMs: number): void {
    if (this.deadline) this.clock.clearTimer(this.deadline);
    this.deadline = undefined;
    if (fireInMs <= 0) {
      this.fire('the agent petted with a deadline already past');
      return;
    }
    this.deadline = this.clock.setTimer(fireInMs, () => {
      this.deadline = undefined;
      this.fire(`the agent was silent for ${Math.round(fireInMs)} ms: its lease may expire before it can stop its resources`);
    });
  }

  private fire(reason: string): void {
    if (this.fired) return;
    this.fired = true;
    if (this.deadline) this.clock.clearTimer(this.deadline);
    this.deadline = undefined;
    const wanted = this.guardedGroups();
    const killed = this.actions.killAll(wanted);
    const labels = killed.map((pgid) => `${pgid}${this.guarded.has(pgid) ? ` (${this.guarded.get(pgid)})` : ''}`);
    this.actions.log(`fired: ${reason}; killed process groups: ${labels.length > 0 ? labels.join(', ') : 'none'}`);
    this.actions.report({ type: 'fired', reason, killedGroups: killed });
    this.guarded.clear();
    this.actions.exit();
  }
}
