// The OCF resource agents the OCF type's tests run: Debian's resource-agents
// (ocf:heartbeat:Dummy, IPaddr2, ...) under /usr/lib/ocf, installed with
// apt-get by `npm test` when missing (as etcd is). If it cannot be installed,
// the run says why and goes on: only the tests of those agents fail then.
import { join } from 'node:path';
import { ensureDebianPackage, isExecutable } from './debian.ts';
import { OCF_ROOT_DEFAULT } from '../src/types/ocf.ts';

const marker = join(OCF_ROOT_DEFAULT, 'resource.d', 'heartbeat', 'Dummy');

export function findResourceAgents(): string | undefined {
  return isExecutable(marker) ? OCF_ROOT_DEFAULT : undefined;
}

/** For `npm test`: makes sure the agents are there, or says why their tests will fail. */
export async function prepareTestRunResourceAgents(log: (line: string) => void = console.log): Promise<void> {
  if (findResourceAgents()) {
    log(`resource-agents: ${OCF_ROOT_DEFAULT}`);
    return;
  }
  log("resource-agents: not installed, installing Debian's package with apt-get ...");
  try {
    log(`resource-agents: installed under ${await ensureDebianPackage('resource-agents', 'resource-agents', findResourceAgents)}`);
  } catch (err) {
    log(`resource-agents: not available, the tests of OCF agents will fail: ${(err as Error).message}`);
  }
}
