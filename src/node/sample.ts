// The sample configuration `failover up` creates in a new cluster: the
// clustered mailbox server of the seed (a CCR mailbox server CMS01 on the first
// two nodes: IP address, network name, disk, database, information store,
// system attendant) and a web-style service group whose server is a real
// process.
import { join } from 'node:path';
import type { ClusterApi } from '../api/types.ts';
import { createSampleMailboxServer } from '../mailbox/console.ts';

export interface SampleOptions {
  readonly nodes: readonly string[];
  readonly dataDir: string;
  /** Loopback address the sample mailbox server binds (so several clusters on one machine do not collide). */
  readonly mailboxAddress?: string;
}

/** Creates the sample groups; returns their names. */
export async function createSampleConfiguration(api: ClusterApi, o: SampleOptions): Promise<string[]> {
  const [first, second, third] = o.nodes;
  if (!first) return [];
  const created: string[] = [];
  if (second) {
    const server = await createSampleMailboxServer(api, { nodes: [first, second], storageRoot: join(o.dataDir, 'mailbox'), ...(o.mailboxAddress ? { address: o.mailboxAddress } : {}) });
    created.push(server.server);
  }
  await api.createGroup('Web', { PreferredOwners: [third ?? first, first].filter((n, i, a) => a.indexOf(n) === i), Description: 'Sample web service' });
  await api.createResource('Web IP', 'Dummy', 'Web');
  const httpServer = "require('http').createServer((q, s) => s.end('ok\\n')).listen(0, '127.0.0.1')";
  await api.createResource('Web Server', 'Generic Application', 'Web', {
    parameters: { CommandLine: `${JSON.stringify(process.execPath)} -e ${JSON.stringify(httpServer)}` },
    dependencies: '[Web IP]',
  });
  // New resources are created offline (as in WSFC): bring the group online now that it is complete.
  await api.onlineGroup('Web');
  created.push('Web');
  return created;
}
