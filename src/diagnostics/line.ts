// Reads one cluster log line in every form WSFC has written it, 2008 to 2022,
// and failover's own (docs/diagnostics.md lists the forms):
//
//   PID.TID::YYYY/MM/DD-HH:MM:SS.mmm LEVEL [COMPONENT] text    2008 R2 and later, failover
//   PID.TID::YYYY/MM/DD-HH:MM:SS.mmm [COMPONENT] text          2008: no level field
//   PID.TID::YYYY/MM/DD-HH:MM:SS.mmm LEVEL text                no component ("lost quorum (status = 5925)")
//   [Verbose] PID.TID::...                                     2016+: the event channel the line came from
//   xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mmm ...             KB articles' placeholder prefix
//
// A component may hold blanks ([CHANNEL 10.0.0.2:~3343~]). PID and TID are
// read as 1 to 8 hex digits. Blanks may be spaces, tabs or no-break spaces
// (copied from web pages).
//
// This is the hot path of the diagnostics: `scanLine` looks at a line where
// it lies in a decoded chunk, without copying it, and fills a reusable
// `LineScan` with positions; only the lines a pre-filter keeps are turned
// into records (`recordOf`).

import type { LogLevel } from '../log/format.ts';

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

/** Positions of one line's fields in its chunk; -1 where a field is absent. */
export interface LineScan {
  channelStart: number;
  channelEnd: number;
  pidStart: number;
  tidStart: number;
  /** Start of `YYYY/MM/DD-HH:MM:SS.mmm`, or -1 for the placeholder. */
  timeStart: number;
  level: LogLevel | undefined;
  componentStart: number;
  componentEnd: number;
  textStart: number;
  end: number;
}

export function newLineScan(): LineScan {
  return { channelStart: -1, channelEnd: -1, pidStart: -1, tidStart: -1, timeStart: -1, level: undefined, componentStart: -1, componentEnd: -1, textStart: -1, end: 0 };
}

const CH_DOT = 46;
const CH_COLON = 58;
const CH_SLASH = 47;
const CH_DASH = 45;
const CH_OPEN = 91;
const CH_CLOSE = 93;
const CH_0 = 48;
const CH_X = 120;
const componentCharsMax = 64;
const channelCharsMax = 40;
const placeholder = 'xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mmm';

export function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 160 || c === 13;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** End of a run of 1..8 hex digits at `at`, or -1. */
function hexRun(s: string, at: number, end: number): number {
  let i = at;
  while (i < end && i - at < 8 && isHex(s.charCodeAt(i))) i++;
  return i === at ? -1 : i;
}

function timeShapeAt(s: string, at: number): boolean {
  return (
    s.charCodeAt(at + 4) === CH_SLASH &&
    s.charCodeAt(at + 7) === CH_SLASH &&
    s.charCodeAt(at + 10) === CH_DASH &&
    s.charCodeAt(at + 13) === CH_COLON &&
    s.charCodeAt(at + 16) === CH_COLON &&
    s.charCodeAt(at + 19) === CH_DOT &&
    isDigit(s.charCodeAt(at)) &&
    isDigit(s.charCodeAt(at + 22))
  );
}

function levelAt(s: string, at: number, end: number): LogLevel | undefined {
  const c = s.charCodeAt(at);
  let level: LogLevel | undefined;
  let len = 0;
  if (c === 73 && s.startsWith('INFO', at)) (level = 'INFO'), (len = 4);
  else if (c === 87 && s.startsWith('WARN', at)) (level = 'WARN'), (len = 4);
  else if (c === 69 && s.startsWith('ERR', at)) (level = 'ERR'), (len = 3);
  else if (c === 68 && s.startsWith('DBG', at)) (level = 'DBG'), (len = 3);
  if (level === undefined) return undefined;
  // A level is a whole word: "ERROR_..." or "Information" is text, not a level.
  return at + len >= end || isBlank(s.charCodeAt(at + len)) || s.charCodeAt(at + len) === CH_OPEN ? level : undefined;
}

/**
 * Scans the line s[start, end) (without its line break). Returns false when
 * it is not a cluster log line. Checks the shape only; the time's values are
 * read by `timeOf`.
 */
