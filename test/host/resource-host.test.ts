import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, settle } from '../../src/clock/virtual.ts';
import { ClusterError, errors } from '../../src/model/errors.ts';
import { messages, type LogMessage } from '../../src/model/messages.ts';
import type { PropertyValue } from '../../src/model/properties.ts';
import type { CallEffect, CallResult } from '../../src/host/calls.ts';
import { ResourceHost, type DeadlockReport, type HostedResource } from '../../src/host/resource-host.ts';
import { builtinResourceTypes, type EntryPointContext, type ResourceTypeDefinition } from '../../src/types/index.ts';

const DEADLOCK_MS = 300_000;

/** A type whose entry points misbehave in ways Dummy cannot: plain exceptions, sync throws, capturing contexts. */
function misbehavingType(seen: EntryPointContext[]): ResourceTypeDefinition {
  const descriptor = {
    name: 'Misbehaving',
    description: 'test type',
    privateProperties: [{ name: 'Flavour', kind: 'string', default: 'plain', description: 'x' }],
    looksAlivePollIntervalMs: 1000,
    isAlivePollIntervalMs: 1000,
  } as const;
  return {
    descriptor,
    create: () => ({
      descriptor,
      open: async (ctx) => void seen.push(ctx),
      close: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
      online: (() => {
        throw new Error('thrown before any promise');
      }) as () => Promise<void>,
      offline: async () => {
        throw 'a bare string';
      },
      terminate: async () => {},
      looksAlive: async () => true,
      isAlive: async () => true,
      control: async (ctx) => {
        ctx.log('controlled');
        return 42;
      },
    }),
  };
}

function setup(
  resources: Record<string, Partial<HostedResource> & { parameters?: Record<string, PropertyValue> }>,
  pendingReportAfterMs = 500,
  deadlocksBeforeIsolation?: number,
) {
  const clock = new VirtualClock();
  const types = builtinResourceTypes();
  const seen: EntryPointContext[] = [];
  types.register(misbehavingType(seen));
  let databaseAvailable = true;
  const lines: LogMessage[] = [];
  const results: CallResult[] = [];
  const deadlocks: DeadlockReport[] = [];
  const host = new ResourceHost({
    clock,
    types,
    services: {
      clock,
      clusterDatabase: {
        readParameters: async (r) => {
          if (!databaseAvailable) throw new ClusterError('ERROR_SHARING_PAUSED', `cluster database not available (${r})`);
          return {};
        },
      },
    },
    directory: {
      lookup: (name) => {
        const r = resources[name];
        return r && { type: 'Dummy', parameters: {}, deadlockTimeoutMs: DEADLOCK_MS, epoch: 7, ...r };
      },
    },
    log: (l) => lines.push(l),
    onResult: (r) => results.push(r),
    onDeadlock: (d) => deadlocks.push(d),
    pendingReportAfterMs,
    ...(deadlocksBeforeIsolation ? { deadlocksBeforeIsolation } : {}),
  });
  let nextId = 1;
  const call = (resource: string, entryPoint: CallEffect['entryPoint'], deadlineMs = 60_000, extra: Pick<CallEffect, 'control'> = {}) => {
    const effect: CallEffect<number> = { type: 'call', resource, entryPoint, callId: nextId++, deadlineMs, ...extra };
    const o: { result?: CallResult<number> } = {};
    const promise = host.call(effect).then((r) => (o.result = r));
    return Object.assign(o, { effect, promise });
  };
  return { clock, host, call, lines, results, deadlocks, seen, setDatabase: (v: boolean) => (databaseAvailable = v) };
}

test('a successful call is answered ok with its call id, once, without a pending report', async () => {
  const { host, results } = setup({ R: {} });
  const r = await host.call({ type: 'call', resource: 'R', entryPoint: 'online', callId: 'c-1', deadlineMs: 1000 });
  assert.deepEqual(r, { type: 'callResult', resource: 'R', callId: 'c-1', outcome: 'ok' });
  assert.deepEqual(results, [r]);
  assert.equal(host.inFlightCount(), 0);
});

