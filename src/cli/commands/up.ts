// failover up: the main job. One process, N nodes on the embedded store in a
// data directory, the REST API on a printed URL, and a sample configuration on
// first start. Restarting on the same directory resumes the same cluster;
// Ctrl-C stops resources in order and exits.
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { createApiTokens, writeLocalCluster } from '../../api/tokens.ts';
import { isClusterError } from '../../model/errors.ts';
import { exitCodeOf } from '../exit-codes.ts';
import type { ExtraTypeOptions } from '../../types/extra.ts';

export const DATA_DIR_DEFAULT = '.failover';
const NODES_DEFAULT = 3;
const NODES_MAX = 64;
const SAMPLE_ADDRESS_DEFAULT = '127.77.0.1';

interface UpOptions {
  nodes: string;
  dataDir: string;
  host: string;
  port: string;
  sample: boolean;
  sampleAddress: string;
  typesDir?: string;
  ocf?: string;
}

export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Run a local cluster: N nodes on the embedded store in a data directory, with the REST API. Ctrl-C stops it cleanly; running it again on the same directory resumes the same cluster.')
    .option('--nodes <n>', `number of nodes of a new cluster (1-${NODES_MAX})`, String(NODES_DEFAULT))
    .option('--data-dir <dir>', 'where the cluster keeps its store, logs and api.json', DATA_DIR_DEFAULT)
    .option('--host <address>', 'address the API listens on', '127.0.0.1')
    .option('--port <port>', 'API port (0: any free port)', '0')
    .option('--no-sample', 'do not create the sample groups in a new cluster')
    .option('--sample-address <ip>', 'loopback address of the sample mailbox server (SMTP 2525, mailbox API 8025)', SAMPLE_ADDRESS_DEFAULT)
    .option('--types-dir <dir>', 'load custom resource types from the modules in this directory (docs/resource-types.md)')
    .option('--ocf <agents>', 'OCF resource agents as types ocf:PROVIDER:AGENT: "all" under $OCF_ROOT (/usr/lib/ocf), or PROVIDER:AGENT,...')
    .addHelpText(
      'after',
      `
Examples:
  failover up                      # 3 nodes in ./.failover, sample groups, API on a free port
  failover up --nodes 5 --port 7400
  failover up --ocf heartbeat:IPaddr2,heartbeat:Dummy --types-dir ./types
  failover status                  # in another terminal, same directory`,
    )
    .action(async (opts: UpOptions) => {
      const nodes = Number(opts.nodes);
      const port = Number(opts.port);
      const bad = (message: string): never => {
        process.stderr.write(`failover up: ${message}\n`);
        process.exit(exitCodeOf({ code: 87 }));
      };
      if (!Number.isInteger(nodes) || nodes < 1 || nodes > NODES_MAX) bad(`--nodes must be a whole number from 1 to ${NODES_MAX}, got ${JSON.stringify(opts.nodes)}`);
      if (!Number.isInteger(port) || port < 0 || port > 65535) bad(`--port must be 0-65535, got ${JSON.stringify(opts.port)}`);
      if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(opts.sampleAddress)) bad(`--sample-address must be a loopback address 127.x.y.z, got ${JSON.stringify(opts.sampleAddress)}`);
      try {
        await up({
          nodes,
          port,
          host: opts.host,
          dataDir: resolve(opts.dataDir),
          sample: opts.sample,
          sampleAddress: opts.sampleAddress,
          extraTypes: { ...(opts.typesDir ? { typesDir: resolve(opts.typesDir) } : {}), ...(opts.ocf ? { ocf: opts.ocf } : {}) },
        });
      } catch (e) {
        if (!isClusterError(e)) throw e;
        process.stderr.write(`failover up: ${e.message} [${e.name} ${e.code}]\n`);
        process.exit(exitCodeOf(e));
      }
    });
}

async function up(o: {
  nodes: number;
  port: number;
  host: string;
  dataDir: string;
  sample: boolean;
  sampleAddress: string;
  extraTypes: ExtraTypeOptions;
}): Promise<void> {
  // The cluster, the server and the mailbox stack load here, not with the command's help.
  const [{ LocalCluster }, { createInProcessApi }, { startApiServer }, { createSampleConfiguration }, { mailboxResourceTypes }, { MailboxConsole }, { mailboxRoutes }, { loadExtraTypes, withExtraTypes }] = await Promise.all([
    import('../../node/cluster.ts'),
    import('../../api/service.ts'),
    import('../../api/server.ts'),
    import('../../node/sample.ts'),
    import('../../types/index.ts'),
    import('../../mailbox/console.ts'),
    import('../../mailbox/routes.ts'),
    import('../../types/extra.ts'),
  ]);
  mkdirSync(o.dataDir, { recursive: true });
  const say = (line: string): void => void process.stdout.write(`${line}\n`);
  say(`Starting a local cluster in ${o.dataDir} ...`);
  const extra = await loadExtraTypes(o.extraTypes);
  for (const line of extra.skipped) say(`Resource type left out: ${line}`);
  const cluster = await LocalCluster.start({ nodes: o.nodes, dataDir: o.dataDir, types: withExtraTypes(() => mailboxResourceTypes(), extra.definitions), hostProcesses: true, startNodes: false });
  const api = createInProcessApi({ store: cluster.store, clock: cluster.clock });
  const tokens = createApiTokens();
  const mailbox = mailboxRoutes({ console: new MailboxConsole(api, { clock: cluster.clock }), storageRoot: join(o.dataDir, 'mailbox') });
  // The API answers (and the CLI finds it) from here on; the nodes show as they join, which takes seconds for a large cluster.
  const server = await startApiServer({ api, host: o.host, port: o.port, tokens, console: true, routes: [mailbox] });
  const apiFile = writeLocalCluster(o.dataDir, { url: server.url, tokens });
  try {
    await cluster.startNodes();
  } catch (e) {
    await server.close();
    await cluster.stop();
    throw e;
  }
  if (o.sample && (await api.listGroups()).length === 0) {
    const created = await createSampleConfiguration(api, { nodes: cluster.nodes.map((n) => n.name), dataDir: o.dataDir, mailboxAddress: o.sampleAddress });
    say(`Created sample groups: ${created.join(', ')}`);
  }
  say(`Nodes: ${cluster.nodes.map((n) => n.name).join(', ')}`);
  say(`API: ${server.url}`);
  say(`Console: ${server.url}/console/#token=${tokens.full}`);
  say(`Token (full access): ${tokens.full}`);
  say(`Token (read only): ${tokens.read}`);
  say(`The CLI in this directory finds the cluster by itself (${apiFile}); elsewhere use --cluster ${server.url} with FAILOVER_TOKEN.`);
  say('Try: failover status · failover mailbox status · failover mailbox move CMS01 --to <node> · failover events. Ctrl-C stops the cluster.');

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`\n${signal}: stopping resources in order ...`);
    await server.close();
    await cluster.stop();
    say('Stopped.');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}
