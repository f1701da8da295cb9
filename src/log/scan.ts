// The one reader of a cluster log line's prefix, in every form WSFC has
// written it (2008 to 2022) and in failover's own (docs/diagnostics.md lists
// the forms):
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
// It reads character codes from a Uint8Array, one byte per character: the
// diagnostics hand it a chunk of an ASCII file as read from disk, without
// decoding it, and decode only the lines they keep; a string is read through
// `CodeUnits`. It fills a reusable `LineScan` with positions and allocates
// nothing. format.ts's `parseLine` (failover's own format, exactly) and the
// diagnostics' tolerant reader (src/diagnostics/line.ts) both use it; each
// judges the positions by its own rules.

import type { LogLevel } from '../model/messages.ts';

/** Positions of one line's fields; -1 where a field is absent. */
export interface LineScan {
  channelStart: number;
  channelEnd: number;
  pidStart: number;
  tidStart: number;
  /** Start of `YYYY/MM/DD-HH:MM:SS.mmm`, or -1 for the placeholder. */
  timeStart: number;
  level: LogLevel | undefined;
  /** Position of the level word; -1 without a level. */
  levelStart: number;
  componentStart: number;
  componentEnd: number;
  textStart: number;
  /** End of the line without its trailing blanks. */
  end: number;
}

export function newLineScan(): LineScan {
  return {
    channelStart: -1,
    channelEnd: -1,
    pidStart: -1,
    tidStart: -1,
    timeStart: -1,
    level: undefined,
    levelStart: -1,
    componentStart: -1,
    componentEnd: -1,
    textStart: -1,
    end: 0,
  };
}

const CH_DOT = 46;
const CH_COLON = 58;
const CH_SLASH = 47;
const CH_DASH = 45;
const CH_OPEN = 91;
const CH_CLOSE = 93;
const CH_0 = 48;
const CH_X = 120;
/** Longest component read between brackets. */
export const componentCharsMax = 64;
const channelCharsMax = 40;
export const placeholderPrefix = 'xxxxxxxx.xxxxxxxx::yyyy/mm/dd-hh:mm:ss.mmm';
/** Length of `YYYY/MM/DD-HH:MM:SS.mmm`. */
const timeChars = 23;

