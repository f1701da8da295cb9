// `failover log`: diagnose cluster logs, show timelines, collect a local
// cluster's logs. Exit codes: 0 nothing found / done, 1 a known issue found
// (diagnose), 2 bad input (missing file, bad option, no cluster), 7 a log
// most of whose lines could not be read (never reported as healthy).
// The diagnostics are loaded when a subcommand runs, not when the CLI starts.

import type { Command } from 'commander';
import type { LogInput } from '../../diagnostics/reader.ts';
import { isClusterError } from '../../model/errors.ts';

export const logExitCodes = { ok: 0, issueFound: 1, badInput: 2, unreadable: 7 } as const;

const dataDirDefault = './.failover';
const collectOutDefault = './cluster-logs';

function inputs(files: string[], nodes: string | undefined): LogInput[] {
  const names = nodes === undefined ? [] : nodes.split(',').map((n) => n.trim());
  if (names.length > 0 && names.length !== files.length) {
    throw new UsageError(`--nodes names ${names.length} node(s) for ${files.length} file(s); give one name per file, in order`);
  }
  return files.map((path, i) => (names[i] ? { path, node: names[i] } : { path }));
}

class UsageError extends Error {}

/** Runs a subcommand body; operating errors print their message and exit 2. */
async function run(body: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await body();
  } catch (e) {
    if (isClusterError(e) || e instanceof UsageError) {
      process.stderr.write(`failover log: ${e.message}\n`);
      process.exitCode = logExitCodes.badInput;
      return;
    }
    throw e;
  }
}

/** The diagnostics engine loads when a log command runs, not with the commands' help. */
async function diagnostics() {
  const [analyze, collect, report] = await Promise.all([import('../../diagnostics/analyze.ts'), import('../../diagnostics/collect.ts'), import('../../diagnostics/report.ts')]);
  return { ...analyze, ...collect, ...report };
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

export function registerLog(program: Command): void {
  const log = program
    .command('log')
    .description('Read cluster logs: diagnose known issues, show timelines, collect the logs of a local cluster.')
    .addHelpText(
      'after',
      `
Cluster logs are WSFC-format lines (PID.TID::YYYY/MM/DD-HH:MM:SS.mmm LEVEL [COMPONENT] text), written by
failover's nodes and by Windows Server Failover Clustering from 2008 (no level field) to 2022 (Get-ClusterLog
sections and [Verbose]/[Operational] channel prefixes). UTF-8 and UTF-16 (LE/BE, with or without BOM), .gz
files and .zip bundles of several nodes' logs are read. Give one file per node; they are merged by time.

Exit codes: 0 no known issue / done, 1 a known issue was found (diagnose), 2 bad input (missing file,
bad option, no local cluster), 7 a file most of whose lines could not be read (diagnose, timeline).`,
    );

  const exitOnUsage = (cmd: Command): Command =>
    cmd.exitOverride((err) => {
      process.exit(err.exitCode === 0 ? logExitCodes.ok : logExitCodes.badInput);
    });

  exitOnUsage(
    log
      .command('diagnose')
      .description('Find known issues (KB2893882 stuck moves, failed opens, deadlocks, thresholds, possible owners, quorum, node down) and say what to do.')
      .argument('<files...>', 'cluster log files, one per node (node name from <Node>_cluster.log, <Node>/cluster.log or the file name)')
      .option('--json', 'print the analysis as JSON (files, totals, findings with evidence and remedies)')
      .option('--nodes <names>', 'comma-separated node names for the files, in order')
      .addHelpText('after', '\nExample:\n  failover log diagnose EXMBX01_cluster.log EXMBX02_cluster.log\n  failover log collect --out logs && failover log diagnose logs/*')
      .action(async (files: string[], opts: { json?: boolean; nodes?: string }) =>
        run(async () => {
          const { analyzeLogs, formatDiagnosis, unreadable, unreadableText } = await diagnostics();
          const analysis = await analyzeLogs(inputs(files, opts.nodes));
          process.stdout.write(opts.json ? json(analysis) : formatDiagnosis(analysis));
          const bad = analysis.files.filter(unreadable);
          for (const f of bad) process.stderr.write(`failover log: ${unreadableText(f)}\n`);
          if (analysis.findings.length > 0) return logExitCodes.issueFound;
          return bad.length > 0 ? logExitCodes.unreadable : logExitCodes.ok;
        }),
      ),
  );

  exitOnUsage(
    log
      .command('timeline')
      .description('Per resource and per group: state transitions with how long each state lasted, moves, API calls, errors, retries; plus node and quorum events.')
      .argument('<files...>', 'cluster log files, one per node')
      .option('--resource <name>', 'only this resource')
      .option('--group <name>', "only this group and its resources")
      .option('--json', 'print the timelines as JSON')
      .option('--nodes <names>', 'comma-separated node names for the files, in order')
      .action(async (files: string[], opts: { resource?: string; group?: string; json?: boolean; nodes?: string }) =>
        run(async () => {
          if (opts.resource !== undefined && opts.group !== undefined) throw new UsageError('give --resource or --group, not both');
          const { analyzeLogs, formatTimelines } = await diagnostics();
          const filter = opts.resource !== undefined ? { resource: opts.resource } : opts.group !== undefined ? { group: opts.group } : {};
          const analysis = await analyzeLogs(inputs(files, opts.nodes), { rules: [], timeline: filter });
          const timelines = analysis.timelines ?? [];
          process.stdout.write(opts.json ? json({ files: analysis.files, timelines }) : formatTimelines(timelines));
          return logExitCodes.ok;
        }),
      ),
  );

  exitOnUsage(
    log
      .command('collect')
      .description("Gather every node's cluster log of a local cluster into one directory (as Get-ClusterLog does), named <Node>_cluster.log.")
      .option('--data-dir <dir>', "the local cluster's data directory (node logs are in <dir>/logs/<Node>/cluster.log*)", dataDirDefault)
      .option('--out <dir>', 'directory to write the logs to', collectOutDefault)
      .action(async (opts: { dataDir: string; out: string }) =>
        run(async () => {
          const { collectClusterLogs } = await diagnostics();
          const files = await collectClusterLogs(opts.dataDir, opts.out);
          for (const f of files) process.stdout.write(`${f.to}  (node ${f.node}, ${f.bytes} bytes)\n`);
          process.stdout.write(`Collected ${files.length} file(s) into ${opts.out}. Diagnose them with: failover log diagnose ${opts.out}/*\n`);
          return logExitCodes.ok;
        }),
      ),
  );
}
