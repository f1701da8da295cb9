// Deliberately broken shells must be caught by the checkers that watch what
// really happens. One owner is checked on what runs (the simulator's ledger of
// online, offline and terminate calls and watchdog kills), so it catches
// builds whose RCM bookkeeping looks right while a resource runs twice: a
// shell that reports offline without stopping the resource, and a watchdog
// that never kills a crashed node's processes. Nothing lost is checked on the
// ledger of acknowledged store writes after each store crash, so it catches a
// store that acknowledges writes before its log is synced — by a crash during
// the run, not only by the power cut that ends every run. For each, some seed
// among the first ones must catch it, the same seed must catch it again
// identically, and the real build must pass that seed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runSimulation, type Breakage, type SimPhase } from '../../src/sim/simulation.ts';
import { formatReport } from '../../src/sim/report.ts';

const seedsTried = 30;
const steps = 100;

const cases: { breakage: Breakage; invariant: string; shows: RegExp; phase?: SimPhase }[] = [
  { breakage: 'offline-without-stopping', invariant: 'one-owner', shows: /runs on two nodes/ },
  { breakage: 'watchdog-never-kills', invariant: 'one-owner', shows: /runs on two nodes: .*crashed, not killed by its watchdog yet/ },
  { breakage: 'store-acks-before-sync', invariant: 'nothing-lost', shows: /acknowledged (put|delete) of .* is lost/, phase: 'safety' },
];

for (const { breakage, invariant, shows, phase } of cases) {
  test(`a build with ${breakage} is caught, reproducibly, by the seed that exposes it`, async () => {
    let caught: { seed: number; text: string } | undefined;
    for (let seed = 1; seed <= seedsTried && !caught; seed++) {
      const report = await runSimulation({ seed, steps, breakage });
      if (!report.ok && (phase === undefined || report.violation?.phase === phase)) caught = { seed, text: formatReport(report) };
    }
    assert.ok(caught, `none of the first ${seedsTried} seeds exposed ${breakage}${phase ? ` in the ${phase} phase` : ''}`);
    assert.match(caught.text, new RegExp(`VIOLATION of ${invariant} `));
    assert.match(caught.text, shows);
    const again = await runSimulation({ seed: caught.seed, steps, breakage });
    assert.equal(formatReport(again), caught.text, 'the same seed shows the same violation, byte for byte');
    const real = await runSimulation({ seed: caught.seed, steps });
    assert.equal(real.ok, true, formatReport(real));
  });
}
