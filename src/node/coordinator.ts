// The coordinator: one node, elected through the store, runs the placement and
// failover policy. It gives unowned groups an owner, fails the groups of a Down
// node over (only after that node's lease is gone), answers restart-threshold
// failover requests, ends moves whose node died, and does failback. Every
// ownership change is a transaction guarded by the owner key's revision, so two
// coordinators can never both win.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { clusterError } from '../model/errors.ts';
import { messages, type LogMessage } from '../model/messages.ts';
import type { NodeConfig } from '../model/objects.ts';
import { decideFailback, decideFailover, isPlacementError, planEvacuation, planFailovers, planPlacement } from '../policy/index.ts';
import type { ClusterConfigStore } from '../database/config.ts';
import { STORE_TXN_OPS_MAX, type LeaseId, type Store, type Watcher } from '../store/store.ts';
import { keys, nameAfter } from './keys.ts';
import type { AgentLimits } from './limits.ts';
import { OperationResults } from './operations.ts';
import { decodeObject, encode, type MoveRecord, type OpRequest, type OwnerRecord, type OwnershipReason } from './records.ts';
import { RuntimeCache, type RuntimeView } from './view.ts';

/** Most owner records one placement transaction writes (each also needs one compare). */
export const OWNER_WRITES_PER_TXN_MAX = STORE_TXN_OPS_MAX;

export interface CoordinatorOptions {
  readonly node: NodeConfig;
  readonly store: Store;
  readonly clock: Clock;
  readonly config: ClusterConfigStore;
  readonly limits: AgentLimits;
  readonly log: (m: LogMessage) => void;
}

export class Coordinator {
  /** The lease under which this node holds the coordinator key; the role ends with it. */
  private role: LeaseId | undefined;
  private running = false;
  private lease: () => LeaseId | undefined = () => undefined;
  private watchers: Watcher[] = [];
  private sweepTimer: TimerHandle | undefined;
  private sweeping: Promise<void> | undefined;
  private sweepAgain = false;
  /** Groups whose failover is already handled, by the owner epoch it was decided on. */
  private readonly handled = new Map<string, number>();
  /**
   * Groups of a Down node that had no node to go to, by owner epoch: tried
   * again at every sweep (a node may come Up or be resumed), but logged once.
   */
  private readonly unplaced = new Map<string, number>();
  /** Down nodes whose groups are failing over, logged once per time down. */
  private readonly announcedDown = new Set<string>();
  private opCounter = 0;
  /** Operation results, indexed from a watch while this node is the coordinator. */
  private results: OperationResults | undefined;
  /** The lease of each node's member key, as last seen: a kill confirmation must name the lease that expired. */
  private readonly memberLeases = new Map<string, LeaseId>();
  /** When this coordinator first saw each Down node without its lease (the lease expired no later). */
  private readonly downSince = new Map<string, number>();
  /** Sweeps due when a Down node's fence margin ends. */
  private readonly fenceTimers = new Set<TimerHandle>();

  constructor(private readonly o: CoordinatorOptions) {}

  get isLeader(): boolean {
    return this.leader;
  }

  /** This node holds the role only under the lease it won it with: a node that lost that lease (and maybe joined again) does not. */
  private get leader(): boolean {
    return this.running && this.role !== undefined && this.role === this.lease();
  }

