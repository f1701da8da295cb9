// Operations end by their deadlines whoever is up: with no node running (so no
// coordinator), reading an operation past its deadline ends it with
// ERROR_TIMEOUT, once, in the store.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInProcessApi } from '../../src/api/service.ts';
import { keys } from '../../src/node/keys.ts';
import { startTestCluster } from './helpers.ts';

test('an operation whose node crashed ends with ERROR_TIMEOUT at its deadline, with no node up to end it', async () => {
  const t = await startTestCluster({ nodes: ['node1'] });
  try {
    const deadlineMs = 5_000;
    const api = createInProcessApi({ store: t.cluster.store, clock: t.clock, operationEndDeadlineMs: deadlineMs });
    await api.createGroup('G');
    await api.createResource('R', 'Dummy', 'G');
    await t.until('G online', async () => (await api.getGroup('G')).state === 'Online');
    // The only node stops without a word; its lease has not expired yet, so the API still addresses it.
    await t.cluster.crashNode('node1');
    const op = await api.offlineResource('R');
    assert.equal(op.done, false);
    await t.run(deadlineMs - 1_000);
    assert.equal((await api.getOperation(op.id)).done, false, 'not ended before its deadline');
    await t.run(1_000);
    const ended = await api.getOperation(op.id);
    assert.equal(ended.done, true);
    assert.equal(ended.ok, false);
    assert.equal(ended.error?.name, 'ERROR_TIMEOUT');
    assert.match(ended.error?.message ?? '', /did not end within 5000 ms: node node1, which had it, went down/);
    // Ended in the store, once: its request is gone and another reader sees the same outcome.
    assert.equal(await t.cluster.store.get(keys.op('node1', op.id)), undefined);
    assert.deepEqual(await t.api.getOperation(op.id), ended);
  } finally {
    await t.stop();
  }
});

test('an ended operation\'s result is deleted after opResultRetentionMs; the coordinator does not read every result at each sweep', async () => {
  const retentionMs = 10_000;
  const t = await startTestCluster({ nodes: ['node1'], agentLimits: { opResultRetentionMs: retentionMs } });
  try {
    await t.api.createGroup('G');
    await t.api.createResource('R', 'Dummy', 'G');
    await t.until('G online', async () => (await t.api.getGroup('G')).state === 'Online');
    const op = await t.api.offlineResource('R');
    await t.until('offline ended', async () => (await t.api.getOperation(op.id)).done);
    // Count the coordinator's reads of results/ from here on: the index is fed by a watch.
    const store = t.cluster.store;
    let rangesOfResults = 0;
    const range = store.range.bind(store);
    store.range = (prefix: string) => {
      if (prefix === keys.results) rangesOfResults++;
      return range(prefix);
    };
    await t.run(retentionMs / 2);
    assert.equal((await t.api.getOperation(op.id)).ok, true, 'kept within its retention');
    await t.until('result deleted', async () => (await store.get(keys.result(op.id))) === undefined, retentionMs);
    await assert.rejects(t.api.getOperation(op.id), { name: 'ERROR_NOT_FOUND' });
    assert.ok(rangesOfResults <= 1, `results/ was read ${rangesOfResults} times in ${retentionMs} ms of sweeps`);
  } finally {
    await t.stop();
  }
});

test('an effect\'s store write that gets no answer is reported failed after storeWriteTimeoutMs', async () => {
  const { openEmbeddedStore } = await import('../../src/store/embedded.ts');
  const { VirtualClock } = await import('../../src/clock/virtual.ts');
  const clock = new VirtualClock(Date.UTC(2026, 10, 25));
  const store = await openEmbeddedStore({ clock });
  const timeoutMs = 3_000;
  const t = await startTestCluster({ nodes: ['node1'], store, clock, agentLimits: { storeWriteTimeoutMs: timeoutMs } });
  try {
    await t.api.createGroup('G');
    await t.api.createResource('R', 'Dummy', 'G');
    await t.until('G online', async () => (await t.api.getGroup('G')).state === 'Online');
    // From now on the store never answers a write of an operation's outcome.
    const put = store.put.bind(store);
    store.put = (key, value, options) => (key.startsWith(keys.results) ? new Promise(() => undefined) : put(key, value, options));
    const op = await t.api.offlineResource('R');
    await t.until('the write reported failed', () => t.cluster.log('node1').lines().some((l) => l.includes('Store write for operation result failed: no answer within 3000 ms')), timeoutMs * 2);
    assert.equal((await t.api.getResource('R')).state, 'Offline');
    assert.equal((await t.api.getOperation(op.id)).done, false, 'its outcome was never written');
  } finally {
    await t.stop();
    await store.close();
  }
});