export function scanLine(s: string, start: number, end: number, out: LineScan): boolean {
  while (end > start && isBlank(s.charCodeAt(end - 1))) end--;
  out.end = end;
  let i = start;
  out.channelStart = -1;
  out.channelEnd = -1;
  if (s.charCodeAt(i) === CH_OPEN) {
    // [Verbose] / [Operational] / [System] before the prefix (2016+).
    const close = s.indexOf(']', i + 1);
    if (close < 0 || close - i > channelCharsMax || close + 1 >= end) return false;
    out.channelStart = i + 1;
    out.channelEnd = close;
    i = close + 1;
    while (i < end && isBlank(s.charCodeAt(i))) i++;
  }
  if (end - i < 22) return false;
  if (s.charCodeAt(i) === CH_X && s.startsWith(placeholder, i)) {
    out.pidStart = -1;
    out.tidStart = -1;
    out.timeStart = -1;
    i += placeholder.length;
  } else {
    const pidEnd = hexRun(s, i, end);
    if (pidEnd < 0 || s.charCodeAt(pidEnd) !== CH_DOT) return false;
    const tidEnd = hexRun(s, pidEnd + 1, end);
    if (tidEnd < 0 || s.charCodeAt(tidEnd) !== CH_COLON || s.charCodeAt(tidEnd + 1) !== CH_COLON) return false;
    const t = tidEnd + 2;
    if (t + 23 > end || !timeShapeAt(s, t)) return false;
    out.pidStart = i;
    out.tidStart = pidEnd + 1;
    out.timeStart = t;
    i = t + 23;
  }
  if (i < end && !isBlank(s.charCodeAt(i))) return false;
  while (i < end && isBlank(s.charCodeAt(i))) i++;
  out.level = levelAt(s, i, end);
  if (out.level !== undefined) {
    i += out.level.length;
    while (i < end && isBlank(s.charCodeAt(i))) i++;
  }
  out.componentStart = -1;
  out.componentEnd = -1;
  if (s.charCodeAt(i) === CH_OPEN) {
    let j = i + 1;
    const limit = Math.min(end, j + componentCharsMax);
    while (j < limit) {
      const c = s.charCodeAt(j);
      if (c === CH_CLOSE || c === CH_OPEN) break;
      j++;
    }
    if (j < end && s.charCodeAt(j) === CH_CLOSE && j > i + 1) {
      out.componentStart = i + 1;
      out.componentEnd = j;
      i = j + 1;
      if (i < end && isBlank(s.charCodeAt(i))) i++;
    }
  }
  out.textStart = i;
  return true;
}

/**
 * The fast path for the form most lines of a 2008 R2+ log have:
 * `PPPPPPPP.TTTTTTTT::YYYY/MM/DD-HH:MM:SS.mmm LEVEL [COMPONENT] text` with
 * 8-digit ids and the level padded to 5. Checks the fixed separators only
 * (digits are checked when the time is read) and fills `out`; false sends the
 * line to `scanLine`.
 */
export function scanCanonical(s: string, p: number, end: number, out: LineScan): boolean {
  if (
    end - p < 52 ||
    s.charCodeAt(p + 8) !== CH_DOT ||
    s.charCodeAt(p + 17) !== CH_COLON ||
    s.charCodeAt(p + 18) !== CH_COLON ||
    s.charCodeAt(p + 23) !== CH_SLASH ||
    s.charCodeAt(p + 26) !== CH_SLASH ||
    s.charCodeAt(p + 29) !== CH_DASH ||
    s.charCodeAt(p + 32) !== CH_COLON ||
    s.charCodeAt(p + 38) !== CH_DOT ||
    s.charCodeAt(p + 42) !== 32 ||
    s.charCodeAt(p + 48) !== 32 ||
    s.charCodeAt(p + 49) !== CH_OPEN ||
    !isDigit(s.charCodeAt(p + 19)) // the KB placeholder has the same separators
  )
    return false;
  let level: LogLevel;
  switch (s.charCodeAt(p + 43)) {
    case 73 /* I */:
      if (!s.startsWith('INFO ', p + 43)) return false;
      level = 'INFO';
      break;
    case 87 /* W */:
      if (!s.startsWith('WARN ', p + 43)) return false;
      level = 'WARN';
      break;
    case 69 /* E */:
      if (!s.startsWith('ERR  ', p + 43)) return false;
      level = 'ERR';
      break;
    case 68 /* D */:
      if (!s.startsWith('DBG  ', p + 43)) return false;
      level = 'DBG';
      break;
    default:
      return false;
  }
  const close = s.indexOf(']', p + 51);
  if (close < 0 || close > p + 50 + componentCharsMax || close >= end) return false;
  while (end > close && isBlank(s.charCodeAt(end - 1))) end--;
  out.end = end;
  out.channelStart = -1;
  out.channelEnd = -1;
  out.pidStart = p;
  out.tidStart = p + 9;
  out.timeStart = p + 19;
  out.level = level;
  out.componentStart = p + 50;
  out.componentEnd = close;
  out.textStart = close + 1 < end && isBlank(s.charCodeAt(close + 1)) ? close + 2 : close + 1;
  return true;
}

