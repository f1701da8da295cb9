// Streams cluster log files (one per node) in bounded memory and merges them
// by time. Each file is read in fixed-size chunks, decoded (UTF-8, or UTF-16
// as Windows writes it, recognised by its byte order mark), split into lines
// and parsed. Lines that do not parse (continuations of multi-line messages,
// KB prose, garbage) are counted, not fatal.
//
// Merging: a line without a time (the KB placeholder prefix) sorts at the time
// of the last timed line before it in its file, so it keeps its place in that
// file's order; equal times keep the order of the files as given.

import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { TextDecoder } from 'node:util';
import { ClusterError } from '../model/errors.ts';
import { parseLine, type LogRecord } from '../log/format.ts';

/** Limits of the reader, with their units. */
export const readerLimits = {
  /** Bytes read from a file at a time. Small chunks keep parsed lines short-lived (young-generation garbage): 64 KiB measured ~100 MB peak RSS on a 1 GB log, 1 MiB over 200 MB. */
  chunkBytes: 64 * 1024,
  /** A "line" longer than this (a file without line breaks) is counted unparsed and dropped. */
  lineCharsMax: 1024 * 1024,
  /** Unparsed lines kept per file as examples for the report. */
  unparsedSamplesMax: 5,
  /** Characters of an unparsed line kept as its example. */
  unparsedSampleCharsMax: 200,
  /** Lines handed to the consumer at a time when merging several files. */
  mergeBatchLines: 4096,
} as const;

export interface LogInput {
  path: string;
  /** Node the file belongs to; by default taken from the file name (see nodeNameFromPath). */
  node?: string;
}

export type LogEncoding = 'utf-8' | 'utf-16le' | 'utf-16be';

export interface LogLine {
  readonly record: LogRecord;
  readonly node: string;
  readonly file: string;
  /** 1-based line number in its file. */
  readonly lineNo: number;
  /** The line as read (without line terminator). */
  readonly raw: string;
}

export interface FileStats {
  file: string;
  node: string;
  encoding: LogEncoding;
  bytes: number;
  lines: number;
  parsed: number;
  unparsed: number;
  blank: number;
  /** Parsed lines without a time (the KB placeholder prefix). */
  timeless: number;
  firstTimeMs?: number;
  lastTimeMs?: number;
  unparsedSamples: { lineNo: number; text: string }[];
}

/**
 * Node name from a log file's name: `<Node>_cluster.log` (Get-ClusterLog and
 * `failover log collect`), `<Node>/cluster.log[.N]` (a node's log directory),
 * else the file name without its .log/.txt extension.
 */
export function nodeNameFromPath(path: string): string {
  const name = basename(path);
  const collected = /^(.+)_cluster\.log(?:\.\d+)?$/i.exec(name);
  if (collected) return collected[1]!;
  if (/^cluster\.log(?:\.\d+)?$/i.test(name)) {
    const parent = basename(dirname(path));
    if (parent && parent !== '.' && parent !== '/') return parent;
  }
  return name.replace(/\.(log|txt)(\.\d+)?$/i, '') || name;
}

function detectEncoding(head: Buffer): { encoding: LogEncoding; bomBytes: number } {
  if (head.length >= 3 && head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf) return { encoding: 'utf-8', bomBytes: 3 };
  if (head.length >= 2 && head[0] === 0xff && head[1] === 0xfe) return { encoding: 'utf-16le', bomBytes: 2 };
  if (head.length >= 2 && head[0] === 0xfe && head[1] === 0xff) return { encoding: 'utf-16be', bomBytes: 2 };
  // UTF-16 without a mark: log text is ASCII, so every other byte is zero.
  if (head.length >= 8 && head[0] !== 0 && head[1] === 0 && head[2] !== 0 && head[3] === 0) return { encoding: 'utf-16le', bomBytes: 0 };
  if (head.length >= 8 && head[0] === 0 && head[1] !== 0 && head[2] === 0 && head[3] !== 0) return { encoding: 'utf-16be', bomBytes: 0 };
  return { encoding: 'utf-8', bomBytes: 0 };
}

