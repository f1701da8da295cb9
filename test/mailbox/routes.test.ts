// The mailbox console over REST: create, status, move and stop/start through
// the cluster's API server, with its tokens and error bodies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startApiServer } from '../../src/api/server.ts';
import { mailboxRoutes } from '../../src/mailbox/routes.ts';
import { startMailboxCluster } from './helpers.ts';

test('mailbox REST: create a CCR server, read its status, move it, stop and start it; tokens and bad input answered with WSFC errors', { timeout: 90_000 }, async () => {
  const t = await startMailboxCluster();
  const tokens = { full: 'full-token', read: 'read-token' };
  const server = await startApiServer({ api: t.api, tokens, routes: [mailboxRoutes({ console: t.console, storageRoot: join(t.dir, 'mailbox') })] });
  const call = async (method: string, path: string, body?: unknown, token = tokens.full) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  try {
    const created = await call('POST', '/v1/mailbox/servers', { name: 'CMS01', mode: 'ccr', nodes: ['node1', 'node2'], address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.owner, 'node1');
    const status = await call('GET', '/v1/mailbox/servers/CMS01', undefined, tokens.read);
    assert.equal(status.status, 200);
    assert.equal(status.body.state, 'Online');
    const refused = await call('POST', '/v1/mailbox/servers/CMS01/move', { to: 'node2' }, tokens.read);
    assert.equal(refused.status, 403, 'the read token cannot move');
    const bad = await call('POST', '/v1/mailbox/servers/CMS01/move', { to: 'node2', force: true });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 87);
    const unknown = await call('POST', '/v1/mailbox/servers/CMS01/move', { to: 'node9' });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.name, 'ERROR_CLUSTER_NODE_NOT_FOUND');
    const moved = await call('POST', '/v1/mailbox/servers/CMS01/move', { to: 'node2', comment: 'maintenance' });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(moved.body.ok, true);
    assert.equal(moved.body.to, 'node2');
    assert.equal((await t.api.getGroup('CMS01')).owner, 'node2');
    const stopped = await call('POST', '/v1/mailbox/servers/CMS01/stop');
    assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
    await t.until('CMS01 offline', async () => (await t.api.getGroup('CMS01')).state === 'Offline');
    const started = await call('POST', '/v1/mailbox/servers/CMS01/start');
    assert.equal(started.status, 200, JSON.stringify(started.body));
    await t.until('CMS01 online', async () => (await t.api.getGroup('CMS01')).state === 'Online');
    const list = await fetch(`${server.url}/v1/mailbox/servers`, { headers: { authorization: `Bearer ${tokens.read}` } });
    assert.deepEqual(await list.json(), ['CMS01']);
  } finally {
    await server.close();
    await t.stop();
  }
});
