// Random sequences of requests, call results, timer firings and ownership
// changes against one node's RCM. After every step: no assertion fires, the
// input state is untouched, transitions are legal with consecutive sequence
// numbers, and nothing waits without a deadline. At the end, with every call
// answered and time moving on, every move and request has ended.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  defaultsOf,
  groupCommonProperties,
  resourceCommonProperties,
  type GroupCommon,
  type ResourceCommon,
} from '../../src/model/index.ts';
import {
  armedTimers,
  createRcm,
  legalTransitions,
  outstandingCalls,
  step,
  unboundedWaits,
  type ClusterSnapshot,
  type Operation,
  type RcmInput,
  type RcmState,
} from '../../src/rcm/index.ts';
import { canonical } from './harness.ts';
import { seedFromEnv } from '../support/seed.ts';

/** FAILOVER_TEST_SEED replays or explores; the default keeps runs reproducible. */
const fuzzSeed = seedFromEnv(20260101);

const resourceDefaults = defaultsOf(resourceCommonProperties) as unknown as ResourceCommon;
const groupDefaults = defaultsOf(groupCommonProperties) as unknown as GroupCommon;

const resources: [string, string, Partial<ResourceCommon>][] = [
  ['A', '', { PendingTimeout: 20_000 }],
  ['B', '[A]', { RestartThreshold: 1, PendingTimeout: 20_000 }],
  ['C', '[A] or [B]', { PersistentState: 0, RestartAction: 1 }],
  ['D', '', { RestartAction: 0 }],
];

const snapshot: ClusterSnapshot = {
  nodes: [
    { name: 'n1', id: 1 },
    { name: 'n2', id: 2 },
  ],
  groups: [{ name: 'G', common: groupDefaults }],
  types: [{ name: 'Dummy', description: 'Dummy', privateProperties: [], looksAlivePollIntervalMs: 5_000, isAlivePollIntervalMs: 60_000 }],
  resources: resources.map(([name, deps, props]) => ({
    name,
    type: 'Dummy',
    group: 'G',
    common: { ...resourceDefaults, ...props },
    parameters: {},
    dependencies: deps,
  })),
};

type Command =
  | { kind: 'request'; op: Operation }
  | { kind: 'answer'; pick: number; outcome: 'ok' | 'pending' | 'failed' }
  | { kind: 'fireTimer' }
  | { kind: 'acquire' }
  | { kind: 'release' };

const names = resources.map(([n]) => n);
const resourceOp = fc.constantFrom('onlineResource', 'offlineResource', 'failResource', 'resetResource');
const commandArb: fc.Arbitrary<Command> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('request' as const), op: fc.tuple(resourceOp, fc.constantFrom(...names)).map(([op, resource]) => ({ op, resource }) as Operation) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('request' as const), op: fc.constantFrom<Operation>({ op: 'onlineGroup', group: 'G' }, { op: 'offlineGroup', group: 'G' }, { op: 'moveGroup', group: 'G', target: 'n2', returnToSourceOnError: true }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('answer' as const), pick: fc.nat(), outcome: fc.constantFrom<'ok' | 'pending' | 'failed'>('ok', 'ok', 'pending', 'failed') }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'fireTimer' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'acquire' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
);

class Driver {
  state: RcmState = createRcm({ name: 'n1', id: 1 }, { openRetryDelaysMs: [100, 1_000], openRetryAttemptsMax: 2, moveDeadlineMs: 60_000, operationDeadlineMs: 120_000 });
  now = 0;
  epoch = 0;
  requests = 0;
  private readonly seqs = new Map<string, number>();

  feed(input: RcmInput): void {
    const before = canonical(this.state);
    const { state, effects } = step(this.state, input);
    assert.equal(canonical(this.state), before, `step mutated its input (${input.type})`);
    this.state = state;
    for (const e of effects) {
      if (e.type === 'transition') {
        assert.ok(legalTransitions[e.from].includes(e.to), `illegal ${e.resource} ${e.from}-->${e.to}`);
        assert.equal(e.seq, (this.seqs.get(e.resource) ?? 0) + 1, `seq of ${e.resource}`);
        this.seqs.set(e.resource, e.seq);
      }
      // The shell's part of a move on a single node: ownership leaves.
      if (e.type === 'transferOwnership') this.feed({ type: 'releaseGroup', now: this.now, group: e.group });
    }
    assert.deepEqual(unboundedWaits(this.state), []);
  }

  apply(c: Command): void {
    switch (c.kind) {
      case 'request':
        return this.feed({ type: 'request', now: this.now, requestId: `r${++this.requests}`, op: c.op });
      case 'answer': {
        const calls = outstandingCalls(this.state);
        const call = calls[c.pick % Math.max(1, calls.length)];
        if (!call) return;
        const outcome = c.outcome === 'pending' && call.entryPoint !== 'online' && call.entryPoint !== 'offline' ? 'ok' : c.outcome;
        return this.feed({ type: 'callResult', now: this.now, resource: call.resource, callId: call.callId, outcome });
      }
      case 'fireTimer': {
        const next = armedTimers(this.state).sort((a, b) => a.at - b.at)[0];
        if (!next) return;
        this.now = Math.max(this.now, next.at);
        return this.feed({ type: 'timer', now: this.now, timerId: next.timerId });
      }
      case 'acquire':
        return this.feed({ type: 'acquireGroup', now: this.now, group: 'G', epoch: ++this.epoch, reason: 'start' });
      case 'release':
        return this.feed({ type: 'releaseGroup', now: this.now, group: 'G' });
    }
  }
}

test(`random inputs keep the RCM invariants, and every move and request ends (seed ${fuzzSeed})`, () => {
  fc.assert(
    fc.property(fc.array(commandArb, { maxLength: 120 }), (commands) => {
      const d = new Driver();
      d.feed({ type: 'configure', now: 0, config: snapshot });
      d.feed({ type: 'acquireGroup', now: 0, group: 'G', epoch: ++d.epoch, reason: 'start' });
      for (const c of commands) d.apply(c);
      // Liveness: answer everything and let time pass beyond every deadline.
      const until = d.now + 200_000;
      for (let i = 0; i < 5_000; i++) {
        const call = outstandingCalls(d.state)[0];
        if (call) {
          d.feed({ type: 'callResult', now: d.now, resource: call.resource, callId: call.callId, outcome: 'ok' });
          continue;
        }
        const next = armedTimers(d.state).sort((a, b) => a.at - b.at)[0];
        if (!next || next.at > until) break;
        d.now = Math.max(d.now, next.at);
        d.feed({ type: 'timer', now: d.now, timerId: next.timerId });
      }
      assert.equal(d.state.operations.size, 0, `requests still in progress: ${[...d.state.operations.keys()].join(', ')}`);
      assert.equal(d.state.groups.get('G')?.move, undefined, 'a move is still active');
    }),
    { numRuns: 300, seed: fuzzSeed },
  );
});
