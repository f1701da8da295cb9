// A tiny deterministic shell for the RCM's scenario tests: one RCM per node,
// one event queue in virtual time. It executes call effects by scripted
// behaviour, fires timers at their times, carries transferOwnership to
// releaseGroup/acquireGroup, and checks on every step that the RCM is pure,
// uses only legal transitions, never waits without a deadline, and never has
// a group up on two nodes.
import {
  defaultsOf,
  errorByCode,
  groupCommonProperties,
  resourceCommonProperties,
  type ClusterErrorValue,
  type ErrorName,
  type GroupCommon,
  type GroupConfig,
  type NodeConfig,
  type ResourceCommon,
  type ResourceConfig,
  type ResourceTypeDescriptor,
} from '../../src/model/index.ts';
import {
  createRcm,
  groupState,
  isGroupMoving,
  isGroupOwned,
  legalTransitions,
  resourceStatus,
  step,
  unboundedWaits,
  type ClusterSnapshot,
  type EntryPoint,
  type RcmEffect,
  type RcmInput,
  type RcmLimits,
  type RcmState,
} from '../../src/rcm/index.ts';

// ---- scenario file shape ----

export interface BehaviourRule {
  node?: string;
  /** The rule applies to calls made at or after this time... */
  from?: number;
  /** ...and before this time. */
  until?: number;
  /** Applies to the first N calls of this entry point on the node. */
  first?: number;
  /** Fail with this WSFC code (true: fail without an error value). */
  fail?: number | true;
  /** Never answer. */
  hang?: boolean;
  /** Report 'pending' after this many ms (online/offline). */
  pendingMs?: number;
  /** Final result after this many ms (default 0). */
  delayMs?: number;
}

export interface ScenarioResource {
  name: string;
  type?: string;
  dependsOn?: string;
  properties?: Partial<ResourceCommon>;
}

export interface ScenarioGroup {
  name: string;
  owner?: string;
  properties?: Partial<GroupCommon>;
  resources: ScenarioResource[];
}

export type TimelineEntry = {
  at: number;
  node?: string;
  request?: { id: string; [k: string]: unknown };
  /** Property changes per resource; every node gets the new full configuration. */
  configure?: Record<string, Partial<ResourceCommon> & { dependsOn?: string }>;
  acquire?: { group: string; reason?: 'start' | 'failover' | 'failback' };
  release?: { group: string };
  /** A raw input (now is added). */
  input?: Record<string, unknown>;
  /** Change scripted behaviour from now on (replaces the resource's rules for that entry point). */
  behaviour?: Record<string, Partial<Record<EntryPoint, BehaviourRule[]>>>;
};

export type EffectSpec = Record<string, unknown> & { on?: string; since?: number; before?: number; count?: number };
export type LogSpec = string | { text: string; on?: string; since?: number; before?: number; count?: number };

export interface Expectation {
  at: number | 'end';
  node?: string;
  states?: Record<string, string>;
  errors?: Record<string, number | null>;
  seq?: Record<string, number>;
  groups?: Record<string, string>;
  moving?: Record<string, boolean>;
  owned?: Record<string, boolean>;
  effects?: EffectSpec[];
  noEffects?: EffectSpec[];
  logs?: LogSpec[];
  noLogs?: LogSpec[];
  /** Log texts that must appear in this order (first occurrences after the previous match). */
  inOrder?: string[];
}

export interface Scenario {
  description: string;
  limits?: Partial<RcmLimits>;
  nodes: string[];
  types?: { name: string; looksAlive?: number; isAlive?: number }[];
  groups: ScenarioGroup[];
  behaviour?: Record<string, Partial<Record<EntryPoint, BehaviourRule[]>>>;
  policy?: { failoverTarget?: string };
  until: number;
  timeline?: TimelineEntry[];
  expect: Expectation[];
}

// ---- running ----

export interface Recorded {
  at: number;
  node: string;
  effect: RcmEffect;
}

interface Event {
  at: number;
  seq: number;
  run: () => void;
}

/** Map-aware JSON for comparing states (purity check) and traces (determinism check). */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (v instanceof Map ? { $map: [...v.entries()] } : v));
}

export class ScenarioRun {
  readonly effects: Recorded[] = [];
  readonly nodes = new Map<string, RcmState>();
  now = 0;
  private readonly queue: Event[] = [];
  private eventSeq = 0;
  private readonly cancelled = new Set<string>();
  private readonly callCounts = new Map<string, number>();
  private readonly behaviour: Record<string, Partial<Record<EntryPoint, BehaviourRule[]>>>;
  private readonly resources: ResourceConfig[];
  private readonly groups: GroupConfig[];
  private readonly nodeConfigs: NodeConfig[];
  private readonly types: ResourceTypeDescriptor[];
  private readonly epochs = new Map<string, number>();
  private readonly moves = new Map<string, Extract<RcmEffect, { type: 'moveStarted' }>>();
  private failoverRequests = 0;
  readonly problems: string[] = [];

