// The simulator's invariant checkers (DESIGN.md "Invariants" 1-5, plus state
// sequence numbers and legal lifecycle edges; invariant 6 is write-ledger.ts). Pure functions over what the
// simulator observes: the running agents' RCM states, the transitions they
// emit, the operations and moves in the store. Each returns what violates the
// invariant, naming the object, or nothing.
import type { ResourceState } from '../model/objects.ts';
import { isLegalTransition, unboundedWaits, type RcmEffect, type RcmState } from '../rcm/index.ts';
import { providersOf, type DependencyExpr } from '../model/dependency.ts';

export const invariantNames = [
  'no-unbounded-wait',
  'moves-end',
  'open-never-wedges',
  'one-owner',
  'persistent-state',
  'nothing-lost',
  'state-seq-increases',
  'legal-transition',
  'no-crash',
] as const;
export type InvariantName = (typeof invariantNames)[number];

export interface Finding {
  readonly invariant: InvariantName;
  readonly detail: string;
}

/** A running node as the checkers see it. */
export interface NodeObservation {
  readonly node: string;
  readonly rcm: RcmState;
}

/** Invariant 3: a resource is never left opening with nothing in flight, nor wanted online while its open has failed. */
export function checkOpenNeverWedges(nodes: readonly NodeObservation[]): Finding | undefined {
  for (const { node, rcm } of nodes) {
    for (const r of rcm.resources.values()) {
      if (r.state === 'OpenCallIssued' && r.call === undefined) {
        return { invariant: 'open-never-wedges', detail: `resource ${r.name} on ${node} is OpenCallIssued with no open call in flight` };
      }
      if (r.state === 'OpenCallFailed' && r.want === 'online' && r.call === undefined) {
        return { invariant: 'open-never-wedges', detail: `resource ${r.name} on ${node} is wanted online but stays OpenCallFailed with nothing in flight` };
      }
    }
  }
  return undefined;
}

/** Invariant 1 inside each RCM: every transitional state, move and request has an armed deadline. */
export function checkBoundedWaits(nodes: readonly NodeObservation[]): Finding | undefined {
  for (const { node, rcm } of nodes) {
    const waits = unboundedWaits(rcm);
    if (waits.length > 0) return { invariant: 'no-unbounded-wait', detail: `on ${node}: ${waits.join('; ')}` };
  }
  return undefined;
}

/** The checks that must hold at every instant, most specific first; one owner is checked on what actually runs. */
export function checkInstant(nodes: readonly NodeObservation[], running: { checkOneOwner(): Finding | undefined }): Finding | undefined {
  return checkOpenNeverWedges(nodes) ?? running.checkOneOwner() ?? checkBoundedWaits(nodes);
}

const transitionLine = /^TransitionToState\((.+)\) (\w+)-->(\w+)\.$/;

/**
 * Every transition one RCM incarnation emits is a legal edge, its logged line
 * too, and each resource's state sequence number only increases.
 */
export class TransitionChecker {
  private readonly lastSeq = new Map<string, number>();
  count = 0;

  /** incarnation: a name for one life of one node's RCM (sequence numbers restart with a new RCM). */
  observe(incarnation: string, effects: readonly RcmEffect[]): Finding | undefined {
    for (const e of effects) {
      if (e.type === 'transition') {
        this.count++;
        if (!isLegalTransition(e.from, e.to)) {
          return { invariant: 'legal-transition', detail: `${incarnation}: resource ${e.resource} went ${e.from}-->${e.to}, not an edge of the lifecycle` };
        }
        const key = `${incarnation}\0${e.resource}`;
        const last = this.lastSeq.get(key) ?? 0;
        if (e.seq <= last) {
          return { invariant: 'state-seq-increases', detail: `${incarnation}: resource ${e.resource} reported state sequence ${e.seq} after ${last}` };
        }
        this.lastSeq.set(key, e.seq);
      } else if (e.type === 'log') {
        const m = transitionLine.exec(e.message.text);
        if (m && !isLegalTransition(m[2] as ResourceState, m[3] as ResourceState)) {
          return { invariant: 'legal-transition', detail: `${incarnation}: logged ${e.message.text}, not an edge of the lifecycle` };
        }
      }
    }
    return undefined;
  }
}

/** An operation the simulated operator submitted, with the time by which it must have ended. */
export interface TrackedOperation {
  readonly id: string;
  readonly what: string;
  readonly submittedAt: number;
  readonly deadlineAt: number;
}

/** Invariant 1 for API calls: every accepted operation has ended by its deadline. */
export function checkOperationsEnded(now: number, ops: readonly TrackedOperation[], isDone: (id: string) => boolean): Finding | undefined {
  for (const op of ops) {
    if (now > op.deadlineAt && !isDone(op.id)) {
      return {
        invariant: 'no-unbounded-wait',
        detail: `operation ${op.id} (${op.what}, submitted at +${op.submittedAt} ms) has not ended by its deadline +${op.deadlineAt} ms`,
      };
    }
  }
  return undefined;
}

export interface MoveObservation {
  readonly group: string;
  readonly moveId: string;
  readonly from: string;
  readonly to: string;
  readonly deadlineAt: number;
  readonly ended: boolean;
}

/** Invariant 2: every move in the store ends by its deadline (plus graceMs for the coordinator to end it). */
export function checkMovesEnd(now: number, moves: readonly MoveObservation[], graceMs: number): Finding | undefined {
  for (const m of moves) {
    if (!m.ended && now > m.deadlineAt + graceMs) {
      return { invariant: 'moves-end', detail: `move ${m.moveId} of group ${m.group} from ${m.from} to ${m.to} is still in progress ${now - m.deadlineAt} ms after its deadline` };
    }
  }
  return undefined;
}

/** The configuration the persistent-state check reads. */
export interface PersistentConfig {
  readonly resources: readonly { readonly name: string; readonly group: string; readonly persistentState: 0 | 1; readonly dependencies: DependencyExpr | undefined }[];
}

/**
 * Resources that must be Online once the cluster has settled: PersistentState 1
 * ones and, transitively, their providers (a dependent coming online brings its
 * providers online whatever their persistent state).
 */
export function expectedOnline(config: PersistentConfig): Set<string> {
  const byName = new Map(config.resources.map((r) => [r.name, r]));
  const out = new Set<string>();
  const queue = config.resources.filter((r) => r.persistentState === 1).map((r) => r.name);
  while (queue.length > 0) {
    const n = queue.pop()!;
    if (out.has(n) || !byName.has(n)) continue;
    out.add(n);
    queue.push(...providersOf(byName.get(n)!.dependencies));
  }
  return out;
}
