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

/** A UTC time as people write it: `2013-10-09 01:12:05`, `2013/10/09-01:12:05.118` (WSFC's), ISO 8601. */
function parseTime(text: string, option: string): number {
  const m = /^(\d{4})[-/](\d{2})[-/](\d{2})(?:[ T-](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?)?Z?$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} ${text}: give a UTC time such as "2013-10-09 01:12:05"`);
  const [, y, mo, d, h = '0', mi = '0', sec = '0', ms = '0'] = m;
  return Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(sec), Number(ms.padEnd(3, '0')));
}

/** Output collected a batch at a time and written with backpressure, so a long timeline streams in bounded memory. */
class BufferedOutput {
  private parts: string[] = [];
  constructor(private readonly stream: NodeJS.WritableStream) {}
  add(text: string): void {
    this.parts.push(text);
  }
  async flush(): Promise<void> {
    if (this.parts.length === 0) return;
    const text = this.parts.join('');
    this.parts = [];
    if (!this.stream.write(text)) await new Promise<void>((resolve) => this.stream.once('drain', resolve));
  }
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
      .option('--html <file>', 'also write a self-contained HTML report: the findings with their evidence, and per group a timeline with the states drawn')
      .addHelpText('after', '\nExample:\n  failover log diagnose EXMBX01_cluster.log EXMBX02_cluster.log\n  failover log diagnose --html report.html cluster-logs.zip\n  failover log collect --out logs && failover log diagnose logs/*')
      .action(async (files: string[], opts: { json?: boolean; nodes?: string; html?: string }) =>
        run(async () => {
          const { analyzeLogs, formatDiagnosis, unreadable, unreadableText } = await diagnostics();
          const html = opts.html !== undefined ? await import('../../diagnostics/html.ts') : undefined;
          const drawn = html ? new html.HtmlTimeline() : undefined;
          const analysis = await analyzeLogs(inputs(files, opts.nodes), drawn ? { timeline: { onEntry: (e) => drawn.add(e) } } : {});
          process.stdout.write(opts.json ? json(analysis) : formatDiagnosis(analysis));
          const bad = analysis.files.filter(unreadable);
          if (html && drawn && opts.html !== undefined) {
            const { writeFile } = await import('node:fs/promises');
            try {
              await writeFile(opts.html, html.renderHtml(analysis, drawn, bad.map(unreadableText)));
            } catch (e) {
              throw new UsageError(`cannot write the HTML report ${opts.html}: ${(e as Error).message}`);
            }
            if (!opts.json) process.stdout.write(`HTML report: ${opts.html}\n`);
          }
          for (const f of bad) process.stderr.write(`failover log: ${unreadableText(f)}\n`);
          if (analysis.findings.length > 0) return logExitCodes.issueFound;
          return bad.length > 0 ? logExitCodes.unreadable : logExitCodes.ok;
        }),
      ),
  );

  exitOnUsage(
    log
      .command('timeline')
      .description('What happened to each resource and group, in time order across nodes: state transitions with how long each state lasted, moves, API calls, errors, retries; node and quorum events. Streams: any size of log.')
      .argument('<files...>', 'cluster log files, one per node')
      .option('--resource <name>', 'only this resource')
      .option('--group <name>', 'only this group and its resources')
      .option('--from <time>', 'only entries from this time on (UTC: 2013-10-09 01:12:05, 2013/10/09-01:12:05.118 or ISO 8601)')
      .option('--to <time>', 'only entries up to this time (UTC)')
      .option('--json', 'print one JSON object per line: each entry, then the states held at the end')
      .option('--nodes <names>', 'comma-separated node names for the files, in order')
      .addHelpText('after', '\nExample:\n  failover log timeline EXMBX01_cluster.log EXMBX02_cluster.log --group CMS01 --from "2013-10-09 02:30" --to "2013-10-09 03:00"')
      .action(async (files: string[], opts: { resource?: string; group?: string; from?: string; to?: string; json?: boolean; nodes?: string }) =>
        run(async () => {
          if (opts.resource !== undefined && opts.group !== undefined) throw new UsageError('give --resource or --group, not both');
          const { analyzeLogs, formatTimelineEntry, formatHeld, unreadable, unreadableText } = await diagnostics();
          const filter: import('../../diagnostics/timeline.ts').TimelineFilter = {};
          if (opts.resource !== undefined) filter.resource = opts.resource;
          if (opts.group !== undefined) filter.group = opts.group;
          if (opts.from !== undefined) filter.fromMs = parseTime(opts.from, '--from');
          if (opts.to !== undefined) filter.toMs = parseTime(opts.to, '--to');
          const out = new BufferedOutput(process.stdout);
          const analysis = await analyzeLogs(inputs(files, opts.nodes), {
            rules: [],
            timeline: { filter, onEntry: (e) => out.add(opts.json ? `${JSON.stringify({ type: 'entry', ...e })}\n` : formatTimelineEntry(e)) },
            afterBatch: () => out.flush(),
          });
          const held = analysis.held ?? [];
          out.add(opts.json ? `${JSON.stringify({ type: 'end', files: analysis.files, held })}\n` : formatHeld(held));
          await out.flush();
          const bad = analysis.files.filter(unreadable);
          for (const f of bad) process.stderr.write(`failover log: ${unreadableText(f)}\n`);
          return bad.length > 0 ? logExitCodes.unreadable : logExitCodes.ok;
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
