// Registers the cluster commands (status and the nouns) and the exit-code help.
import type { Command } from 'commander';
import { defaultDeps, type CliDeps } from '../kit.ts';
import { exitCodes, exitCodesHelp } from '../exit-codes.ts';
import { registerStatus } from './status.ts';
import { registerNode } from './node.ts';
import { registerGroup } from './group.ts';
import { registerResource } from './resource.ts';
import { registerType } from './type.ts';
import { registerDb } from './db.ts';
import { registerEvents } from './events.ts';
import { registerConfig } from './config.ts';

export const clusterSelectionHelp = `Choosing the cluster:
  --cluster URL, else $FAILOVER_URL, else the cluster \`failover up\` started in
  this directory (./.failover/api.json; --data-dir to change). The token comes
  from $FAILOVER_TOKEN, else from that api.json (the full token).`;

export function registerClusterCommands(program: Command, deps: CliDeps = defaultDeps()): void {
  // Usage errors (unknown option, missing argument) are "bad input": exit code 2, as documented.
  // Set before the commands are added, so they inherit it.
  program.exitOverride((err) => deps.exit(err.exitCode === 0 ? exitCodes.ok : exitCodes.badInput));
  registerStatus(program, deps);
  registerNode(program, deps);
  registerGroup(program, deps);
  registerResource(program, deps);
  registerType(program, deps);
  registerDb(program, deps);
  registerEvents(program, deps);
  registerConfig(program, deps);
  program.addHelpText('after', `\n${clusterSelectionHelp}\n\n${exitCodesHelp}\n\nSee docs/cli.md for a walkthrough.`);
}
