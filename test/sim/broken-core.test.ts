// The checkers catch a broken core: one that lets an online wait for ever on a
// resource that never opened (the seed's wedge). Some seed among the first
// ones must expose it, the same seed must expose it again identically, and the
// real core must pass that seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { step } from '../../src/rcm/index.ts';
import { runSimulation } from '../../src/sim/simulation.ts';
import { withoutOpenBeforeOnline } from '../../src/sim/broken-core.ts';
import { formatReport } from '../../src/sim/report.ts';

const seedsTried = 30;
const steps = 100;

test('a core without open-before-online is caught, reproducibly, by the seed that exposes it', async () => {
  const broken = withoutOpenBeforeOnline(step);
  let caught: { seed: number; text: string } | undefined;
  for (let seed = 1; seed <= seedsTried && !caught; seed++) {
    const report = await runSimulation({ seed, steps, core: broken });
    if (!report.ok) caught = { seed, text: formatReport(report) };
  }
  assert.ok(caught, `none of the first ${seedsTried} seeds exposed the broken core`);
  assert.match(caught.text, /VIOLATION of (open-never-wedges|no-unbounded-wait)/);
  assert.match(caught.text, /OpenCallIssued|OpenCallFailed/);
  assert.match(caught.text, new RegExp(`reproduce: failover simulate --seed ${caught.seed} --steps ${steps}`));

  const again = await runSimulation({ seed: caught.seed, steps, core: broken });
  assert.equal(formatReport(again), caught.text, 'the same seed shows the same violation, byte for byte');

  const real = await runSimulation({ seed: caught.seed, steps });
  assert.equal(real.ok, true, formatReport(real));
});
