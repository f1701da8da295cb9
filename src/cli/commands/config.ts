import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { ClusterError, isClusterError } from '../../model/errors.ts';
import type { ConfigDocument } from '../../config/document.ts';
import type { Finding, ValidationContext } from '../../config/validate.ts';
import type { Change } from '../../config/plan.ts';
import type { ApplyProgress } from '../../config/apply.ts';
import { act, jsonReplacer, table, withClusterOptions, type CliDeps, type Ctx } from '../kit.ts';
import { exitCodes } from '../exit-codes.ts';
import type { ClusterApi } from '../../api/types.ts';

/** The configuration engine (YAML, validation, planning) loads when one of these commands runs, not with their help. */
async function loadEngine() {
  const [document, running, validate, plan, apply] = await Promise.all([
    import('../../config/document.ts'),
    import('../../config/running.ts'),
    import('../../config/validate.ts'),
    import('../../config/plan.ts'),
    import('../../config/apply.ts'),
  ]);
  return { ...document, ...running, ...validate, ...plan, ...apply };
}

async function readFile(ctx: Ctx, file: string): Promise<ConfigDocument> {
  const { parseConfig } = await loadEngine();
  const path = resolve(ctx.deps.cwd(), file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClusterError('ERROR_FILE_NOT_FOUND', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return parseConfig(text, file);
}

function printFindings(ctx: Ctx, findings: readonly Finding[]): void {
  if (ctx.json) return ctx.emitJson(findings);
  const order = { error: 0, warning: 1, info: 2 } as const;
  const sorted = [...findings].sort((a, b) => order[a.severity] - order[b.severity]);
  if (sorted.length > 0) ctx.say(table(['SEVERITY', 'OBJECT', 'FINDING'], sorted.map((f) => [f.severity, f.object, f.code ? `${f.message} [${f.code}]` : f.message])));
  const count = (s: Finding['severity']): number => findings.filter((f) => f.severity === s).length;
  ctx.say(`${sorted.length > 0 ? '\n' : ''}${count('error')} error(s), ${count('warning')} warning(s), ${count('info')} note(s).`);
}

/** What the running cluster shows beyond its configuration: failed resources, nodes not up, groups nobody owns. */
async function runtimeFindings(api: ClusterApi): Promise<Finding[]> {
  const [nodes, groups, resources] = await Promise.all([api.listNodes(), api.listGroups(), api.listResources()]);
  const out: Finding[] = [];
  for (const n of nodes) if (n.state !== 'Up') out.push({ severity: 'warning', object: `node ${JSON.stringify(n.name)}`, message: `is ${n.state}: it hosts nothing new` });
  for (const r of resources) {
    if (r.state === 'Failed') out.push({ severity: 'warning', object: `resource ${JSON.stringify(r.name)}`, message: `is Failed${r.lastError ? `: ${r.lastError.message}` : ''}` });
    if (r.state === 'OpenCallFailed') out.push({ severity: 'warning', object: `resource ${JSON.stringify(r.name)}`, message: `its open failed (OpenCallFailed)${r.lastError ? `: ${r.lastError.message}` : ''}; \`failover resource reset\` re-opens it` });
  }
  for (const g of groups) if (g.owner === undefined && g.resources.length > 0) out.push({ severity: 'info', object: `group ${JSON.stringify(g.name)}`, message: 'has no owner node' });
  return out;
}

/** Plans longer than this are summed up by kind instead of listed line by line (except with --dry-run). */
const APPLY_LIST_CHANGES_MAX = 200;
/** Without a terminal, a progress line at most every this many percent. */
const PROGRESS_LINE_PERCENT_STEP = 10;

const changeKinds: Record<Change['op'], string> = {
  createGroup: 'groups to create',
  createResource: 'resources to create',
  setDependencies: 'dependency expressions to set',
  clearDependencies: 'dependency expressions to clear',
  changeGroup: 'resources to move to another group',
  setGroupProperties: 'groups to change',
  setResourceProperties: 'resources to change',
  setParameters: 'resources whose parameters change',
  setGroupState: 'groups to bring online or offline',
  onlineNewGroup: 'new groups to bring online',
  deleteResource: 'resources to delete',
  deleteGroup: 'groups to delete',
  leftAlone: 'objects not in the file, left alone',
};

function summarize(changes: readonly Change[]): string {
  const counts = new Map<Change['op'], number>();
  for (const c of changes) counts.set(c.op, (counts.get(c.op) ?? 0) + 1);
  const lines = [...counts].map(([op, n]) => `  ${String(n).padStart(6)}  ${changeKinds[op]}`);
  const real = changes.filter((c) => c.op !== 'leftAlone').length;
  return `${real} change(s) remain to make the cluster match the file (--dry-run lists them):\n${lines.join('\n')}`;
}

/**
 * Progress of an apply on standard error: one line redrawn in place on a
 * terminal, else a plain line every PROGRESS_LINE_PERCENT_STEP percent.
 */
function progressReporter(ctx: Ctx, startedAt: number): { update: (p: ApplyProgress) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let lastStep = -1;
  let drawn = false;
  return {
    update(p) {
      const percent = Math.floor((p.done / p.total) * 100);
      const seconds = ((ctx.deps.clock.now() - startedAt) / 1000).toFixed(1);
      const text = `apply: ${p.done}/${p.total} changes (${percent}%), batch ${p.batch}/${p.batches}, ${seconds} s`;
      if (tty) {
        const width = 30;
        const filled = Math.round((p.done / p.total) * width);
        ctx.deps.io.err(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`);
        drawn = true;
      } else if (Math.floor(percent / PROGRESS_LINE_PERCENT_STEP) > lastStep || p.done === p.total) {
        lastStep = Math.floor(percent / PROGRESS_LINE_PERCENT_STEP);
        ctx.deps.io.err(`${text}\n`);
      }
    },
    end() {
      if (drawn) ctx.deps.io.err('\n');
    },
  };
}

export function registerConfig(program: Command, deps: CliDeps): void {
  withClusterOptions(
    program
      .command('apply')
      .requiredOption('-f, --file <file>', 'the configuration file (YAML, see docs/configuration.md)')
      .option('--dry-run', 'print the changes without making them')
      .option('--prune', 'also delete groups and resources the file does not mention')
      .description('Create or update groups, resources, properties, parameters, dependencies and group states (state: online/offline) to match a file. The whole file is checked first and nothing changes if anything is wrong. Changes are made in batches of 100 with progress on standard error; a change the cluster refuses undoes its batch, earlier batches stay, and running apply again (also after an interruption) makes only what remains. Applying the same file again changes nothing.')
      .addHelpText('after', '\nExample:\n  failover apply -f cluster.yaml --dry-run\n  failover apply -f cluster.yaml'),
  ).action(
    act(deps, async (ctx) => {
      const o = ctx.options as { file: string; dryRun?: boolean; prune?: boolean };
      const { readRunning, validateConfig, hasErrors, planApply, describeChange, isNoOp, applyPlan } = await loadEngine();
      const desired = await readFile(ctx, o.file);
      const api = await ctx.api();
      const running = await readRunning(api);
      const findings = validateConfig(desired, { nodes: running.nodes, types: running.types });
      if (hasErrors(findings)) {
        printFindings(ctx, findings.filter((f) => f.severity === 'error'));
        ctx.deps.io.err(`failover: ${o.file} has errors; nothing was changed\n`);
        return ctx.fail(exitCodes.badInput);
      }
      const changes = planApply(desired, running, { prune: o.prune === true });
      const real = changes.filter((c) => c.op !== 'leftAlone');
      if (ctx.json && o.dryRun) return ctx.emitJson({ dryRun: true, changes });
      if (!ctx.json) {
        // A large plan (a first apply, or what an interrupted one left) is summed up; --dry-run lists it all.
        if (o.dryRun || changes.length <= APPLY_LIST_CHANGES_MAX) for (const c of changes) ctx.say(describeChange(c));
        else ctx.say(summarize(changes));
      }
      if (isNoOp(changes)) {
        if (ctx.json) ctx.emitJson({ applied: 0, changes: [] });
        else ctx.say('No changes: the cluster matches the file.');
        return;
      }
      if (o.dryRun) return ctx.say(`\n${real.length} change(s) would be made (dry run).`);
      const progress = progressReporter(ctx, ctx.deps.clock.now());
      let result;
      try {
        result = await applyPlan(api, changes, { onProgress: progress.update });
      } finally {
        progress.end();
      }
      if (ctx.json) ctx.emitJson({ applied: result.applied, changes: real });
      else ctx.say(`\nApplied ${real.length} change(s).`);
    }),
  );

  withClusterOptions(
    program
      .command('export')
      .option('-o, --output <file>', 'write to this file instead of standard output')
      .description('Write the running configuration in the apply format (properties and parameters that differ from their defaults). Exporting and applying the result changes nothing.')
      .addHelpText('after', '\nExample:\n  failover export -o cluster.yaml'),
  ).action(
    act(deps, async (ctx) => {
      const o = ctx.options as { output?: string };
      const { readRunning, toExport, stringifyConfig } = await loadEngine();
      const doc = toExport(await readRunning(await ctx.api()));
      const text = ctx.json ? `${JSON.stringify(doc, jsonReplacer, 2)}\n` : `# failover cluster configuration (failover apply -f FILE)\n${stringifyConfig(doc)}`;
      if (o.output !== undefined) {
        writeFileSync(resolve(ctx.deps.cwd(), o.output), text);
        ctx.deps.io.err(`wrote ${o.output}\n`);
      } else ctx.deps.io.out(text);
    }),
  );

  withClusterOptions(
    program
      .command('validate')
      .option('-f, --file <file>', 'check this file (default: the running cluster)')
      .description('Check a configuration file, or the running cluster, for what a WSFC validation would flag: unknown types, wrong properties, dependency cycles or providers in other groups, owners that are not nodes, resources or groups no node can host, groups that cannot fail over, the KB2893882 pattern. Exits 1 if there are errors.')
      .addHelpText('after', '\nExample:\n  failover validate -f cluster.yaml\n  failover validate'),
  ).action(
    act(deps, async (ctx) => {
      const o = ctx.options as { file?: string };
      const { readRunning, validateConfig, hasErrors } = await loadEngine();
      let findings: Finding[];
      if (o.file !== undefined) {
        const doc = await readFile(ctx, o.file);
        let context: ValidationContext = doc.nodes ? { nodes: doc.nodes } : {};
        try {
          const running = await readRunning(await ctx.api());
          context = { nodes: running.nodes, types: running.types };
        } catch (e) {
          if (!isClusterError(e)) throw e;
          ctx.deps.io.err(`note: no cluster to compare with (${e.message}); checking the file alone\n`);
        }
        findings = validateConfig(doc, context);
      } else {
        const api = await ctx.api();
        const running = await readRunning(api);
        findings = [...validateConfig(running.full, { nodes: running.nodes, types: running.types }), ...(await runtimeFindings(api))];
      }
      printFindings(ctx, findings);
      if (hasErrors(findings)) ctx.fail(exitCodes.failed);
    }),
  );
}
