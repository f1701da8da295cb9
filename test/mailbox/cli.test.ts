// failover mailbox ... in-process against a running cluster's API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { registerMailbox } from '../../src/cli/commands/mailbox.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { runCli } from '../cli/harness.ts';
import { startMailboxCluster } from './helpers.ts';

function runMailbox(api: ClusterApi, args: string[], cwd: string) {
  return runCli(api, ['mailbox', ...args], cwd, registerMailbox);
}

test('failover mailbox: create-server, status, send, read, move, and errors with WSFC codes', { timeout: 60_000 }, async () => {
  const t = await startMailboxCluster();
  try {
    const created = await runMailbox(t.api, ['create-server', 'CMS01', '--mode', 'ccr', '--nodes', 'node1,node2', '--address', t.address, '--smtp-port', String(t.smtpPort), '--http-port', String(t.httpPort)], t.dir);
    assert.equal(created.code, 0, created.err);
    assert.match(created.out, /Mailbox server CMS01 \(CCR\): Online, on node1/);
    assert.match(created.out, /node2\s+Healthy\s+0\s+0/);
    const status = await runMailbox(t.api, ['status', 'CMS01', '--json'], t.dir);
    const s = JSON.parse(status.out) as { owner: string; databases: Array<{ copies: Array<{ node: string; status: string }> }> };
    assert.equal(s.owner, 'node1');
    assert.ok(s.databases[0]!.copies[0]!.status === 'Mounted');
    assert.ok((await t.api.getResource('Mailbox Database (CMS01/Mailbox Database)')).parameters['CopyRoot']!.toString().startsWith(`${t.dir}/.failover/mailbox/`), 'storage defaults to <data-dir>/mailbox');
    const sent = await runMailbox(t.api, ['send', 'CMS01', '--to', 'alice', '--subject', 'hello there'], t.dir);
    assert.match(sent.out, /^250 /, sent.err);
    const moved = await runMailbox(t.api, ['move', 'CMS01', '--to', 'node2', '--comment', 'from the cli'], t.dir);
    assert.equal(moved.code, 0, moved.err);
    assert.match(moved.out, /Moved CMS01 node1 -> node2/);
    const read = await runMailbox(t.api, ['read', 'CMS01', 'alice'], t.dir);
    assert.match(read.out, /alice: 1 message\(s\)/);
    assert.match(read.out, /m1 .* hello there/);
    const one = await runMailbox(t.api, ['read', 'CMS01', 'alice', '--id', 'm1'], t.dir);
    assert.match(one.out, /Subject: hello there/);
    const bad = await runMailbox(t.api, ['move', 'CMS01', '--to', 'node7'], t.dir);
    assert.notEqual(bad.code, 0);
    assert.match(bad.err, /ERROR_CLUSTER_NODE_NOT_FOUND 5042/);
    const badMode = await runMailbox(t.api, ['create-server', 'X', '--mode', 'raid', '--nodes', 'node1'], t.dir);
    assert.match(badMode.err, /--mode "raid": give scc or ccr \(.*\) \[ERROR_INVALID_PARAMETER 87\]/);
  } finally {
    await t.stop();
  }
});
