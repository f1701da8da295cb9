// failover agent: one node of a distributed cluster on etcd. Run one per
// machine; each joins the cluster, runs its share of the groups, keeps a
// watchdog, and serves the cluster's REST API. SIGINT/SIGTERM take its groups
// offline (they fail over to the other nodes), revoke its lease and exit.
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { isClusterError } from '../../model/errors.ts';
import { StoreError } from '../../store/store.ts';
import { defaultAgentLimits } from '../../node/limits.ts';
import { exitCodeOf, exitCodes } from '../exit-codes.ts';

const AGENT_DATA_DIR_DEFAULT = '.failover';
const API_DEFAULT = '127.0.0.1:0';

interface AgentCliOptions {
  etcd: string;
  node: string;
  id?: string;
  api: string;
  dataDir: string;
  leaseTtl: string;
  prefix?: string;
  watchdog: boolean;
  typesDir?: string;
  ocf?: string;
}

export function registerAgent(program: Command): void {
  program
    .command('agent')
    .description('Run one node of a distributed cluster on etcd: its resources, a watchdog, and the cluster\'s REST API. Run one per machine.')
    .requiredOption('--etcd <urls>', 'etcd client URLs, comma-separated (e.g. http://10.0.0.1:2379,http://10.0.0.2:2379)')
    .requiredOption('--node <name>', 'this node\'s name (added to the cluster if new)')
    .option('--id <n>', 'node id when the node is new (default: the next free id)')
    .option('--api <host:port>', 'address the REST API listens on (port 0: any free port)', API_DEFAULT)
    .option('--data-dir <dir>', 'where this agent keeps its cluster log and api.json', AGENT_DATA_DIR_DEFAULT)
    .option('--lease-ttl <seconds>', 'membership lease TTL: how long a dead node goes unnoticed (trade-off in docs/distributed.md)', String(defaultAgentLimits.leaseTtlSeconds))
    .option('--prefix <prefix>', 'key prefix in etcd, so several clusters can share one etcd (e.g. "failover/prod/")')
    .option('--no-watchdog', 'run without the watchdog process (resource processes may then outlive a killed agent)')
    .option('--types-dir <dir>', 'load custom resource types from the modules in this directory (docs/resource-types.md)')
    .option('--ocf <agents>', 'OCF resource agents as types ocf:PROVIDER:AGENT: "all" under $OCF_ROOT (/usr/lib/ocf), or PROVIDER:AGENT,...')
    .addHelpText(
      'after',
      `
Examples (one per machine):
  failover agent --etcd http://10.0.0.1:2379,http://10.0.0.2:2379,http://10.0.0.3:2379 --node node1 --api 0.0.0.0:7400
  failover --cluster http://10.0.0.1:7400 status     # with FAILOVER_TOKEN from the agent's api.json`,
    )
    .action(async (opts: AgentCliOptions) => {
      const bad = (message: string): never => {
        process.stderr.write(`failover agent: ${message}\n`);
        process.exit(exitCodes.badInput);
      };
      const etcd = opts.etcd.split(',').map((u) => u.trim()).filter((u) => u !== '');
      if (etcd.length === 0) bad(`--etcd needs at least one URL, got ${JSON.stringify(opts.etcd)}`);
      const id = opts.id === undefined ? undefined : Number(opts.id);
      if (id !== undefined && (!Number.isInteger(id) || id < 1)) bad(`--id must be a whole number >= 1, got ${JSON.stringify(opts.id)}`);
      const ttl = Number(opts.leaseTtl);
      if (!Number.isInteger(ttl) || ttl < 1) bad(`--lease-ttl must be a whole number of seconds >= 1, got ${JSON.stringify(opts.leaseTtl)}`);
      const api = /^(.*):(\d+)$/.exec(opts.api);
      const port = api ? Number(api[2]) : NaN;
      if (!api || api[1] === '' || port > 65535) bad(`--api must be HOST:PORT (port 0-65535), got ${JSON.stringify(opts.api)}`);
      const say = (line: string): void => void process.stdout.write(`${line}\n`);
      try {
        // etcd's client, the agent and the server load here, not with the command's help.
        const [{ startDistributedAgent }, { loadExtraTypes, withExtraTypes }, { mailboxResourceTypes }] = await Promise.all([
          import('../../node/distributed.ts'),
          import('../../types/extra.ts'),
          import('../../types/index.ts'),
        ]);
        const extra = await loadExtraTypes({ ...(opts.typesDir ? { typesDir: resolve(opts.typesDir) } : {}), ...(opts.ocf ? { ocf: opts.ocf } : {}) });
        for (const line of extra.skipped) say(`Resource type left out: ${line}`);
        const node = await startDistributedAgent({
          ...(extra.definitions.length > 0 ? { types: withExtraTypes(() => mailboxResourceTypes(), extra.definitions) } : {}),
          etcd,
          ...(opts.prefix ? { prefix: opts.prefix } : {}),
          node: opts.node,
          ...(id !== undefined ? { id } : {}),
          apiHost: api![1]!.replace(/^\[(.*)\]$/, '$1'),
          apiPort: port,
          dataDir: resolve(opts.dataDir),
          limits: { leaseTtlSeconds: ttl },
          watchdog: opts.watchdog,
        });
        say(`Node: ${node.node.name} (id ${node.node.id}) on etcd ${etcd.join(',')}${opts.prefix ? ` under ${opts.prefix}` : ''}`);
        say(`Cluster log: ${node.logPath}`);
        say(node.watchdogPid !== undefined ? `Watchdog: pid ${node.watchdogPid}` : 'Watchdog: off (--no-watchdog)');
        say(`Token (full access): ${node.tokens.full}`);
        say(`Token (read only): ${node.tokens.read}`);
        say(`API: ${node.url}`);
        let stopping = false;
        const stop = (signal: string): void => {
          if (stopping) return;
          stopping = true;
          say(`${signal}: taking this node's groups offline and leaving the cluster ...`);
          void node.stop().then(
            () => {
              say('Stopped.');
              process.exit(exitCodes.ok);
            },
            (e: unknown) => {
              process.stderr.write(`failover agent: stop failed: ${e instanceof Error ? e.message : String(e)}\n`);
              process.exit(exitCodes.failed);
            },
          );
        };
        process.on('SIGINT', () => stop('SIGINT'));
        process.on('SIGTERM', () => stop('SIGTERM'));
      } catch (e) {
        if (isClusterError(e)) {
          process.stderr.write(`failover agent: ${e.message} [${e.name} ${e.code}]\n`);
          process.exit(exitCodeOf(e));
        }
        if (e instanceof StoreError) {
          process.stderr.write(`failover agent: ${e.message}\n`);
          process.exit(e.kind === 'invalid' ? exitCodes.badInput : exitCodes.unreachable);
        }
        throw e;
      }
    });
}
