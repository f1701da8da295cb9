// The sample configuration `failover up` creates in a new cluster: a
// clustered mailbox server group shaped like the seed's (IP address, network
// name, database, information store depending on the database) and a web-style
// service group whose server is a real process.
import type { ClusterApi } from '../api/types.ts';

/** Creates the sample groups; returns their names. */
export async function createSampleConfiguration(api: ClusterApi, nodes: readonly string[]): Promise<string[]> {
  const [first, second = first, third = second] = nodes;
  if (!first) return [];
  await api.createGroup('CMS01', { PreferredOwners: [first, second!].filter((n, i, a) => a.indexOf(n) === i), Description: 'Sample clustered mailbox server' });
  await api.createResource('IP Address (CMS01)', 'Dummy', 'CMS01');
  await api.createResource('Network Name (CMS01)', 'Dummy', 'CMS01', { dependencies: '[IP Address (CMS01)]' });
  await api.createResource('Mailbox Database (CMS01)', 'Dummy', 'CMS01', { parameters: { OnlineDelayMs: 500 } });
  await api.createResource('Information Store (CMS01)', 'Dummy', 'CMS01', {
    dependencies: '[Mailbox Database (CMS01)] and [Network Name (CMS01)]',
  });
  await api.createGroup('Web', { PreferredOwners: [third!, first], Description: 'Sample web service' });
  await api.createResource('Web IP', 'Dummy', 'Web');
  const server = "require('http').createServer((q, s) => s.end('ok\\n')).listen(0, '127.0.0.1')";
  await api.createResource('Web Server', 'Generic Application', 'Web', {
    parameters: { CommandLine: `${JSON.stringify(process.execPath)} -e ${JSON.stringify(server)}` },
    dependencies: '[Web IP]',
  });
  return ['CMS01', 'Web'];
}
