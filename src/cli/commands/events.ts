import type { Command } from 'commander';
import { act, parseDurationMs, withClusterOptions, type CliDeps } from '../kit.ts';
import { ClusterError } from '../../model/errors.ts';
import type { ClusterEvent, EventFilter } from '../../api/types.ts';
import { exitCodes } from '../exit-codes.ts';

const types = ['resourceState', 'groupState', 'nodeState', 'move', 'config'] as const;

function line(e: ClusterEvent, at: string): string {
  switch (e.type) {
    case 'resourceState':
      return `${at}  resource  ${e.resource} (${e.group})  ${e.state}  on ${e.node || '-'}  seq ${e.stateSeq}`;
    case 'groupState':
      return `${at}  group     ${e.group}  ${e.state}  on ${e.owner ?? '-'}`;
    case 'nodeState':
      return `${at}  node      ${e.node}  ${e.state}`;
    case 'move':
      return `${at}  move      ${e.move.group}  ${e.move.phase}${e.move.outcome ? ` ${e.move.outcome}` : ''}  ${e.move.from || '-'} -> ${e.move.to}${e.move.error ? `  ${e.move.error.message}` : ''}`;
    case 'config':
      return `${at}  config    ${e.object} ${e.name}`;
    case 'reconnect':
      return `${at}  reconnect events were lost; re-read the state`;
  }
}

export function registerEvents(program: Command, deps: CliDeps): void {
  withClusterOptions(
    program
      .command('events')
      .option('--group <group>', 'only events of this group')
      .option('--resource <resource>', 'only events of this resource')
      .option('--node <node>', 'only events of this node')
      .option('--type <type...>', `only these kinds: ${types.join(', ')}`)
      .option('--count <n>', 'stop after this many events')
      .option('--timeout <duration>', 'stop after this long (e.g. 30s)')
      .description('Follow the cluster\'s notifications: state changes, moves, configuration changes. One line per event (one JSON object per line with --json). A "reconnect" line means events were lost.')
      .addHelpText('after', '\nExample:\n  failover events --group "Mailbox CMS01"\n  failover events --type move --json'),
  ).action(
    act(deps, async (ctx) => {
      const o = ctx.options as { group?: string; resource?: string; node?: string; type?: string[]; count?: string; timeout?: string };
      for (const t of o.type ?? []) {
        if (!(types as readonly string[]).includes(t)) throw new ClusterError('ERROR_INVALID_PARAMETER', `--type ${JSON.stringify(t)}: one of ${types.join(', ')}`);
      }
      const count = o.count !== undefined ? Number(o.count) : undefined;
      if (count !== undefined && (!Number.isInteger(count) || count < 1)) throw new ClusterError('ERROR_INVALID_PARAMETER', `--count ${JSON.stringify(o.count)}: a positive whole number`);
      const timeoutMs = o.timeout !== undefined ? parseDurationMs(o.timeout) : undefined;
      const filter: EventFilter = {
        ...(o.group !== undefined ? { group: o.group } : {}),
        ...(o.resource !== undefined ? { resource: o.resource } : {}),
        ...(o.node !== undefined ? { node: o.node } : {}),
        ...(o.type ? { types: o.type as ClusterEvent['type'][] } : {}),
      };
      const clock = ctx.deps.clock;
      let seen = 0;
      let finish: (() => void) | undefined;
      const done = new Promise<void>((resolve) => (finish = resolve));
      const sub = await (await ctx.api()).subscribe(filter, (e) => {
        if (seen >= (count ?? Infinity)) return;
        seen++;
        if (ctx.json) ctx.deps.io.out(`${JSON.stringify(e)}\n`);
        else ctx.say(line(e, new Date(clock.now()).toISOString().slice(11, 23)));
        if (count !== undefined && seen >= count) finish?.();
      });
      ctx.deps.io.err(`following events${o.group ? ` of group ${o.group}` : ''}${o.resource ? ` of resource ${o.resource}` : ''}; Ctrl-C to stop\n`);
      const timer = timeoutMs !== undefined ? clock.setTimer(timeoutMs, () => finish?.()) : undefined;
      const onSignal = (): void => finish?.();
      process.once('SIGINT', onSignal);
      try {
        await done;
      } finally {
        process.off('SIGINT', onSignal);
        if (timer) clock.clearTimer(timer);
        sub.close();
      }
      if (count !== undefined && seen < count && timeoutMs !== undefined) ctx.fail(exitCodes.timedOut);
    }),
  );
}
