// WSFC's cluster log line format, written and read by the same module:
//
//   PID.TID::YYYY/MM/DD-HH:MM:SS.mmm LEVEL [COMPONENT] text
//
// PID and TID are 8 hex digits, the time is UTC, LEVEL is INFO, WARN, ERR or
// DBG padded to 5 characters. KB articles replace the prefix with the
// placeholder `xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mmm`; such lines parse
// with pid, tid and time undefined ("unknown pid/time").
//
// The parser is tolerant where real logs and copied excerpts vary (one space
// after ERR, no-break spaces from web pages, tabs, CRLF, trailing blanks) but
// exact about what it accepts: a valid date and time, 8 hex digits, a known
// level. The prefix is read by scan.ts, which the diagnostics' reader of every
// form WSFC wrote shares; this parser accepts only what this module writes.

import { assert } from '../model/errors.ts';
import { CodeUnits, hexValue, isBlank, newLineScan, placeholderPrefix, scanAny, timeOf } from './scan.ts';
import type { LogLevel } from '../model/messages.ts';

export type { LogLevel } from '../model/messages.ts';

export interface LogRecord {
  /** Process id; undefined for the KB placeholder prefix. */
  pid?: number;
  /** Thread id; undefined for the KB placeholder prefix. */
  tid?: number;
  /** UTC milliseconds since the epoch; undefined for the placeholder prefix. */
  timeMs?: number;
  level: LogLevel;
  /** WSFC component without brackets: RCM, RHS, RES, ... */
  component: string;
  text: string;
}

export const logLevels: readonly LogLevel[] = ['DBG', 'INFO', 'WARN', 'ERR'];

/** Severity order used for filtering: a writer at level L keeps L and above. */
export const levelRank: Readonly<Record<LogLevel, number>> = { DBG: 0, INFO: 1, WARN: 2, ERR: 3 };

export function isLogLevel(s: string): s is LogLevel {
  return s === 'INFO' || s === 'WARN' || s === 'ERR' || s === 'DBG';
}

const levelWidth = 5;
const placeholderId = 'xxxxxxxx';
const placeholderTime = 'yyyy/mm/dd-hh:mm:ss.mmm';
export { placeholderPrefix };
const maxId = 0xffffffff;

function hex8(n: number | undefined, what: string): string {
  if (n === undefined) return placeholderId;
  assert(Number.isInteger(n) && n >= 0 && n <= maxId, `${what} ${n} fits in 8 hex digits`);
  return n.toString(16).padStart(8, '0');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function formatTime(timeMs: number | undefined): string {
  if (timeMs === undefined) return placeholderTime;
  assert(Number.isInteger(timeMs), `log time ${timeMs} is whole milliseconds`);
  const d = new Date(timeMs);
  const year = d.getUTCFullYear();
  assert(year >= 1000 && year <= 9999, `log time ${timeMs} has a 4-digit year`);
  return (
    `${year}/${pad(d.getUTCMonth() + 1, 2)}/${pad(d.getUTCDate(), 2)}-` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

/**
 * Text as a log line can carry it: one line, no trailing blanks. Producers may
 * pass anything (an error message from a resource type); the writer stores
 * this form so that every written line parses back to what was stored.
 */
export function canonicalText(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').trimEnd();
}

/** A component as a line can carry it: no brackets, no blanks. */
export function isValidComponent(component: string): boolean {
  return component.length > 0 && !/[\s[\]]/.test(component);
}

/** One cluster log line, without the line terminator. */
export function formatLine(record: LogRecord): string {
  assert(isValidComponent(record.component), `log component '${record.component}' has no blanks or brackets`);
  assert(canonicalText(record.text) === record.text, 'log text is one line without trailing blanks (use canonicalText)');
  const known = [record.pid, record.tid, record.timeMs].filter((v) => v !== undefined).length;
  assert(known === 0 || known === 3, 'pid, tid and time are all known or all unknown (the placeholder prefix)');
  const head = `${hex8(record.pid, 'pid')}.${hex8(record.tid, 'tid')}::${formatTime(record.timeMs)} ${record.level.padEnd(levelWidth)} `;
  return record.text === '' ? `${head}[${record.component}]` : `${head}[${record.component}] ${record.text}`;
}

// ---- parsing -------------------------------------------------------------

const units = new CodeUnits();
const scratch = newLineScan();
/** Characters of `PPPPPPPP.` (and one fewer than `TTTTTTTT::`): the ids are exactly 8 hex digits. */
const idChars = 9;

/**
 * Parses one cluster log line (with or without its CR); undefined if the line
 * is not in the format (continuations of multi-line messages, garbage, other
 * formats, and the other forms WSFC wrote that only the diagnostics read: no
 * level, a channel prefix, short ids, a component with blanks). Never throws.
 */
export function parseLine(line: string): LogRecord | undefined {
  const b = units.of(line);
  const scan = scratch;
  if (!scanAny(b, 0, line.length, scan) || scan.channelStart >= 0 || scan.level === undefined || scan.componentStart < 0) return undefined;
  // The level is a word of its own, and the component holds no blanks.
  if (!isBlank(b[scan.levelStart + scan.level.length]!)) return undefined;
  for (let i = scan.componentStart; i < scan.componentEnd; i++) if (isBlank(b[i]!)) return undefined;
  const record: LogRecord = { level: scan.level, component: line.slice(scan.componentStart, scan.componentEnd), text: line.slice(scan.textStart, scan.end) };
  if (scan.timeStart >= 0) {
    if (scan.tidStart !== idChars || scan.timeStart !== scan.tidStart + idChars + 1) return undefined;
    const timeMs = timeOf(b, scan);
    if (timeMs === undefined) return undefined;
    record.pid = hexValue(b, scan.pidStart);
    record.tid = hexValue(b, scan.tidStart);
    record.timeMs = timeMs;
  }
  return record;
}
