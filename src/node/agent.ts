// The node agent: the shell around one node's RCM. It feeds the RCM inputs
// (configuration, ownership, operations, entry-point results, timers), executes
// its effects (entry-point calls through the resource host, timers on the
// injected clock, log lines, store writes) and keeps the node's membership
// lease. Agents talk to each other only through the store.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { ClusterError, clusterError } from '../model/errors.ts';
import { messages, type LogMessage } from '../model/messages.ts';
import type { NodeConfig } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';
import { createRcm, step, resourceStatus, type ConfigDelta, type RcmEffect, type RcmInput, type RcmLimits, type RcmState, type StepResult } from '../rcm/index.ts';
import type { MovePhase as RcmMovePhase } from '../rcm/types.ts';
import { ResourceHost, type HostProcessOptions } from '../host/index.ts';
import type { ClusterResourceInfo, ResourceTypeRegistry } from '../types/index.ts';
import type { ClusterLogWriter } from '../log/writer.ts';
import { ClusterDatabase } from '../database/registry.ts';
import { ClusterConfigStore, PERSISTENT_STATES_PER_CHANGE_MAX } from '../database/config.ts';
import type { ConfigChange, ConfigState } from '../database/config-view.ts';
import { canonicalName } from '../database/paths.ts';
import type { LeaseId, Store, Watcher } from '../store/store.ts';
import { StoreError } from '../store/store.ts';
import { boundedBy } from '../clock/bounded.ts';
import { keys, nameAfter } from './keys.ts';
import { defaultAgentLimits, type AgentLimits } from './limits.ts';
import {
  decodeMove,
  decodeOpRequest,
  decodeOpResult,
  decodeOwner,
  encode,
  type MoveRecord,
  type OpRequest,
  type OpResult,
  type OwnerRecord,
  type ResourceReport,
} from './records.ts';
import { OrderedPublisher } from './reports.ts';
import { Coordinator } from './coordinator.ts';
import type { LeaseWatchdog } from './watchdog.ts';
import type { StallMeter } from '../store/stalls.ts';

export interface NodeAgentOptions {
  readonly node: NodeConfig;
  readonly store: Store;
  readonly clock: Clock;
  readonly types: ResourceTypeRegistry;
  readonly log: ClusterLogWriter;
  readonly limits?: Partial<AgentLimits>;
  readonly rcmLimits?: Partial<RcmLimits>;
  /**
   * Keep the cluster API unavailable to resource types (their cluster database
   * reads fail with ERROR_SHARING_PAUSED, 70) until bringApiOnline(): the node
   * start of the seed document, where Open ran before the API was up.
   */
  readonly holdApiOffline?: boolean;
  /**
   * The RCM's step function. Default: the real one. The simulator passes a
   * wrapper that observes every transition (and, in its self-test, a
   * deliberately broken core it must catch).
   */
  readonly step?: (state: RcmState, input: RcmInput) => StepResult;
  /**
   * The node's watchdog process (distributed mode): petted after every lease
   * renewal with the time left before the lease could expire, minus
   * watchdogMarginMs, so it kills the node's resource processes in time if
   * this process dies or freezes.
   */
  readonly watchdog?: LeaseWatchdog;
  /**
   * Only when the store runs in this same process (the embedded mode): its
   * measure of this process's stalls. The store extends every lease by a
   * stall, so the agent's self-fence does not count stalled time either. With
   * a store in another process (etcd) there is none, and the fence counts
   * every millisecond.
   */
  readonly processStalls?: StallMeter;
  /**
   * Run resource types in resource host processes (src/host), with these
   * options; otherwise every entry point runs in this process. Needs a real clock.
   */
  readonly hostProcesses?: HostProcessOptions;
}

type AgentPhase = 'new' | 'running' | 'stopped';

