// The deterministic simulator: the real node agents (RCM, resource host,
// coordinator) on the real embedded store (on a simulated disk, so the store
// can crash and lose what it had not synced), all driven by one virtual
// clock, with faults and operator actions drawn from one seed.
//
// A run builds a cluster from the seed (nodes, groups, resources with
// dependencies, entry-point delays), then runs a safety phase: each step may
// inject a fault or an operator action, lets tickMs of virtual time pass, and
// checks the invariants — the instant ones (one owner, bounded waits, open
// never wedges) after every timer that fires, the store ones (operations and
// moves end by their deadlines) after every step, every transition as it is
// emitted, and nothing lost (every acknowledged store write) after every
// store crash. Then a liveness phase heals every fault and requires the
// cluster to reach its persistent state within livenessBoundMs; last, the
// store loses power once more and every write it acknowledged is checked.
//
// Determinism: time is virtual, the store's disk is in memory, async work is drained
// between timers with setImmediate (nothing else is pending in the process),
// and every choice comes from the seeded Prng. Nothing reads the wall clock.
import { join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { VirtualClock } from '../clock/virtual.ts';
import { ClusterError, isClusterError } from '../model/errors.ts';
import { parseDependencies, providersOf } from '../model/dependency.ts';
import type { NodeConfig } from '../model/objects.ts';
import { step as realStep, type RcmInput, type RcmState, type StepResult } from '../rcm/index.ts';
import { StoreError } from '../store/store.ts';
import { ClusterDatabase } from '../database/registry.ts';
import { ClusterConfigStore } from '../database/config.ts';
import { ClusterLogWriter } from '../log/writer.ts';
import { ResourceTypeRegistry } from '../types/resource-type.ts';
import { NodeAgent } from '../node/agent.ts';
import { keys } from '../node/keys.ts';
import { decodeMove } from '../node/records.ts';
import { readRuntimeView } from '../node/view.ts';
import { createInProcessApi } from '../api/service.ts';
import type { ClusterApi, OperationView } from '../api/types.ts';
import { Prng } from './prng.ts';
import { FaultyStore } from './faulty-store.ts';
import { CrashableStore } from './crashable-store.ts';
import { FaultBoard, SIM_TYPE_NAME, simDescriptor, simResourceType, type CallFaultKind } from './sim-type.ts';
import { describeAction, drawAction, drawMix, isFault, type ActionContext, type ActionMix, type SimAction } from './actions.ts';
import {
  checkInstant,
  checkMovesEnd,
  checkOperationsEnded,
  expectedOnline,
  TransitionChecker,
  type Finding,
  type InvariantName,
  type NodeObservation,
  type TrackedOperation,
} from './invariants.ts';
import { simAgentLimits, simDefaults, simLimits, simRcmLimits, simResourceCommon, simStartMs } from './limits.ts';
import type { Scenario } from './scenario.ts';
import { ResourceLedger, SimWatchdog, type Incarnation } from './ledger.ts';

/** The RCM core the agents run: the real step, or (in the simulator's self-test) a broken one. */
export type RcmCore = (state: RcmState, input: RcmInput) => StepResult;

export interface SimulationOptions {
  readonly seed: number;
  /** Steps of the safety phase. */
  readonly steps: number;
  readonly nodes?: number;
  readonly groups?: number;
  /** Scripted topology and events; random faults only if it says so. */
  readonly scenario?: Scenario;
  /** Write each node's cluster log to <logDir>/<node>_cluster.log (the name failover log diagnose reads the node from). */
  readonly logDir?: string;
  readonly core?: RcmCore;
  /** Events kept for a violation report (default simLimits.eventsKept). */
  readonly eventsKept?: number;
  /** Deliberately broken builds, for the simulator's self-test (the checkers must catch each). */
  readonly breakage?: Breakage;
}

export type Breakage =
  /** Offline reports success without the call reaching the resource: it keeps running. */
  | 'offline-without-stopping'
  /** The watchdog never kills a dead or silent node's processes. */
  | 'watchdog-never-kills'
  /** The store acknowledges writes before its log is synced (no fsync). */
  | 'store-acks-before-sync';

/** end: the final power cut of the store, after which every acknowledged write is checked. */
export type SimPhase = 'setup' | 'safety' | 'liveness' | 'end';

export interface Violation {
  readonly invariant: InvariantName;
  readonly detail: string;
  readonly step: number;
  readonly phase: SimPhase;
  /** Virtual ms since the run started. */
  readonly atMs: number;
}

export interface SimStats {
  readonly stepsRun: number;
  readonly virtualMs: number;
  /** Virtual ms the liveness phase took to reach the persistent state. */
  readonly livenessMs?: number;
  readonly transitions: number;
  readonly actions: Readonly<Record<string, number>>;
  readonly faultHits: Readonly<Record<string, number>>;
  readonly operations: { readonly submitted: number; readonly succeeded: number; readonly failed: number; readonly refused: number };
  /** Store crashes recovered (the final power cut included) and writes the store acknowledged. */
  readonly store: { readonly crashes: number; readonly acknowledgedWrites: number };
}

export interface SimReport {
  readonly seed: number;
  readonly steps: number;
  readonly nodes: number;
  readonly groups: number;
  readonly resources: number;
  readonly scenario?: string;
  readonly mix: ActionMix | 'scripted';
  readonly ok: boolean;
  readonly violation?: Violation;
  /** The last events before the violation (empty when the run passed). */
  readonly lastEvents: readonly string[];
  readonly stats: SimStats;
}

type NodeStatus = 'up' | 'starting' | 'down';

interface SimNode {
  readonly config: NodeConfig;
  readonly store: FaultyStore;
  readonly log: ClusterLogWriter;
  agent: NodeAgent | undefined;
  /** The current life of the node's agent and its watchdog. */
  life: Incarnation | undefined;
  watchdog: SimWatchdog | undefined;
  status: NodeStatus;
  incarnation: number;
  apiOffline: boolean;
  /** Bumped by each partition or slow-store fault, so only the latest one's end heals it. */
  partitionToken: number;
  slowToken: number;
}

/** Lets every promise callback run (all async work in the simulation is promise-driven). */
function drain(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export async function runSimulation(options: SimulationOptions): Promise<SimReport> {
  const sim = new Simulation(options);
  return sim.run();
}

class Simulation {
  private readonly prng: Prng;
  private readonly topologyPrng: Prng;
  private readonly actionPrng: Prng;
  /** Timing choices of faults that are not actions (when a dead node's watchdog kills). */
  private readonly faultPrng: Prng;
  private readonly ledger: ResourceLedger;
  private readonly groupOfResource = new Map<string, string>();
  private readonly clock = new VirtualClock(simStartMs);
  private store!: CrashableStore;
  /** Bumped by each store crash or slow-disk fault, so only the latest one's end heals it. */
  private storeDownToken = 0;
  private slowDiskToken = 0;
  /** The store's recovery while it runs. */
  private recovering: Promise<void> | undefined;
  private config!: ClusterConfigStore;
  private api!: ClusterApi;
  private readonly board = new FaultBoard();
  private readonly nodes = new Map<string, SimNode>();
  private readonly groupNames: string[] = [];
  private readonly resourcesByGroup = new Map<string, string[]>();
  private readonly providers = new Map<string, string[]>();
  private readonly transitions = new TransitionChecker();
  private readonly events: string[] = [];
  private readonly tracked: TrackedOperation[] = [];
  private readonly ended = new Map<string, boolean>();
  private readonly actionCounts = new Map<string, number>();
  private readonly core: RcmCore;
  private readonly mix: ActionMix | undefined;
  private readonly actionRate: number;
  private phase: SimPhase = 'setup';
  private stepNo = 0;
  private violation: Violation | undefined;
  private refused = 0;
  private opCounter = 0;
  private livenessMs: number | undefined;
  private readonly background = new Set<Promise<unknown>>();

  constructor(private readonly options: SimulationOptions) {
    this.prng = new Prng(options.seed);
    this.topologyPrng = this.prng.fork();
    this.actionPrng = this.prng.fork();
    this.faultPrng = this.prng.fork();
    this.ledger = new ResourceLedger((r) => this.groupOfResource.get(r));
    this.core = options.core ?? realStep;
    const random = options.scenario?.randomFaults ?? true;
    this.mix = random ? drawMix(this.actionPrng) : undefined;
    this.actionRate = simLimits.actionRateMin + this.actionPrng.float() * (simLimits.actionRateMax - simLimits.actionRateMin);
  }

  private get elapsedMs(): number {
    return this.clock.now() - simStartMs;
  }

  async run(): Promise<SimReport> {
    const onUnhandled = (reason: unknown): void => {
      this.fail({ invariant: 'no-crash', detail: `unhandled rejection in the cluster's code: ${errorText(reason)}` });
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      await this.setup();
      this.phase = 'safety';
      for (let s = 1; s <= this.options.steps && !this.violation; s++) {
        this.stepNo = s;
        for (const a of this.options.scenario?.events.filter((e) => e.step === s) ?? []) this.apply(a.action);
        if (this.mix && this.actionPrng.chance(this.actionRate)) {
          const kind = this.actionPrng.weighted(this.mix);
          const action = drawAction(this.actionPrng, kind, this.actionContext());
          if (action) this.apply(action);
        }
        await this.tick();
        this.checkExpectations(s);
      }
      if (!this.violation) await this.liveness();
      if (!this.violation) await this.finalPowerCut();
    } finally {
      await this.shutdown();
      process.off('unhandledRejection', onUnhandled);
    }
    return this.report();
  }

  // ---- setup ----

  private async setup(): Promise<void> {
    const scenario = this.options.scenario;
    const nodeCount = scenario?.nodes ?? this.options.nodes ?? simDefaults.nodes;
    this.store = await CrashableStore.open({ clock: this.clock, fsync: this.options.breakage !== 'store-acks-before-sync' });
    this.config = new ClusterConfigStore(new ClusterDatabase(this.store));
    this.api = createInProcessApi({
      store: this.store,
      clock: this.clock,
      newOpId: (kind) => `op-${++this.opCounter}-${kind}`,
      operationEndDeadlineMs: simAgentLimits.operationEndDeadlineMs!,
    });
    await this.config.registerResourceType(simDescriptor);
    const names = Array.from({ length: nodeCount }, (_, i) => `node${i + 1}`);
    for (const [i, name] of names.entries()) {
      const config = await this.config.addNode(name, i + 1);
      const dir = this.options.logDir;
      if (dir) mkdirSync(dir, { recursive: true });
      this.nodes.set(name, {
        config,
        store: new FaultyStore(this.store, this.clock, name),
        log: new ClusterLogWriter({ ...(dir ? { path: join(dir, `${name}_cluster.log`) } : {}), pid: 0x1000 + config.id, clock: this.clock, memoryLines: 0 }),
        agent: undefined,
        life: undefined,
        watchdog: undefined,
        status: 'down',
        incarnation: 0,
        apiOffline: false,
        partitionToken: 0,
        slowToken: 0,
      });
    }
    await this.buildTopology(names);
    const heldAtStart = scenario ? new Set(scenario.apiOfflineAtStart) : new Set(names.filter(() => this.topologyPrng.chance(0.25)));
    for (const name of names) {
      const hold = heldAtStart.has(name);
      this.startNode(name, hold, !scenario);
    }
    await this.settleBackground();
  }

  private async buildTopology(nodeNames: readonly string[]): Promise<void> {
    const p = this.topologyPrng;
    const scenario = this.options.scenario;
    const groups =
      scenario?.groups ??
      Array.from({ length: this.options.groups ?? simDefaults.groups }, (_, gi) => {
        const name = `G${gi + 1}`;
        const count = p.int(simLimits.resourcesPerGroupMin, simLimits.resourcesPerGroupMax);
        const resources = Array.from({ length: count }, (_, ri) => {
          const rname = `${name}-R${ri + 1}`;
          let dependsOn = '';
          if (ri > 0 && p.chance(0.6)) {
            const a = `[${name}-R${p.int(1, ri)}]`;
            const b = `[${name}-R${p.int(1, ri)}]`;
            dependsOn = a === b || p.chance(0.5) ? a : `${a} ${p.chance(0.7) ? 'and' : 'or'} ${b}`;
          }
          return { name: rname, persistentState: (p.chance(0.8) ? 1 : 0) as 0 | 1, restartAction: p.pick([1, 2, 2] as const), dependsOn };
        });
        const preferred = nodeNames.filter(() => p.chance(0.5));
        return { name, preferredOwners: p.chance(0.5) ? [...preferred].reverse() : preferred, resources };
      });
    for (const g of groups) {
      await this.config.createGroup(g.name, { PreferredOwners: [...g.preferredOwners] });
      this.groupNames.push(g.name);
      this.resourcesByGroup.set(g.name, g.resources.map((r) => r.name));
      for (const r of g.resources) this.groupOfResource.set(r.name, g.name);
      for (const r of g.resources) {
        await this.config.createResource({
          name: r.name,
          type: SIM_TYPE_NAME,
          group: g.name,
          common: { ...simResourceCommon, PersistentState: r.persistentState, RestartAction: r.restartAction },
        });
        for (const ep of ['online', 'offline'] as const) this.board.setBaseDelay(r.name, ep, p.chance(0.5) ? p.int(0, simLimits.baseCallDelayMsMax) : 0);
        for (const ep of ['open', 'close', 'terminate', 'looksAlive', 'isAlive'] as const) this.board.setBaseDelay(r.name, ep, p.int(0, simLimits.baseShortCallDelayMsMax));
      }
      for (const r of g.resources) {
        if (!r.dependsOn) continue;
        await this.config.setDependencies(r.name, r.dependsOn);
        this.providers.set(r.name, providersOf(dependencyOf(r.dependsOn)));
      }
    }
  }

  // ---- nodes ----

  private node(name: string): SimNode {
    const n = this.nodes.get(name);
    if (!n) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `node ${JSON.stringify(name)} is not part of the simulation`);
    return n;
  }

  /** Starts a node's agent (a fresh RCM: a new incarnation). */
  private startNode(name: string, holdApiOffline: boolean, autoApiOnline: boolean): void {
    const n = this.node(name);
    n.incarnation++;
    const incarnation = `${name}#${n.incarnation}`;
    const life: Incarnation = { node: name, name: incarnation, alive: true };
    const watchdog = new SimWatchdog(this.clock, life, (i, why) => this.watchdogFired(i, why));
    n.life = life;
    n.watchdog = watchdog;
    const registry = new ResourceTypeRegistry([
      simResourceType(name, this.board, { ledger: this.ledger, life, offlineWithoutStopping: this.options.breakage === 'offline-without-stopping' }),
    ]);
    const agent = new NodeAgent({
      node: n.config,
      store: n.store,
      clock: this.clock,
      types: registry,
      log: n.log,
      limits: simAgentLimits,
      rcmLimits: simRcmLimits,
      holdApiOffline,
      watchdog,
      step: (state, input) => this.observedStep(incarnation, state, input),
    });
    n.agent = agent;
    n.status = 'starting';
    n.apiOffline = holdApiOffline;
    this.event(`${incarnation} starting${holdApiOffline ? ' with its cluster API held offline' : ''}`);
    this.track(
      agent.start().then(
        () => {
          if (n.agent !== agent || !agent.running) return;
          n.status = 'up';
          this.event(`${incarnation} up`);
        },
        (e: unknown) => {
          if (n.agent !== agent) return;
          // A start the store refused (a partition): the node is down; a later restart tries again.
          this.event(`${incarnation} failed to start: ${errorText(e)}`);
          this.crash(name);
        },
      ),
    );
    if (holdApiOffline && autoApiOnline) {
      const afterMs = this.topologyPrng.int(simLimits.apiOfflineMsMin, simLimits.apiOfflineMsMax);
      this.clock.setTimer(afterMs, () => {
        if (n.agent === agent && n.apiOffline) this.apply({ kind: 'apiOnline', node: name });
      });
    }
  }

  /**
   * The node stops without cleaning up: its agent's calls reach nothing any
   * more, and its processes run on until its watchdog kills them, at a moment
   * the simulation picks no later than the watchdog's deadline.
   */
  private crash(name: string): void {
    const n = this.node(name);
    const agent = n.agent;
    if (n.life) n.life.alive = false;
    n.watchdog?.agentGone((latestMs) => this.faultPrng.int(0, latestMs));
    n.status = 'down';
    n.apiOffline = false;
    if (agent) this.track(agent.stop({ graceful: false }));
  }

  private observedStep(incarnation: string, state: RcmState, input: RcmInput): StepResult {
    let result: StepResult;
    try {
      result = this.core(state, input);
    } catch (e) {
      this.fail({ invariant: 'no-crash', detail: `${incarnation}: the RCM threw on input ${input.type}: ${errorText(e)}` });
      return { state, effects: [] };
    }
    const finding = this.transitions.observe(incarnation, result.effects);
    if (finding) this.fail(finding);
    for (const e of result.effects) {
      if (e.type === 'transition') this.event(`${incarnation}: ${e.resource} ${e.from}-->${e.to}`);
    }
    return result;
  }

  /** The store crashes; whatever of each file's unsynced tail a partial writeback kept is the fault generator's choice. */
  private crashStore(): void {
    this.store.crash((unsynced) => (this.faultPrng.chance(0.5) ? 0 : this.faultPrng.int(0, unsynced)));
    this.event(`store crashed: every client sees it unavailable; its disk lost what was not synced`);
  }

  /** The store opens again from its disk; every write it acknowledged must be there. */
  private recoverStore(): Promise<void> {
    const recovery = this.store.recover().then((finding) => {
      if (finding) return this.fail(finding);
      this.event(`store recovered; all ${this.store.ledger.acknowledged} acknowledged writes are there`);
    });
    this.recovering = recovery;
    this.track(recovery);
    const done = (): void => {
      if (this.recovering === recovery) this.recovering = undefined;
    };
    void recovery.then(done, done);
    return recovery;
  }

  /** The end: the store loses power once more, with the cluster running, and every acknowledged write is checked. */
  private async finalPowerCut(): Promise<void> {
    this.phase = 'end';
    this.crashStore();
    await this.withTime(this.recoverStore());
  }

  private watchdogFired(life: Incarnation, why: string): void {
    if (this.options.breakage === 'watchdog-never-kills') return;
    const killed = this.ledger.killAll(life);
    if (killed.length > 0) this.event(`watchdog of ${life.name} killed ${killed.join(', ')}: ${why}`);
  }

  private runningNodes(): NodeObservation[] {
    const out: NodeObservation[] = [];
    for (const [name, n] of this.nodes) if (n.agent?.running) out.push({ node: name, rcm: n.agent.rcmState });
    return out;
  }

  private actionContext(): ActionContext {
    const all = [...this.nodes.keys()];
    return {
      nodes: all,
      runningNodes: all.filter((n) => this.node(n).status !== 'down'),
      downNodes: all.filter((n) => this.node(n).status === 'down'),
      apiOfflineNodes: all.filter((n) => this.node(n).status !== 'down' && this.node(n).apiOffline),
      groups: this.groupNames,
      resourcesOf: (g) => this.resourcesByGroup.get(g) ?? [],
      providersOf: (r) => this.providers.get(r) ?? [],
    };
  }

  // ---- actions ----

  private apply(a: SimAction): void {
    this.actionCounts.set(a.kind, (this.actionCounts.get(a.kind) ?? 0) + 1);
    this.event(`${isFault(a) ? 'fault' : 'operator'}: ${describeAction(a)}`);
    switch (a.kind) {
      case 'crashNode':
        if (this.node(a.node).status !== 'down') this.crash(a.node);
        return;
      case 'restartNode':
        if (this.node(a.node).status === 'down') this.startNode(a.node, a.holdApiOffline ?? false, !this.options.scenario);
        return;
      case 'partition': {
        const n = this.node(a.node);
        const token = ++n.partitionToken;
        n.store.setAvailable(false);
        this.clock.setTimer(a.durationMs, () => {
          if (n.partitionToken !== token) return;
          n.store.setAvailable(true);
          this.event(`healed: ${a.node} reaches the store again`);
        });
        return;
      }
      case 'slowStore': {
        const n = this.node(a.node);
        const token = ++n.slowToken;
        n.store.setDelayMs(a.delayMs);
        this.clock.setTimer(a.durationMs, () => {
          if (n.slowToken !== token) return;
          n.store.setDelayMs(0);
          this.event(`healed: the store is fast again for ${a.node}`);
        });
        return;
      }
      case 'crashStore': {
        if (this.store.status !== 'up') return; // already down: its recovery is on its way
        this.crashStore();
        const token = ++this.storeDownToken;
        this.clock.setTimer(a.durationMs, () => {
          if (this.storeDownToken === token) void this.recoverStore();
        });
        return;
      }
      case 'slowDisk': {
        const token = ++this.slowDiskToken;
        this.store.setSyncDelayMs(a.syncDelayMs);
        this.clock.setTimer(a.durationMs, () => {
          if (this.slowDiskToken !== token) return;
          this.store.setSyncDelayMs(0);
          this.event('healed: the store\'s disk is fast again');
        });
        return;
      }
      case 'callFault':
        this.board.arm(a.node, a.resource, a.entryPoint, { kind: a.fault, calls: a.calls, ...(a.delayMs !== undefined ? { delayMs: a.delayMs } : {}) });
        return;
      case 'apiOnline': {
        const n = this.node(a.node);
        n.apiOffline = false;
        if (n.agent?.running) n.agent.bringApiOnline();
        return;
      }
      case 'moveGroup':
        return this.operator(a, this.api.moveGroup(a.group, { ...(a.to ? { to: a.to } : {}), ...(a.returnToSourceOnError ? { returnToSourceOnError: true } : {}) }));
      case 'onlineGroup':
        return this.operator(a, this.api.onlineGroup(a.group));
      case 'offlineGroup':
        return this.operator(a, this.api.offlineGroup(a.group));
      case 'onlineResource':
        return this.operator(a, this.api.onlineResource(a.resource));
      case 'offlineResource':
        return this.operator(a, this.api.offlineResource(a.resource));
      case 'failResource':
        return this.operator(a, this.api.failResource(a.resource));
      case 'resetResource':
        return this.operator(a, this.api.resetResource(a.resource));
      case 'setPersistentState':
        return this.operator(a, this.api.setResourceProperties(a.resource, { PersistentState: a.value }));
      case 'addDependency':
        return this.operator(a, this.api.addDependency(a.resource, a.provider).then((r) => this.noteDependencies(r.name, r.dependencies)));
      case 'removeDependency':
        return this.operator(a, this.api.removeDependency(a.resource, a.provider).then((r) => this.noteDependencies(r.name, r.dependencies)));
      case 'pauseNode':
        return this.operator(a, this.api.pauseNode(a.node));
      case 'resumeNode':
        return this.operator(a, this.api.resumeNode(a.node));
    }
  }

  private noteDependencies(resource: string, expression: string): void {
    this.providers.set(resource, providersOf(dependencyOf(expression)));
  }

  /** Follows an API call: operations are tracked to their deadline; refusals are expected answers; anything else is a crash. */
  private operator(a: SimAction, call: Promise<unknown>): void {
    const submittedAt = this.elapsedMs;
    this.track(
      call.then(
        (value) => {
          if (!isOperationView(value)) return;
          // Every operation ends by the coordinator's outer deadline at the latest (the RCM's own deadlines are shorter).
          const deadlineAt = submittedAt + simAgentLimits.operationEndDeadlineMs! + simLimits.operationGraceMs;
          this.tracked.push({ id: value.id, what: describeAction(a), submittedAt, deadlineAt });
          if (value.done) this.ended.set(value.id, value.ok === true);
        },
        (e: unknown) => {
          if (isClusterError(e)) {
            this.refused++;
            this.event(`refused: ${describeAction(a)}: ${e.name}(${e.code})`);
          } else if (e instanceof StoreError && e.kind === 'unavailable') {
            // The request met a store crash (nothing else makes the operator's store unavailable).
            this.refused++;
            this.event(`refused: ${describeAction(a)}: the store is unavailable`);
          } else {
            this.fail({ invariant: 'no-crash', detail: `the cluster API threw a non-cluster error on ${describeAction(a)}: ${errorText(e)}` });
          }
        },
      ),
    );
  }

  private track(p: Promise<unknown>): void {
    const guarded = p.catch((e: unknown) => this.fail({ invariant: 'no-crash', detail: `simulator task failed: ${errorText(e)}` }));
    this.background.add(guarded);
    void guarded.finally(() => this.background.delete(guarded));
  }

  private async settleBackground(): Promise<void> {
    for (let i = 0; i < 100 && this.background.size > 0; i++) await drain();
  }

  // ---- time and checks ----

  /** Lets one step of virtual time pass, checking the instant invariants after every timer. */
  private async tick(): Promise<void> {
    const until = this.clock.now() + simLimits.tickMs;
    await drain();
    this.checkInstantNow();
    while (!this.violation && this.clock.fireNext(until)) {
      await drain();
      this.checkInstantNow();
    }
    if (this.clock.now() < until) this.clock.advance(until - this.clock.now());
    if (!this.violation) await this.checkStore();
  }

  /**
   * Awaits p while virtual time runs on (timers fire in order, each followed
   * by the instant checks): the simulator reads the store as a client does,
   * and a read waits for the store's disk, which a slow disk or a recovery's
   * syncs make take virtual time. Undefined if no answer came within
   * storeAnswerBoundMs (a violation).
   */
  private async withTime<T>(p: Promise<T>): Promise<T | undefined> {
    let settled = false;
    const done = (): void => void (settled = true);
    p.then(done, done);
    await drain();
    const giveUpAt = this.clock.now() + simLimits.storeAnswerBoundMs;
    while (!settled) {
      const next = this.clock.nextTimerAt();
      if (next === undefined || next > giveUpAt) {
        this.fail({ invariant: 'no-unbounded-wait', detail: `the store did not answer the simulator's read within ${simLimits.storeAnswerBoundMs} ms` });
        return undefined;
      }
      this.clock.fireNext(next);
      await drain();
      this.checkInstantNow();
    }
    return p;
  }

  private checkInstantNow(): void {
    if (this.violation) return;
    const f = checkInstant(this.runningNodes(), this.ledger);
    if (f) this.fail(f);
  }

  private async checkStore(): Promise<void> {
    // A crashed store answers nobody; once it is back, what clients see is checked again.
    if (this.store.status !== 'up') return;
    const now = this.elapsedMs;
    for (const op of this.tracked) {
      if (this.ended.has(op.id)) continue;
      // What a client sees: the API ends an overdue operation itself, whoever is up.
      const r = await this.withTime(this.api.getOperation(op.id));
      if (!r) return;
      if (r.done) {
        this.ended.set(op.id, r.ok === true);
        this.event(`operation ${op.id} (${op.what}) ended ${r.ok ? 'ok' : `failed: ${r.error?.name ?? '?'}(${r.error?.code ?? '?'})`}`);
      }
    }
    const opFinding = checkOperationsEnded(now, this.tracked, (id) => this.ended.has(id));
    if (opFinding) return this.fail(opFinding);
    const moves = await this.withTime(this.store.range(keys.moves));
    if (!moves) return;
    const observed = moves.kvs.flatMap((kv) => {
      const m = decodeMove(kv.value);
      return m ? [{ group: m.group, moveId: m.moveId, from: m.from, to: m.to, deadlineAt: m.deadlineAt - simStartMs, ended: m.outcome !== undefined }] : [];
    });
    const moveFinding = checkMovesEnd(now, observed, simLimits.moveGraceMs);
    if (moveFinding) this.fail(moveFinding);
  }

  /** A scenario's expectations for this step: a resource's state on its group's owner. */
  private checkExpectations(step: number): void {
    for (const e of this.options.scenario?.expect ?? []) {
      if (e.step !== step || this.violation) continue;
      const holder = this.runningNodes().find((n) => {
        const r = n.rcm.resources.get(e.resource);
        return r !== undefined && n.rcm.groups.get(r.group)?.owned === true;
      });
      const state = holder?.rcm.resources.get(e.resource)?.state;
      if (state !== e.state) {
        this.fail({
          invariant: 'persistent-state',
          detail: `scenario expects ${e.resource} ${e.state} after step ${step}, but it is ${state ?? 'not held by any running owner'}${holder ? ` on ${holder.node}` : ''}`,
        });
      }
    }
  }

  // ---- liveness ----

  /**
   * Heals every fault, then requires (1) the cluster to settle by itself: every
   * node a member again, every move and operation ended, every group held by
   * its owner's RCM; and (2) after a restart of the whole cluster (some nodes
   * with their cluster API held offline for a while, as in the seed), every
   * resource to reach its persistent state. PersistentState applies at a move,
   * failover or restart, not when the property is edited; hence the restart.
   */
  private async liveness(): Promise<void> {
    this.phase = 'liveness';
    this.event('liveness phase: every fault healed');
    this.board.clear();
    this.slowDiskToken++;
    this.store.setSyncDelayMs(0);
    if (this.store.status === 'down') {
      this.storeDownToken++;
      void this.recoverStore();
    }
    if (this.recovering) await this.withTime(this.recovering);
    if (this.violation) return;
    for (const [name, n] of this.nodes) {
      n.partitionToken++;
      n.slowToken++;
      n.store.setAvailable(true);
      n.store.setDelayMs(0);
      if (n.status === 'down') this.startNode(name, false, false);
      else if (n.apiOffline) this.apply({ kind: 'apiOnline', node: name });
    }
    for (const v of (await this.withTime(this.api.listNodes())) ?? []) if (v.state === 'Paused') this.apply({ kind: 'resumeNode', node: v.name });
    const settled = await this.waitFor('settled', () => this.livenessGaps(false));
    if (settled === undefined) return;
    this.event(`settled after ${settled} ms; restarting the whole cluster`);
    for (const [name, n] of this.nodes) if (n.status !== 'down') this.crash(name);
    for (const name of this.nodes.keys()) this.startNode(name, this.topologyPrng.chance(0.3), true);
    const restarted = await this.waitFor('persistent state', () => this.livenessGaps(true));
    if (restarted === undefined) return;
    this.livenessMs = settled + restarted;
    this.event(`persistent state reached ${restarted} ms after the restart`);
  }

  /** Runs steps until gaps() is empty (returns the virtual ms it took) or the bound passes (a violation). */
  private async waitFor(what: string, gaps: () => Promise<Finding[]>): Promise<number | undefined> {
    const start = this.clock.now();
    while (!this.violation) {
      this.stepNo++;
      await this.tick();
      if (this.violation) return undefined;
      const open = await this.withTime(gaps());
      if (open === undefined) return undefined;
      if (open.length === 0) return this.clock.now() - start;
      if (this.clock.now() - start > simLimits.livenessBoundMs) {
        const first = open[0]!;
        this.fail({ invariant: first.invariant, detail: `not ${what} ${simLimits.livenessBoundMs} ms after every fault was healed: ${first.detail}` });
      }
    }
    return undefined;
  }

  /** What still keeps the cluster from its persistent state (empty when it is there). */
  private async livenessGaps(persistentState: boolean): Promise<Finding[]> {
    const gaps: Finding[] = [];
    const snapshot = await this.config.snapshot();
    const view = await readRuntimeView(this.store, snapshot);
    for (const [name, n] of this.nodes) {
      if (n.status !== 'up' || !n.agent?.running) gaps.push({ invariant: 'persistent-state', detail: `node ${name} is ${n.status}` });
      else if (!view.members.has(name)) gaps.push({ invariant: 'persistent-state', detail: `node ${name} runs but is not a member (no lease)` });
      else if (view.paused.has(name)) {
        // Paused while it was down (so not resumable then): the operator resumes it now.
        gaps.push({ invariant: 'persistent-state', detail: `node ${name} is still paused` });
        this.apply({ kind: 'resumeNode', node: name });
      }
    }
    for (const op of this.tracked) {
      if (!this.ended.has(op.id)) gaps.push({ invariant: 'no-unbounded-wait', detail: `operation ${op.id} (${op.what}) has not ended` });
    }
    const expected = expectedOnline({
      resources: snapshot.resources.map((r) => ({ name: r.name, group: r.group, persistentState: r.common.PersistentState, dependencies: dependencyOf(r.dependencies) })),
    });
    for (const g of snapshot.groups) {
      const owner = view.owners.get(g.name);
      const move = view.moves.get(g.name);
      if (move && !move.outcome) {
        gaps.push({ invariant: 'moves-end', detail: `group ${g.name} is still moving from ${move.from} to ${move.to}` });
        continue;
      }
      const members = snapshot.resources.filter((r) => r.group === g.name);
      if (!owner) {
        if (members.some((r) => expected.has(r.name))) gaps.push({ invariant: 'persistent-state', detail: `group ${g.name} has no owner` });
        continue;
      }
      const rcm = this.nodes.get(owner.node)?.agent?.rcmState;
      const held = rcm?.groups.get(g.name);
      if (!rcm || !held?.owned) {
        gaps.push({ invariant: 'persistent-state', detail: `group ${g.name} is owned by ${owner.node} in the store, but that node's RCM does not hold it` });
        continue;
      }
      for (const r of members) {
        if (!persistentState || !expected.has(r.name)) continue;
        const state = rcm.resources.get(r.name)?.state ?? 'unknown';
        if (state !== 'Online') {
          const why = r.common.PersistentState === 1 ? 'PersistentState 1' : 'a provider of a PersistentState 1 resource';
          gaps.push({ invariant: 'persistent-state', detail: `resource ${r.name} (${why}) is ${state} on its owner ${owner.node}` });
        }
      }
    }
    return gaps;
  }

  // ---- end ----

  private async shutdown(): Promise<void> {
    this.board.clear();
    for (const n of this.nodes.values()) {
      n.store.setAvailable(true);
      n.store.setDelayMs(0);
      if (n.status !== 'down') this.crash(n.config.name);
    }
    // Stopping may wait on store requests already delayed on the virtual clock.
    for (let i = 0; i < 400 && this.background.size > 0; i++) {
      await drain();
      if (this.background.size > 0) this.clock.advance(simLimits.tickMs);
    }
    for (const n of this.nodes.values()) n.log.close();
    // Closing flushes the store's log, whose sync may be waiting on a slow disk.
    this.store?.setSyncDelayMs(0);
    if (this.store) await this.withTime(this.store.close());
  }

  private fail(f: Finding): void {
    if (this.violation) return;
    this.violation = { invariant: f.invariant, detail: f.detail, step: this.stepNo, phase: this.phase, atMs: this.elapsedMs };
    this.event(`VIOLATION ${f.invariant}: ${f.detail}`);
  }

  private event(text: string): void {
    this.events.push(`+${this.elapsedMs}ms step ${this.stepNo}: ${text}`);
    if (this.events.length > (this.options.eventsKept ?? simLimits.eventsKept)) this.events.shift();
  }

  private report(): SimReport {
    const resources = [...this.resourcesByGroup.values()].reduce((n, rs) => n + rs.length, 0);
    const succeeded = [...this.ended.values()].filter((ok) => ok).length;
    const hits: Record<string, number> = {};
    for (const [k, v] of [...this.board.hits].sort(([a], [b]) => a.localeCompare(b))) hits[k as CallFaultKind] = v;
    const actions: Record<string, number> = {};
    for (const [k, v] of [...this.actionCounts].sort(([a], [b]) => a.localeCompare(b))) actions[k] = v;
    return {
      seed: this.options.seed,
      steps: this.options.steps,
      nodes: this.nodes.size,
      groups: this.groupNames.length,
      resources,
      ...(this.options.scenario ? { scenario: this.options.scenario.name } : {}),
      mix: this.mix ?? 'scripted',
      ok: this.violation === undefined,
      ...(this.violation ? { violation: this.violation } : {}),
      lastEvents: this.violation ? [...this.events] : [],
      stats: {
        stepsRun: this.stepNo,
        virtualMs: this.elapsedMs,
        ...(this.livenessMs !== undefined ? { livenessMs: this.livenessMs } : {}),
        transitions: this.transitions.count,
        actions,
        faultHits: hits,
        operations: { submitted: this.tracked.length, succeeded, failed: this.ended.size - succeeded, refused: this.refused },
        store: { crashes: this.store?.crashes ?? 0, acknowledgedWrites: this.store?.ledger.acknowledged ?? 0 },
      },
    };
  }
}

function dependencyOf(expression: string) {
  const parsed = parseDependencies(expression);
  return parsed !== undefined && 'code' in parsed ? undefined : parsed;
}

function isOperationView(v: unknown): v is OperationView {
  return typeof v === 'object' && v !== null && typeof (v as { id?: unknown }).id === 'string' && typeof (v as { done?: unknown }).done === 'boolean';
}

function errorText(e: unknown): string {
  if (isClusterError(e)) return `${e.name}(${e.code}): ${e.message}`;
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}
