// The seed document's scenario (KB2893882) on the real mailbox types: at node
// start the Mailbox Database's Open reads its Parameters key while the node's
// cluster API is not up yet and fails with error 70; later the API comes
// online and the mailbox console moves the server there by the seed's
// workflow. The move completes and mail flows on the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resourceStatus } from '../../src/rcm/index.ts';
import { serverResourceNames } from '../../src/mailbox/console.ts';
import { startMailboxCluster } from './helpers.ts';

const DB = serverResourceNames.database('CMS01', 'Mailbox Database');

test('seed: the database Open failed at node start (70); the console move completes and mail flows on the target', { timeout: 90_000 }, async () => {
  const t = await startMailboxCluster({ holdApiOffline: ['node2'], rcmLimits: { openRetryAttemptsMax: 2, openRetryDelaysMs: [200, 400] } });
  try {
    await t.console.createServer('CMS01', { mode: 'ccr', nodes: ['node1', 'node2'], storageRoot: t.dir, address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort });
    await t.until('the last open retry on node2 was scheduled', () => t.cluster.log('node2').lines().some((l) => l.includes(`Open of resource ${DB} failed (70); retry 2 of 2`)));
    await new Promise((r) => setTimeout(r, 1_000)); // the last retry (400 ms later) fails too
    assert.equal(resourceStatus(t.cluster.agent('node2').rcmState, DB)?.state, 'OpenCallFailed', 'the retries ran out with the API still offline');
    const before = await t.console.send('CMS01', { from: 'admin', to: 'alice', subject: 'before the move', text: 'sent to node1' });
    assert.match(before.response, /^250 /);

    t.cluster.agent('node2').bringApiOnline(); // [API] Online.
    const report = await t.console.move('CMS01', { to: 'node2', comment: 'seed scenario' });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.equal(report.move.move?.outcome, 'completed');
    const status = await t.console.status('CMS01');
    assert.equal(status.owner, 'node2');
    assert.equal(status.state, 'Online');
    assert.equal(status.moving, false);
    assert.equal((await t.api.getResource(DB)).common.PersistentState, 1, 'PersistentState is back to 1');

    const after = await t.console.send('CMS01', { from: 'admin', to: 'alice', subject: 'after the move', text: 'sent to node2' });
    assert.match(after.response, /^250 /);
    const inbox = await t.console.read('CMS01', 'alice');
    assert.deepEqual(inbox.messages.map((m) => m.subject), ['before the move', 'after the move']);

    const log = t.cluster.log('node2').lines();
    assert.ok(log.some((l) => l.includes(`Resource ${DB} has not opened; issuing Open before Online.`)), 'the target re-opened the database before its online');
    assert.ok(!log.some((l) => l.includes('5908')), 'no request was answered ERROR_CLUSTER_GROUP_MOVING');
    const lastMove = await t.api.registryGetValue('MailboxServers\\CMS01', 'LastMove');
    assert.match(String(lastMove.data), /seed scenario/);
  } finally {
    await t.stop();
  }
});
