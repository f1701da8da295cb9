// The embedded store on a virtual clock: a stall of the whole process (time
// passes, no timer runs) is not counted against its leases; a lease nobody
// renews while the process runs still expires on time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { STALL_CREDIT_MIN_MS, STALL_REPORT_MIN_MS, STALL_SAMPLE_INTERVAL_MS } from '../../src/store/limits.ts';

test('a lease outlives a stall of the whole process longer than its TTL, and then expires a full TTL of running time later', async () => {
  const clock = new VirtualClock();
  const store = await openEmbeddedStore({ clock });
  const reported: number[] = [];
  store.stalls.onStall((ms) => reported.push(ms));
  try {
    const lease = await store.grantLease(2);
    await store.put('member', 'x', { lease });
    await clock.advanceAsync(500);
    clock.stall(10_000);
    await clock.advanceAsync(0); // the overdue timers run now, late
    assert.equal((await store.get('member'))?.value, 'x', 'the stall did not expire the lease');
    assert.equal(await store.leaseTimeToLive(lease), 2, '1.5 s of running time left, rounded up');
    assert.equal(reported.length, 1);
    assert.ok(reported[0]! >= 10_000 - STALL_SAMPLE_INTERVAL_MS, `reported a stall of ${reported[0]} ms`);
    // Nobody renews: it expires 2 s of running time after its grant, stall excluded.
    await clock.advanceAsync(1_300);
    assert.equal((await store.get('member'))?.value, 'x');
    await clock.advanceAsync(400);
    assert.equal(await store.get('member'), undefined, 'expired once 2 s had run without renewal');
    assert.equal(await store.leaseTimeToLive(lease), -1);
  } finally {
    await store.close();
  }
});

test('a renewal that comes first after a stall, before any timer has run, still finds its lease', async () => {
  const clock = new VirtualClock();
  const store = await openEmbeddedStore({ clock });
  try {
    const lease = await store.grantLease(1);
    await clock.advanceAsync(500);
    clock.stall(5_000);
    await store.keepAlive(lease); // the store has not sampled since the stall: the renewal itself must see it
    await clock.advanceAsync(900);
    assert.equal(await store.leaseTimeToLive(lease), 1);
  } finally {
    await store.close();
  }
});

test('ordinary timer jitter is not a stall: a lease late by less than the credit minimum expires on time', async () => {
  const clock = new VirtualClock();
  const store = await openEmbeddedStore({ clock });
  try {
    const lease = await store.grantLease(1);
    await store.put('k', 'v', { lease });
    for (let i = 0; i < 10; i++) {
      await clock.advanceAsync(60);
      clock.stall(STALL_CREDIT_MIN_MS - 10);
    }
    // 10 × (60 + 40) = 1000 ms have passed; none of it was credited.
    await clock.advanceAsync(0);
    assert.equal(await store.get('k'), undefined);
    assert.equal(store.stalls.stalledMs(), 0);
  } finally {
    await store.close();
  }
});

test('the stall meter samples only while leases exist, and reports only stalls worth a warning', async () => {
  const clock = new VirtualClock();
  const store = await openEmbeddedStore({ clock });
  const reported: number[] = [];
  store.stalls.onStall((ms) => reported.push(ms));
  try {
    assert.equal(store.stalls.running, false);
    const lease = await store.grantLease(5);
    assert.equal(store.stalls.running, true);
    // A stall is measured by how late the sampling timer runs: up to one sampling interval of it goes uncounted.
    clock.stall(STALL_REPORT_MIN_MS + STALL_SAMPLE_INTERVAL_MS);
    await clock.advanceAsync(0);
    const first = store.stalls.stalledMs();
    assert.ok(first >= STALL_REPORT_MIN_MS, `counted ${first} ms`);
    clock.stall(STALL_REPORT_MIN_MS - 10); // counted, not reported
    await clock.advanceAsync(0);
    assert.ok(store.stalls.stalledMs() > first);
    assert.equal(reported.length, 1);
    await store.revokeLease(lease);
    assert.equal(store.stalls.running, false);
    assert.equal(clock.pendingTimers(), 0, 'no timer left behind');
  } finally {
    await store.close();
  }
});
