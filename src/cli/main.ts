// The failover command line. Each noun lives in its own module under commands/.
// Those modules declare their commands (names, options, help) and load what
// runs a command — the cluster, the REST server, etcd's client, the mail
// stack, YAML, the simulator, the diagnostics — with import() inside its
// action, so `failover --help` and the cluster commands start in a fraction
// of the time. test/cli/startup.test.ts fails when a heavy package is
// imported on that path again.
import { Command } from 'commander';
import { registerUp } from './commands/up.ts';
import { registerClusterCommands } from './commands/index.ts';
import { registerLog } from './commands/log.ts';
import { registerMailbox } from './commands/mailbox.ts';
import { registerAgent } from './commands/agent.ts';
import { registerSimulate } from './commands/simulate.ts';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('failover')
    .description('A failover cluster manager: nodes, groups, resources, moves and failover, modelled on Windows Server Failover Clustering.')
    .showHelpAfterError()
    .configureOutput({ outputError: (str, write) => write(str) });
  registerUp(program);
  registerClusterCommands(program);
  registerLog(program);
  registerMailbox(program);
  registerAgent(program);
  registerSimulate(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
