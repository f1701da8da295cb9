// `failover simulate`: runs the deterministic simulator — the real node agents
// under seeded faults in virtual time — and prints a summary. On a violation it
// prints the seed, the step, the invariant and the last events, and exits 1.
// Exit codes: 0 every invariant held, 1 a violation, 2 bad input.
import type { Command } from 'commander';
import { isClusterError } from '../../model/errors.ts';
import { isValidSeed, SEED_MAX } from '../../sim/prng.ts';
import { simDefaults } from '../../sim/limits.ts';

export const simulateExitCodes = { ok: 0, violation: 1, badInput: 2 } as const;

const stepsDefault = 200;
const seedDefault = 1;

class UsageError extends Error {}

function wholeNumber(name: string, text: string | undefined, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return n;
}

interface SimulateOptions {
  seed?: string;
  steps?: string;
  nodes?: string;
  groups?: string;
  scenario?: string;
  log?: string;
  json?: boolean;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('Run the cluster (real node agents, embedded store on a simulated disk, virtual time) under faults drawn from a seed; check the invariants after every step.')
    .option('--seed <n>', `the seed every random choice derives from (0 to ${SEED_MAX}; default ${seedDefault})`)
    .option('--steps <n>', `steps of the safety phase (${'default'} ${stepsDefault}); each lets 250 ms of virtual time pass`)
    .option('--nodes <k>', `nodes (default ${simDefaults.nodes})`)
    .option('--groups <g>', `groups, with 1-4 resources each (default ${simDefaults.groups})`)
    .option('--scenario <file>', 'a YAML scenario: scripted topology, faults and expectations (its seed/steps/nodes apply unless given here)')
    .option('--log <dir>', "write each simulated node's cluster log to <dir>/<node>_cluster.log (failover log diagnose reads them)")
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
The same seed and options give the same output, byte for byte. Exit codes: 0 every invariant held,
1 an invariant was violated (the report names the seed, step, invariant and the last events), 2 bad input.

Examples:
  failover simulate --seed 42 --steps 400
  failover simulate --seed 7 --nodes 4 --groups 3 --log sim-logs && failover log diagnose sim-logs/*
  failover simulate --scenario test/sim/scenarios/seed-move.yaml`,
    )
    .exitOverride((err) => process.exit(err.exitCode === 0 ? simulateExitCodes.ok : simulateExitCodes.badInput))
    .action(async (opts: SimulateOptions) => {
      try {
        // The simulator (the whole cluster) and YAML load here, not with the command's help.
        const [{ loadScenario }, { runSimulation }, { formatReport, formatReportJson }] = await Promise.all([
          import('../../sim/scenario.ts'),
          import('../../sim/simulation.ts'),
          import('../../sim/report.ts'),
        ]);
        const scenario = opts.scenario !== undefined ? loadScenario(opts.scenario) : undefined;
        const seed = wholeNumber('--seed', opts.seed, 0, SEED_MAX) ?? scenario?.seed ?? seedDefault;
        if (!isValidSeed(seed)) throw new UsageError(`--seed must be a whole number from 0 to ${SEED_MAX}`);
        const steps = wholeNumber('--steps', opts.steps, 0, 10_000_000) ?? scenario?.steps ?? stepsDefault;
        const nodes = wholeNumber('--nodes', opts.nodes, 1, 64);
        const groups = wholeNumber('--groups', opts.groups, 0, 100);
        if (scenario && groups !== undefined && scenario.groups) throw new UsageError('--groups cannot be used with a scenario that defines its groups');
        const report = await runSimulation({
          seed,
          steps,
          ...(nodes !== undefined ? { nodes } : {}),
          ...(groups !== undefined ? { groups } : {}),
          ...(scenario ? { scenario: nodes !== undefined ? { ...scenario, nodes } : scenario } : {}),
          ...(opts.log !== undefined ? { logDir: opts.log } : {}),
        });
        process.stdout.write(opts.json ? formatReportJson(report) : formatReport(report, opts.scenario));
        process.exitCode = report.ok ? simulateExitCodes.ok : simulateExitCodes.violation;
      } catch (e) {
        if (isClusterError(e) || e instanceof UsageError) {
          process.stderr.write(`failover simulate: ${e.message}\n`);
          process.exitCode = simulateExitCodes.badInput;
          return;
        }
        throw e;
      }
    });
}