  /** Starts competing for the coordinator role with the node's own lease, so the role ends with the node. */
  async start(lease: () => LeaseId | undefined): Promise<void> {
    this.running = true;
    this.lease = lease;
    this.watchers.push(
      await this.o.store.watchPrefix(keys.coordinator, (events) => {
        if (events.some((e) => e.type === 'delete')) void this.campaign();
      }),
    );
    // A member key disappears when its node's lease expires: fail its groups over now, not at the next sweep.
    const members = await this.o.store.range(keys.members);
    for (const kv of members.kvs) if (kv.lease !== undefined) this.memberLeases.set(nameAfter(keys.members, kv.key), kv.lease);
    this.watchers.push(
      await this.o.store.watchPrefix(
        keys.members,
        (events) => {
          for (const e of events) if (e.type === 'put' && e.kv.lease !== undefined) this.memberLeases.set(nameAfter(keys.members, e.kv.key), e.kv.lease);
          this.requestSweep();
        },
        { fromRevision: members.revision + 1 },
      ),
    );
    // A watchdog's kill confirmation lets a failover waiting out the fence margin go ahead at once.
    if (this.o.limits.fenceMarginMs > 0) this.watchers.push(await this.o.store.watchPrefix(keys.fencedAll, () => this.requestSweep()));
    await this.campaign();
    this.scheduleSweep();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.role = undefined;
    if (this.sweepTimer) this.o.clock.clearTimer(this.sweepTimer);
    this.results?.close();
    this.results = undefined;
    for (const t of this.fenceTimers) this.o.clock.clearTimer(t);
    this.fenceTimers.clear();
    for (const w of this.watchers.splice(0)) await w.cancel().catch(() => undefined);
    await this.sweeping?.catch(() => undefined);
  }

  /** Takes the role if nobody holds it, and learns whether this node holds it under its current lease. */
  private async campaign(): Promise<void> {
    const lease = this.lease();
    if (!this.running || !lease) return this.roleChecked();
    const r = await this.o.store.txn({
      compare: [{ key: keys.coordinator, target: 'version', op: '==', value: 0 }],
      success: [{ type: 'put', key: keys.coordinator, value: encode({ node: this.o.node.name }), lease }],
      failure: [{ type: 'get', key: keys.coordinator }],
    }).catch(() => undefined);
    if (!r) return; // the next role check tries again
    const first = r.results[0];
    const held = first?.type === 'get' ? first.kv : undefined;
    // The key may name this node under an older lease (given up when it fenced itself): that role ends with that lease.
    const mine = r.succeeded || (held !== undefined && decodeObject(held.value)?.node === this.o.node.name && held.lease === lease);
    const was = this.leader;
    this.role = mine ? lease : undefined;
    if (this.leader && !was) {
      this.o.log({ level: 'INFO', component: 'RCM', text: `Node ${this.o.node.name} is the coordinator.` });
      this.requestSweep();
    }
    this.roleChecked();
  }

  /**
   * Every sweep interval: a node that lost the lease it held the role under
   * lets the role go, and a node that is not coordinator campaigns if the
   * role is free — the key's deletion may have come while this node had no
   * lease to campaign with (every node fenced at once while etcd elected a
   * leader), or its campaign may have failed.
   */
  private async checkRole(): Promise<void> {
    if (!this.running) return;
    if (this.leader) return;
    this.roleChecked();
    if (!this.lease()) return;
    const kv = await this.o.store.get(keys.coordinator).catch(() => null);
    if (kv === undefined) await this.campaign();
  }

  /** Drops what only the coordinator keeps once this node is not it. */
  private roleChecked(): void {
    if (this.leader) return;
    this.role = undefined;
    this.results?.close();
    this.results = undefined;
  }

  private scheduleSweep(): void {
    if (!this.running) return;
    this.sweepTimer = this.o.clock.setTimer(this.o.limits.coordinatorSweepIntervalMs, () => {
      void this.checkRole().then(() => this.requestSweep());
      this.scheduleSweep();
    });
  }

  /** Runs one sweep now, or one more after the current one. */
  requestSweep(): void {
    if (!this.running || !this.leader) return;
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = (async () => {
      do {
        this.sweepAgain = false;
        try {
          await this.sweep();
        } catch (e) {
          if (this.running) this.o.log({ level: 'ERR', component: 'RCM', text: `Coordinator sweep failed: ${e instanceof Error ? e.message : String(e)}` });
        }
      } while (this.sweepAgain && this.running && this.leader);
    })().finally(() => (this.sweeping = undefined));
  }

  /** One pass of the coordinator's duties over a fresh view of the cluster. */
  async sweep(): Promise<void> {
    const [config, runtime] = await Promise.all([this.o.config.view(), RuntimeCache.for(this.o.store)]);
    await config.informer.sync();
    const view = runtime.view(config.state);
    if (!this.leader || !this.running) return;
    await this.failOverDownNodes(view);
    await this.placeUnownedGroups(view);
    await this.answerFailoverRequests(view);
    await this.endExpiredMoves(view);
    await this.endOverdueOperations();
    await this.failBack(view);
  }