export class NodeAgent {
  readonly node: NodeConfig;
  readonly limits: AgentLimits;
  readonly config: ClusterConfigStore;
  readonly host: ResourceHost;
  private rcm: RcmState;
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly log: ClusterLogWriter;
  private phase: AgentPhase = 'new';
  private apiOnline = false;
  private readonly inbox: RcmInput[] = [];
  private dispatching = false;
  private readonly timers = new Map<string, TimerHandle>();
  private readonly watchers: Watcher[] = [];
  private lease: LeaseId | undefined;
  /**
   * Until when (this clock) the lease is certain to hold, less selfFenceMarginMs:
   * the send time of the last confirmed renewal plus the TTL, since etcd
   * restarts the TTL when the renewal reaches it, after it was sent.
   */
  private leaseSafeUntil = 0;
  private fenceTimer: TimerHandle | undefined;
  private keepAliveTimer: TimerHandle | undefined;
  /** Renewals sent and not yet answered. */
  private keepAlivesInFlight = 0;
  /** Set from a self-fence until the node has joined again with a new lease: it owns nothing meanwhile. */
  private fenced = false;
  /** A rejoin loop is running (there is only ever one, so the node never holds two leases). */
  private rejoining = false;
  /** The latest owner-key revision applied per group, so a late watch event never undoes a newer one. */
  private readonly ownerRevisions = new Map<string, number>();
  /** Groups this node owns, with the ownership epoch (the owner key's modRevision). */
  private readonly owned = new Map<string, number>();
  /** Operations already fed to the RCM (the ops watch may replay them). */
  private readonly seenOps = new Set<string>();
  /** Moves started here: moveId -> the operation that asked for it. */
  private readonly moveOps = new Map<string, string>();
  private readonly publisher: OrderedPublisher;
  private unlistenConfig: (() => void) | undefined;
  /** PersistentState values to write with the next batch. */
  private readonly persistentStates = new Map<string, 0 | 1>();
  readonly coordinator: Coordinator;

  constructor(private readonly options: NodeAgentOptions) {
    this.node = options.node;
    this.store = options.store;
    this.clock = options.clock;
    this.log = options.log;
    this.limits = { ...defaultAgentLimits, ...options.limits };
    this.config = new ClusterConfigStore(new ClusterDatabase(options.store));
    this.rcm = createRcm(options.node, options.rcmLimits);
    this.publisher = new OrderedPublisher(options.store, (e) => this.storeWriteFailed('report', e));
    this.host = new ResourceHost({
      clock: options.clock,
      types: options.types,
      services: {
        clock: options.clock,
        clusterDatabase: { readParameters: (resource) => this.readParameters(resource) },
        node: options.node.name,
        topology: { groupResources: (resource) => this.groupResources(resource) },
      },
      directory: {
        lookup: (resource) => {
          const r = this.rcm.config.resources.get(resource);
          if (!r) return undefined;
          return {
            type: r.type,
            parameters: r.parameters,
            deadlockTimeoutMs: r.common.DeadlockTimeout,
            epoch: this.owned.get(r.group) ?? 0,
            separateMonitor: r.common.SeparateMonitor === 1,
          };
        },
      },
      log: (m) => this.writeLog(m),
      ...(options.hostProcesses ? { processes: { node: options.node.name, ...options.hostProcesses } } : {}),
      onResult: (r) => {
        // The final result also resolves call(); pending ones only come here.
        if (r.outcome === 'pending') this.dispatch({ type: 'callResult', now: this.clock.now(), resource: r.resource, callId: String(r.callId), outcome: 'pending' });
      },
    });
    this.coordinator = new Coordinator({ node: options.node, store: options.store, clock: options.clock, config: this.config, limits: this.limits, log: (m) => this.writeLog(m) });
  }

  get running(): boolean {
    return this.phase === 'running';
  }

  /** The RCM's state (read-only view, for tests and the simulator). */
  get rcmState(): RcmState {
    return this.rcm;
  }

  /** Joins the cluster: membership lease, configuration, ownership and operations watches, coordinator election. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new ClusterError('ERROR_INVALID_STATE', `node ${this.node.name} was already started`);
    this.phase = 'running';
    this.writeLog({ level: 'INFO', component: 'CS', text: `Starting node ${this.node.name}(${this.node.id}).` });
    await this.join();
    // The API comes up before resources open, unless held back to reproduce the seed's start-up.
    if (!this.options.holdApiOffline) this.bringApiOnline();
    // The configuration as of now, then every change to it as a delta (no await in between: nothing is missed).
    const view = await this.config.view();
    await view.informer.sync();
    this.dispatch({ type: 'configure', now: this.clock.now(), config: view.state.snapshot() });
    this.unlistenConfig = view.listen((change) => this.onConfigChange(view.state, change));
    const owners = await this.store.range(keys.owners);
    for (const kv of owners.kvs) await this.onOwnerChanged(nameAfter(keys.owners, kv.key), kv.value, kv.modRevision);
    this.watchers.push(
      await this.store.watchPrefix(
        keys.owners,
        (events) => {
          for (const e of events) {
            this.onOwnerChanged(nameAfter(keys.owners, e.kv.key), e.type === 'put' ? e.kv.value : undefined, e.kv.modRevision).catch((err: unknown) =>
              this.storeWriteFailed('ownership change', err),
            );
          }
        },
        { fromRevision: owners.revision + 1, onError: (e) => this.watchFailed('ownership', e) },
      ),
    );
    const ops = await this.store.range(keys.opsOf(this.node.name));
    for (const kv of ops.kvs) this.onOp(kv.key, kv.value);
    this.watchers.push(
      await this.store.watchPrefix(
        keys.opsOf(this.node.name),
        (events) => {
          for (const e of events) if (e.type === 'put') this.onOp(e.kv.key, e.kv.value);
        },
        { fromRevision: ops.revision + 1, onError: (e) => this.watchFailed('operations', e) },
      ),
    );
    await this.coordinator.start(() => this.lease);
  }

  /** The cluster API becomes available to resource types ([API] Online.). */
  bringApiOnline(): void {
    if (this.apiOnline) return;
    this.apiOnline = true;
    this.writeLog(messages.apiOnline());
  }

