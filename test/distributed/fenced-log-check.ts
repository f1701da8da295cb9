// What the fenced writers (fenced-writer.ts) leave behind, checked against
// their shared logs: every write the guard acknowledged must be in its log
// (nothing acknowledged is lost) and must stand after every token written
// before it (no old owner's write got through after a newer owner's). The
// log is parsed here on its own, not with the guard's reader, so a bug in the
// guard cannot hide itself.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface RawRecord {
  readonly id: string;
  readonly token: number;
}

/** The log's lines in file order. */
function rawRecords(file: string): RawRecord[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: RawRecord[] = [];
  for (const line of text.split('\n')) {
    try {
      const v = JSON.parse(line) as RawRecord;
      if (typeof v.token === 'number' && typeof v.id === 'string') out.push(v);
    } catch {
      // not a record
    }
  }
  return out;
}

export interface FencedLogCheck {
  /** Writes the guard acknowledged, over all groups. */
  readonly acked: number;
  /** Writers told they had been fenced off (a newer token was written). */
  readonly refused: number;
  /** Acknowledged writes missing from their log. */
  readonly lost: readonly string[];
  /** Acknowledged writes standing after a higher token: `group: id (token t after u)`. */
  readonly stale: readonly string[];
  /** Per group, the tokens its acknowledged writes carried (one per owner that wrote). */
  readonly tokens: ReadonlyMap<string, ReadonlySet<number>>;
}

/** Checks each group's log (logOf(group)) against the acknowledgements in acksDir. */
export function checkFencedLogs(groups: readonly string[], logOf: (group: string) => string, acksDir: string): FencedLogCheck {
  const acked = new Set<string>();
  let refused = 0;
  for (const f of readdirSync(acksDir)) {
    for (const line of readFileSync(path.join(acksDir, f), 'utf8').split('\n')) {
      if (line.startsWith('refused')) refused++;
      else if (line !== '') acked.add(line);
    }
  }
  const inLogs = new Set<string>();
  const stale: string[] = [];
  const tokens = new Map<string, Set<number>>();
  for (const g of groups) {
    let highest = 0;
    const used = new Set<number>();
    for (const r of rawRecords(logOf(g))) {
      inLogs.add(r.id);
      if (acked.has(r.id)) {
        if (r.token < highest) stale.push(`${g}: ${r.id} (token ${r.token} after ${highest})`);
        used.add(r.token);
      }
      highest = Math.max(highest, r.token);
    }
    tokens.set(g, used);
  }
  return { acked: acked.size, refused, lost: [...acked].filter((id) => !inLogs.has(id)), stale, tokens };
}