test('looksAlive/isAlive answering false is a failed call; control returns its output', async () => {
  const { call } = setup({ R: { parameters: { LooksAliveResult: 0 } }, M: { type: 'Misbehaving' } });
  const la = call('R', 'looksAlive');
  const ia = call('R', 'isAlive');
  const ctl = call('M', 'control', 1000, { control: { code: 'X' } });
  await Promise.all([la.promise, ia.promise, ctl.promise]);
  assert.equal(la.result?.outcome, 'failed');
  assert.equal(la.result?.error?.code, errors.ERROR_RESOURCE_FAILED.code);
  assert.match(la.result!.error!.message, /looksAlive of resource "R": the resource is not alive/);
  assert.equal(ia.result?.outcome, 'ok');
  assert.deepEqual(ctl.result, { type: 'callResult', resource: 'M', callId: ctl.effect.callId, outcome: 'ok', output: 42 });
});

test('a call running past the pending threshold is reported pending, then its final result follows', async () => {
  const { clock, call, results } = setup({ R: { parameters: { OnlineDelayMs: 2_000 } } });
  const c = call('R', 'online');
  await clock.advanceAsync(499);
  assert.equal(results.length, 0);
  await clock.advanceAsync(1);
  assert.deepEqual(results, [{ type: 'callResult', resource: 'R', callId: c.effect.callId, outcome: 'pending' }]);
  assert.equal(c.result === undefined, true, 'not answered yet');
  await clock.advanceAsync(1_500);
  assert.equal(c.result?.outcome, 'ok');
  assert.deepEqual(results.map((r) => r.outcome), ['pending', 'ok']);
});

test('only online and offline report pending; other slow calls just finish', async () => {
  const { clock, call, results } = setup({ R: { parameters: { OpenDelayMs: 2_000, IsAliveDelayMs: 2_000 } } });
  const open = call('R', 'open');
  const isAlive = call('R', 'isAlive');
  await clock.advanceAsync(2_000);
  assert.equal(open.result?.outcome, 'ok');
  assert.equal(isAlive.result?.outcome, 'ok');
  assert.deepEqual(results.map((r) => r.outcome), ['ok', 'ok']);
});

test('the deadline aborts the call and answers ERROR_RESOURCE_CALL_TIMED_OUT at once', async () => {
  const { clock, host, call, lines } = setup({ R: { parameters: { OnlineHang: 1 } } });
  const c = call('R', 'online', 1_000);
  await clock.advanceAsync(999);
  assert.equal(c.result === undefined, true, 'not answered yet');
  await clock.advanceAsync(1);
  assert.equal(c.result?.outcome, 'failed');
  assert.equal(c.result?.error?.code, errors.ERROR_RESOURCE_CALL_TIMED_OUT.code);
  assert.match(c.result!.error!.message, /online of resource "R" did not finish within its deadline of 1000 ms/);
  assert.ok(lines.some((l) => l.component === 'RES' && l.level === 'ERR' && l.text.startsWith('Dummy <R>: online failed: ERROR_RESOURCE_CALL_TIMED_OUT(5910)')));
  // Dummy honoured the abort, so the call is no longer in flight and no deadlock follows.
  await settle();
  assert.equal(host.inFlightCount(), 0);
  await clock.advanceAsync(DEADLOCK_MS);
  assert.equal(host.isIsolated('R'), false);
});

test('thrown ClusterErrors keep their code and are logged with messages.entryPointFailed', async () => {
  const { call, lines, setDatabase } = setup({ R: { parameters: { OnlineFail: errors.ERROR_INVALID_STATE.code } }, DB: {} });
  const c = call('R', 'online');
  await c.promise;
  assert.equal(c.result?.error?.name, 'ERROR_INVALID_STATE');
  const e = c.result!.error!;
  assert.deepEqual(lines.at(-1), messages.entryPointFailed('Dummy', 'R', 'online', e.name, e.code, e.message));
  // The seed's failure: open while the cluster database is not available to resource types.
  setDatabase(false);
  const open = call('DB', 'open');
  await open.promise;
  assert.equal(open.result?.error?.code, errors.ERROR_SHARING_PAUSED.code);
  setDatabase(true);
  const again = call('DB', 'open');
  await again.promise;
  assert.equal(again.result?.outcome, 'ok');
});

