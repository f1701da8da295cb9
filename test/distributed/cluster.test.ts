// Three `failover agent` processes on one etcd: the cluster's API from any
// agent, moves, failover after kill -9, pause with drain, rejoin.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startTestCluster, waitUntil, watchResourceProcesses } from './harness.ts';

const failoverWithinMs = 20_000;

test('three agents on etcd: one cluster API, move, failover on kill -9, pause with drain, rejoin', { timeout: 180_000 }, async () => {
  const c = await startTestCluster(['n1', 'n2', 'n3']);
  const tag = `t${randomBytes(4).toString('hex')}`;
  const watcher = await watchResourceProcesses(tag);
  try {
    const a = (n: string) => c.agents.get(n)!.api;
    // Created through n1's API ...
    await a('n1').createGroup('Web', { PreferredOwners: ['n1', 'n2', 'n3'] });
    await a('n1').createResource('App', 'Generic Application', 'Web', {
      parameters: { CommandLine: `exec '${process.execPath}' -e 'setInterval(() => {}, 1e6)' -- --tag ${tag} --group Web` },
    });
    // The coordinator may have placed Web before App existed; App then waits for a request, as in WSFC.
    await a('n1').onlineGroup('Web');
    // ... seen through n2's, online on its preferred owner.
    const online = await waitUntil('Web online on n1, seen from n2', async () => {
      const g = await a('n2').getGroup('Web');
      return g.state === 'Online' && g.owner === 'n1' ? g : undefined;
    });
    assert.deepEqual(online.resources, ['App']);
    await waitUntil('the App process on n1', () => watcher.nodesOf('Web').join() === 'n1');
    const nodes = await a('n3').listNodes();
    assert.deepEqual(nodes.map((n) => [n.name, n.state]), [['n1', 'Up'], ['n2', 'Up'], ['n3', 'Up']]);

    // A planned move, asked through n3.
    const op = await a('n3').moveGroup('Web', { to: 'n2' });
    const done = await waitUntil('the move to end', async () => {
      const o = await a('n3').getOperation(op.id);
      return o.done ? o : undefined;
    });
    assert.equal(done.ok, true, JSON.stringify(done));
    await waitUntil('Web online on n2', async () => {
      const g = await a('n1').getGroup('Web');
      return g.state === 'Online' && g.owner === 'n2';
    });
    await waitUntil('the App process on n2 only', () => watcher.nodesOf('Web').join() === 'n2');
    const epochAfterMove = (await a('n1').getGroup('Web')).epoch;

    // kill -9 the owner: its watchdog kills the App process; the group comes online elsewhere once n2's lease is gone.
    c.kill('n2', 'SIGKILL');
    await waitUntil('the App process of the killed n2 to be gone', () => !watcher.nodesOf('Web').includes('n2'), 5_000);
    const failedOver = await waitUntil('Web online on another node after kill -9 of n2', async () => {
      const g = await a('n1').getGroup('Web');
      return g.state === 'Online' && g.owner !== 'n2' ? g : undefined;
    }, failoverWithinMs);
    assert.ok(failedOver.epoch > epochAfterMove, 'a failover bumps the ownership epoch');
    assert.equal((await a('n3').getNode('n2')).state, 'Down');
    const survivor = failedOver.owner!;
    const other = survivor === 'n1' ? 'n3' : 'n1';

    // Pause the new owner with drain: its groups move to the other live node.
    await a(other).pauseNode(survivor, { drain: true });
    await waitUntil(`Web drained from ${survivor} to ${other}`, async () => {
      const g = await a(other).getGroup('Web');
      return g.state === 'Online' && g.owner === other;
    }, failoverWithinMs);
    assert.equal((await a(other).getNode(survivor)).state, 'Paused');
    await a(other).resumeNode(survivor);
    assert.equal((await a(survivor).getNode(survivor)).state, 'Up');

    // The killed agent comes back: it rejoins and takes nothing it no longer owns.
    await c.start('n2');
    await waitUntil('n2 Up again', async () => (await a('n2').getNode('n2')).state === 'Up');
    const after = await a('n2').getGroup('Web');
    assert.equal(after.owner, other);
    assert.equal(after.state, 'Online');
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(watcher.nodesOf('Web'), [other], 'the App process runs on its owner only');
    assert.deepEqual(watcher.violations, [], 'never on two nodes at once');
  } finally {
    await watcher.stop();
    await c.close();
  }
});

test('an agent started with a lease TTL its keep-alive and fence margins cannot fit in is refused', async () => {
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(process.execPath, [new URL('../../bin/failover.js', import.meta.url).pathname, 'agent', '--etcd', 'http://127.0.0.1:1', '--node', 'x', '--lease-ttl', '1'], { encoding: 'utf8', timeout: 30_000 });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /lease TTL 1 s is too short/);
});
