// One step's working copy of the RCM state. The previous state is never
// written: each map is a persistent map edited as a transient copy (O(1) to
// take, structure shared with the previous state), and a record is copied the
// first time the step writes it (w*), so a step costs what it touches, not the
// cluster's size.
import { assert, messages, type LogMessage, type ResourceState } from '../model/index.ts';
import type {
  ConfigIndex,
  EntryPoint,
  CallPurpose,
  GroupRecord,
  OperationRecord,
  RcmEffect,
  RcmState,
  ResourceRecord,
  ResourceTimerKind,
  StepResult,
  TimerRecord,
  TimerTarget,
} from './types.ts';
import { isLegalTransition } from './transitions.ts';
import { PersistentMap, type TransientMap } from './persistent-map.ts';

export class Step {
  readonly now: number;
  readonly effects: RcmEffect[] = [];
  /** Groups whose resources must be driven before the step ends. */
  readonly dirty = new Set<string>();
  readonly node: RcmState['node'];
  readonly limits: RcmState['limits'];
  config: ConfigIndex;
  private readonly resources: TransientMap<string, Readonly<ResourceRecord>>;
  private readonly groups: TransientMap<string, Readonly<GroupRecord>>;
  private readonly operations: TransientMap<string, Readonly<OperationRecord>>;
  private readonly operationsByGroup: TransientMap<string, readonly string[]>;
  private readonly timers: TransientMap<string, TimerRecord>;
  private readonly copiedResources = new Set<string>();
  private readonly copiedGroups = new Set<string>();
  private readonly copiedOperations = new Set<string>();
  private nextId: number;

  constructor(state: RcmState, now: number) {
    this.now = now;
    this.node = state.node;
    this.limits = state.limits;
    this.config = state.config;
    this.resources = PersistentMap.from(state.resources).edit();
    this.groups = PersistentMap.from(state.groups).edit();
    this.operations = PersistentMap.from(state.operations).edit();
    this.operationsByGroup = PersistentMap.from(state.operationsByGroup).edit();
    this.timers = PersistentMap.from(state.timers).edit();
    this.nextId = state.nextId;
  }

  finish(): StepResult {
    return {
      state: {
        node: this.node,
        limits: this.limits,
        config: this.config,
        resources: this.resources.seal(),
        groups: this.groups.seal(),
        operations: this.operations.seal(),
        operationsByGroup: this.operationsByGroup.seal(),
        timers: this.timers.seal(),
        nextId: this.nextId,
      },
      effects: this.effects,
    };
  }

  // ---- records ----

  resource(name: string): Readonly<ResourceRecord> | undefined {
    return this.resources.get(name);
  }
  /** The resource's record, writable for this step. */
  wr(name: string): ResourceRecord {
    const r = this.resources.get(name);
    assert(r, `resource record ${name} exists`);
    if (this.copiedResources.has(name)) return r as ResourceRecord;
    const copy: ResourceRecord = { ...r, restarts: [...r.restarts], timers: { ...r.timers } };
    this.resources.set(name, copy);
    this.copiedResources.add(name);
    return copy;
  }
  addResource(r: ResourceRecord): void {
    this.resources.set(r.name, r);
    this.copiedResources.add(r.name);
  }
  deleteResource(name: string): void {
    this.resources.delete(name);
  }
  resourceNames(): IterableIterator<string> {
    return this.resources.keys();
  }

  group(name: string): Readonly<GroupRecord> | undefined {
    return this.groups.get(name);
  }
  wg(name: string): GroupRecord {
    const g = this.groups.get(name);
    assert(g, `group record ${name} exists`);
    if (this.copiedGroups.has(name)) return g as GroupRecord;
    const copy: GroupRecord = { ...g, move: g.move && { ...g.move } };
    this.groups.set(name, copy);
    this.copiedGroups.add(name);
    return copy;
  }
  addGroup(g: GroupRecord): void {
    this.groups.set(g.name, g);
    this.copiedGroups.add(g.name);
  }
  deleteGroup(name: string): void {
    this.groups.delete(name);
  }
  groupNames(): IterableIterator<string> {
    return this.groups.keys();
  }