test('other exceptions, also synchronous ones and non-Errors, become ERROR_EXCEPTION_IN_RESOURCE_CALL', async () => {
  const { call, lines } = setup({ M: { type: 'Misbehaving' } });
  const cases = [
    ['close', /close threw TypeError: cannot read properties of undefined/],
    ['online', /online threw Error: thrown before any promise/],
    ['offline', /offline threw a bare string/],
  ] as const;
  for (const [ep, text] of cases) {
    const c = call('M', ep);
    await c.promise;
    assert.equal(c.result?.error?.code, errors.ERROR_EXCEPTION_IN_RESOURCE_CALL.code, ep);
    assert.match(c.result!.error!.message, text);
    assert.match(c.result!.error!.message, /Misbehaving <M>/);
  }
  assert.equal(lines.filter((l) => /ERROR_EXCEPTION_IN_RESOURCE_CALL\(5930\)/.test(l.text)).length, 3);
});

test('entry points get parameters with type defaults, the epoch, the deadline and a [RES] logger', async () => {
  const { call, seen, lines } = setup({ M: { type: 'Misbehaving', parameters: {}, epoch: 12 } });
  await call('M', 'open', 4_321).promise;
  const ctx = seen[0]!;
  assert.deepEqual(ctx.parameters, { Flavour: 'plain' });
  assert.equal(ctx.epoch, 12);
  assert.equal(ctx.deadlineMs, 4_321);
  assert.equal(ctx.signal.aborted, false);
  await call('M', 'control', 1000, { control: { code: 'Y' } }).promise;
  assert.deepEqual(lines.at(-1), { level: 'INFO', component: 'RES', text: 'Misbehaving <M>: controlled' });
});

test('unknown resources and types are answered, not thrown', async () => {
  const { call } = setup({ T: { type: 'Exchange' } });
  const a = call('Nope', 'open');
  const b = call('T', 'open');
  await Promise.all([a.promise, b.promise]);
  assert.equal(a.result?.error?.code, errors.ERROR_RESOURCE_NOT_FOUND.code);
  assert.equal(b.result?.error?.code, errors.ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND.code);
});

test('DeadlockTimeout: every call in flight in the host gets 5910 and the offender moves to a host of its own (isolating at the first deadlock)', async () => {
  const { clock, host, call, lines, results, deadlocks } = setup(
    {
      Stuck: { parameters: { OnlineHang: 2 } },
      Slow: { parameters: { OfflineDelayMs: DEADLOCK_MS + 60_000 } },
      Fine: {},
    },
    500,
    1,
  );
  const sharedHost = host.hostOf('Stuck');
  assert.equal(host.hostOf('Slow'), sharedHost);
  const stuck = call('Stuck', 'online', 10_000);
  await clock.advanceAsync(1_000);
  const slow = call('Slow', 'offline', DEADLOCK_MS + 120_000);
  await clock.advanceAsync(9_000);
  // Answered at its deadline even though the entry point ignores its signal.
  assert.equal(stuck.result?.error?.code, errors.ERROR_RESOURCE_CALL_TIMED_OUT.code);
  assert.equal(host.inFlightCount(), 2);
  await clock.advanceAsync(DEADLOCK_MS - 10_000 - 1);
  assert.equal(slow.result === undefined, true, 'not answered yet');
  assert.equal(deadlocks.length, 0);
  await clock.advanceAsync(1);
  assert.ok(lines.some((l) => l.text === messages.entryPointTimedOut('Stuck', 'online', DEADLOCK_MS).text));
  assert.equal(slow.result?.outcome, 'failed');
  assert.equal(slow.result?.error?.code, errors.ERROR_RESOURCE_CALL_TIMED_OUT.code);
  assert.match(slow.result!.error!.message, /offline of resource "Slow" was in flight in resource host \d+, which deadlocked on online of resource "Stuck"/);
  assert.equal(deadlocks.length, 1);
  assert.deepEqual(deadlocks[0], {
    hostId: sharedHost,
    resource: 'Stuck',
    entryPoint: 'online',
    deadlockTimeoutMs: DEADLOCK_MS,
    resources: ['Slow', 'Stuck'],
    newHostId: host.hostOf('Stuck'),
    isolated: true,
  });
  assert.equal(host.isIsolated('Stuck'), true);
  assert.equal(host.isIsolated('Slow'), false);
  assert.notEqual(host.hostOf('Stuck'), sharedHost);
  assert.notEqual(host.hostOf('Slow'), sharedHost);
  assert.notEqual(host.hostOf('Slow'), host.hostOf('Stuck'));
  assert.equal(host.inFlightCount(), 0);
  // The abandoned call's late completion is ignored; the others keep working in their new hosts.
  const answeredBefore = results.filter((r) => r.outcome !== 'pending').length;
  await clock.advanceAsync(120_000);
  assert.equal(results.filter((r) => r.outcome !== 'pending').length, answeredBefore);
  const fine = call('Fine', 'online');
  await fine.promise;
  assert.equal(fine.result?.outcome, 'ok');
  assert.equal(host.hostOf('Fine'), host.hostOf('Slow'));
});