  constructor(private readonly sc: Scenario) {
    this.behaviour = structuredClone(sc.behaviour ?? {});
    this.nodeConfigs = sc.nodes.map((name, i) => ({ name, id: i + 1 }));
    this.types = (sc.types ?? [{ name: 'Dummy' }]).map((t) => ({
      name: t.name,
      description: t.name,
      privateProperties: [],
      looksAlivePollIntervalMs: t.looksAlive ?? 5_000,
      isAlivePollIntervalMs: t.isAlive ?? 60_000,
    }));
    const resourceDefaults = defaultsOf(resourceCommonProperties) as unknown as ResourceCommon;
    const groupDefaults = defaultsOf(groupCommonProperties) as unknown as GroupCommon;
    this.groups = sc.groups.map((g) => ({ name: g.name, common: { ...groupDefaults, ...g.properties } }));
    this.resources = sc.groups.flatMap((g) =>
      g.resources.map((r) => ({
        name: r.name,
        type: r.type ?? 'Dummy',
        group: g.name,
        common: { ...resourceDefaults, ...r.properties },
        parameters: {},
        dependencies: r.dependsOn ?? '',
      })),
    );
    for (const n of this.nodeConfigs) this.nodes.set(n.name, createRcm(n, sc.limits ?? {}));
  }

  snapshot(): ClusterSnapshot {
    return { nodes: this.nodeConfigs, groups: this.groups, resources: this.resources, types: this.types };
  }

  at(at: number, run: () => void): void {
    this.queue.push({ at, seq: this.eventSeq++, run });
  }

  /** Feeds one input to one node and executes its effects. */
  feed(node: string, input: RcmInput): void {
    const before = this.nodes.get(node);
    if (!before) throw new Error(`scenario names unknown node ${node}`);
    const frozen = canonical(before);
    const { state, effects } = step(before, input);
    if (canonical(before) !== frozen) this.problem(`${node}: step mutated its input state (input ${input.type})`);
    this.nodes.set(node, state);
    for (const e of effects) this.execute(node, e, before, state);
    for (const w of unboundedWaits(state)) this.problem(`${node}: unbounded wait: ${w}`);
    this.checkOneOwner();
  }

  private problem(text: string): void {
    this.problems.push(`t=${this.now} ${text}`);
  }

  private execute(node: string, e: RcmEffect, before: RcmState, after: RcmState): void {
    this.effects.push({ at: this.now, node, effect: e });
    switch (e.type) {
      case 'transition': {
        if (!legalTransitions[e.from].includes(e.to)) this.problem(`${node}: illegal transition ${e.resource} ${e.from}-->${e.to}`);
        const prevSeq = this.lastSeq.get(`${node}/${e.resource}`) ?? before.resources.get(e.resource)?.seq ?? 0;
        if (e.seq !== prevSeq + 1) this.problem(`${node}: ${e.resource} seq ${e.seq} after ${prevSeq}`);
        this.lastSeq.set(`${node}/${e.resource}`, e.seq);
        void after;
        return;
      }
      case 'setTimer':
        this.at(Math.max(e.at, this.now), () => {
          if (this.cancelled.has(`${node}/${e.timerId}`)) return;
          this.feed(node, { type: 'timer', now: this.now, timerId: e.timerId });
        });
        return;
      case 'cancelTimer':
        this.cancelled.add(`${node}/${e.timerId}`);
        return;
      case 'call':
        return this.scriptCall(node, e);
      case 'moveStarted':
        this.moves.set(e.moveId, e);
        return;
      case 'transferOwnership': {
        const started = this.moves.get(e.moveId);
        const epoch = (this.epochs.get(e.group) ?? 1) + 1;
        this.epochs.set(e.group, epoch);
        this.at(this.now, () => this.feed(e.from, { type: 'releaseGroup', now: this.now, group: e.group }));
        this.at(this.now, () =>
          this.feed(e.to, {
            type: 'acquireGroup',
            now: this.now,
            group: e.group,
            epoch,
            reason: e.reason === 'move' ? 'move' : 'return',
            ...(e.reason === 'move' && started
              ? { move: { moveId: e.moveId, from: e.from, deadlineAt: started.deadlineAt, returnToSourceOnError: started.returnToSourceOnError, kind: started.kind } }
              : {}),
          }),
        );
        return;
      }
      case 'setPersistentState': {
        // As the real shell does: store it; the store's watch gives every node the new configuration.
        const i = this.resources.findIndex((r) => r.name === e.resource);
        if (i >= 0) {
          const r = this.resources[i]!;
          this.resources[i] = { ...r, common: { ...r.common, PersistentState: e.value } };
          this.at(this.now, () => {
            for (const n of this.nodes.keys()) this.feed(n, { type: 'configure', now: this.now, config: this.snapshot() });
          });
        }
        return;
      }
      case 'requestFailover': {
        const target = this.sc.policy?.failoverTarget;
        if (target === undefined) return;
        const requestId = `failover-${++this.failoverRequests}`;
        this.at(this.now, () =>
          this.feed(node, { type: 'request', now: this.now, requestId, op: { op: 'moveGroup', group: e.group, target, kind: 'Failover' } }),
        );
        return;
      }
      default:
        return;
    }
  }
  private readonly lastSeq = new Map<string, number>();