/** Space, tab, no-break space (KB pages), carriage return. */
export function isBlank(c: number): boolean {
  return c === 32 || c === 9 || c === 160 || c === 13;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** True when b[at, at + s.length) holds the characters of the ASCII string s. */
export function bytesAre(b: Uint8Array, at: number, end: number, s: string): boolean {
  if (at + s.length > end) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** End of a run of 1..8 hex digits at `at`, or -1. */
function hexRun(b: Uint8Array, at: number, end: number): number {
  let i = at;
  while (i < end && i - at < 8 && isHex(b[i]!)) i++;
  return i === at ? -1 : i;
}

/** 1 for the codes of hex digits: the fast path checks 16 of them on every line. */
const hexCodes = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') hexCodes[c.charCodeAt(0)] = 1;

function hex8(b: Uint8Array, at: number): boolean {
  const h = hexCodes;
  return (h[b[at]!]! & h[b[at + 1]!]! & h[b[at + 2]!]! & h[b[at + 3]!]! & h[b[at + 4]!]! & h[b[at + 5]!]! & h[b[at + 6]!]! & h[b[at + 7]!]!) === 1;
}

function timeShapeAt(b: Uint8Array, at: number): boolean {
  return (
    b[at + 4] === CH_SLASH &&
    b[at + 7] === CH_SLASH &&
    b[at + 10] === CH_DASH &&
    b[at + 13] === CH_COLON &&
    b[at + 16] === CH_COLON &&
    b[at + 19] === CH_DOT &&
    isDigit(b[at]!) &&
    isDigit(b[at + 22]!)
  );
}

function levelAt(b: Uint8Array, at: number, end: number): LogLevel | undefined {
  if (at + 3 > end) return undefined;
  let level: LogLevel | undefined;
  switch (b[at]) {
    case 73 /* I */:
      if (bytesAre(b, at, end, 'INFO')) level = 'INFO';
      break;
    case 87 /* W */:
      if (bytesAre(b, at, end, 'WARN')) level = 'WARN';
      break;
    case 69 /* E */:
      if (bytesAre(b, at, end, 'ERR')) level = 'ERR';
      break;
    case 68 /* D */:
      if (bytesAre(b, at, end, 'DBG')) level = 'DBG';
      break;
  }
  if (level === undefined) return undefined;
  // A level is a whole word: "ERROR_..." or "Information" is text, not a level.
  const after = at + level.length;
  return after >= end || isBlank(b[after]!) || b[after] === CH_OPEN ? level : undefined;
}

/**
 * Scans the line b[start, end) (without its line break). Returns false when
 * it is not a cluster log line. Checks the shape only; the time's values are
 * read by `timeOf`.
 */
export function scanLine(b: Uint8Array, start: number, end: number, out: LineScan): boolean {
  while (end > start && isBlank(b[end - 1]!)) end--;
  out.end = end;
  let i = start;
  out.channelStart = -1;
  out.channelEnd = -1;
  if (i < end && b[i] === CH_OPEN) {
    // [Verbose] / [Operational] / [System] before the prefix (2016+).
    const limit = Math.min(end, i + 1 + channelCharsMax);
    let close = i + 1;
    while (close < limit && b[close] !== CH_CLOSE) close++;
    if (close >= limit || close + 1 >= end) return false;
    out.channelStart = i + 1;
    out.channelEnd = close;
    i = close + 1;
    while (i < end && isBlank(b[i]!)) i++;
  }
  if (end - i < 22) return false;
  if (b[i] === CH_X && bytesAre(b, i, end, placeholderPrefix)) {
    out.pidStart = -1;
    out.tidStart = -1;
    out.timeStart = -1;
    i += placeholderPrefix.length;
  } else {
    const pidEnd = hexRun(b, i, end);
    if (pidEnd < 0 || b[pidEnd] !== CH_DOT) return false;
    const tidEnd = hexRun(b, pidEnd + 1, end);
    if (tidEnd < 0 || tidEnd + 2 > end || b[tidEnd] !== CH_COLON || b[tidEnd + 1] !== CH_COLON) return false;
    const t = tidEnd + 2;
    if (t + timeChars > end || !timeShapeAt(b, t)) return false;
    out.pidStart = i;
    out.tidStart = pidEnd + 1;
    out.timeStart = t;
    i = t + timeChars;
  }
  if (i < end && !isBlank(b[i]!)) return false;
  while (i < end && isBlank(b[i]!)) i++;
  out.level = levelAt(b, i, end);
  out.levelStart = -1;
  if (out.level !== undefined) {
    out.levelStart = i;
    i += out.level.length;
    while (i < end && isBlank(b[i]!)) i++;
  }
  out.componentStart = -1;
  out.componentEnd = -1;
  if (i < end && b[i] === CH_OPEN) {
    let j = i + 1;
    const limit = Math.min(end, j + componentCharsMax);
    while (j < limit) {
      const c = b[j]!;
      if (c === CH_CLOSE || c === CH_OPEN) break;
      j++;
    }
    if (j < end && b[j] === CH_CLOSE && j > i + 1) {
      out.componentStart = i + 1;
      out.componentEnd = j;
      i = j + 1;
      if (i < end && isBlank(b[i]!)) i++;
    }
  }
  out.textStart = i;
  return true;
}

/**
 * The fast path for the form most lines of a 2008 R2+ log have:
 * `PPPPPPPP.TTTTTTTT::YYYY/MM/DD-HH:MM:SS.mmm LEVEL [COMPONENT] text` with
 * 8-digit ids and the level padded to 5. Checks the ids and the fixed
 * separators (the time's digits are checked when it is read) and fills `out`; false sends the
 * line to `scanLine`, which reads every line this one reads the same way.
 */
export function scanCanonical(b: Uint8Array, p: number, end: number, out: LineScan): boolean {
  if (
    end - p < 52 ||
    b[p + 8] !== CH_DOT ||
    b[p + 17] !== CH_COLON ||
    b[p + 18] !== CH_COLON ||
    b[p + 23] !== CH_SLASH ||
    b[p + 26] !== CH_SLASH ||
    b[p + 29] !== CH_DASH ||
    b[p + 32] !== CH_COLON ||
    b[p + 38] !== CH_DOT ||
    b[p + 42] !== 32 ||
    b[p + 48] !== 32 ||
    b[p + 49] !== CH_OPEN ||
    !isDigit(b[p + 19]!) || // the KB placeholder has the same separators
    !hex8(b, p) ||
    !hex8(b, p + 9)
  )
    return false;
  let level: LogLevel;
  switch (b[p + 43]) {
    case 73 /* I */:
      if (b[p + 44] !== 78 /* N */ || b[p + 45] !== 70 /* F */ || b[p + 46] !== 79 /* O */ || b[p + 47] !== 32) return false;
      level = 'INFO';
      break;
    case 87 /* W */:
      if (b[p + 44] !== 65 /* A */ || b[p + 45] !== 82 /* R */ || b[p + 46] !== 78 /* N */ || b[p + 47] !== 32) return false;
      level = 'WARN';
      break;
    case 69 /* E */:
      if (b[p + 44] !== 82 /* R */ || b[p + 45] !== 82 /* R */ || b[p + 46] !== 32 || b[p + 47] !== 32) return false;
      level = 'ERR';
      break;
    case 68 /* D */:
      if (b[p + 44] !== 66 /* B */ || b[p + 45] !== 71 /* G */ || b[p + 46] !== 32 || b[p + 47] !== 32) return false;
      level = 'DBG';
      break;
    default:
      return false;
  }
  // The component: up to the first ']', as scanLine reads it (an empty one, or a '[' in it, is left to scanLine).
  const last = Math.min(end - 1, p + 50 + componentCharsMax);
  let close = p + 50;
  for (; close <= last; close++) {
    const c = b[close];
    if (c === CH_CLOSE) break;
    if (c === CH_OPEN) return false;
  }
  if (close > last || close === p + 50) return false;
  while (end > close && isBlank(b[end - 1]!)) end--;
  out.end = end;
  out.channelStart = -1;
  out.channelEnd = -1;
  out.pidStart = p;
  out.tidStart = p + 9;
  out.timeStart = p + 19;
  out.level = level;
  out.levelStart = p + 43;
  out.componentStart = p + 50;
  out.componentEnd = close;
  out.textStart = close + 1 < end && isBlank(b[close + 1]!) ? close + 2 : close + 1;
  return true;
}

/** The fast path, then the general scan. */
export function scanAny(b: Uint8Array, start: number, end: number, out: LineScan): boolean {
  return scanCanonical(b, start, end, out) || scanLine(b, start, end, out);
}

/** True when the scanned component is exactly `name`. */
export function componentIs(b: Uint8Array, scan: LineScan, name: string): boolean {
  return scan.componentEnd - scan.componentStart === name.length && bytesAre(b, scan.componentStart, scan.componentEnd, name);
}

/** `width` decimal digits at `at`, or -1. */
function dec(b: Uint8Array, at: number, width: number): number {
  let v = 0;
  for (let i = at; i < at + width; i++) {
    const d = b[i]! - CH_0;
    if (!(d >= 0 && d <= 9)) return -1;
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
  if (month < 1 || month > 12 || day < 1 || day > 31) return undefined;
  const ms = Date.UTC(year, month - 1, day);
  const d = new Date(ms);
  if (d.getUTCDate() !== day || d.getUTCMonth() !== month - 1) return undefined; // 2013/02/30
  cachedDayKey = key;
  cachedDayMs = ms;
  return ms;
}

/**
 * The scanned line's time as written (UTC or local, as the file says), or
 * undefined for the placeholder or a time that is not real (month 13, 24:00,
 * 2021/02/29). A second of 60 (a leap second) is read.
 */
export function timeOf(b: Uint8Array, scan: LineScan): number | undefined {
  const at = scan.timeStart;
  if (at < 0) return undefined;
  const year = dec(b, at, 4);
  const month = dec(b, at + 5, 2);
  const day = dec(b, at + 8, 2);
  const hour = dec(b, at + 11, 2);
  const minute = dec(b, at + 14, 2);
  const second = dec(b, at + 17, 2);
  const milli = dec(b, at + 20, 3);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60 || milli < 0) return undefined;
  const startMs = dayStartMs(year, month, day);
  if (startMs === undefined) return undefined;
  return startMs + ((hour * 60 + minute) * 60 + second) * 1000 + milli;
}

/** The value of the 1..8 hex digits at `at` (a scanned pid or tid). */
export function hexValue(b: Uint8Array, at: number): number {
  let v = 0;
  for (let i = at; i < at + 8; i++) {
    const c = b[i]!;
    const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1;
    if (d < 0) break;
    v = v * 16 + d;
  }
  return v;
}

/** A character beyond Latin-1. */
const reBeyondLatin1 = /[^\u0000-\u00ff]/g;

/**
 * The character codes of strings, one byte per UTF-16 code unit, so that a
 * string is scanned at the same positions as its characters: codes[0,
 * s.length). Codes above 255 are read as 0, which is no part of any prefix.
 * One buffer is reused (grown as needed): a result is valid until the next
 * call. Buffer's own Latin-1 encoder does the copying, a fraction of what a
 * loop over the characters costs.
 */
export class CodeUnits {
  private buffer = Buffer.allocUnsafe(256);

  of(s: string): Buffer {
    if (this.buffer.length < s.length) this.buffer = Buffer.allocUnsafe(Math.max(s.length, this.buffer.length * 2));
    const b = this.buffer;
    b.write(s, 0, s.length, 'latin1');
    reBeyondLatin1.lastIndex = 0;
    if (reBeyondLatin1.test(s)) {
      // The encoder keeps only the low byte of such a character ('\u4e5b' would read as '[').
      reBeyondLatin1.lastIndex = 0;
      for (let m = reBeyondLatin1.exec(s); m !== null; m = reBeyondLatin1.exec(s)) b[m.index] = 0;
    }
    return b;
  }
}
