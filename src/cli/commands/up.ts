import type { Command } from 'commander';

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Run a local cluster (N nodes on the embedded store) with its API and console.')
    .action(() => {
      // The in-process cluster, API and console arrive with their components;
      // until then `up` says so rather than pretending to run.
      process.stderr.write('failover up: the local cluster is not available in this version yet (see README.md, "Status").\n');
      process.exitCode = 3;
    });
}