test('a deadlock before the deadline answers the offender with 5910 naming DeadlockTimeout; the second deadlock isolates it', async () => {
  const { clock, host, call, deadlocks } = setup({ Stuck: { parameters: { OpenHang: 2 }, deadlockTimeoutMs: 5_000 }, Other: {} });
  const c = call('Stuck', 'open', 60_000);
  await clock.advanceAsync(5_000);
  assert.equal(c.result?.error?.code, errors.ERROR_RESOURCE_CALL_TIMED_OUT.code);
  assert.match(c.result!.error!.message, /open of resource "Stuck" exceeded its DeadlockTimeout of 5000 ms/);
  assert.equal(deadlocks.length, 1);
  assert.equal(deadlocks[0]?.isolated, false);
  // Once: the host is replaced, the resource stays with the others.
  assert.equal(host.isIsolated('Stuck'), false);
  assert.equal(host.hostOf('Stuck'), host.hostOf('Other'));
  assert.notEqual(host.hostOf('Stuck'), deadlocks[0]?.hostId);
  call('Stuck', 'open', 60_000);
  await clock.advanceAsync(5_000);
  assert.equal(deadlocks.length, 2);
  assert.equal(deadlocks[1]?.isolated, true);
  assert.equal(host.isIsolated('Stuck'), true);
  assert.notEqual(host.hostOf('Stuck'), host.hostOf('Other'));
  // Isolated hosts are replaced by a fresh isolated host when they deadlock again.
  const isolatedHost = host.hostOf('Stuck');
  call('Stuck', 'open', 60_000);
  await clock.advanceAsync(5_000);
  assert.equal(deadlocks.length, 3);
  assert.equal(deadlocks[2]?.hostId, isolatedHost);
  assert.deepEqual(deadlocks[2]?.resources, ['Stuck']);
  assert.notEqual(host.hostOf('Stuck'), isolatedHost);
  assert.equal(host.isIsolated('Stuck'), true);
});

test('stop answers every call in flight and refuses new ones', async () => {
  const { clock, host, call } = setup({ R: { parameters: { OnlineDelayMs: 10_000 } } });
  const c = call('R', 'online');
  await clock.advanceAsync(100);
  host.stop();
  await settle();
  assert.equal(c.result?.error?.code, errors.ERROR_CLUSTER_NODE_SHUTTING_DOWN.code);
  const later = call('R', 'online');
  await later.promise;
  assert.equal(later.result?.error?.code, errors.ERROR_CLUSTER_NODE_SHUTTING_DOWN.code);
  assert.equal(clock.pendingTimers(), 0);
});

test("another resource's health check caught in a deadlocked host runs again in the new host instead of failing", async () => {
  const { clock, host, call, deadlocks } = setup({
    Stuck: { parameters: { OnlineHang: 2 }, deadlockTimeoutMs: 5_000 },
    Checked: { parameters: { LooksAliveDelayMs: 6_000 } },
  });
  const stuck = call('Stuck', 'online', 60_000);
  const check = call('Checked', 'looksAlive', 60_000);
  await clock.advanceAsync(5_000);
  assert.equal(deadlocks.length, 1);
  assert.equal(stuck.result?.error?.code, errors.ERROR_RESOURCE_CALL_TIMED_OUT.code);
  assert.equal(check.result === undefined, true, 'not failed with the host');
  await clock.advanceAsync(6_000);
  assert.equal(check.result?.outcome, 'ok');
  assert.equal(host.inFlightCount(), 0);
});
