// The state the API shows for a resource is its owner's report for the
// current ownership only. A node that could not publish its last
// transitions (cut off from etcd while it stopped a group) leaves an old
// report behind; if the group later comes back to that node, the API must
// not show that old Online before the node has started the group again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RealClock } from '../../src/clock/real.ts';
import { openEmbeddedStore } from '../../src/store/embedded.ts';
import { ClusterDatabase } from '../../src/database/registry.ts';
import { ClusterConfigStore } from '../../src/database/config.ts';
import { builtinResourceTypes } from '../../src/types/index.ts';
import { createInProcessApi } from '../../src/api/service.ts';
import type { ClusterEvent } from '../../src/api/types.ts';
import { keys } from '../../src/node/keys.ts';
import { encode, type ResourceReport } from '../../src/node/records.ts';
import { until } from '../support/until.ts';

const boundMs = 5_000;

test("a report made under an earlier ownership of the same node is not shown: the group is Offline until the node reports again", async () => {
  const clock = new RealClock();
  const store = await openEmbeddedStore({ clock });
  const config = new ClusterConfigStore(new ClusterDatabase(store));
  const types = builtinResourceTypes();
  await config.registerResourceType(types.get('Dummy').descriptor);
  for (const [i, n] of ['node1', 'node2'].entries()) {
    await config.addNode(n, i + 1);
    await store.put(keys.member(n), encode({ id: i + 1, startedAt: 0 }));
  }
  await config.createGroup('G');
  await config.createResource({ name: 'R', type: 'Dummy', group: 'G' });
  const api = createInProcessApi({ store, clock });
  const events: ClusterEvent[] = [];
  const sub = await api.subscribe({}, (e) => events.push(e));
  const report = (epoch: number, state: ResourceReport['state']): Promise<unknown> =>
    store.put(keys.state('node2', 'R'), encode({ group: 'G', state, stateSeq: 1, epoch } satisfies ResourceReport));
  const shown = async (): Promise<string> => `${(await api.getGroup('G')).state}/${(await api.getResource('R')).state}`;
  try {
    const first = await store.put(keys.owner('G'), encode({ node: 'node2', reason: 'start' }));
    await report(first.revision, 'Online');
    await until('G Online on node2', async () => (await shown()) === 'Online/Online', boundMs);

    // G fails over to node1 and back to node2; node2's last report is still the Online of the first ownership.
    await store.put(keys.owner('G'), encode({ node: 'node1', reason: 'failover' }));
    const back = await store.put(keys.owner('G'), encode({ node: 'node2', reason: 'failover' }));
    await until('the API sees node2 own G again', async () => (await api.getGroup('G')).epoch === back.revision, boundMs);
    assert.equal(await shown(), 'Offline/Offline');
    const last = events.filter((e) => e.type === 'groupState' && e.group === 'G').at(-1);
    assert.equal(last?.type === 'groupState' ? `${last.owner}/${last.state}` : undefined, 'node2/Offline');

    // node2 starts it under the new ownership.
    await report(back.revision, 'Online');
    await until('G Online on node2 again', async () => (await shown()) === 'Online/Online', boundMs);
    await until('the event says so', () => {
      const e = events.filter((x) => x.type === 'groupState' && x.group === 'G').at(-1);
      return e?.type === 'groupState' && e.state === 'Online';
    }, boundMs);
  } finally {
    sub.close();
    await store.close();
  }
});
