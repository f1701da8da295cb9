// The simulator's store faults on their own: the ledger of acknowledged writes
// (invariant 6) and the store that crashes, loses what its disk had not
// synced, and recovers through the embedded store's real recovery code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock, settle } from '../../src/clock/virtual.ts';
import { CrashableStore } from '../../src/sim/crashable-store.ts';
import { WriteLedger, type RecoveredStore } from '../../src/sim/write-ledger.ts';
import { StoreError, type KeyValue, type TxnOp } from '../../src/store/store.ts';

function recovered(revision: number, kvs: Record<string, [value: string, modRevision: number]>, leases: string[] = []): RecoveredStore {
  const map = new Map<string, KeyValue>(
    Object.entries(kvs).map(([key, [value, modRevision]]) => [key, { key, value, modRevision, createRevision: modRevision, version: 1 }]),
  );
  return { revision, kvs: map, hasLease: (l) => leases.includes(l) };
}

function ack(ledger: WriteLedger, revision: number, ...ops: TxnOp[]): void {
  ledger.acked(ledger.sent(ops), ops, revision);
}

test('the ledger: an acknowledged put must be there, or replaced later; a lost or older one is found', () => {
  const ledger = new WriteLedger();
  ack(ledger, 5, { type: 'put', key: 'a', value: '1' });
  ack(ledger, 6, { type: 'put', key: 'b', value: '2' });
  assert.equal(ledger.acknowledged, 2);
  assert.equal(ledger.check(recovered(6, { a: ['1', 5], b: ['2', 6] })), undefined);
  assert.equal(ledger.check(recovered(9, { a: ['9', 8], b: ['2', 6] })), undefined, 'a later write replaced it');
  assert.match(ledger.check(recovered(5, { a: ['1', 5] }))!.detail, /acknowledged put of b \(revision 6\) is lost: the store came back at revision 5/);
  assert.match(ledger.check(recovered(7, { a: ['0', 3], b: ['2', 6] }))!.detail, /put of a \(revision 5\) is lost: the key holds an older write \(revision 3\)/);
  assert.match(ledger.check(recovered(6, { a: ['x', 5], b: ['2', 6] }))!.detail, /put of a \(revision 5\) is damaged/);
  assert.equal(ledger.check(recovered(6, { b: ['2', 6] }))?.invariant, 'nothing-lost', 'missing with nothing to explain it');
});

test('the ledger: a missing key is explained only by a delete sent later or an ended lease', () => {
  const ledger = new WriteLedger();
  ack(ledger, 5, { type: 'put', key: 'a', value: '1' });
  ack(ledger, 6, { type: 'put', key: 'm', value: 'up', lease: 'L1' });
  const state = recovered(8, { a: ['1', 5], m: ['up', 6] }, ['L1']);
  assert.equal(ledger.check(state), undefined);
  // m's lease ended: its key went with it.
  assert.equal(ledger.check(recovered(8, { a: ['1', 5] })), undefined);
  assert.match(ledger.check(recovered(8, { a: ['1', 5] }, ['L1']))!.detail, /put of m .* missing/);
  // A delete sent after the put, never acknowledged (cut off by a crash), may have been applied.
  ledger.sent([{ type: 'delete', key: 'a' }]);
  assert.equal(ledger.check(recovered(8, { m: ['up', 6] }, ['L1'])), undefined);
  // A prefix delete explains it too, and a put under a lease that has ended.
  const l2 = new WriteLedger();
  ack(l2, 5, { type: 'put', key: 'p/a', value: '1' });
  ack(l2, 6, { type: 'put', key: 'q', value: '1' });
  l2.sent([{ type: 'deletePrefix', prefix: 'p/' }]);
  l2.sent([{ type: 'put', key: 'q', value: '2', lease: 'L9' }]);
  assert.equal(l2.check(recovered(8, {}, [])), undefined);
  assert.match(l2.check(recovered(8, {}, ['L9']))!.detail, /put of q/);
});

test('the ledger: acknowledged deletes, prefix deletes and revokes must stay done', () => {
  const ledger = new WriteLedger();
  ack(ledger, 5, { type: 'put', key: 'a', value: '1' });
  ack(ledger, 6, { type: 'delete', key: 'a' });
  assert.equal(ledger.check(recovered(6, {})), undefined);
  assert.equal(ledger.check(recovered(9, { a: ['2', 9] })), undefined, 'written again later');
  assert.match(ledger.check(recovered(6, { a: ['1', 5] }))!.detail, /acknowledged delete of a \(revision 6\) is lost: the key is back, at revision 5/);
  const p = new WriteLedger();
  ack(p, 7, { type: 'deletePrefix', prefix: 'g/' });
  assert.equal(p.check(recovered(8, { 'g/x': ['1', 8] })), undefined);
  assert.match(p.check(recovered(8, { 'g/x': ['1', 4] }))!.detail, /delete of prefix g\/ \(revision 7\) is lost: g\/x is back/);
  const r = new WriteLedger();
  r.revoked('L3');
  assert.equal(r.check(recovered(1, {}, [])), undefined);
  assert.match(r.check(recovered(1, {}, ['L3']))!.detail, /revoke of lease L3 is lost/);
});

