// Every scenario file in test/sim/scenarios runs through the simulator with
// all invariants and its own expectations; a new case is a new file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runSimulation } from '../../src/sim/simulation.ts';
import { loadScenario } from '../../src/sim/scenario.ts';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'scenarios');

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
  test(`scenario ${file}`, async () => {
    const scenario = loadScenario(join(dir, file));
    const report = await runSimulation({ seed: scenario.seed ?? 1, steps: scenario.steps ?? 100, scenario });
    assert.equal(report.ok, true, `${report.violation?.invariant}: ${report.violation?.detail}\n${report.lastEvents.join('\n')}`);
    assert.ok(report.stats.livenessMs !== undefined, 'the liveness phase reached the persistent state');
  });
}
