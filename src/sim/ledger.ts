// What actually runs where in the simulated cluster: every online, offline and
// terminate call that reaches a simulated resource, and every kill of the
// simulated watchdog, as a ledger of running processes. The one-owner
// invariant is checked against this ledger, not against the RCM's own
// bookkeeping: a shell that reports a resource offline without stopping it, or
// a watchdog that does not kill a dead node's processes before its lease can
// expire, shows up here as a group running on two nodes.
//
// A process belongs to one life (incarnation) of a node. When that life ends
// in a crash, its calls no longer change anything (a dead agent cleans up
// nothing): its processes run on until the simulated watchdog kills them.
import type { Clock, TimerHandle } from '../model/clock.ts';
import type { Finding } from './invariants.ts';

/** One life of one node's agent, as the ledger sees it. */
export interface Incarnation {
  readonly node: string;
  readonly name: string;
  /** False once the node crashed: its calls no longer reach anything. */
  alive: boolean;
}

interface Process {
  readonly incarnation: Incarnation;
}

export class ResourceLedger {
  /** resource -> processes running it, by incarnation name. */
  private readonly running = new Map<string, Map<string, Process>>();

  constructor(private readonly groupOf: (resource: string) => string | undefined) {}

  /** An online call reached the resource: it runs from now on (a failed online leaves nothing running). */
  started(i: Incarnation, resource: string): void {
    if (!i.alive) return;
    let m = this.running.get(resource);
    if (!m) this.running.set(resource, (m = new Map()));
    if (!m.has(i.name)) m.set(i.name, { incarnation: i });
  }

  /** An offline that succeeded, a terminate, or an online that failed: the resource no longer runs there. */
  stopped(i: Incarnation, resource: string): void {
    if (!i.alive) return;
    this.remove(resource, i.name);
  }

  /** The watchdog killed every process of that life of the node. */
  killAll(i: Incarnation): string[] {
    const killed: string[] = [];
    for (const resource of [...this.running.keys()]) if (this.remove(resource, i.name)) killed.push(resource);
    return killed;
  }

  /** Resources running in that life of the node. */
  runningIn(i: Incarnation): string[] {
    return [...this.running].filter(([, m]) => m.has(i.name)).map(([r]) => r);
  }

  /** Invariant 4 on what runs: no group has resources running on two nodes at once. */
  checkOneOwner(): Finding | undefined {
    const byGroup = new Map<string, { resource: string; process: Process }>();
    const where = (p: Process): string => `${p.incarnation.name}${p.incarnation.alive ? '' : ' (crashed, not killed by its watchdog yet)'}`;
    for (const [resource, m] of this.running) {
      const group = this.groupOf(resource);
      if (group === undefined) continue;
      for (const p of m.values()) {
        const other = byGroup.get(group);
        if (other && other.process.incarnation.node !== p.incarnation.node) {
          return {
            invariant: 'one-owner',
            detail: `group ${group} runs on two nodes: ${other.resource} on ${where(other.process)} and ${resource} on ${where(p)}`,
          };
        }
        if (!other) byGroup.set(group, { resource, process: p });
      }
    }
    return undefined;
  }

  private remove(resource: string, incarnation: string): boolean {
    const m = this.running.get(resource);
    if (!m?.delete(incarnation)) return false;
    if (m.size === 0) this.running.delete(resource);
    return true;
  }
}

/**
 * A node's simulated watchdog: the agent pets it with the time its lease is
 * known to hold for; if the agent goes silent past that, or dies, it kills the
 * node's processes (ledger.killAll). A dead agent's processes die after a delay
 * the simulation picks, never later than the last pet allowed.
 */
export class SimWatchdog {
  private fireAt: number | undefined;
  private timer: TimerHandle | undefined;
  private gone = false;

  constructor(
    private readonly clock: Clock,
    private readonly incarnation: Incarnation,
    private readonly kill: (i: Incarnation, why: string) => void,
  ) {}

  pet(fireInMs: number): void {
    if (this.gone) return; // a reply to a renewal sent before the agent died: nobody is left to pet
    this.fireAt = this.clock.now() + fireInMs;
    this.arm(fireInMs, `the agent was silent for ${fireInMs} ms`);
  }

  /** The agent died: at the latest by the last pet's deadline, at pickDelayMs(latest) after now. */
  agentGone(pickDelayMs: (latestMs: number) => number): void {
    this.gone = true;
    const latestMs = Math.max(0, (this.fireAt ?? this.clock.now()) - this.clock.now());
    this.arm(Math.min(latestMs, pickDelayMs(latestMs)), 'the agent is gone');
  }

  /** A graceful stop: nothing left to guard. */
  disarm(): void {
    if (this.timer) this.clock.clearTimer(this.timer);
    this.timer = undefined;
  }

  private arm(ms: number, why: string): void {
    this.disarm();
    this.timer = this.clock.setTimer(Math.max(0, ms), () => {
      this.timer = undefined;
      this.kill(this.incarnation, why);
    });
  }
}
