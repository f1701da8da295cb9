import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, settle } from '../../src/clock/virtual.ts';
import { ClusterError, errors } from '../../src/model/errors.ts';
import { validateProperties } from '../../src/model/properties.ts';
import { DummyResourceType, dummyDescriptor } from '../../src/types/dummy.ts';
import { builtinResourceTypes, type ClusterDatabaseAccess } from '../../src/types/index.ts';
import { entryPoints } from '../../src/types/resource-type.ts';
import { contextFor } from './context.ts';

function setup(database?: ClusterDatabaseAccess) {
  const clock = new VirtualClock();
  const clusterDatabase = database ?? { readParameters: async () => ({}) };
  return { clock, type: new DummyResourceType({ clock, clusterDatabase }) };
}

/** Tracks a promise's outcome without awaiting it. */
function observe<T>(p: Promise<T>) {
  const o: { done: boolean; value?: T; error?: unknown } = { done: false };
  p.then(
    (v) => Object.assign(o, { done: true, value: v }),
    (e) => Object.assign(o, { done: true, error: e }),
  );
  return o;
}

test('by default every entry point succeeds and online/offline are tracked', async () => {
  const { type } = setup();
  const ctx = contextFor(type, 'R');
  await type.open(ctx);
  await type.online(ctx);
  assert.equal(type.isOnline('R'), true);
  assert.equal(await type.looksAlive(ctx), true);
  assert.equal(await type.isAlive(ctx), true);
  await type.offline(ctx);
  assert.equal(type.isOnline('R'), false);
  await type.close(ctx);
  assert.deepEqual(await type.control(ctx, { code: 'GetState' }), {
    online: false,
    calls: { open: 1, close: 1, online: 1, offline: 1, terminate: 0, looksAlive: 1, isAlive: 1, control: 1 },
  });
});

test('the descriptor declares the four behaviour properties for every entry point, with valid defaults', () => {
  const names = dummyDescriptor.privateProperties.map((p) => p.name);
  for (const ep of entryPoints) {
    const E = ep[0]!.toUpperCase() + ep.slice(1);
    for (const suffix of ['DelayMs', 'Hang', 'Fail', 'FailCount']) assert.ok(names.includes(`${E}${suffix}`), `${E}${suffix}`);
  }
  assert.equal(validateProperties('Dummy', dummyDescriptor.privateProperties, { OnlineHang: 4 })?.code, errors.ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS.code);
});

test('<EntryPoint>Hang=3 (spin, blocking the thread) is refused outside a resource host process', async () => {
  const { type } = setup();
  await assert.rejects(type.online(contextFor(type, 'R', { OnlineHang: 3 })), (e: ClusterError) => e.name === 'ERROR_NOT_SUPPORTED' && /needs a resource host process/.test(e.message));
});

test('<EntryPoint>DelayMs delays the call on the injected clock', async () => {
  const { clock, type } = setup();
  const call = observe(type.online(contextFor(type, 'R', { OnlineDelayMs: 5_000 })));
  await clock.advanceAsync(4_999);
  assert.equal(call.done, false);
  await clock.advanceAsync(1);
  assert.equal(call.done, true);
  assert.equal(call.error, undefined);
  assert.equal(type.isOnline('R'), true);
});

test('<EntryPoint>Hang 1 waits until the signal aborts, then fails with ERROR_OPERATION_ABORTED', async () => {
  const { clock, type } = setup();
  const abort = new AbortController();
  const call = observe(type.offline(contextFor(type, 'R', { OfflineHang: 1 }, abort.signal)));
  await clock.advanceAsync(1_000_000);
  assert.equal(call.done, false);
  abort.abort();
  await settle();
  assert.ok(call.error instanceof ClusterError);
  assert.equal((call.error as ClusterError).code, errors.ERROR_OPERATION_ABORTED.code);
  assert.match((call.error as ClusterError).message, /Dummy <R>: offline/);
});

test('<EntryPoint>Hang 2 ignores the signal (a deadlocked entry point)', async () => {
  const { type } = setup();
  const abort = new AbortController();
  const call = observe(type.isAlive(contextFor(type, 'R', { IsAliveHang: 2 }, abort.signal)));
  abort.abort();
  await settle();
  assert.equal(call.done, false);
});

test('<EntryPoint>Fail with FailCount fails only the first N calls, with the configured code', async () => {
  const { type } = setup();
  const ctx = contextFor(type, 'R', { OnlineFail: errors.ERROR_INVALID_STATE.code, OnlineFailCount: 2 });
  for (let i = 1; i <= 2; i++) {
    await assert.rejects(type.online(ctx), (e: ClusterError) => e.code === 5023 && e.name === 'ERROR_INVALID_STATE' && /call \d/.test(e.message));
  }
  await type.online(ctx);
  assert.equal(type.callCount('R', 'online'), 3);
  // FailCount 0: every call fails; an unknown code becomes ERROR_RESOURCE_FAILED naming it.
  const always = contextFor(type, 'S', { CloseFail: 424242 });
  for (let i = 0; i < 3; i++) await assert.rejects(type.close(always), (e: ClusterError) => e.code === errors.ERROR_RESOURCE_FAILED.code && /424242/.test(e.message));
});

test('LooksAliveResult and IsAliveResult decide the health answers', async () => {
  const { type } = setup();
  assert.equal(await type.looksAlive(contextFor(type, 'R', { LooksAliveResult: 0 })), false);
  assert.equal(await type.isAlive(contextFor(type, 'R', { IsAliveResult: 0 })), false);
  assert.equal(await type.isAlive(contextFor(type, 'R', { LooksAliveResult: 0 })), true);
});

test('open reads Parameters from the cluster database, failing with ERROR_SHARING_PAUSED until it is available', async () => {
  let available = false;
  const reads: string[] = [];
  const { type } = setup({
    readParameters: async (resource) => {
      reads.push(resource);
      if (!available) throw new ClusterError('ERROR_SHARING_PAUSED', `cluster database not available for ${resource}`);
      return {};
    },
  });
  await assert.rejects(type.open(contextFor(type, 'DB')), (e: ClusterError) => e.code === 70);
  available = true;
  await type.open(contextFor(type, 'DB'));
  await type.open(contextFor(type, 'Other', { OpenReadsDatabase: 0 }));
  assert.deepEqual(reads, ['DB', 'DB']);
});

test('unknown control codes are ERROR_NOT_SUPPORTED', async () => {
  const { type } = setup();
  await assert.rejects(type.control(contextFor(type, 'R'), { code: 'Frobnicate' }), (e: ClusterError) => e.code === errors.ERROR_NOT_SUPPORTED.code && /Frobnicate/.test(e.message));
});

test('the registry knows the built-in types and refuses unknown or duplicate names', () => {
  const registry = builtinResourceTypes();
  assert.deepEqual(registry.names(), ['Dummy', 'Generic Application', 'Linux IP Address', 'Systemd Unit']);
  const clock = new VirtualClock();
  const instance = registry.get('Dummy').create({ clock, clusterDatabase: { readParameters: async () => ({}) } });
  assert.ok(instance instanceof DummyResourceType);
  assert.throws(() => registry.get('Exchange'), (e: ClusterError) => e.code === errors.ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND.code && /"Exchange"/.test(e.message));
  assert.throws(() => registry.register(registry.get('Dummy')), (e: ClusterError) => e.code === errors.ERROR_OBJECT_ALREADY_EXISTS.code);
});