function fileError(e: unknown, path: string): ClusterError {
  const code = (e as NodeJS.ErrnoException).code;
  const detail = `cannot read cluster log ${path}: ${(e as Error).message}`;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ClusterError('ERROR_FILE_NOT_FOUND', detail);
  if (code === 'EACCES' || code === 'EPERM') return new ClusterError('ERROR_ACCESS_DENIED', detail);
  if (code === 'EISDIR') return new ClusterError('ERROR_INVALID_PARAMETER', `${path} is a directory, not a cluster log`);
  return new ClusterError('ERROR_INVALID_DATA', detail);
}

/** One file, read a chunk at a time; `nextBatch()` returns the parsed lines of the next chunk. */
export class LogFileReader {
  readonly stats: FileStats;
  private readonly handle: FileHandle;
  private readonly buffer: Buffer;
  private decoder: TextDecoder | undefined;
  private swapBytes = false;
  private odd: Buffer | undefined;
  private carry = '';
  private lineNo = 0;
  private position = 0;
  private done = false;

  private constructor(handle: FileHandle, readonly path: string, node: string) {
    this.handle = handle;
    this.buffer = Buffer.allocUnsafe(readerLimits.chunkBytes);
    this.stats = { file: path, node, encoding: 'utf-8', bytes: 0, lines: 0, parsed: 0, unparsed: 0, blank: 0, timeless: 0, unparsedSamples: [] };
  }

  /** Opens a log file; a missing or unreadable file is a ClusterError naming it. */
  static async open(input: LogInput): Promise<LogFileReader> {
    let handle: FileHandle;
    try {
      handle = await open(input.path, 'r');
      const st = await handle.stat();
      if (st.isDirectory()) {
        await handle.close();
        throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
      }
    } catch (e) {
      throw fileError(e, input.path);
    }
    return new LogFileReader(handle, input.path, input.node ?? nodeNameFromPath(input.path));
  }

  /** Parsed lines of the next chunk (possibly none), or undefined at the end of the file. */
  async nextBatch(): Promise<LogLine[] | undefined> {
    if (this.done) return undefined;
    let n: number;
    try {
      n = (await this.handle.read(this.buffer, 0, this.buffer.length, this.position)).bytesRead;
    } catch (e) {
      await this.close();
      throw fileError(e, this.path);
    }
    this.position += n;
    this.stats.bytes += n;
    let text: string;
    if (n === 0) {
      text = this.decoder ? this.decoder.decode() : '';
      this.done = true;
      await this.close();
    } else {
      text = this.decode(this.buffer.subarray(0, n));
    }
    const out: LogLine[] = [];
    this.splitLines(text, this.done, out);
    return out;
  }

  async close(): Promise<void> {
    this.done = true;
    await this.handle.close().catch(() => undefined);
  }

  private decode(bytes: Buffer): string {
    if (!this.decoder) {
      const { encoding, bomBytes } = detectEncoding(bytes);
      this.stats.encoding = encoding;
      // Node's TextDecoder has no streaming UTF-16 BE; swap to LE ourselves.
      this.swapBytes = encoding === 'utf-16be';
      this.decoder = new TextDecoder(encoding === 'utf-8' ? 'utf-8' : 'utf-16le', { ignoreBOM: true });
      bytes = bytes.subarray(bomBytes);
    }
    if (this.swapBytes) {
      if (this.odd) {
        bytes = Buffer.concat([this.odd, bytes]);
        this.odd = undefined;
      }
      if (bytes.length % 2 === 1) {
        this.odd = Buffer.from(bytes.subarray(bytes.length - 1));
        bytes = bytes.subarray(0, bytes.length - 1);
      }
      bytes = Buffer.from(bytes).swap16();
    }
    return this.decoder.decode(bytes, { stream: true });
  }