  /**
   * Leaves the cluster. graceful: the node's groups are taken offline in
   * dependency order (dependents first) without changing their persistent
   * state, bounded by shutdownTimeoutMs, and the lease is revoked so others
   * take over at once. Otherwise (a crash) resources are terminated at once, as
   * a node's watchdog would stop them, and the lease simply expires.
   */
  async stop(options: { graceful: boolean } = { graceful: true }): Promise<void> {
    if (this.phase !== 'running') return;
    if (options.graceful) await this.offlineOwnedGroups();
    for (const group of [...this.owned.keys()]) this.dispatch({ type: 'releaseGroup', now: this.clock.now(), group });
    this.phase = 'stopped';
    await this.coordinator.stop();
    this.unlistenConfig?.();
    for (const w of this.watchers.splice(0)) await w.cancel().catch(() => undefined);
    for (const t of this.timers.values()) this.clock.clearTimer(t);
    this.timers.clear();
    if (this.keepAliveTimer) this.clock.clearTimer(this.keepAliveTimer);
    if (this.fenceTimer) this.clock.clearTimer(this.fenceTimer);
    this.host.stop();
    if (options.graceful) {
      await this.boundedWrite('resource reports', this.publisher.flushed()).catch((e: unknown) => this.storeWriteFailed('resource reports', e));
      if (this.lease) await this.store.revokeLease(this.lease).catch(() => undefined);
      this.writeLog({ level: 'INFO', component: 'CS', text: `Node ${this.node.name}(${this.node.id}) stopped.` });
    }
    this.publisher.close();
    this.log.flush();
  }

  private shutdown: { pending: Set<string>; done: () => void } | undefined;

  /** Offlines every owned group as a shutdown: the RCM orders it; the shell keeps PersistentState as it was. */
  private async offlineOwnedGroups(): Promise<void> {
    const groups = [...this.owned.keys()];
    if (groups.length === 0) return;
    await new Promise<void>((resolve) => {
      const timer = this.clock.setTimer(this.limits.shutdownTimeoutMs, () => {
        this.writeLog({ level: 'WARN', component: 'RCM', text: `Shutdown of node ${this.node.name}: groups not offline after ${this.limits.shutdownTimeoutMs} ms; terminating.` });
        resolve();
      });
      this.shutdown = {
        pending: new Set(groups.map((g) => `shutdown-${g}`)),
        done: () => {
          this.clock.clearTimer(timer);
          resolve();
        },
      };
      for (const group of groups) this.dispatch({ type: 'request', now: this.clock.now(), requestId: `shutdown-${group}`, op: { op: 'offlineGroup', group } });
    });
    this.shutdown = undefined;
  }

  private shutdownStepEnded(requestId: string): boolean {
    if (!this.shutdown?.pending.delete(requestId)) return false;
    if (this.shutdown.pending.size === 0) this.shutdown.done();
    return true;
  }

  /** Feeds one input to the RCM; inputs arriving while effects run are queued, never nested. */
  dispatch(input: RcmInput): void {
    if (this.phase === 'stopped') return;
    this.inbox.push(input);
    if (this.dispatching) return;
    this.dispatching = true;
    try {
      for (let next = this.inbox.shift(); next; next = this.inbox.shift()) {
        const result = (this.options.step ?? step)(this.rcm, next);
        this.rcm = result.state;
        for (const effect of result.effects) this.execute(effect);
      }
    } finally {
      this.dispatching = false;
    }
  }

  // ---- effects ----

