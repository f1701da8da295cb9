// The mailbox server on the in-process cluster: single copy (SCC) moves and
// exclusive disks, what clients see while a database is not mounted, the
// mailbox access API, name resolution, and stop/start across node restarts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errors, type ClusterError } from '../../src/model/errors.ts';
import { MailboxHttpClient, resolveNetworkName, sendMail } from '../../src/mailbox/client.ts';
import { createSampleMailboxServer, serverResourceNames } from '../../src/mailbox/console.ts';
import { randomEndpoint, startMailboxCluster } from './helpers.ts';

const names = serverResourceNames;

test('SCC: the server moves with its disk; a second server cannot mount a disk another owns', { timeout: 90_000 }, async () => {
  const t = await startMailboxCluster();
  try {
    await t.console.createServer('CMS01', { mode: 'scc', nodes: ['node1', 'node2'], storageRoot: t.dir, address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort });
    for (let i = 0; i < 5; i++) assert.match((await t.console.send('CMS01', { from: 'x', to: 'alice', subject: `m${i}`, text: 'hi' })).response, /^250 /);
    const report = await t.console.move('CMS01', { to: 'node2', comment: 'scc move' });
    assert.equal(report.ok, true, JSON.stringify(report));
    assert.match((await t.console.send('CMS01', { from: 'x', to: 'alice', subject: 'm5', text: 'hi' })).response, /^250 /);
    assert.deepEqual((await t.console.read('CMS01', 'alice')).messages.map((m) => m.subject), ['m0', 'm1', 'm2', 'm3', 'm4', 'm5'], 'the same disk, now owned by node2');

    // CMS02 is configured onto CMS01's disk: its disk online on node1 is refused while CMS01 owns it.
    const e2 = randomEndpoint();
    await t.console.createServer('CMS02', { mode: 'scc', nodes: ['node1'], storageRoot: `${t.dir}/other`, address: e2.address, smtpPort: e2.smtpPort, httpPort: e2.httpPort });
    await t.console.stop('CMS02');
    const sharedPath = (await t.api.getResource(names.physicalDisk('CMS01'))).parameters['Path'] as string;
    await t.api.setResourceParameters(names.physicalDisk('CMS02'), { Path: sharedPath });
    const start = await t.console.start('CMS02');
    assert.equal(start.ok, false);
    const disk = await t.api.getResource(names.physicalDisk('CMS02'));
    assert.equal(disk.lastError?.code, errors.ERROR_SHARING_VIOLATION.code, JSON.stringify(disk));
    assert.match(disk.lastError?.message ?? '', /owned by group CMS01 on node node2/);
    assert.notEqual((await t.api.getResource(names.database('CMS02', 'Mailbox Database'))).state, 'Online', 'CMS02 did not mount a database on the disk');
    assert.equal((await t.console.read('CMS01', 'alice')).total, 6, 'CMS01 is untouched');
  } finally {
    await t.stop();
  }
});