/** True when the scanned component is exactly `name`. */
export function componentIs(s: string, scan: LineScan, name: string): boolean {
  return scan.componentEnd - scan.componentStart === name.length && s.startsWith(name, scan.componentStart);
}

function dec(s: string, at: number, width: number): number {
  let v = 0;
  for (let i = at; i < at + width; i++) {
    const d = s.charCodeAt(i) - CH_0;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

// Date.UTC and its validation cost more than the rest of a line; lines come
// in runs of one day, so the day's start is remembered.
let cachedDayKey = -1;
let cachedDayMs = 0;

function dayStartMs(year: number, month: number, day: number): number | undefined {
  const key = year * 10_000 + month * 100 + day;
  if (key === cachedDayKey) return cachedDayMs;
  if (year < 1970 || month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) return undefined;
  cachedDayKey = key;
  cachedDayMs = ms;
  return ms;
}

/** The scanned line's time as written (UTC or local, as the file says), or undefined. */
export function timeOf(s: string, scan: LineScan): number | undefined {
  const at = scan.timeStart;
  if (at < 0) return undefined;
  const year = dec(s, at, 4);
  const month = dec(s, at + 5, 2);
  const day = dec(s, at + 8, 2);
  const hour = dec(s, at + 11, 2);
  const minute = dec(s, at + 14, 2);
  const second = dec(s, at + 17, 2);
  const milli = dec(s, at + 20, 3);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 || milli < 0) return undefined;
  const startMs = dayStartMs(year, month, day);
  if (startMs === undefined) return undefined;
  return startMs + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
}

function hexValue(s: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = s.charCodeAt(i);
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) break;
    v = v * 16 + d;
  }
  return v;
}

/** Components common enough to be worth not allocating a string for each line. */
const commonComponents = ['RCM', 'RES', 'RHS', 'NM', 'API', 'GUM', 'NODE', 'CS', 'QUORUM', 'CORE', 'NETFTAPI', 'IM'];

function componentOf(s: string, scan: LineScan): string {
  if (scan.componentStart < 0) return '';
  for (const c of commonComponents) if (componentIs(s, scan, c)) return c;
  return s.slice(scan.componentStart, scan.componentEnd);
}

/** The record of a scanned line; undefined when its time is not a real date. */
export function recordOf(s: string, scan: LineScan, offsetMs = 0): DiagRecord | undefined {
  const r: DiagRecord = {
    component: componentOf(s, scan),
    text: s.slice(scan.textStart, scan.end),
  };
  if (scan.timeStart >= 0) {
    const t = timeOf(s, scan);
    if (t === undefined) return undefined;
    r.timeMs = t + offsetMs;
    r.pid = hexValue(s, scan.pidStart);
    r.tid = hexValue(s, scan.tidStart);
  }
  if (scan.level !== undefined) r.level = scan.level;
  if (scan.channelStart >= 0) r.channel = s.slice(scan.channelStart, scan.channelEnd);
  return r;
}

const scratch = newLineScan();

/** One line as a record, or undefined if it is not a cluster log line. Never throws. */
export function parseClusterLine(line: string): DiagRecord | undefined {
  return scanLine(line, 0, line.length, scratch) ? recordOf(line, scratch) : undefined;
}