  private execute(effect: RcmEffect): void {
    switch (effect.type) {
      case 'call':
        if (effect.entryPoint === 'online' && !this.leaseHolds()) {
          // A resource is never started on a lease that may have expired: another node may own its group by now.
          const error = clusterError('ERROR_CLUSTER_NODE_NOT_MEMBER', `node ${this.node.name} cannot confirm its membership lease; online of ${effect.resource} not started`);
          this.dispatch({ type: 'callResult', now: this.clock.now(), resource: effect.resource, callId: String(effect.callId), outcome: 'failed', error });
          void this.loseMembership('its lease could not be confirmed when a resource was to come online');
          return;
        }
        void this.host.call(effect).then((r) =>
          this.dispatch({ type: 'callResult', now: this.clock.now(), resource: r.resource, callId: String(r.callId), outcome: r.outcome, ...(r.error ? { error: r.error } : {}) }),
        );
        return;
      case 'setTimer': {
        this.cancelTimer(effect.timerId);
        const handle = this.clock.setTimer(effect.at - this.clock.now(), () => {
          this.timers.delete(effect.timerId);
          this.dispatch({ type: 'timer', now: this.clock.now(), timerId: effect.timerId });
        });
        this.timers.set(effect.timerId, handle);
        return;
      }
      case 'cancelTimer':
        this.cancelTimer(effect.timerId);
        return;
      case 'log':
        this.writeLog(effect.message);
        return;
      case 'transition': {
        const status = resourceStatus(this.rcm, effect.resource);
        const report: ResourceReport = {
          group: effect.group,
          state: effect.to,
          stateSeq: effect.seq,
          epoch: this.owned.get(effect.group) ?? 0,
          ...(status?.lastError && effect.to !== 'Online' ? { lastError: status.lastError } : {}),
        };
        this.publisher.publish(keys.state(this.node.name, effect.resource), encode(report));
        return;
      }
      case 'setPersistentState':
        if (this.shutdown) return; // a shutdown is not an operator's offline: the groups come back after restart
        this.recordPersistentState(effect.resource, effect.value);
        return;
      case 'reply':
        if (!effect.ok && this.shutdownStepEnded(effect.requestId)) return;
        if (!effect.ok) this.writeResult({ opId: effect.requestId, done: true, ok: false, ...(effect.error ? { error: effect.error } : {}) });
        return;
      case 'operationEnded':
        if (this.shutdownStepEnded(effect.requestId)) return;
        this.writeResult({ opId: effect.requestId, done: true, ok: effect.ok, ...(effect.error ? { error: effect.error } : {}) });
        return;
      case 'requestFailover':
        this.background('failover request', this.store.put(keys.failoverRequest(effect.group), encode({ node: this.node.name, resource: effect.resource, reason: effect.reason, at: this.clock.now() })));
        return;
      case 'moveStarted': {
        this.moveOps.set(effect.moveId, effect.requestId);
        const record: MoveRecord = {
          moveId: effect.moveId,
          group: effect.group,
          from: effect.from,
          to: effect.to,
          phase: 'offline-on-source',
          rcmPhase: 'offline-on-source',
          startedAt: this.clock.now(),
          deadlineAt: effect.deadlineAt,
          returnToSourceOnError: effect.returnToSourceOnError,
          opId: effect.requestId,
        };
        this.publisher.publish(keys.move(effect.group), encode({ ...record, kind: effect.kind }));
        return;
      }
      case 'movePhase':
        this.background('move phase', this.updateMove(effect.group, effect.moveId, (m) => laterPhase(m, effect.phase)));
        return;
      case 'transferOwnership':
        this.background('ownership transfer', this.transferOwnership(effect.group, effect.from, effect.to, effect.reason, effect.moveId));
        return;
      case 'moveEnded':
        this.background('move end', this.endMove(effect));
        return;
    }
  }

  /**
   * PersistentState changes are written together: an operator's request for a
   * whole group (or many groups) is a few configuration changes, not one per
   * resource. The latest value asked for a resource wins.
   */
  private recordPersistentState(resource: string, value: 0 | 1): void {
    const first = this.persistentStates.size === 0;
    this.persistentStates.set(resource, value);
    if (!first) return;
    queueMicrotask(() => {
      const all = [...this.persistentStates];
      this.persistentStates.clear();
      for (let i = 0; i < all.length; i += PERSISTENT_STATES_PER_CHANGE_MAX) {
        this.background('PersistentState', this.config.setPersistentStates(new Map(all.slice(i, i + PERSISTENT_STATES_PER_CHANGE_MAX))));
      }
    });
  }

  private cancelTimer(timerId: string): void {
    const t = this.timers.get(timerId);
    if (t) this.clock.clearTimer(t);
    this.timers.delete(timerId);
  }

  private writeLog(m: LogMessage): void {
    this.log.writeMessage(m);
  }

  /** An effect's store write: a failure, or no answer within storeWriteTimeoutMs, is logged (the RCM's own deadlines cover the rest). */
  private background(what: string, p: Promise<unknown>): void {
    this.boundedWrite(what, p).catch((e: unknown) => this.storeWriteFailed(what, e));
  }