  private scriptCall(node: string, e: Extract<RcmEffect, { type: 'call' }>): void {
    const key = `${node}/${e.resource}/${e.entryPoint}`;
    const n = (this.callCounts.get(key) ?? 0) + 1;
    this.callCounts.set(key, n);
    const rules = this.behaviour[e.resource]?.[e.entryPoint] ?? [];
    const rule = rules.find(
      (r) =>
        (r.node === undefined || r.node === node) &&
        (r.from === undefined || this.now >= r.from) &&
        (r.until === undefined || this.now < r.until) &&
        (r.first === undefined || n <= r.first),
    );
    const deliver = (outcome: 'ok' | 'pending' | 'failed', error?: ClusterErrorValue): void =>
      this.feed(node, { type: 'callResult', now: this.now, resource: e.resource, callId: e.callId, outcome, ...(error ? { error } : {}) });
    if (rule?.pendingMs !== undefined) this.at(this.now + rule.pendingMs, () => deliver('pending'));
    if (rule?.hang) return;
    const at = this.now + (rule?.delayMs ?? 0);
    if (rule?.fail !== undefined) {
      const fail = rule.fail;
      this.at(at, () => deliver('failed', fail === true ? undefined : scriptedError(fail, e.resource, e.entryPoint)));
    } else this.at(at, () => deliver('ok'));
  }

  private checkOneOwner(): void {
    for (const g of this.groups) {
      const up = [...this.nodes].filter(([, st]) =>
        (st.config.groupResources.get(g.name) ?? []).some((r) => {
          const s = st.resources.get(r)?.state;
          return s === 'Online' || s === 'OnlineCallIssued' || s === 'OnlinePending';
        }),
      );
      if (up.length > 1) this.problem(`group ${g.name} is online or pending on ${up.map(([n]) => n).join(' and ')}`);
    }
  }

  private applyTimeline(t: TimelineEntry): void {
    const node = t.node ?? this.sc.nodes[0]!;
    if (t.behaviour) {
      for (const [res, eps] of Object.entries(t.behaviour)) this.behaviour[res] = { ...this.behaviour[res], ...eps };
    }
    if (t.configure) {
      for (const [name, changes] of Object.entries(t.configure)) {
        const i = this.resources.findIndex((r) => r.name === name);
        if (i < 0) throw new Error(`configure names unknown resource ${name}`);
        const { dependsOn, ...common } = changes;
        const r = this.resources[i]!;
        this.resources[i] = { ...r, common: { ...r.common, ...common }, dependencies: dependsOn ?? r.dependencies };
      }
      for (const n of this.nodes.keys()) this.feed(n, { type: 'configure', now: this.now, config: this.snapshot() });
    }
    if (t.acquire) {
      const epoch = (this.epochs.get(t.acquire.group) ?? 0) + 1;
      this.epochs.set(t.acquire.group, epoch);
      this.feed(node, { type: 'acquireGroup', now: this.now, group: t.acquire.group, epoch, reason: t.acquire.reason ?? 'start' });
    }
    if (t.release) this.feed(node, { type: 'releaseGroup', now: this.now, group: t.release.group });
    if (t.request) {
      const { id, ...op } = t.request;
      this.feed(node, { type: 'request', now: this.now, requestId: id, op: op as never });
    }
    if (t.input) this.feed(node, { ...t.input, now: this.now } as RcmInput);
  }

