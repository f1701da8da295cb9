// `failover apply` against the real in-process cluster: groups whose state is
// online come online by themselves (no command per group), offline ones stay
// offline, and a change of state is one group operation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig, stringifyConfig } from '../../src/config/document.ts';
import { readRunning, toExport } from '../../src/config/running.ts';
import { describeChange, isNoOp, planApply } from '../../src/config/plan.ts';
import { applyPlan } from '../../src/config/apply.ts';
import { startTestCluster } from '../node/helpers.ts';

function file(states: Record<string, 'online' | 'offline'>): string {
  const lines = ['version: 1', 'groups:'];
  for (const [g, state] of Object.entries(states)) {
    lines.push(`  ${g}:`, `    state: ${state}`, '    resources:');
    lines.push(`      ${g}-ip: { type: Dummy }`, `      ${g}-name: { type: Dummy, dependencies: "[${g}-ip]" }`, `      ${g}-app: { type: Dummy, dependencies: "[${g}-name]" }`);
  }
  return `${lines.join('\n')}\n`;
}

test('apply on a running cluster: state online groups come online by themselves, offline ones stay offline, a state change is applied', async () => {
  const t = await startTestCluster({ nodes: ['node1', 'node2', 'node3'] });
  try {
    const states: Record<string, 'online' | 'offline'> = { A: 'online', B: 'online', C: 'online', D: 'online', Off1: 'offline', Off2: 'offline' };
    const changes = planApply(parseConfig(file(states)), await readRunning(t.api));
    assert.equal(changes.filter((c) => c.op === 'setGroupState').length, 0, 'new groups need no group operation');
    await applyPlan(t.api, changes);
    const groupState = async (g: string) => (await t.api.getGroup(g)).state;
    await t.until('the online groups online', async () => (await Promise.all(['A', 'B', 'C', 'D'].map(groupState))).every((s) => s === 'Online'));
    await t.run(2_000);
    assert.deepEqual(await Promise.all(['Off1', 'Off2'].map(groupState)), ['Offline', 'Offline']);

    const exported = toExport(await readRunning(t.api));
    assert.deepEqual(Object.fromEntries(Object.entries(exported.groups).map(([g, spec]) => [g, spec.state])), states);
    assert.ok(isNoOp(planApply(parseConfig(stringifyConfig(exported)), await readRunning(t.api))));

    const flipped = file({ ...states, B: 'offline', Off1: 'online' });
    const flip = planApply(parseConfig(flipped), await readRunning(t.api));
    assert.deepEqual(flip.map(describeChange), ['~ group "B": state online -> offline', '~ group "Off1": state offline -> online']);
    await applyPlan(t.api, flip);
    assert.ok(isNoOp(planApply(parseConfig(flipped), await readRunning(t.api))), 'a plan made right after sees the new states');
    await t.until('B offline and Off1 online', async () => (await groupState('B')) === 'Offline' && (await groupState('Off1')) === 'Online');
  } finally {
    await t.stop();
  }
});