  private boundedWrite<T>(what: string, p: Promise<T>): Promise<T> {
    const ms = this.limits.storeWriteTimeoutMs;
    return boundedBy(this.clock, ms, p, () => new ClusterError('ERROR_TIMEOUT', `no answer within ${ms} ms (storeWriteTimeoutMs)`));
  }

  private storeWriteFailed(what: string, e: unknown): void {
    if (this.phase !== 'running') return;
    this.writeLog({ level: 'ERR', component: 'RCM', text: `Store write for ${what} failed: ${e instanceof Error ? e.message : String(e)}` });
  }

  private watchFailed(what: string, e: Error): void {
    if (this.phase !== 'running') return;
    this.writeLog({ level: 'ERR', component: 'RCM', text: `Watch of ${what} failed: ${e.message}` });
  }

  // ---- membership ----

  /**
   * Grants a fresh lease and puts the member key on it. A join confirmed so
   * late (a slow store) that the lease may already be near its end counts as
   * failed: the lease is given up and the caller tries again.
   */
  private async join(): Promise<void> {
    const sentAt = this.leaseNow();
    const lease = await this.store.grantLease(this.limits.leaseTtlSeconds);
    await this.store.put(keys.member(this.node.name), encode({ id: this.node.id, startedAt: this.clock.now() }), { lease });
    if (this.leaseNow() >= sentAt + this.limits.leaseTtlSeconds * 1000 - this.limits.selfFenceMarginMs) {
      void this.store.revokeLease(lease).catch(() => undefined);
      throw new StoreError('unavailable', `joining took ${this.leaseNow() - sentAt} ms, too long for a ${this.limits.leaseTtlSeconds} s lease`);
    }
    this.lease = lease;
    this.fenced = false;
    this.leaseConfirmed(sentAt);
    this.writeLog(messages.nodeUp(this.node.name, this.node.id));
    this.scheduleKeepAlive();
  }

  /**
   * The time lease deadlines are kept in: the clock, less the stalls of this
   * process when the store is in it too (see processStalls).
   */
  private leaseNow(): number {
    return this.options.processStalls?.now() ?? this.clock.now();
  }

  /** Whether the lease certainly still holds: resources may be started. */
  private leaseHolds(): boolean {
    return !this.fenced && this.lease !== undefined && this.leaseNow() < this.leaseSafeUntil;
  }

  /**
   * A renewal sent at sentAt was confirmed: the lease holds until at least
   * sentAt + TTL. The node stops its resources itself selfFenceMarginMs before
   * that, and the watchdog kills them watchdogMarginMs before it.
   */
  private leaseConfirmed(sentAt: number): void {
    const expiresNoEarlierThan = sentAt + this.limits.leaseTtlSeconds * 1000;
    const safeUntil = expiresNoEarlierThan - this.limits.selfFenceMarginMs;
    if (safeUntil <= this.leaseSafeUntil) return;
    this.leaseSafeUntil = safeUntil;
    this.armFenceTimer();
    this.options.watchdog?.pet(expiresNoEarlierThan - this.limits.watchdogMarginMs - this.leaseNow(), this.lease);
  }

  /** Fences the node at leaseSafeUntil; a process stall (see processStalls) moves that moment later by as much. */
  private armFenceTimer(): void {
    if (this.fenceTimer) this.clock.clearTimer(this.fenceTimer);
    this.fenceTimer = this.clock.setTimer(this.leaseSafeUntil - this.leaseNow(), () => {
      this.fenceTimer = undefined;
      if (this.phase !== 'running' || this.fenced) return;
      if (this.leaseNow() < this.leaseSafeUntil) {
        this.armFenceTimer();
        return;
      }
      const silentMs = this.leaseNow() - (this.leaseSafeUntil - this.limits.leaseTtlSeconds * 1000 + this.limits.selfFenceMarginMs);
      void this.loseMembership(`no lease renewal was confirmed for ${silentMs} ms`);
    });
  }

  private scheduleKeepAlive(): void {
    if (this.keepAliveTimer) this.clock.clearTimer(this.keepAliveTimer);
    this.keepAliveTimer = this.clock.setTimer(this.limits.leaseKeepAliveIntervalMs, () => {
      this.keepAliveTimer = undefined;
      void this.keepAlive();
    });
  }