  /** An operation whose node went down or lost its outcome ends at its deadline, so no client waits for ever; old results go. */
  private async endOverdueOperations(): Promise<void> {
    this.results ??= new OperationResults(this.o.store, this.o.clock, this.o.limits);
    for (const ended of await this.results.sweep()) this.o.log({ level: 'WARN', component: 'RCM', text: ended.error.message });
  }

  /** Fails the groups of every Down owner over, planned together over one placement index (policy/plan.ts). */
  private async failOverDownNodes(view: RuntimeView): Promise<void> {
    const downOwners = new Set<string>();
    for (const [group, owner] of view.owners) {
      if (!view.members.has(owner.node) && this.handled.get(group) !== owner.epoch) downOwners.add(owner.node);
    }
    for (const node of [...this.downSince.keys()]) if (view.members.has(node)) this.downSince.delete(node);
    for (const node of [...this.announcedDown]) if (view.members.has(node)) this.announcedDown.delete(node);
    for (const down of [...downOwners]) if (!(await this.fenceSettled(down))) downOwners.delete(down);
    if (downOwners.size === 0) return;
    const nodeId = (name: string): number => view.config.nodes.find((n) => n.name === name)?.id ?? 0;
    for (const down of downOwners) {
      if (this.announcedDown.has(down)) continue;
      this.announcedDown.add(down);
      this.o.log(messages.nodeDown(down, nodeId(down)));
    }
    const groups = new Map(view.config.groups.map((g) => [g.name, g]));
    for (const d of planEvacuation(view.policy, [...downOwners])) {
      const owner = view.owners.get(d.group);
      if (!owner || this.handled.get(d.group) === owner.epoch) continue;
      const down = owner.node;
      await this.endMoveOfDeadNode(view, d.group, down);
      const target = d.target;
      if (isPlacementError(target)) {
        // Not handled: the next sweep tries again, so the group fails over as soon as a node can take it.
        if (this.unplaced.get(d.group) !== owner.epoch) this.o.log({ level: 'ERR', component: 'RCM', text: `Group ${d.group} cannot fail over from ${down}: ${target.message}` });
        this.unplaced.set(d.group, owner.epoch);
        continue;
      }
      const group = groups.get(d.group);
      if (!group) continue;
      const history = await this.failoverHistory(d.group);
      const decision = decideFailover({ group: d.group, common: group.common, nodeCount: view.config.nodes.length, history, nowMs: this.o.clock.now() });
      if (!decision.allowed) {
        this.handled.set(d.group, owner.epoch);
        this.o.log(decision.log);
        continue;
      }
      const moved = await this.setOwner(d.group, owner.epoch, { node: target.node, reason: 'failover' }, down);
      if (moved) {
        this.handled.set(d.group, owner.epoch);
        await this.o.store.put(keys.failovers(d.group), encode({ history: decision.history }));
        this.o.log(messages.moveAboutToSucceed(d.group, down, nodeId(down), target.node, nodeId(target.node), 'Failover', decision.history.length));
      }
    }
  }

