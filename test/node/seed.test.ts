// The seed document's scenario (KB2893882) end to end on the in-process
// cluster: a resource whose Open failed at node start, a move of its group by
// the mailbox console's workflow, and what failover does instead of hanging.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceStatus } from '../../src/rcm/index.ts';
import { analyzeText } from '../../src/diagnostics/analyze.ts';
import { startTestCluster, type TestCluster } from './helpers.ts';

/** CMS01 with DB and IS (IS depends on DB), online on node1; node2's cluster API is not up yet, so DB's Open fails there. */
async function seedCluster(): Promise<TestCluster> {
  const t = await startTestCluster({ nodes: ['node1', 'node2'], holdApiOffline: ['node2'], rcmLimits: { openRetryAttemptsMax: 2, openRetryDelaysMs: [1000, 2000] } });
  await t.api.createGroup('CMS01', { PreferredOwners: ['node1', 'node2'] });
  await t.api.createResource('DB', 'Dummy', 'CMS01');
  await t.api.createResource('IS', 'Dummy', 'CMS01', { dependencies: '[DB]' });
  await t.until('CMS01 online on node1', async () => {
    const g = await t.api.getGroup('CMS01');
    return g.owner === 'node1' && g.state === 'Online';
  });
  // Let node2's background open retries run out while its API is still offline.
  await t.run(10_000);
  assert.equal(resourceStatus(t.cluster.agent('node2').rcmState, 'DB')?.state, 'OpenCallFailed');
  return t;
}

/** The mailbox console's move: PersistentState 0, move, online the database, PersistentState 1. */
async function consoleMove(t: TestCluster) {
  await t.api.setResourceProperties('DB', { PersistentState: 0 });
  const move = await t.api.moveGroup('CMS01', { to: 'node2' });
  const took = await t.until('move ended', async () => (await t.api.getOperation(move.id)).done, 600_000);
  return { result: await t.api.getOperation(move.id), tookMs: took };
}

test('seed: the console move completes after Open failed at node start; DB and IS end Online on the target', async () => {
  const t = await seedCluster();
  try {
    t.cluster.agent('node2').bringApiOnline(); // [API] Online.
    const { result } = await consoleMove(t);
    assert.equal(result.ok, true, JSON.stringify(result));
    const endedAt = t.clock.now();
    const online = await t.api.onlineResource('DB');
    await t.until('online DB ended', async () => (await t.api.getOperation(online.id)).done);
    assert.equal((await t.api.getOperation(online.id)).ok, true);
    await t.api.setResourceProperties('DB', { PersistentState: 1 });
    await t.until('CMS01 online on node2', async () => {
      const g = await t.api.getGroup('CMS01');
      return g.owner === 'node2' && g.state === 'Online';
    });
    for (const r of ['DB', 'IS']) assert.equal((await t.api.getResource(r)).state, 'Online', r);
    assert.equal((await t.api.getGroup('CMS01')).moving, false);
    const log = t.cluster.log('node2').lines();
    assert.ok(log.some((l) => l.includes('Open of resource DB failed (70); retry')), 'the log shows the open retry');
    assert.ok(log.some((l) => l.includes('Resource DB has not opened; issuing Open before Online.')), 'the target re-opened DB before online');
    const after = [...t.cluster.log('node1').lines(), ...log].filter((l) => l.includes('5908') && lineTime(l) > endedAt);
    assert.deepEqual(after, [], 'no request is answered 5908 after the move ended');
  } finally {
    await t.stop();
  }
});

test('seed: when Open keeps failing the move ends in time with an error naming DB, and reset recovers it without a restart', async () => {
  const t = await seedCluster();
  try {
    const { result, tookMs } = await consoleMove(t);
    assert.equal(result.ok, false);
    assert.match(result.error?.message ?? '', /\bDB\b/, JSON.stringify(result.error));
    assert.equal(result.error?.code, 70, 'the open error is reported');
    assert.ok(tookMs < 60_000, `the move failed fast (${tookMs} ms), long before its deadline`);
    const g = await t.api.getGroup('CMS01');
    assert.equal(g.moving, false, 'the group is not left moving');
    assert.equal(g.move?.outcome, 'failed');
    assert.equal(g.move?.error?.resource, 'DB');
    // The diagnostics read this cluster's own log: a move that failed because DB could not open, with the reset remedy.
    const findings = analyzeText(t.cluster.log('node2').lines(), 'node2').findings;
    const f = findings.find((x) => x.ruleId === 'MOVE-FAILED-OPEN');
    assert.ok(f, `diagnosed: ${findings.map((x) => x.ruleId).join(', ') || 'nothing'}`);
    assert.equal(f.resource, 'DB');
    assert.equal(f.group, 'CMS01');
    assert.ok(f.remedies.some((r) => r.includes('failover resource reset DB')), f.remedies.join(' | '));
    assert.ok(f.evidence.length > 0);
    // Requests are served again (no 5908): a reset before the fix fails with the open's error, at once.
    const early = await t.api.resetResource('DB');
    await t.until('early reset ended', async () => (await t.api.getOperation(early.id)).done);
    assert.equal((await t.api.getOperation(early.id)).error?.code, 70);
    // The cluster database becomes available; reset DB, then bring the group online, without restarting anything.
    t.cluster.agent('node2').bringApiOnline();
    const reset = await t.api.resetResource('DB');
    await t.until('reset ended', async () => (await t.api.getOperation(reset.id)).done);
    assert.equal((await t.api.getOperation(reset.id)).ok, true);
    const online = await t.api.onlineGroup('CMS01');
    await t.until('online ended', async () => (await t.api.getOperation(online.id)).done);
    await t.until('CMS01 online', async () => (await t.api.getGroup('CMS01')).state === 'Online');
    assert.equal((await t.api.getGroup('CMS01')).owner, 'node2');
    assert.ok(t.cluster.agent('node1').running && t.cluster.agent('node2').running, 'no node was restarted');
  } finally {
    await t.stop();
  }
});

function lineTime(line: string): number {
  const m = /::(\d{4})\/(\d\d)\/(\d\d)-(\d\d):(\d\d):(\d\d)\.(\d{3})/.exec(line);
  return m ? Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, +m[7]!) : 0;
}