  operation(id: string): Readonly<OperationRecord> | undefined {
    return this.operations.get(id);
  }
  wop(id: string): OperationRecord {
    const o = this.operations.get(id);
    assert(o, `operation ${id} exists`);
    if (this.copiedOperations.has(id)) return o as OperationRecord;
    const copy: OperationRecord = { ...o };
    this.operations.set(id, copy);
    this.copiedOperations.add(id);
    return copy;
  }
  addOperation(o: OperationRecord): void {
    const replaced = this.operations.get(o.requestId);
    if (replaced) this.unindexOperation(replaced);
    this.operations.set(o.requestId, o);
    this.copiedOperations.add(o.requestId);
    this.operationsByGroup.set(o.group, [...(this.operationsByGroup.get(o.group) ?? []), o.requestId]);
  }
  deleteOperation(id: string): void {
    const o = this.operations.get(id);
    if (o) this.unindexOperation(o);
    this.operations.delete(id);
  }
  operationsOf(group: string): Readonly<OperationRecord>[] {
    return (this.operationsByGroup.get(group) ?? []).flatMap((id) => this.operations.get(id) ?? []);
  }
  private unindexOperation(o: Readonly<OperationRecord>): void {
    const rest = (this.operationsByGroup.get(o.group) ?? []).filter((id) => id !== o.requestId);
    if (rest.length > 0) this.operationsByGroup.set(o.group, rest);
    else this.operationsByGroup.delete(o.group);
  }

  // ---- effects ----

  emit(e: RcmEffect): void {
    this.effects.push(e);
  }
  log(m: LogMessage): void {
    this.effects.push({ type: 'log', message: m });
  }
  newId(kind: string): string {
    return `${this.node.name}/${kind}${this.nextId++}`;
  }

  // ---- timers ----

  timer(id: string): TimerRecord | undefined {
    return this.timers.get(id);
  }
  /** Arms a timer at an absolute time; returns its id. */
  armTimer(at: number, target: TimerTarget): string {
    const timerId = this.newId('t');
    this.timers.set(timerId, { at, target });
    this.emit({ type: 'setTimer', timerId, at });
    return timerId;
  }
  cancelTimer(id: string | undefined): void {
    if (id === undefined || !this.timers.has(id)) return;
    this.timers.delete(id);
    this.emit({ type: 'cancelTimer', timerId: id });
  }
  /** A timer fired: forget it (no cancel effect, the shell already dropped it). */
  consumeTimer(id: string): TimerRecord | undefined {
    const t = this.timers.get(id);
    this.timers.delete(id);
    return t;
  }

  armResourceTimer(r: ResourceRecord, kind: ResourceTimerKind, at: number): void {
    this.cancelTimer(r.timers[kind]);
    r.timers[kind] = this.armTimer(at, { kind, resource: r.name });
  }
  cancelResourceTimer(r: ResourceRecord, kind: ResourceTimerKind): void {
    this.cancelTimer(r.timers[kind]);
    delete r.timers[kind];
  }

  // ---- transitions and calls ----

  /**
   * Moves a resource to a new state: bumps its sequence number, emits the
   * transition and its log line, and keeps the timers that belong to states
   * (waiting deadline, health polls) in step with the state.
   */
  transition(r: ResourceRecord, to: ResourceState): void {
    const from = r.state;
    assert(isLegalTransition(from, to), `legal transition ${r.name}: ${from} -> ${to}`);
    r.state = to;
    r.seq++;
    r.stateSince = this.now;
    this.emit({ type: 'transition', resource: r.name, group: r.group, from, to, seq: r.seq });
    this.log(messages.transition(r.name, from, to));
    if (to !== 'WaitingToComeOnline' && to !== 'WaitingToGoOffline') this.cancelResourceTimer(r, 'wait');
    if (from === 'Online') {
      this.cancelResourceTimer(r, 'looksAlive');
      this.cancelResourceTimer(r, 'isAlive');
    }
    if (to === 'Failed' || to === 'Offline' || to === 'Online') this.dirty.add(r.group);
  }

  /** Issues an entry-point call; a call already in flight (a health check) is superseded and its result will be ignored. */
  call(r: ResourceRecord, entryPoint: EntryPoint, purpose: CallPurpose, deadlineMs: number): void {
    this.dropCall(r);
    const callId = this.newId('c');
    const deadlineAt = this.now + deadlineMs;
    const timerId = this.armTimer(deadlineAt, { kind: 'call', resource: r.name, callId });
    r.call = { callId, entryPoint, purpose, issuedAt: this.now, deadlineAt, timerId };
    this.emit({ type: 'call', resource: r.name, entryPoint, callId, deadlineMs, deadlineAt });
  }

  /** Forgets the call in flight: its result, when it comes, carries a stale callId. */
  dropCall(r: ResourceRecord): void {
    if (!r.call) return;
    this.cancelTimer(r.call.timerId);
    r.call = undefined;
  }
}
