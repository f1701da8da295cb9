// Simulator throughput: simulated steps per second of wall time (each step is
// 250 ms of virtual time with faults, operator actions and every invariant
// checked), for a small and a larger cluster, and how much faster than real
// time the cluster runs under simulation.
import { performance } from 'node:perf_hooks';
import { runSimulation } from '../src/sim/simulation.ts';
import { report, summary } from './stats.ts';

interface Shape {
  readonly name: string;
  readonly nodes: number;
  readonly groups: number;
  readonly seeds: number;
  readonly steps: number;
}

const shapes: readonly Shape[] = [
  { name: '3 nodes, 2 groups', nodes: 3, groups: 2, seeds: 30, steps: 200 },
  { name: '5 nodes, 6 groups', nodes: 5, groups: 6, seeds: 10, steps: 200 },
];

const failedSeeds: string[] = [];
for (const shape of shapes) {
  let steps = 0;
  let virtualMs = 0;
  let violations = 0;
  const perSeedMs: number[] = [];
  const start = performance.now();
  for (let seed = 1; seed <= shape.seeds; seed++) {
    const t0 = performance.now();
    const r = await runSimulation({ seed, steps: shape.steps, nodes: shape.nodes, groups: shape.groups });
    perSeedMs.push(performance.now() - t0);
    steps += r.stats.stepsRun;
    virtualMs += r.stats.virtualMs;
    if (!r.ok) {
      violations++;
      failedSeeds.push(`seed ${seed} (${shape.name}): ${r.violation?.invariant} at step ${r.violation?.step}`);
    }
  }
  const wallMs = performance.now() - start;
  const s = summary(perSeedMs);
  report(`sim ${shape.name}: simulated steps per second`, Math.round(steps / (wallMs / 1000)), 'steps/s');
  report(`sim ${shape.name}: virtual time per wall time`, Math.round(virtualMs / wallMs), 'x');
  report(`sim ${shape.name}: wall time per seed (${shape.steps} steps + liveness), median`, Math.round(s.median), 'ms');
  report(`sim ${shape.name}: wall time per seed, max`, Math.round(s.max), 'ms');
  report(`sim ${shape.name}: seeds with a violation`, `${violations} of ${shape.seeds}`);
}
// A violation is a bug, not a figure: the benchmark fails (replay with failover simulate --seed N).
if (failedSeeds.length > 0) {
  console.error(`violations:\n  ${failedSeeds.join('\n  ')}`);
  process.exit(1);
}
