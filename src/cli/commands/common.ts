// Pieces the noun modules share: the wait options of long operations and the
// human renderings of views.
import type { Command } from 'commander';
import type { GroupView, NodeView, ResourceView } from '../../api/types.ts';
import { formatValue, parseDurationMs, table } from '../kit.ts';
import { waitLimits, type WaitOptions } from '../wait.ts';

export function withWaitOptions(cmd: Command): Command {
  return cmd
    .option('--no-wait', 'return as soon as the operation has started')
    .option('--timeout <duration>', 'stop waiting after this long (e.g. 30s, 2m); the operation itself ends by its own deadline');
}

export function waitOptionsOf(opts: { wait?: boolean; timeout?: string }, group: string): WaitOptions {
  return { group, wait: opts.wait !== false, timeoutMs: opts.timeout !== undefined ? parseDurationMs(opts.timeout) : waitLimits.waitTimeoutMsDefault };
}

export function nodesTable(nodes: readonly NodeView[]): string {
  return table(['NODE', 'ID', 'STATE'], nodes.map((n) => [n.name, String(n.id), n.draining ? `${n.state} (draining)` : n.state]));
}

export function groupsTable(groups: readonly GroupView[]): string {
  return table(
    ['GROUP', 'STATE', 'OWNER', 'RESOURCES', 'MOVE'],
    groups.map((g) => [g.name, g.state, g.owner ?? '-', String(g.resources.length), g.moving && g.move ? `${g.move.phase} ${g.move.from} -> ${g.move.to}` : '-']),
  );
}

export function resourcesTable(resources: readonly ResourceView[]): string {
  return table(
    ['RESOURCE', 'TYPE', 'GROUP', 'STATE', 'OWNER', 'DEPENDS ON'],
    resources.map((r) => [r.name, r.type, r.group, r.state, r.owner ?? '-', r.dependencies || '-']),
  );
}

export function propertiesBlock(record: Readonly<Record<string, unknown>>): string {
  return table(
    ['PROPERTY', 'VALUE'],
    Object.entries(record).map(([k, v]) => [k, formatValue(v as never)]),
  );
}