  private splitLines(chunk: string, last: boolean, out: LogLine[]): void {
    const text = this.carry === '' ? chunk : this.carry + chunk;
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) break;
      this.handleLine(text.slice(pos, nl), out);
      pos = nl + 1;
    }
    this.carry = text.slice(pos);
    if (this.carry.length > readerLimits.lineCharsMax) {
      this.handleLine(this.carry.slice(0, readerLimits.unparsedSampleCharsMax), out, true);
      this.carry = '';
    }
    if (last && this.carry !== '') {
      this.handleLine(this.carry, out);
      this.carry = '';
    }
  }

  private handleLine(line: string, out: LogLine[], forceUnparsed = false): void {
    const raw = line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
    const lineNo = ++this.lineNo;
    const stats = this.stats;
    stats.lines++;
    const record = forceUnparsed ? undefined : parseLine(raw);
    if (record) {
      stats.parsed++;
      const t = record.timeMs;
      if (t === undefined) stats.timeless++;
      else {
        if (stats.firstTimeMs === undefined) stats.firstTimeMs = t;
        stats.lastTimeMs = t;
      }
      out.push({ record, node: stats.node, file: stats.file, lineNo, raw });
      return;
    }
    if (raw.trim() === '') {
      stats.blank++;
      return;
    }
    stats.unparsed++;
    if (stats.unparsedSamples.length < readerLimits.unparsedSamplesMax) {
      stats.unparsedSamples.push({ lineNo, text: copyString(raw.slice(0, readerLimits.unparsedSampleCharsMax)) });
    }
  }
}

/**
 * A copy of a string that does not keep the chunk it was sliced from alive.
 * Use it for anything kept after its chunk has been processed.
 */
export function copyString(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}

export interface MergedRead {
  /** Batches of lines in merged time order. */
  batches: AsyncGenerator<LogLine[]>;
  /** Per-file statistics, complete once the batches are exhausted. */
  files: FileStats[];
}

/** Opens every input (all errors surface before any line is read) and merges them by time. */
export async function readLogs(inputs: readonly LogInput[]): Promise<MergedRead> {
  const readers: LogFileReader[] = [];
  try {
    for (const input of inputs) readers.push(await LogFileReader.open(input));
  } catch (e) {
    await Promise.all(readers.map((r) => r.close()));
    throw e;
  }
  return { batches: readers.length === 1 ? single(readers[0]!) : merge(readers), files: readers.map((r) => r.stats) };
}

async function* single(reader: LogFileReader): AsyncGenerator<LogLine[]> {
  try {
    for (;;) {
      const batch = await reader.nextBatch();
      if (batch === undefined) return;
      if (batch.length > 0) yield batch;
    }
  } finally {
    await reader.close();
  }
}

interface Cursor {
  reader: LogFileReader;
  index: number;
  batch: LogLine[];
  pos: number;
  /** Sort time of the file's current position: the last time seen in it. */
  clockMs: number;
  finished: boolean;
}

async function refill(c: Cursor): Promise<void> {
  while (!c.finished && c.pos >= c.batch.length) {
    const next = await c.reader.nextBatch();
    if (next === undefined) c.finished = true;
    else {
      c.batch = next;
      c.pos = 0;
    }
  }
}

async function* merge(readers: readonly LogFileReader[]): AsyncGenerator<LogLine[]> {
  const cursors: Cursor[] = readers.map((reader, index) => ({ reader, index, batch: [], pos: 0, clockMs: -Infinity, finished: false }));
  try {
    for (const c of cursors) await refill(c);
    let out: LogLine[] = [];
    for (;;) {
      let best: Cursor | undefined;
      let bestKey = Infinity;
      for (const c of cursors) {
        if (c.pos >= c.batch.length) continue;
        const t = c.batch[c.pos]!.record.timeMs;
        const key = t ?? c.clockMs;
        // Strictly smaller: on equal keys the earlier file wins, so ties keep the given order.
        if (best === undefined || key < bestKey) {
          best = c;
          bestKey = key;
        }
      }
      if (best === undefined) break;
      const line = best.batch[best.pos++]!;
      if (line.record.timeMs !== undefined) best.clockMs = line.record.timeMs;
      out.push(line);
      if (out.length >= readerLimits.mergeBatchLines) {
        yield out;
        out = [];
      }
      if (best.pos >= best.batch.length) await refill(best);
    }
    if (out.length > 0) yield out;
  } finally {
    await Promise.all(readers.map((r) => r.close()));
  }
}