  /**
   * One renewal per interval, on a fixed beat: a slow renewal never delays the
   * next one, nor the fence timer. Renewals go out even while earlier ones
   * are unanswered: when etcd's leader is cut off, a member forwards the
   * renewals it has to that leader, where they hang until their deadline,
   * while one sent after a new leader is elected is answered at once — it
   * must not wait behind them. At most one TTL's worth are outstanding (an
   * older one could not extend the lease past now anyway).
   */
  private async keepAlive(): Promise<void> {
    const lease = this.lease;
    if (this.phase !== 'running' || this.fenced || !lease) return;
    this.scheduleKeepAlive();
    if (this.keepAlivesInFlight >= Math.ceil((this.limits.leaseTtlSeconds * 1000) / this.limits.leaseKeepAliveIntervalMs)) return;
    this.keepAlivesInFlight++;
    const sentAt = this.leaseNow();
    try {
      await this.store.keepAlive(lease);
      if (this.lease === lease && !this.fenced && this.phase === 'running') this.leaseConfirmed(sentAt);
    } catch (e) {
      if (e instanceof StoreError && e.kind === 'lease-not-found' && this.lease === lease) await this.loseMembership('the membership lease expired');
      // Other failures: the next beat tries again; the fence timer acts if none succeeds in time.
    } finally {
      this.keepAlivesInFlight--;
    }
  }

  /**
   * The lease is lost or may be: stop every resource at once, give up the old
   * lease, and join again with a new one. Until then the node owns nothing;
   * after, it takes back only the groups the store still says it owns.
   */
  private async loseMembership(why: string): Promise<void> {
    if (this.phase !== 'running' || this.fenced) return;
    this.fenced = true;
    const old = this.lease;
    this.lease = undefined;
    if (this.fenceTimer) this.clock.clearTimer(this.fenceTimer);
    this.fenceTimer = undefined;
    this.selfFence(why);
    if (old) void this.store.revokeLease(old).catch(() => undefined);
    // One rejoin loop at a time: a fence during a rejoin sets `fenced` again, and the running loop joins anew.
    if (this.rejoining) return;
    this.rejoining = true;
    try {
      while (this.phase === 'running' && this.fenced) {
        try {
          await this.join();
          await this.reconcileOwners();
        } catch (e) {
          this.storeWriteFailed('rejoin', e);
          if (this.phase !== 'running') return;
          // Joined but could not read the owners: drop whatever was taken back, and try again.
          if (!this.fenced) this.selfFence('the owners could not be read after rejoining');
          this.fenced = true;
          if (this.lease) void this.store.revokeLease(this.lease).catch(() => undefined);
          this.lease = undefined;
          await new Promise<void>((resolve) => this.clock.setTimer(this.limits.rejoinRetryIntervalMs, resolve));
        }
      }
    } finally {
      this.rejoining = false;
    }
  }

  /** After rejoining: the owner keys as they are now decide what this node owns. */
  private async reconcileOwners(): Promise<void> {
    const owners = await this.store.range(keys.owners);
    for (const kv of owners.kvs) await this.onOwnerChanged(nameAfter(keys.owners, kv.key), kv.value, kv.modRevision);
  }

  /** Stops every resource this node hosts, before its lease can expire and another node takes over. */
  private selfFence(why: string): void {
    this.writeLog({ level: 'ERR', component: 'NM', text: `Node ${this.node.name} lost its membership (${why}); terminating every resource it hosts.` });
    this.ownerRevisions.clear();
    for (const group of [...this.owned.keys()]) {
      this.owned.delete(group);
      this.dispatch({ type: 'releaseGroup', now: this.clock.now(), group });
    }
  }

  // ---- configuration and ownership ----

  /** Hands the RCM what a configuration change touched (everything, after the view was listed again). */
  private onConfigChange(state: ConfigState, change: ConfigChange): void {
    if (this.phase !== 'running') return;
    if (change.full) {
      this.dispatch({ type: 'configure', now: this.clock.now(), config: state.snapshot() });
      return;
    }
    const snapshot = change.nodes.size > 0 || change.types.size > 0 ? state.snapshot() : undefined;
    const delta: ConfigDelta = {
      ...(change.nodes.size > 0 ? { nodes: snapshot!.nodes } : {}),
      ...(change.types.size > 0 ? { types: snapshot!.types } : {}),
      groups: [...change.groups].map((name) => ({ name, config: state.groups.get(canonicalName(name)) })),
      resources: [...change.resources].map((name) => ({ name, config: state.resources.get(canonicalName(name)) })),
    };
    this.dispatch({ type: 'configureDelta', now: this.clock.now(), delta });
  }

