// The simulator deep: long runs (2,000 steps, about 8 virtual minutes of
// faults and operator actions) find what 100-step runs cannot — operations and
// moves that outlive their deadlines, slow leaks, rare interleavings. Seeds
// 1-20 on the default cluster (as `failover simulate --seed N --steps 2000`),
// and one seed that changes with every commit. A failure names its seed:
// replay with `failover simulate --seed N --steps 2000 [--nodes K --groups G]`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation } from '../../src/sim/simulation.ts';
import { formatReport } from '../../src/sim/report.ts';
import { rotatingSeed } from '../support/seed.ts';

const deepSteps = 2000;
const deepSeedsMax = 20;

for (let seed = 1; seed <= deepSeedsMax; seed++) {
  test(`seed ${seed}, ${deepSteps} steps`, async () => {
    const report = await runSimulation({ seed, steps: deepSteps });
    assert.equal(report.ok, true, formatReport(report));
    assert.ok(report.stats.livenessMs !== undefined, 'the liveness phase reached the persistent state');
  });
}

const rotating = rotatingSeed(deepSeedsMax + 1);
const shape = { nodes: 2 + (rotating.seed % 3), groups: 1 + (rotating.seed % 3) };
test(`rotating seed ${rotating.seed} (from ${rotating.where}), ${deepSteps} steps, ${shape.nodes} nodes, ${shape.groups} groups`, async () => {
  const report = await runSimulation({ seed: rotating.seed, steps: deepSteps, ...shape });
  assert.equal(report.ok, true, `replay: failover simulate --seed ${rotating.seed} --steps ${deepSteps} --nodes ${shape.nodes} --groups ${shape.groups}\n${formatReport(report)}`);
});
