// The mailbox server in the embedded mode on a starved machine (CPU hogs, 4
// per core): a console move and a failover after the loss of the active node
// complete, no node loses its membership lease, and every message accepted
// before is readable afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startMailboxCluster } from './helpers.ts';
import { cpuHogsFor } from '../support/load.ts';

const messagesTotal = 10;
const hogsMaxMs = 150_000;

test('CCR under CPU hogs: a console move, then the loss of the active node; no lease lost, no message lost', { timeout: hogsMaxMs }, async (t) => {
  const hogs = cpuHogsFor(t, { maxMs: hogsMaxMs });
  const c = await startMailboxCluster();
  try {
    await c.console.createServer('CMS01', { mode: 'ccr', nodes: ['node1', 'node2'], storageRoot: c.dir, address: c.address, smtpPort: c.smtpPort, httpPort: c.httpPort });
    for (let i = 0; i < messagesTotal / 2; i++) assert.match((await c.console.send('CMS01', { from: 'x', to: 'alice', subject: `m${i}`, text: 'hi' })).response, /^250 /);
    const report = await c.console.move('CMS01', { to: 'node2', comment: 'under load' });
    assert.equal(report.ok, true, JSON.stringify(report));
    for (let i = messagesTotal / 2; i < messagesTotal; i++) assert.match((await c.console.send('CMS01', { from: 'x', to: 'alice', subject: `m${i}`, text: 'hi' })).response, /^250 /);

    await c.cluster.crashNode('node2');
    await c.until('CMS01 fails over to node1 and is online', async () => {
      const g = await c.api.getGroup('CMS01');
      return g.owner === 'node1' && g.state === 'Online';
    }, 60_000);
    const subjects = (await c.console.read('CMS01', 'alice')).messages.map((m) => m.subject);
    assert.deepEqual(subjects, Array.from({ length: messagesTotal }, (_, i) => `m${i}`));
    const log = c.cluster.log('node1').lines().join('\n');
    assert.doesNotMatch(log, /lost its membership/, 'node1 kept its lease');
    assert.doesNotMatch(log, /ERROR_CLUSTER_NODE_NOT_MEMBER|5052/);
    t.diagnostic(`${hogs.count} CPU hogs`);
  } finally {
    await c.stop();
  }
});