  private async onOwnerChanged(group: string, value: string | undefined, epoch: number): Promise<void> {
    // While fenced the node owns nothing; it reads the owners afresh once it has joined again.
    if (this.phase !== 'running' || this.fenced) return;
    if (epoch <= (this.ownerRevisions.get(group) ?? 0)) return;
    this.ownerRevisions.set(group, epoch);
    const owner = value === undefined ? undefined : decodeOwner(value);
    const mine = owner?.node === this.node.name;
    const had = this.owned.has(group);
    if (mine && !had) {
      this.owned.set(group, epoch);
      const move = owner.moveId ? await this.readMoveRecord(group, owner.moveId) : undefined;
      // Things may have changed while the move record was read (a fence, another owner).
      if (this.phase !== 'running' || this.fenced || this.owned.get(group) !== epoch) return;
      if (move?.opId) this.moveOps.set(move.moveId, move.opId);
      this.dispatch({
        type: 'acquireGroup',
        now: this.clock.now(),
        group,
        epoch,
        reason: owner.reason,
        ...(move ? { move: { moveId: move.moveId, from: move.from, deadlineAt: move.deadlineAt, returnToSourceOnError: move.returnToSourceOnError, kind: move.kind } } : {}),
      });
    } else if (mine && had) {
      this.owned.set(group, epoch);
    } else if (!mine && had) {
      this.owned.delete(group);
      this.dispatch({ type: 'releaseGroup', now: this.clock.now(), group });
    }
  }

  /**
   * The move a newly acquired group is part of, read with bounded retries; if
   * the store stays unreachable the group is acquired without it (it goes to
   * its persistent state, and the coordinator ends the move by its deadline).
   */
  private async readMoveRecord(group: string, moveId: string): Promise<Awaited<ReturnType<NodeAgent['moveFor']>>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.moveFor(group, moveId);
      } catch (e) {
        if (attempt >= this.limits.recordUpdateAttemptsMax || this.phase !== 'running') {
          this.storeWriteFailed(`move record of group ${group}`, e);
          return undefined;
        }
        await new Promise<void>((resolve) => this.clock.setTimer(this.limits.rejoinRetryIntervalMs, resolve));
      }
    }
  }

  private async moveFor(group: string, moveId: string): Promise<(MoveRecord & { kind?: 'Manual' | 'Failover' | 'Failback' }) | undefined> {
    await this.publisher.flushed();
    const kv = await this.store.get(keys.move(group));
    const move = kv && decodeMove(kv.value);
    // An ended move is history: a node taking the group back later (a restart, a rejoin) must not resume it.
    return move && move.moveId === moveId && move.outcome === undefined ? move : undefined;
  }

  /** Passes ownership in one transaction guarded by the epoch this node holds; the key's new modRevision is the new epoch. */
  private async transferOwnership(group: string, from: string, to: string, reason: 'move' | 'return', moveId: string): Promise<void> {
    await this.publisher.flushed();
    const key = keys.owner(group);
    const epoch = this.owned.get(group);
    const record: OwnerRecord = { node: to, reason, moveId };
    const r = await this.store.txn({
      compare: epoch === undefined ? [{ key, target: 'version', op: '==', value: 0 }] : [{ key, target: 'modRevision', op: '==', value: epoch }],
      success: [{ type: 'put', key, value: encode(record) }],
    });
    if (!r.succeeded) {
      this.writeLog({ level: 'ERR', component: 'RCM', text: `Ownership of group ${group} changed meanwhile; transfer from ${from} to ${to} not done.` });
    }
  }

  /** Read-modify-write of the move record (change gives undefined: nothing to write); source, target and coordinator may race, so it retries (bounded). */
  private async updateMove(group: string, moveId: string, change: (m: MoveRecord) => MoveRecord | undefined): Promise<void> {
    await this.publisher.flushed();
    const key = keys.move(group);
    for (let attempt = 1; attempt <= this.limits.recordUpdateAttemptsMax; attempt++) {
      const kv = await this.store.get(key);
      const move = kv && decodeMove(kv.value);
      if (!kv || !move || move.moveId !== moveId || move.outcome) return; // another move, or this one has ended
      const changed = change(move);
      if (!changed) return;
      const r = await this.store.txn({ compare: [{ key, target: 'modRevision', op: '==', value: kv.modRevision }], success: [{ type: 'put', key, value: encode(changed) }] });
      if (r.succeeded) return;
    }
    this.writeLog({ level: 'WARN', component: 'RCM', text: `Move record of group ${group} kept changing; update given up after ${this.limits.recordUpdateAttemptsMax} attempts.` });
  }

  private async endMove(effect: Extract<RcmEffect, { type: 'moveEnded' }>): Promise<void> {
    // The operation is known from the move's start (source) or hand-over (target): the move record may
    // already be another move's by the time this runs, and the operation must end all the same.
    let opId = this.moveOps.get(effect.moveId);
    this.moveOps.delete(effect.moveId);
    await this.updateMove(effect.group, effect.moveId, (m) => {
      opId ??= m.opId;
      return {
        ...m,
        phase: 'ended',
        outcome: effect.outcome,
        ...(effect.error ? { error: { ...effect.error, ...(effect.resource ? { resource: effect.resource } : {}) } } : {}),
      };
    });
    if (opId) {
      this.writeResult({
        opId,
        done: true,
        ok: effect.outcome === 'completed',
        ...(effect.error ? { error: effect.error } : effect.outcome === 'returned' ? { error: clusterError('ERROR_RESOURCE_FAILED', `group ${effect.group} returned to its source node`) } : {}),
      });
    }
  }

  // ---- operations ----

  private onOp(key: string, value: string): void {
    const req = decodeOpRequest(value);
    if (!req || this.seenOps.has(req.opId)) return;
    this.seenOps.add(req.opId);
    const op = toOperation(req);
    if (!op) {
      this.writeResult({ opId: req.opId, done: true, ok: false, error: clusterError('ERROR_INVALID_PARAMETER', `operation ${req.opId}: unknown kind ${JSON.stringify(req.kind)}`) });
      return;
    }
    // The request has been taken; its record is no longer needed.
    this.background('operation cleanup', this.store.delete(key));
    this.dispatch({ type: 'request', now: this.clock.now(), requestId: req.opId, op });
  }

  private writeResult(result: Omit<OpResult, 'kind' | 'target'>): void {
    this.background(
      'operation result',
      (async () => {
        await this.publisher.flushed();
        const key = keys.result(result.opId);
        const kv = await this.store.get(key);
        const previous = kv ? decodeOpResult(kv.value) : undefined;
        if (previous?.done) return; // the first outcome stands
        await this.store.put(key, encode({ ...previous, ...result }));
      })(),
    );
  }

  // ---- the cluster as resource types see it ----

  /** The resources of a resource's group in this node's configuration. */
  private groupResources(resource: string): ClusterResourceInfo[] {
    const group = this.rcm.config.resources.get(resource)?.group;
    if (group === undefined) return [];
    return (this.rcm.config.groupResources.get(group) ?? []).flatMap((name) => {
      const r = this.rcm.config.resources.get(name);
      return r ? [{ name: r.name, type: r.type, group: r.group, parameters: r.parameters }] : [];
    });
  }

  private async readParameters(resource: string): Promise<Record<string, PropertyValue>> {
    if (!this.apiOnline) {
      throw new ClusterError('ERROR_SHARING_PAUSED', `cluster API of node ${this.node.name} is not online yet; cannot read the Parameters key of ${resource}`);
    }
    const r = await this.config.getResource(resource);
    return { ...r.parameters };
  }
}