  /**
   * Whether a Down node's resources are certainly stopped, so its groups may
   * start elsewhere: its watchdog confirmed the kill for the lease that
   * expired, or fenceMarginMs passed since this coordinator saw the lease gone
   * (it expired no later than that, and the watchdog fired watchdogMarginMs
   * before it could expire).
   */
  private async fenceSettled(node: string): Promise<boolean> {
    const marginMs = this.o.limits.fenceMarginMs;
    if (marginMs <= 0) return true;
    const now = this.o.clock.now();
    const since = this.downSince.get(node) ?? now;
    if (!this.downSince.has(node)) {
      this.downSince.set(node, since);
      this.o.log({ level: 'INFO', component: 'NM', text: `Node ${node} lost its lease; its groups fail over once its watchdog confirms the kill, or after the ${marginMs} ms fence margin.` });
    }
    if (now >= since + marginMs) return true;
    const lease = this.memberLeases.get(node);
    const kv = lease === undefined ? undefined : await this.o.store.get(keys.fenced(node));
    if (kv && decodeObject(kv.value)?.lease === lease) {
      this.o.log({ level: 'INFO', component: 'NM', text: `Node ${node}: its watchdog confirmed the kill of its resources (lease ${lease}) ${this.o.clock.now() - since} ms after the lease was seen gone.` });
      this.downSince.set(node, since - marginMs); // settled for the rest of this failover
      return true;
    }
    if (now === since) {
      const timer = this.o.clock.setTimer(marginMs, () => {
        this.fenceTimers.delete(timer);
        this.requestSweep();
      });
      this.fenceTimers.add(timer);
    }
    return false;
  }

  /** A move whose source or target died ends here (the group fails over instead). */
  private async endMoveOfDeadNode(view: RuntimeView, group: string, down: string): Promise<void> {
    const move = view.moves.get(group);
    if (!move || move.outcome || (move.from !== down && move.to !== down)) return;
    const error = clusterError('ERROR_CLUSTER_NODE_DOWN', `move of group ${group} from ${move.from} to ${move.to}: node ${down} went down; the group fails over instead`);
    await this.finishMove(move, 'failed', error);
  }

  private async endExpiredMoves(view: RuntimeView): Promise<void> {
    const now = this.o.clock.now();
    for (const move of view.moves.values()) {
      // The RCMs end their moves at the deadline themselves; this catches a move whose nodes could not.
      if (move.outcome || now < move.deadlineAt + this.o.limits.coordinatorSweepIntervalMs * 5) continue;
      await this.finishMove(move, 'failed', clusterError('ERROR_TIMEOUT', `move of group ${move.group} from ${move.from} to ${move.to} passed its deadline`));
    }
  }

  private async finishMove(move: MoveRecord, outcome: 'failed', error: ReturnType<typeof clusterError>): Promise<void> {
    const key = keys.move(move.group);
    const kv = await this.o.store.get(key);
    if (!kv) return;
    await this.o.store.txn({
      compare: [{ key, target: 'modRevision', op: '==', value: kv.modRevision }],
      success: [{ type: 'put', key, value: encode({ ...move, phase: 'ended', outcome, error }) }],
    });
    this.o.log(messages.moveFailed(move.group, move.to, 0, '-', error.name, error.code, error.message));
    if (move.opId) {
      const rk = keys.result(move.opId);
      const prev = await this.o.store.get(rk);
      const prevObj = prev ? decodeObject(prev.value) : undefined;
      if (prevObj?.done !== true) await this.o.store.put(rk, encode({ ...prevObj, opId: move.opId, done: true, ok: false, error }));
    }
  }

  /**
   * Gives every unowned group an owner: one plan over one placement index
   * (policy/plan.ts), so the groups placed together spread by anti-affinity
   * and load. The owners are written up to OWNER_WRITES_PER_TXN_MAX per
   * transaction, each guarded by "still unowned"; if another writer gave one
   * of them an owner meanwhile, that batch is written group by group.
   */
  private async placeUnownedGroups(view: RuntimeView): Promise<void> {
    const placed: { group: string; node: string }[] = [];
    for (const d of planPlacement(view.policy)) {
      if (!isPlacementError(d.target)) placed.push({ group: d.group, node: d.target.node }); // else: no node can host it yet; the next sweep tries again
    }
    for (let i = 0; i < placed.length; i += OWNER_WRITES_PER_TXN_MAX) {
      if (!this.leader || !this.running) return;
      const batch = placed.slice(i, i + OWNER_WRITES_PER_TXN_MAX);
      const r = await this.o.store.txn({
        compare: batch.map((p) => ({ key: keys.owner(p.group), target: 'version' as const, op: '==' as const, value: 0 })),
        success: batch.map((p) => ({ type: 'put' as const, key: keys.owner(p.group), value: encode({ node: p.node, reason: 'start' } satisfies OwnerRecord) })),
      });
      if (r.succeeded) continue;
      for (const p of batch) await this.setOwner(p.group, 0, { node: p.node, reason: 'start' });
    }
  }

