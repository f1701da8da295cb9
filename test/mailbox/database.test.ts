// The message store on its own: durability, de-duplication, paging, torn
// tails, fencing and continuous replication (catch-up, divergence, reseed,
// activation replay), on a virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync } from 'node:fs';
import { VirtualClock } from '../../src/clock/virtual.ts';
import { errors, type ClusterError } from '../../src/model/errors.ts';
import { MailboxDatabase, type Replica } from '../../src/mailbox/database.ts';
import { FencedDirectory } from '../../src/mailbox/fenced-directory.ts';
import { encodeFrame, generationPath, scanLog } from '../../src/mailbox/log-format.ts';
import { copyDirectory, copyStatuses, replayCopy, requestReseed } from '../../src/mailbox/replication.ts';
import { tempDir } from './helpers.ts';

const GROUP = 'CMS01';

function raw(i: number): Buffer {
  return Buffer.from(`Message-ID: <m${i}@t>\r\nSubject: s${i}\r\n\r\nbody ${i}\r\n`);
}

async function take(root: string, node: string, token: number, clock: VirtualClock, group = GROUP): Promise<FencedDirectory> {
  return FencedDirectory.acquire(root, { group, node, token }, () => clock.now());
}

async function mount(clock: VirtualClock, local: FencedDirectory, token: number, replicas: Replica[] = [], limits = {}): Promise<MailboxDatabase> {
  return MailboxDatabase.mount({ name: 'DB', local, replicas, epoch: token, clock, limits });
}