test('while the database is not mounted SMTP answers 451 and the API 503; names, domains, paging and delete', { timeout: 60_000 }, async () => {
  const t = await startMailboxCluster();
  try {
    await t.console.createServer('CMS01', { mode: 'ccr', nodes: ['node1', 'node2'], storageRoot: t.dir, address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort });
    const resolved = await resolveNetworkName(t.api, 'CMS01');
    assert.deepEqual({ address: resolved.address, owner: resolved.owner }, { address: t.address, owner: 'node1' });
    await assert.rejects(resolveNetworkName(t.api, 'nosuchname'), (e: ClusterError) => e.code === errors.DNS_ERROR_RCODE_NAME_ERROR.code);
    const mail = { from: 'x@cms01', to: 'alice@cms01', subject: 's', text: 'hi' };
    await assert.rejects(sendMail(t.address, t.smtpPort, { ...mail, to: 'alice@elsewhere.example' }), (e: { responseCode?: number }) => e.responseCode === 550);

    const client = new MailboxHttpClient(`http://${t.address}:${t.httpPort}`);
    for (let i = 0; i < 7; i++) await sendMail(t.address, t.smtpPort, { ...mail, subject: `s${i}`, messageId: `<p${i}@t>` });
    await sendMail(t.address, t.smtpPort, { ...mail, subject: 's0 again', messageId: '<p0@t>' });
    const first = await client.list('alice', { limit: 3 });
    assert.deepEqual([first.total, first.messages.length, first.next], [7, 3, 3], 'a retried Message-ID is not stored twice');
    assert.deepEqual((await client.listAll('alice', 3)).map((m) => m.subject), ['s0', 's1', 's2', 's3', 's4', 's5', 's6']);
    await client.delete('alice', first.messages[1]!.id);
    await assert.rejects(client.read('alice', first.messages[1]!.id), (e: ClusterError) => e.code === errors.ERROR_NOT_FOUND.code);
    assert.equal((await client.list('alice')).total, 6);

    const db = names.database('CMS01', 'Mailbox Database');
    const off = await t.console.waitOperation(await t.api.offlineResource(db), 30_000);
    assert.equal(off.ok, true);
    await assert.rejects(sendMail(t.address, t.smtpPort, mail), (e: { responseCode?: number; message: string }) => e.responseCode === 451 && /not mounted/.test(e.message));
    await assert.rejects(client.list('alice'), (e: ClusterError) => e.code === errors.ERROR_NOT_READY.code && /HTTP 503/.test(e.message));
    await t.console.waitOperation(await t.api.onlineResource(db), 30_000);
    assert.match((await sendMail(t.address, t.smtpPort, mail)).response, /^250 /);
  } finally {
    await t.stop();
  }
});

test('stop keeps the server offline across a node restart until start; the move checks its target first', { timeout: 60_000 }, async () => {
  const t = await startMailboxCluster({ nodes: ['node1', 'node2', 'node3'] });
  try {
    await t.console.createServer('CMS01', { mode: 'ccr', nodes: ['node1', 'node2'], storageRoot: t.dir, address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort });
    await assert.rejects(t.console.move('CMS01', { to: 'node3' }), (e: ClusterError) => e.code === errors.ERROR_HOST_NODE_NOT_RESOURCE_OWNER.code && /node3/.test(e.message));
    await assert.rejects(t.console.move('CMS01', { to: 'node9' }), (e: ClusterError) => e.code === errors.ERROR_CLUSTER_NODE_NOT_FOUND.code);
    await assert.rejects(t.console.move('CMS01', { to: 'node1' }), (e: ClusterError) => e.code === errors.ERROR_INVALID_STATE.code);

    const stopped = await t.console.stop('CMS01');
    assert.equal(stopped.ok, true);
    await t.cluster.stopNode('node1');
    await t.cluster.startNode('node1');
    await new Promise((r) => setTimeout(r, 2_000));
    assert.equal((await t.console.status('CMS01')).state, 'Offline', 'still offline after the node restarted');
    const started = await t.console.start('CMS01');
    assert.equal(started.ok, true, JSON.stringify(started));
    const status = await t.console.status('CMS01');
    assert.equal(status.state, 'Online');
    assert.match((await t.console.send('CMS01', { from: 'x', to: 'bob', subject: 's', text: 'back' })).response, /^250 /);
  } finally {
    await t.stop();
  }
});

test('the sample server of failover up: CCR on the first two nodes, created once', { timeout: 60_000 }, async () => {
  const t = await startMailboxCluster({ nodes: ['node1', 'node2', 'node3'] });
  try {
    const options = { nodes: ['node1', 'node2', 'node3'], storageRoot: t.dir, clock: t.clock, address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort };
    const s = await createSampleMailboxServer(t.api, options);
    assert.deepEqual([s.server, s.mode, s.state, s.owner, s.nodes], ['CMS01', 'ccr', 'Online', 'node1', ['node1', 'node2']]);
    assert.deepEqual(s.databases[0]!.copies.map((c) => [c.node, c.status]), [['node1', 'Mounted'], ['node2', 'Healthy']]);
    const again = await createSampleMailboxServer(t.api, options);
    assert.equal(again.resources.length, s.resources.length, 'a resumed cluster keeps its server');
    assert.match((await t.console.send('CMS01', { from: 'x', to: 'alice', subject: 's', text: 'hi' })).response, /^250 /);
  } finally {
    await t.stop();
  }
});