  /** Failovers asked for past a restart threshold: the allowed ones are placed in one plan (policy/plan.ts). */
  private async answerFailoverRequests(view: RuntimeView): Promise<void> {
    const requests = await this.o.store.range(keys.failoverRequests);
    const allowed = new Map<string, { from: string; history: readonly number[] }>();
    for (const kv of requests.kvs) {
      const group = nameAfter(keys.failoverRequests, kv.key);
      await this.o.store.delete(kv.key);
      const owner = view.owners.get(group);
      const config = view.config.groups.find((g) => g.name === group);
      if (!owner || !config) continue;
      const history = await this.failoverHistory(group);
      const decision = decideFailover({ group, common: config.common, nodeCount: view.config.nodes.length, history, nowMs: this.o.clock.now() });
      if (!decision.allowed) {
        this.o.log(decision.log);
        continue;
      }
      allowed.set(group, { from: owner.node, history: decision.history });
    }
    if (allowed.size === 0) return;
    for (const d of planFailovers(view.policy, [...allowed.keys()])) {
      const { from, history } = allowed.get(d.group)!;
      if (isPlacementError(d.target)) {
        this.o.log({ level: 'ERR', component: 'RCM', text: `Group ${d.group} cannot fail over from ${from}: ${d.target.message}` });
        continue;
      }
      await this.o.store.put(keys.failovers(d.group), encode({ history }));
      if (d.target.node === from) continue;
      await this.sendMove(from, d.group, d.target.node, 'Failover');
    }
  }

  private async failBack(view: RuntimeView): Promise<void> {
    for (const group of view.config.groups) {
      if (group.common.AutoFailbackType !== 1) continue;
      const owner = view.owners.get(group.name);
      const move = view.moves.get(group.name);
      if (!owner || (move && !move.outcome)) continue;
      const decision = decideFailback(view.policy, group.name, this.o.clock.now());
      if (decision.failback && decision.node !== owner.node) await this.sendMove(owner.node, group.name, decision.node, 'Failback');
    }
  }

  private async sendMove(ownerNode: string, group: string, to: string, kind: 'Failover' | 'Failback'): Promise<void> {
    const opId = `${this.o.node.name}-${kind.toLowerCase()}-${this.o.clock.now()}-${++this.opCounter}`;
    const req: OpRequest = { opId, kind: 'moveGroup', target: group, to, moveKind: kind, requestedAt: this.o.clock.now() };
    await this.o.store.put(keys.result(opId), encode({ opId, kind: 'moveGroup', target: group, done: false, requestedAt: req.requestedAt, deadlineAt: req.requestedAt + this.o.limits.operationEndDeadlineMs, node: ownerNode }));
    await this.o.store.put(keys.op(ownerNode, opId), encode(req));
  }

  private async failoverHistory(group: string): Promise<number[]> {
    const kv = await this.o.store.get(keys.failovers(group));
    const h = kv ? decodeObject(kv.value)?.history : undefined;
    return Array.isArray(h) ? h.filter((x): x is number => typeof x === 'number') : [];
  }

  /**
   * Gives a group a new owner if its owner key is still at `epoch` (0: no owner
   * yet) and, for a failover, if the node it fails over from is still not a
   * member: a node that rejoined between the read and this write keeps its group.
   */
  private async setOwner(group: string, epoch: number, record: { node: string; reason: OwnershipReason }, fromDownNode?: string): Promise<boolean> {
    const key = keys.owner(group);
    const owner: OwnerRecord = record;
    const r = await this.o.store.txn({
      compare: [
        epoch === 0 ? { key, target: 'version', op: '==', value: 0 } : { key, target: 'modRevision', op: '==', value: epoch },
        ...(fromDownNode === undefined ? [] : [{ key: keys.member(fromDownNode), target: 'version' as const, op: '==' as const, value: 0 }]),
      ],
      success: [{ type: 'put', key, value: encode(owner) }],
    });
    return r.succeeded;
  }
}
