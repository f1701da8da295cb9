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
// level. It is the hot path of the diagnostics (a 1 GB log is ~7 million
// lines), so it reads character codes instead of running a regular expression.

import { assert } from '../model/errors.ts';
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
export const placeholderPrefix = `${placeholderId}.${placeholderId}::${placeholderTime}`;
/** Length of `PID.TID::YYYY/MM/DD-HH:MM:SS.mmm`. */
const prefixLength = placeholderPrefix.length;
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

const CH_DOT = 46;
const CH_COLON = 58;
const CH_SLASH = 47;
const CH_DASH = 45;
const CH_OPEN = 91;
const CH_CLOSE = 93;
const CH_0 = 48;

function isBlank(c: number): boolean {
  // space, tab, no-break space (KB pages), carriage return
  return c === 32 || c === 9 || c === 160 || c === 13;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** 8 hex digits at `at`, or -1. */
function readHex8(line: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const d = hexDigit(line.charCodeAt(i));
    if (d < 0) return -1;
    v = v * 16 + d;
  }
  return v;
}

/** `width` decimal digits at `at`, or -1. */
function readDec(line: string, at: number, width: number): number {
  let v = 0;
  for (let i = at; i < at + width; i++) {
    const d = line.charCodeAt(i) - CH_0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

// Date.UTC and its validation cost more than the rest of a line; log lines
// come in runs of the same day, so the day's start is remembered.
let cachedDayKey = -1;
let cachedDayMs = 0;

function dayStartMs(year: number, month: number, day: number): number | undefined {
  const key = year * 10_000 + month * 100 + day;
  if (key === cachedDayKey) return cachedDayMs;
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) return undefined; // 2013/02/30
  cachedDayKey = key;
  cachedDayMs = ms;
  return ms;
}

/** Parses `YYYY/MM/DD-HH:MM:SS.mmm` at `at` (length 23); undefined when invalid. */
function readTime(line: string, at: number): number | undefined {
  if (
    line.charCodeAt(at + 4) !== CH_SLASH ||
    line.charCodeAt(at + 7) !== CH_SLASH ||
    line.charCodeAt(at + 10) !== CH_DASH ||
    line.charCodeAt(at + 13) !== CH_COLON ||
    line.charCodeAt(at + 16) !== CH_COLON ||
    line.charCodeAt(at + 19) !== CH_DOT
  )
    return undefined;
  const year = readDec(line, at, 4);
  const month = readDec(line, at + 5, 2);
  const day = readDec(line, at + 8, 2);
  const hour = readDec(line, at + 11, 2);
  const minute = readDec(line, at + 14, 2);
  const second = readDec(line, at + 17, 2);
  const milli = readDec(line, at + 20, 3);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || milli < 0) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  const start = dayStartMs(year, month, day);
  if (start === undefined) return undefined;
  return start + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
}

function readLevel(line: string, at: number, end: number): LogLevel | undefined {
  const len = end - at;
  const c = line.charCodeAt(at);
  if (len === 4 && c === 73 && line.startsWith('INFO', at)) return 'INFO';
  if (len === 4 && c === 87 && line.startsWith('WARN', at)) return 'WARN';
  if (len === 3 && c === 69 && line.startsWith('ERR', at)) return 'ERR';
  if (len === 3 && c === 68 && line.startsWith('DBG', at)) return 'DBG';
  return undefined;
}

/**
 * Parses one cluster log line (with or without its CR); undefined if the line
 * is not in the format (continuations of multi-line messages, garbage, other
 * formats). Never throws.
 */
export function parseLine(line: string): LogRecord | undefined {
  let end = line.length;
  while (end > 0 && isBlank(line.charCodeAt(end - 1))) end--;
  if (end < prefixLength + 4) return undefined;
  if (line.charCodeAt(8) !== CH_DOT || line.charCodeAt(17) !== CH_COLON || line.charCodeAt(18) !== CH_COLON) return undefined;

  let pid: number | undefined;
  let tid: number | undefined;
  let timeMs: number | undefined;
  if (line.charCodeAt(0) === 120 /* x */ && line.startsWith(placeholderPrefix)) {
    // KB placeholder: unknown pid, tid and time.
  } else {
    const p = readHex8(line, 0);
    const t = readHex8(line, 9);
    if (p < 0 || t < 0) return undefined;
    const ms = readTime(line, 19);
    if (ms === undefined) return undefined;
    pid = p;
    tid = t;
    timeMs = ms;
  }

  // blanks, LEVEL, blanks, [COMPONENT]
  let i = prefixLength;
  if (!isBlank(line.charCodeAt(i))) return undefined;
  while (i < end && isBlank(line.charCodeAt(i))) i++;
  const levelStart = i;
  while (i < end && !isBlank(line.charCodeAt(i))) i++;
  const level = readLevel(line, levelStart, i);
  if (level === undefined) return undefined;
  while (i < end && isBlank(line.charCodeAt(i))) i++;
  if (line.charCodeAt(i) !== CH_OPEN) return undefined;
  const componentStart = ++i;
  for (; i < end; i++) {
    const c = line.charCodeAt(i);
    if (c === CH_CLOSE) break;
    if (c === CH_OPEN || isBlank(c)) return undefined;
  }
  if (i >= end || i === componentStart) return undefined;
  const component = line.slice(componentStart, i);
  i++; // past ']'
  // One blank separates the component from the text; the rest is the text as written.
  if (i < end && isBlank(line.charCodeAt(i))) i++;
  const text = line.slice(i, end);

  const record: LogRecord = { level, component, text };
  if (pid !== undefined) record.pid = pid;
  if (tid !== undefined) record.tid = tid;
  if (timeMs !== undefined) record.timeMs = timeMs;
  return record;
}
