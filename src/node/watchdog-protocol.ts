// What the node agent and its watchdog process say to each other: one JSON
// object per line, agent -> watchdog on the watchdog's stdin, watchdog ->
// agent on its stdout. Kept apart from both ends so neither imports the other.

/** Agent -> watchdog. */
export type WatchdogCommand =
  /**
   * The agent's lease is known to hold: kill everything if no further word
   * comes within fireInMs. lease: the membership lease it holds, named in the
   * kill confirmation the watchdog writes to the store.
   */
  | { readonly type: 'pet'; readonly fireInMs: number; readonly lease?: string }
  /** A process group the agent started for a resource: kill it when firing. */
  | { readonly type: 'guard'; readonly pgid: number; readonly label: string }
  /** The group has been stopped by the agent itself. */
  | { readonly type: 'unguard'; readonly pgid: number }
  /** Kill everything guarded now, then exit (the agent is stopping). */
  | { readonly type: 'fire'; readonly reason: string };

/** Watchdog -> agent. */
export type WatchdogReport =
  | { readonly type: 'ready'; readonly pid: number }
  | { readonly type: 'fired'; readonly reason: string; readonly killedGroups: readonly number[] }
  /** Every marked process is gone, and (with a store to write to) the kill is confirmed there. */
  | { readonly type: 'confirmed'; readonly lease: string | undefined; readonly stored: boolean };

/**
 * Every process a guarded resource starts carries this variable (value: the
 * agent incarnation's mark), so the watchdog also finds processes it was not
 * told about yet — one spawned just before the agent died — and never kills a
 * process group whose id was recycled by something else.
 */
export const WATCHDOG_MARK_ENV = 'FAILOVER_WATCHDOG_MARK';

export function encodeLine(message: WatchdogCommand | WatchdogReport): string {
  return `${JSON.stringify(message)}\n`;
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/** Parses one command line; undefined for anything malformed (the watchdog ignores it). */
export function decodeCommand(line: string): WatchdogCommand | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  switch (o.type) {
    case 'pet':
      if (typeof o.fireInMs !== 'number' || !Number.isFinite(o.fireInMs)) return undefined;
      return typeof o.lease === 'string' ? { type: 'pet', fireInMs: o.fireInMs, lease: o.lease } : { type: 'pet', fireInMs: o.fireInMs };
    case 'guard':
      return isPositiveInteger(o.pgid) && typeof o.label === 'string' ? { type: 'guard', pgid: o.pgid, label: o.label } : undefined;
    case 'unguard':
      return isPositiveInteger(o.pgid) ? { type: 'unguard', pgid: o.pgid } : undefined;
    case 'fire':
      return typeof o.reason === 'string' ? { type: 'fire', reason: o.reason } : undefined;
  }
  return undefined;
}

export function decodeReport(line: string): WatchdogReport | undefined {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (v === null || typeof v !== 'object') return undefined;
  const o = v as Record<string, unknown>;
  if (o.type === 'ready' && isPositiveInteger(o.pid)) return { type: 'ready', pid: o.pid };
  if (o.type === 'fired' && typeof o.reason === 'string' && Array.isArray(o.killedGroups)) {
    return { type: 'fired', reason: o.reason, killedGroups: o.killedGroups.filter(isPositiveInteger) };
  }
  if (o.type === 'confirmed' && typeof o.stored === 'boolean') {
    return { type: 'confirmed', lease: typeof o.lease === 'string' ? o.lease : undefined, stored: o.stored };
  }
  return undefined;
}

/** Splits a byte stream into lines; the last, unfinished line waits for the next chunk. */
export class LineSplitter {
  private rest = '';
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split('\n');
    this.rest = lines.pop() ?? '';
    return lines.filter((l) => l.trim() !== '');
  }
}
