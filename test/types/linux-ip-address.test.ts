// The Linux IP Address type: validation everywhere; and, where namespaces can
// be made (root), an address that follows its group between two nodes whose
// resource hosts run in two network namespaces joined by a link, and an
// online refused while another host answers for the address.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClusterError, errors } from '../../src/model/errors.ts';
import { LocalCluster } from '../../src/node/cluster.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import { LinuxIpAddressType, LINUX_IP_ADDRESS_TYPE_NAME } from '../../src/types/linux-ip-address.ts';
import { createNetnsPair, netnsUnavailableReason } from '../support/netns.ts';
import { contextFor } from './context.ts';
import { until as untilWithin } from '../support/until.ts';

/** Two nodes starting host processes and running ip, on a loaded machine. */
const STEP_BOUND_MS = 90_000;

test('open refuses an address that is not IPv4 or IPv6, and a prefix that does not fit it', async () => {
  const type = new LinuxIpAddressType();
  await type.open(contextFor(type, 'VIP', { Address: '192.0.2.10', PrefixLength: 24 }));
  await type.open(contextFor(type, 'VIP', { Address: '2001:db8::10', PrefixLength: 64 }));
  await assert.rejects(type.open(contextFor(type, 'VIP', { Address: 'web' })), (e: ClusterError) => e.name === 'ERROR_INVALID_PARAMETER' && /"web" is not an IPv4 or IPv6 address/.test(e.message));
  await assert.rejects(type.open(contextFor(type, 'VIP', { Address: '192.0.2.10', PrefixLength: 33 })), (e: ClusterError) => e.name === 'ERROR_INVALID_PARAMETER' && /PrefixLength 33/.test(e.message));
});

const unavailable = netnsUnavailableReason();
const name = 'an address follows its group between two namespaces; online is refused while another host answers for it';

test(unavailable ? `${name} (skipped: ${unavailable})` : name, { skip: unavailable !== undefined }, async () => {
  const net = createNetnsPair('folip');
  const [nsA, nsB] = net.namespaces;
  const cluster = await LocalCluster.start({
    nodes: ['node1', 'node2'],
    hostProcesses: (node) => ({ command: ['ip', 'netns', 'exec', node === 'node1' ? nsA : nsB] }),
  });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  const vip = `${net.subnet}.100`;
  const ownerIs = (node: string) => async () => {
    const g = await api.getGroup('G');
    return g.state === 'Online' && g.owner === node;
  };
  try {
    await api.createGroup('G', { PreferredOwners: ['node1', 'node2'] });
    await api.createResource('VIP', LINUX_IP_ADDRESS_TYPE_NAME, 'G', { parameters: { Address: vip, PrefixLength: 24 }, common: { RestartAction: 0 } });
    await api.onlineGroup('G');
    await until('G Online on node1', ownerIs('node1'));
    assert.ok(net.ipv4Addresses(nsA).includes(vip), `${vip} is up in node1's namespace: ${net.ipv4Addresses(nsA)}`);
    assert.ok(!net.ipv4Addresses(nsB).includes(vip));

    const op = await api.moveGroup('G', { to: 'node2' });
    await until('the move ended', async () => (await api.getOperation(op.id)).done);
    await until('G Online on node2', ownerIs('node2'));
    assert.ok(net.ipv4Addresses(nsB).includes(vip), `${vip} is up in node2's namespace`);
    assert.ok(!net.ipv4Addresses(nsA).includes(vip), `${vip} is gone from node1's namespace`);

    // Another host takes the address while the group is offline: online on node2 must not take it too.
    await api.offlineGroup('G');
    await until('G Offline', async () => (await api.getGroup('G')).state === 'Offline');
    assert.ok(!net.ipv4Addresses(nsB).includes(vip), 'offline removed the address');
    net.exec(nsA, ['ip', 'addr', 'add', `${vip}/24`, 'dev', `v${process.pid}a`]);
    await api.onlineGroup('G');
    await until('VIP Failed', async () => (await api.getResource('VIP')).state === 'Failed');
    const r = await api.getResource('VIP');
    assert.equal(r.lastError?.code, errors.ERROR_CLUSTER_IPADDR_IN_USE.code, JSON.stringify(r.lastError));
    assert.match(r.lastError!.message, new RegExp(`another host answers for ${vip.replaceAll('.', '\\.')}`));
    assert.ok(!net.ipv4Addresses(nsB).includes(vip), 'node2 did not add an address another host holds');
  } finally {
    await cluster.stop();
    net.remove();
  }
});

const until = (what: string, cond: () => Promise<boolean> | boolean, maxMs = STEP_BOUND_MS): Promise<void> => untilWithin(what, cond, maxMs);
