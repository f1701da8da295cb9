// A cluster log line as the diagnostics read it: in every form WSFC has
// written it, 2008 to 2022, and failover's own. The prefix is read by
// src/log/scan.ts (which failover's own parser shares, and which lists the
// forms); this module turns a scanned line into a record.
//
// The reader (reader.ts) scans lines where they lie in a chunk of bytes and
// calls `recordOf` only for the lines its pre-filter keeps.

import type { LogLevel } from '../log/format.ts';
import { CodeUnits, componentIs, hexValue, newLineScan, scanAny, timeOf, type LineScan } from '../log/scan.ts';

export interface DiagRecord {
  /** Process id; undefined for the KB placeholder prefix. */
  pid?: number;
  tid?: number;
  /** UTC milliseconds since the epoch; undefined for the placeholder prefix. */
  timeMs?: number;
  /** Undefined when the line has no level field (Windows Server 2008). */
  level?: LogLevel;
  /** Component without brackets; '' when the line names none. */
  component: string;
  text: string;
  /** The event channel of a 2016+ line ([Verbose], [Operational], ...), without brackets. */
  channel?: string;
}

/** Components common enough to be worth not allocating a string for each line. */
const commonComponents = ['RCM', 'RES', 'RHS', 'NM', 'API', 'GUM', 'NODE', 'CS', 'QUORUM', 'CORE', 'NETFTAPI', 'IM'];

function componentOf(b: Uint8Array, scan: LineScan, line: string, lineStart: number): string {
  if (scan.componentStart < 0) return '';
  for (const c of commonComponents) if (componentIs(b, scan, c)) return c;
  return line.slice(scan.componentStart - lineStart, scan.componentEnd - lineStart);
}

/**
 * The record of a line scanned in `b` from `lineStart`; `line` is its text
 * (from lineStart to at least scan.end), which the record's strings are sliced
 * from. Undefined when the line's time is not a real date.
 */
export function recordOf(b: Uint8Array, scan: LineScan, line: string, lineStart: number, offsetMs = 0): DiagRecord | undefined {
  const r: DiagRecord = {
    component: componentOf(b, scan, line, lineStart),
    text: line.slice(scan.textStart - lineStart, scan.end - lineStart),
  };
  if (scan.timeStart >= 0) {
    const t = timeOf(b, scan);
    if (t === undefined) return undefined;
    r.timeMs = t + offsetMs;
    r.pid = hexValue(b, scan.pidStart);
    r.tid = hexValue(b, scan.tidStart);
  }
  if (scan.level !== undefined) r.level = scan.level;
  if (scan.channelStart >= 0) r.channel = line.slice(scan.channelStart - lineStart, scan.channelEnd - lineStart);
  return r;
}

const units = new CodeUnits();
const scratch = newLineScan();

/** One line as a record, or undefined if it is not a cluster log line. Never throws. */
export function parseClusterLine(line: string): DiagRecord | undefined {
  const b = units.of(line);
  return scanAny(b, 0, line.length, scratch) ? recordOf(b, scratch, line, 0) : undefined;
}
