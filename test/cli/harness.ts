// Runs the CLI's cluster commands in-process against a ClusterApi (the real
// in-process cluster's, test/support/cluster.ts), capturing output and the exit code.
import { Command, CommanderError } from 'commander';
import { registerClusterCommands } from '../../src/cli/commands/index.ts';
import type { CliDeps } from '../../src/cli/kit.ts';
import type { ClusterApi } from '../../src/api/types.ts';
import { RealClock } from '../../src/clock/real.ts';

export interface CliRun {
  code: number;
  out: string;
  err: string;
}

/** register: which commands to load (default: the cluster nouns); it receives deps that capture output. */
export async function runCli(
  api: ClusterApi,
  args: string[],
  cwd = process.cwd(),
  register: (program: Command, deps: CliDeps) => void = registerClusterCommands,
): Promise<CliRun> {
  const run: CliRun = { code: 0, out: '', err: '' };
  const program = new Command().name('failover');
  program.exitOverride();
  program.configureOutput({ writeOut: (s) => (run.out += s), writeErr: (s) => (run.err += s) });
  register(program, {
    connect: async () => api,
    io: { out: (t) => (run.out += t), err: (t) => (run.err += t) },
    setExitCode: (c) => (run.code = c),
    exit: (c) => {
      run.code = c;
      throw new CommanderError(c, 'test.exit', 'exit');
    },
    clock: new RealClock(),
    cwd: () => cwd,
  });
  try {
    await program.parseAsync(['node', 'failover', ...args]);
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    run.code ||= e.exitCode;
  }
  return run;
}
