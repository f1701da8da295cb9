// ocf:heartbeat:IPaddr2 on two nodes whose resource hosts run in two network
// namespaces joined by a link (two machines on one LAN, as far as addresses
// go): `failover resource create VIP --type ocf:heartbeat:IPaddr2 --param
// ip=…` brings the address up on the owner, and a move takes it down there and
// up on the other node, checked with `ip addr` in both namespaces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import { builtinResourceTypes } from '../../src/types/index.ts';
import { OCF_ROOT_DEFAULT, ocfTypeDefinitions } from '../../src/types/ocf.ts';
import { createNetnsPair, netnsUnavailableReason } from '../support/netns.ts';
import { runCli } from '../cli/harness.ts';
import { until as untilWithin } from '../support/until.ts';

const IPADDR2 = join(OCF_ROOT_DEFAULT, 'resource.d', 'heartbeat', 'IPaddr2');
/** Two nodes starting host processes and running the agent, on a loaded machine. */
const STEP_BOUND_MS = 90_000;

const unavailable = netnsUnavailableReason();
const name = 'resource create --type ocf:heartbeat:IPaddr2 brings the address up in the owner\'s namespace; a move transfers it';

test(unavailable ? `${name} (skipped: ${unavailable})` : name, { skip: unavailable !== undefined }, async () => {
  assert.ok(existsSync(IPADDR2), `${IPADDR2} is missing: npm test installs Debian's resource-agents (apt-get install resource-agents)`);
  const net = createNetnsPair('foip');
  const nsOf = (node: string): string => (node === 'node1' ? net.namespaces[0] : net.namespaces[1]);
  const { definitions } = await ocfTypeDefinitions(OCF_ROOT_DEFAULT, ['heartbeat:IPaddr2']);
  const cluster = await LocalCluster.start({
    nodes: ['node1', 'node2'],
    types: () => {
      const r = builtinResourceTypes();
      for (const d of definitions) r.register(d);
      return r;
    },
    hostProcesses: (node) => ({ command: ['ip', 'netns', 'exec', nsOf(node)] }),
  });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  const vip = `${net.subnet}.100`;
  try {
    await api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    const created = await runCli(api, ['resource', 'create', 'VIP', '--type', 'ocf:heartbeat:IPaddr2', '--group', 'G', '--param', `ip=${vip}`, '--param', 'cidr_netmask=24']);
    assert.equal(created.code, 0, created.err);
    await api.onlineGroup('G');
    await until('G Online on node1', async () => {
      const g = await api.getGroup('G');
      return g.state === 'Online' && g.owner === 'node1';
    });
    assert.ok(net.ipv4Addresses(net.namespaces[0]).includes(vip), `${vip} is up in node1's namespace: ${net.ipv4Addresses(net.namespaces[0])}`);
    assert.ok(!net.ipv4Addresses(net.namespaces[1]).includes(vip));

    const op = await api.moveGroup('G', { to: 'node2' });
    await until('the move ended', async () => (await api.getOperation(op.id)).done);
    assert.equal((await api.getOperation(op.id)).ok, true);
    await until('G Online on node2', async () => {
      const g = await api.getGroup('G');
      return g.state === 'Online' && g.owner === 'node2';
    });
    assert.ok(net.ipv4Addresses(net.namespaces[1]).includes(vip), `${vip} is up in node2's namespace: ${net.ipv4Addresses(net.namespaces[1])}`);
    assert.ok(!net.ipv4Addresses(net.namespaces[0]).includes(vip), `${vip} is gone from node1's namespace`);

    await api.offlineGroup('G');
    await until('G Offline', async () => (await api.getGroup('G')).state === 'Offline');
    assert.ok(!net.ipv4Addresses(net.namespaces[1]).includes(vip));
  } finally {
    await cluster.stop();
    net.remove();
  }
});

const until = (what: string, cond: () => Promise<boolean> | boolean, maxMs = STEP_BOUND_MS): Promise<void> => untilWithin(what, cond, maxMs);