  /** Runs the scenario; calls check(expectation) when time reaches each expectation. */
  run(check: (x: Expectation) => void): void {
    for (const n of this.nodes.keys()) this.at(0, () => this.feed(n, { type: 'configure', now: 0, config: this.snapshot() }));
    for (const g of this.sc.groups) {
      if (g.owner) this.at(0, () => this.applyTimeline({ at: 0, node: g.owner, acquire: { group: g.name } }));
    }
    for (const t of this.sc.timeline ?? []) this.at(t.at, () => this.applyTimeline(t));
    const expectations = [...this.sc.expect].sort((a, b) => timeOf(a, this.sc) - timeOf(b, this.sc));
    let next = 0;
    const eventsMax = 200_000;
    for (let count = 0; ; count++) {
      if (count > eventsMax) throw new Error(`scenario did not settle within ${eventsMax} events`);
      const ev = this.popNext();
      const horizon = ev && ev.at <= this.sc.until ? ev.at : Infinity;
      while (next < expectations.length && timeOf(expectations[next]!, this.sc) < horizon) {
        this.now = Math.max(this.now, Math.min(timeOf(expectations[next]!, this.sc), this.sc.until));
        check(expectations[next++]!);
      }
      if (!ev || ev.at > this.sc.until) break;
      this.now = ev.at;
      ev.run();
    }
  }

  private popNext(): Event | undefined {
    let best = -1;
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i]!;
      const b = this.queue[best];
      if (!b || e.at < b.at || (e.at === b.at && e.seq < b.seq)) best = i;
    }
    if (best < 0) return undefined;
    return this.queue.splice(best, 1)[0];
  }

  // ---- queries for expectations ----

  state(node: string): RcmState {
    const s = this.nodes.get(node);
    if (!s) throw new Error(`unknown node ${node}`);
    return s;
  }
  resourceState(node: string, r: string): string | undefined {
    return resourceStatus(this.state(node), r)?.state;
  }
  lastErrorCode(node: string, r: string): number | null {
    return resourceStatus(this.state(node), r)?.lastError?.code ?? null;
  }
  seqOf(node: string, r: string): number | undefined {
    return resourceStatus(this.state(node), r)?.seq;
  }
  groupStateOf(node: string, g: string): string | undefined {
    return groupState(this.state(node), g);
  }
  moving(node: string, g: string): boolean {
    return isGroupMoving(this.state(node), g);
  }
  owned(node: string, g: string): boolean {
    return isGroupOwned(this.state(node), g);
  }
}

function timeOf(x: Expectation, sc: Scenario): number {
  return x.at === 'end' ? sc.until : x.at;
}

function scriptedError(code: number, resource: string, entryPoint: string): ClusterErrorValue {
  const info = errorByCode(code);
  const name: ErrorName = info?.name ?? 'ERROR_RESOURCE_FAILED';
  return { code, name, message: `scripted ${entryPoint} failure of ${resource} (${info?.message ?? code})` };
}

// ---- matching ----

const metaKeys = new Set(['on', 'since', 'before', 'count']);

/** Partial deep match: every key of `expected` must match; strings starting with "~" match as substrings. */
export function matches(actual: unknown, expected: unknown): boolean {
  if (typeof expected === 'string' && expected.startsWith('~')) return typeof actual === 'string' && actual.includes(expected.slice(1));
  if (expected === null || typeof expected !== 'object') return actual === expected;
  if (Array.isArray(expected)) {
    return Array.isArray(actual) && actual.length === expected.length && expected.every((e, i) => matches(actual[i], e));
  }
  if (actual === null || typeof actual !== 'object') return false;
  return Object.entries(expected).every(([k, v]) => matches((actual as Record<string, unknown>)[k], v));
}

export function findEffects(run: ScenarioRun, spec: EffectSpec): Recorded[] {
  const pattern = Object.fromEntries(Object.entries(spec).filter(([k]) => !metaKeys.has(k)));
  return run.effects.filter(
    (r) =>
      (spec.on === undefined || r.node === spec.on) &&
      (spec.since === undefined || r.at >= spec.since) &&
      (spec.before === undefined || r.at < spec.before) &&
      matches(r.effect, pattern),
  );
}

export function findLogs(run: ScenarioRun, spec: LogSpec): Recorded[] {
  const s = typeof spec === 'string' ? { text: spec } : spec;
  return run.effects.filter(
    (r) =>
      r.effect.type === 'log' &&
      r.effect.message.text.includes(s.text) &&
      (s.on === undefined || r.node === s.on) &&
      (s.since === undefined || r.at >= s.since) &&
      (s.before === undefined || r.at < s.before),
  );
}

export function logLines(run: ScenarioRun, last = 60): string {
  return run.effects
    .filter((r) => r.effect.type === 'log')
    .slice(-last)
    .map((r) => (r.effect.type === 'log' ? `  ${r.at} ${r.node} [${r.effect.message.component}] ${r.effect.message.text}` : ''))
    .join('\n');
}