/** A move's phases in the order the RCM goes through them (rcm/groups.ts): a move never goes back. */
const movePhaseOrder: readonly RcmMovePhase[] = ['offline-on-source', 'transfer', 'online-on-target', 'return-offline', 'return-transfer'];

/**
 * The record moved on to a later phase, or undefined if it is there already.
 * Phase updates are background writes of the source and then of the target,
 * and may land out of order: a late write of an earlier phase must not take
 * the record (and what clients see of the move) back.
 */
function laterPhase(m: MoveRecord, phase: RcmMovePhase): MoveRecord | undefined {
  if (movePhaseOrder.indexOf(phase) <= movePhaseOrder.indexOf(m.rcmPhase ?? (m.phase as RcmMovePhase))) return undefined;
  return { ...m, phase: publicPhase(phase), rcmPhase: phase };
}

function publicPhase(phase: string): MoveRecord['phase'] {
  if (phase === 'return-offline') return 'offline-on-source';
  if (phase === 'return-transfer') return 'transfer';
  return phase as MoveRecord['phase'];
}

function toOperation(req: OpRequest): Extract<RcmInput, { type: 'request' }>['op'] | undefined {
  switch (req.kind) {
    case 'onlineGroup':
    case 'offlineGroup':
      return { op: req.kind, group: req.target };
    case 'onlineResource':
    case 'offlineResource':
    case 'failResource':
    case 'resetResource':
      return { op: req.kind, resource: req.target };
    case 'moveGroup':
      return {
        op: 'moveGroup',
        group: req.target,
        target: req.to ?? 'best',
        ...(req.returnToSourceOnError ? { returnToSourceOnError: true } : {}),
        ...(req.moveKind ? { kind: req.moveKind } : {}),
      };
  }
  return undefined;
}