test('the ledger: a transaction counts the branch it took', () => {
  const ledger = new WriteLedger();
  const success: TxnOp[] = [{ type: 'put', key: 's', value: '1' }];
  const failure: TxnOp[] = [{ type: 'put', key: 'f', value: '1' }];
  const seq = ledger.sent([...success, ...failure]);
  ledger.acked(seq, failure, 4);
  assert.equal(ledger.check(recovered(4, { f: ['1', 4] })), undefined, 'the success branch was not applied, so s is not expected');
  assert.match(ledger.check(recovered(4, {}))!.detail, /put of f/);
});

async function openStore(fsync: boolean): Promise<{ clock: VirtualClock; store: CrashableStore }> {
  const clock = new VirtualClock(0);
  return { clock, store: await CrashableStore.open({ clock, fsync }) };
}

test('a crashed store is unavailable, fails requests in flight, and recovers every acknowledged write', async () => {
  const { store } = await openStore(true);
  const lease = await store.grantLease(5);
  await store.put('member', 'up', { lease });
  for (let i = 0; i < 20; i++) await store.put(`k${i}`, String(i));
  await store.delete('k3');
  await store.txn({ compare: [{ key: 'k4', target: 'value', op: '==', value: 'no' }], success: [{ type: 'put', key: 'x', value: 'never' }], failure: [{ type: 'deletePrefix', prefix: 'k1' }] });
  store.setSyncDelayMs(50);
  const inFlight = store.put('late', 'maybe');
  await settle();
  store.crash(() => 0);
  await assert.rejects(inFlight, (e: unknown) => e instanceof StoreError && e.kind === 'unavailable');
  await assert.rejects(store.get('k0'), (e: unknown) => e instanceof StoreError && e.kind === 'unavailable');
  assert.equal(store.status, 'down');
  store.setSyncDelayMs(0);
  assert.equal(await store.recover(), undefined);
  assert.equal(store.status, 'up');
  assert.equal((await store.get('k0'))?.value, '0');
  assert.equal(await store.get('k3'), undefined);
  assert.equal(await store.get('k10'), undefined, 'the prefix delete of the failure branch holds');
  assert.equal(await store.get('late'), undefined, 'a write that was never synced is gone');
  assert.equal((await store.get('member'))?.lease, lease);
  assert.ok((await store.leaseTimeToLive(lease)) > 0, 'leases survive the crash');
  assert.ok(store.ledger.acknowledged >= 23);
  assert.equal(store.crashes, 1);
  await store.close();
});

test('a store that acknowledges before syncing loses acknowledged writes at a crash, and the ledger finds it', async () => {
  const { store } = await openStore(false);
  for (let i = 0; i < 10; i++) await store.put(`k${i}`, String(i));
  store.crash(() => 0);
  const finding = await store.recover();
  assert.equal(finding?.invariant, 'nothing-lost');
  assert.match(finding!.detail, /acknowledged put of k\d \(revision \d+\) is lost: the store came back at revision 0/);
  await store.close();
});

test('watches resume after a recovery from the last revision they were shown, including writes the crash did not lose', async () => {
  const { store } = await openStore(true);
  const seen: string[] = [];
  await store.watchPrefix('w/', (events, revision) => seen.push(...events.map((e) => `${revision}:${e.type} ${e.kv.key}`)));
  await store.put('w/a', '1');
  await store.put('other', '1');
  await settle();
  assert.deepEqual(seen, ['1:put w/a']);
  // Written but not yet synced when the power fails; the partial writeback keeps all of it.
  store.setSyncDelayMs(50);
  const unacknowledged = store.put('w/b', '1').catch((e: unknown) => e);
  await settle();
  store.crash((unsynced) => unsynced);
  assert.ok((await unacknowledged) instanceof StoreError);
  store.setSyncDelayMs(0);
  assert.equal(await store.recover(), undefined);
  await store.put('w/c', '1');
  await settle();
  assert.deepEqual(seen, ['1:put w/a', '3:put w/b', '4:put w/c']);
  await store.close();
});

test('a slow disk: a write is acknowledged only once its sync has taken its virtual time', async () => {
  const { clock, store } = await openStore(true);
  store.setSyncDelayMs(200);
  let acknowledged = false;
  const put = store.put('k', 'v').then(() => (acknowledged = true));
  await clock.advanceAsync(199);
  assert.equal(acknowledged, false);
  await clock.advanceAsync(1);
  await put;
  assert.equal(store.ledger.acknowledged, 1);
  store.setSyncDelayMs(0);
  await store.close();
});