/** Polls (in real time: file I/O runs off the virtual clock) until cond holds; fails after maxMs. */
async function eventually(what: string, cond: () => Promise<boolean>, maxMs = 5_000): Promise<void> {
  const until = Date.now() + maxMs;
  while (!(await cond())) {
    if (Date.now() > until) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function withDir(fn: (dir: string, clock: VirtualClock) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = tempDir();
    try {
      await fn(dir, new VirtualClock());
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
}

test(
  'deliver, list with paging, read, delete; a repeated Message-ID is stored once per mailbox',
  withDir(async (dir, clock) => {
    const db = await mount(clock, await take(dir, 'node1', 5, clock), 5);
    const results = await Promise.all(Array.from({ length: 25 }, (_, i) => db.deliver({ mailbox: 'Alice', raw: raw(i), messageId: `<m${i}@t>`, subject: `s${i}` })));
    assert.equal(new Set(results.map((r) => r.id)).size, 25);
    const again = await db.deliver({ mailbox: 'alice', raw: raw(3), messageId: '<m3@t>' });
    assert.deepEqual(again, { id: results[3]!.id, duplicate: true });
    const other = await db.deliver({ mailbox: 'bob', raw: raw(3), messageId: '<m3@t>' });
    assert.equal(other.duplicate, false, 'the same message to another mailbox is stored');
    const page1 = db.list('alice', 0, 10);
    const page3 = db.list('alice', 20, 10);
    assert.equal(page1.total, 25);
    assert.deepEqual(page1.messages.map((m) => m.subject), Array.from({ length: 10 }, (_, i) => `s${i}`));
    assert.equal(page3.messages.length, 5);
    const read = await db.read('ALICE', results[7]!.id);
    assert.equal(read?.raw.toString(), raw(7).toString());
    assert.equal(await db.delete('alice', results[7]!.id), true);
    assert.equal(await db.delete('alice', results[7]!.id), false);
    assert.equal(await db.read('alice', results[7]!.id), undefined);
    assert.equal((await db.deliver({ mailbox: 'alice', raw: raw(7), messageId: '<m7@t>' })).duplicate, true, 'a late retry of a deleted message is not stored again');
    assert.deepEqual(db.mailboxes(), [{ mailbox: 'alice', count: 24 }, { mailbox: 'bob', count: 1 }]);
    await db.dismount();
    await assert.rejects(db.deliver({ mailbox: 'alice', raw: raw(99) }), (e: ClusterError) => e.code === errors.ERROR_NOT_READY.code);
  }),
);

test(
  'acknowledged messages survive a crash (no checkpoint) and a torn tail is cut off at mount',
  withDir(async (dir, clock) => {
    const db = await mount(clock, await take(dir, 'node1', 5, clock), 5);
    for (let i = 0; i < 10; i++) await db.deliver({ mailbox: 'alice', raw: raw(i), messageId: `<m${i}@t>` });
    db.abort('crash');
    // A write torn by the crash: half a frame after the last acknowledged one.
    const frame = encodeFrame({ header: { lsn: 11, epoch: 5, op: 'put', mailbox: 'alice', id: 'm11' }, payload: raw(11) });
    appendFileSync(generationPath(dir, 1), frame.subarray(0, frame.length - 7));
    const again = await mount(clock, await take(dir, 'node2', 6, clock), 6);
    assert.equal(again.mountReport.replayed, 10, 'the whole log was replayed (no checkpoint after a crash)');
    assert.equal(again.list('alice', 0, 100).total, 10);
    const next = await again.deliver({ mailbox: 'alice', raw: raw(12), messageId: '<m12@t>' });
    assert.equal(next.id, 'm11', 'the torn record was cut off; numbering continues after the last whole one');
    await again.dismount();
    const third = await mount(clock, await take(dir, 'node1', 7, clock), 7);
    assert.equal(third.mountReport.replayed, 0, 'after a clean dismount the checkpoint covers everything');
    assert.equal(third.list('alice', 0, 100).total, 11);
    await third.dismount();
  }),
);

test(
  'fencing: another group is refused, an equal token from another node is refused, a stale token is refused and its writes rejected',
  withDir(async (dir, clock) => {
    const disk = await take(dir, 'node1', 5, clock);
    await assert.rejects(take(dir, 'node2', 9, clock, 'CMS02'), (e: ClusterError) => e.code === errors.ERROR_SHARING_VIOLATION.code && /CMS01/.test(e.message));
    await assert.rejects(take(dir, 'node2', 5, clock), (e: ClusterError) => e.code === errors.ERROR_SHARING_VIOLATION.code && /node1/.test(e.message));
    await assert.rejects(take(dir, 'node2', 4, clock), (e: ClusterError) => e.code === errors.ERROR_WRITE_PROTECT.code && /stale/.test(e.message));
    const stale = await mount(clock, disk.sub('db'), 5);
    await stale.deliver({ mailbox: 'alice', raw: raw(1), messageId: '<m1@t>' });
    // The group fails over: the new owner takes the disk with a higher epoch while the old one still runs.
    const newer = await mount(clock, (await take(dir, 'node2', 7, clock)).sub('db'), 7);
    assert.equal(newer.list('alice', 0, 10).total, 1);
    await assert.rejects(stale.deliver({ mailbox: 'alice', raw: raw(2), messageId: '<m2@t>' }), (e: ClusterError) => e.code === errors.ERROR_WRITE_PROTECT.code && /stale fencing token 5/.test(e.message));
    assert.equal(stale.mounted, false, 'the stale database stops');
    await newer.deliver({ mailbox: 'alice', raw: raw(3), messageId: '<m3@t>' });
    const scan = await scanLog(`${dir}/db`);
    assert.deepEqual(scan.records.map((r) => [r.header.lsn, r.header.epoch, r.header.messageId]), [[1, 5, '<m1@t>'], [2, 7, '<m3@t>']], "the stale owner's write never reached the log");
    // A released directory may be taken by anyone.
    await newer.dismount();
    const owner = await take(dir, 'node2', 7, clock);
    await owner.release();
    const other = await take(dir, 'node1', 1, clock, 'CMS02');
    assert.equal(other.claim.group, 'CMS02');
  }),
);

test(
  'CCR: a delivery is on the passive copy before it is acknowledged; replay, copy status and activation of the copy',
  withDir(async (dir, clock) => {
    const copy = (node: string) => copyDirectory(dir, node);
    const claim = async (node: string, token: number) => take(copy(node), 'node1', token, clock);
    const active = await mount(clock, await claim('node1', 5), 5, [{ node: 'node2', fence: await claim('node2', 5) }]);
    for (let i = 0; i < 20; i++) {
      const r = await active.deliver({ mailbox: 'alice', raw: raw(i), messageId: `<m${i}@t>` });
      const passive = await scanLog(copy('node2'));
      assert.ok(passive.records.some((x) => x.header.id === r.id), `message ${i} is on the passive copy when acknowledged`);
    }
    let status = await copyStatuses(dir, ['node1', 'node2'], 'node1', true);
    assert.deepEqual(status.map((c) => [c.node, c.status, c.copyQueueLength, c.replayQueueLength, c.lastInspectedLog]), [
      ['node1', 'Mounted', 0, 0, 'E0000000001.log'],
      ['node2', 'Healthy', 0, 20, 'E0000000001.log'],
    ]);
    await clock.advanceAsync(active.limits.copyReplayIntervalMs);
    await eventually('the replay step caught up', async () => (await copyStatuses(dir, ['node1', 'node2'], 'node1', true))[1]!.replayQueueLength === 0);
    for (let i = 20; i < 25; i++) await active.deliver({ mailbox: 'alice', raw: raw(i), messageId: `<m${i}@t>` });
    active.abort('node1 lost');
    // Failover: node2 activates its copy with a higher epoch; it replays what it received beyond its checkpoint.
    const claim2 = async (node: string) => FencedDirectory.acquire(copy(node), { group: GROUP, node: 'node2', token: 8 }, () => clock.now());
    const activated = await mount(clock, await claim2('node2'), 8, [{ node: 'node1', fence: await claim2('node1') }]);
    assert.equal(activated.mountReport.replayed, 5);
    assert.equal(activated.list('alice', 0, 100).total, 25);
    assert.deepEqual(activated.mountReport.copies, [{ node: 'node1', outcome: 'caught-up' }]);
    await activated.dismount();
  }),
);

test(
  'CCR: a copy holding records the new active never had (written by a node that crashed before shipping) is reseeded; so is one on request',
  withDir(async (dir, clock) => {
    const copy = (node: string) => copyDirectory(dir, node);
    const as = (owner: string, token: number) => async (node: string) => FencedDirectory.acquire(copy(node), { group: GROUP, node: owner, token }, () => clock.now());
    const n1 = as('node1', 5);
    const active = await mount(clock, await n1('node1'), 5, [{ node: 'node2', fence: await n1('node2') }]);
    for (let i = 0; i < 5; i++) await active.deliver({ mailbox: 'alice', raw: raw(i), messageId: `<m${i}@t>` });
    active.abort('crash');
    // node1 wrote LSN 6 locally, then crashed before shipping it (it was never acknowledged).
    appendFileSync(generationPath(copy('node1'), 1), encodeFrame({ header: { lsn: 6, epoch: 5, op: 'put', mailbox: 'alice', id: 'm6', messageId: '<lost@t>' }, payload: raw(6) }));
    const n2 = as('node2', 8);
    const db2 = await mount(clock, await n2('node2'), 8, [{ node: 'node1', fence: await n2('node1') }]);
    assert.deepEqual(db2.mountReport.copies, [{ node: 'node1', outcome: 'reseeded' }]);
    await db2.deliver({ mailbox: 'alice', raw: raw(7), messageId: '<m7@t>' });
    assert.deepEqual(readFileSync(generationPath(copy('node1'), 1)), readFileSync(generationPath(copy('node2'), 1)), 'the reseeded copy mirrors the active');
    // A reseed asked for while mounted is done by the replay step.
    rmSync(generationPath(copy('node1'), 1));
    await requestReseed(copy('node1'), clock.now());
    assert.equal((await copyStatuses(dir, ['node1', 'node2'], 'node2', true))[0]!.status, 'ReseedRequested');
    await clock.advanceAsync(db2.limits.copyReplayIntervalMs);
    await eventually('the reseed was done', async () => (await copyStatuses(dir, ['node1', 'node2'], 'node2', true))[0]!.status === 'Healthy');
    const status = await copyStatuses(dir, ['node1', 'node2'], 'node2', true);
    assert.deepEqual(status.map((c) => [c.node, c.status, c.copyQueueLength]), [
      ['node1', 'Healthy', 0],
      ['node2', 'Mounted', 0],
    ]);
    assert.equal(await replayCopy(await n2('node1')), 0, 'the reseeded copy came with its index');
    await db2.dismount();
  }),
);
