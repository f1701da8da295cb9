// Streams cluster log files (one per node) in bounded memory and merges them
// by time. A file may be plain, gzip-compressed, or a .zip bundle of several
// nodes' logs (each entry is one node's file); its text may be UTF-8 or
// UTF-16 LE/BE, with or without a byte order mark.
//
// Each file is read in chunks and split into lines. UTF-8 lines are scanned
// as bytes where they lie, without decoding them (src/log/scan.ts); UTF-16
// text is decoded first. Only the lines the pre-filter keeps - the ones that
// can carry an event - become strings and records, so the many polling and
// GUM lines of a real log cost a scan and nothing more. Lines that are not
// log lines are counted: section text and the object tables of 2016+ files
// (sections.ts) apart, they are "unparsed", and a file that is mostly
// unparsed is reported as unreadable rather than healthy.
//
// Merging: a line without a time (the KB placeholder prefix) sorts at the time
// of the last timed line before it in its file, so it keeps its place in that
// file's order; equal times keep the order of the files as given.

import { isAscii } from 'node:buffer';
import { open, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { TextDecoder } from 'node:util';
import { createGunzip } from 'node:zlib';
import { ClusterError } from '../model/errors.ts';
import { bytesAre, CodeUnits, componentIs, isBlank, newLineScan, scanAny, timeOf, type LineScan } from '../log/scan.ts';
import { recordOf, type DiagRecord } from './line.ts';
import { SectionTable, sectionKind, sectionLimits, sectionName, type ClusterObject } from './sections.ts';

/** Limits of the reader, with their units. */
export const readerLimits = {
  /** Bytes read from a file at a time (two such buffers: one read ahead): 1 MiB reads cost a fraction of 64 KiB ones (measured 46 vs 156 ms per 200 MB). */
  chunkBytes: 1024 * 1024,
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
  readonly record: DiagRecord;
  readonly node: string;
  readonly file: string;
  /** 1-based line number in its file. */
  readonly lineNo: number;
  /**
   * The line as read (without its line terminator). A string
   * of its own, not a slice of a chunk: rules and timelines keep it as it is.
   */
  readonly raw: string;
}

export interface FileStats {
  file: string;
  node: string;
  encoding: LogEncoding;
  /** How the file was packed, when it was. */
  packing?: 'gzip' | 'zip';
  /** Bytes of text read (after decompression). */
  bytes: number;
  lines: number;
  /** Cluster log lines. */
  parsed: number;
  /** Lines that are neither log lines, blank, nor section text. */
  unparsed: number;
  blank: number;
  /** Section headers, their text and their object tables (2016+). */
  sectionLines: number;
  /** Parsed lines without a time (the KB placeholder prefix). */
  timeless: number;
  firstTimeMs?: number;
  lastTimeMs?: number;
  /** Minutes added to the file's times to make them UTC, when its header says they are local times. */
  localTimeOffsetMinutes?: number;
  unparsedSamples: { lineNo: number; text: string }[];
}

/** An object from a 2016+ section table, with the node whose log listed it. */
export interface ListedObject extends ClusterObject {
  listedBy: string;
}

export interface ReadOptions {
  /** Called for each object of a section table, as it is read. */
  onObject?: (o: ListedObject) => void;
}

/**
 * The pre-filter: can this line carry an event? Errors, warnings, lines
 * without a level (2008) and lines of event channels always can; of the
 * informational lines only those whose component and first letters events.ts
 * reads ([RCM] transitions, API calls and moves, `Node ...` of [NM]/[NODE]/
 * [CORE], `Starting ...` of [CS], `Online` of [API]). Polling and replication
 * chatter ([RES], [RHS], [GUM], [DM] at INFO/DBG) is dropped unread.
 */
export function eventLine(b: Uint8Array, scan: LineScan): boolean {
  const level = scan.level;
  if (level === undefined || level === 'ERR' || level === 'WARN') return true;
  if (scan.componentStart < 0) return true;
  if (scan.channelStart >= 0 && !bytesAre(b, scan.channelStart, scan.channelEnd, 'Verbose')) return true;
  const t = scan.textStart;
  const end = scan.end;
  switch (b[scan.componentStart]) {
    case 82 /* R */:
      return t < end && componentIs(b, scan, 'RCM') && rcmEventStart(b[t]!);
    case 78 /* N */:
      return (componentIs(b, scan, 'NM') || componentIs(b, scan, 'NODE')) && bytesAre(b, t, end, 'Node ');
    case 67 /* C */:
      return (componentIs(b, scan, 'CS') && bytesAre(b, t, end, 'Starting ')) || (componentIs(b, scan, 'CORE') && bytesAre(b, t, end, 'Node '));
    case 65 /* A */:
      return componentIs(b, scan, 'API') && bytesAre(b, t, end, 'Online');
    default:
      return false;
  }
}

/** First letters of the informational [RCM] texts events read (events.ts): TransitionToState, rcm::, move of group, Res/Resource, ... */
function rcmEventStart(c: number): boolean {
  switch (c) {
    case 84 /* T */:
    case 114 /* r */:
    case 109 /* m */:
    case 82 /* R */:
    case 78 /* N */:
    case 72 /* H */:
    case 87 /* W */:
    case 71 /* G */:
    case 79 /* O */:
      return true;
    default:
      return false;
  }
}

/**
 * Node name from a log file's name: `<Node>_cluster.log` (Get-ClusterLog and
 * `failover log collect`), `<Node>/cluster.log[.N]` (a node's log directory),
 * else the file name without its .log/.txt/.gz extension.
 */
export function nodeNameFromPath(path: string): string {
  const name = basename(path).replace(/\.gz$/i, '');
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
  if (head.length >= 4 && head[0] !== 0 && head[1] === 0 && head[2] !== 0 && head[3] === 0) return { encoding: 'utf-16le', bomBytes: 0 };
  if (head.length >= 4 && head[0] === 0 && head[1] !== 0 && head[2] === 0 && head[3] !== 0) return { encoding: 'utf-16be', bomBytes: 0 };
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

/** The first byte in b[from, to) beyond ASCII, or `to`. */
function firstHighByte(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i < to; i++) if (b[i]! >= 0x80) return i;
  return to;
}

/** The header of a 2016+ file says whether its times are UTC or local, and the offset. */
const reOffset = /time zone offset of this machine is (-?\d+) minutes/i;
const reLocalTime = /logs were generated using local time/i;

/** One input: a plain or gzip file, or one entry of a .zip bundle, read as chunks of bytes. */
export class LogFileReader {
  readonly stats: FileStats;
  private readonly chunks: AsyncIterator<Buffer>;
  private encodingKnown = false;
  /** UTF-16 only: a streaming decoder (UTF-8 is read a chunk of whole lines at a time). */
  private decoder: TextDecoder | undefined;
  /** UTF-8: the bytes of the last, unfinished line of the previous chunk. */
  private carryBytes: Buffer | undefined;
  private swapBytes = false;
  private odd: Buffer | undefined;
  /** UTF-16: the text of the last, unfinished line of the previous chunk. */
  private carry = '';
  /** Character codes of decoded text (UTF-16, or UTF-8 that is not ASCII), for the scanner. */
  private readonly units = new CodeUnits();
  private lineNo = 0;
  private done = false;
  private readonly scan = newLineScan();
  private readonly onObject: ((o: ListedObject) => void) | undefined;
  private section: string | undefined;
  private logSection = true;
  private table: SectionTable | undefined;
  private objects = 0;
  private offsetMinutes = 0;
  private localTime = false;

  constructor(
    source: AsyncIterable<Buffer>,
    private readonly closeSource: () => Promise<void>,
    file: string,
    node: string,
    options: ReadOptions,
    packing?: 'gzip' | 'zip',
  ) {
    this.chunks = source[Symbol.asyncIterator]();
    this.onObject = options.onObject;
    this.stats = { file, node, encoding: 'utf-8', bytes: 0, lines: 0, parsed: 0, unparsed: 0, blank: 0, sectionLines: 0, timeless: 0, unparsedSamples: [] };
    if (packing !== undefined) this.stats.packing = packing;
  }

  /** Kept lines of the next chunk (possibly none), or undefined at the end of the file. */
  async nextBatch(): Promise<LogLine[] | undefined> {
    if (this.done) return undefined;
    let next: IteratorResult<Buffer>;
    try {
      next = await this.chunks.next();
    } catch (e) {
      await this.close();
      throw fileError(e, this.stats.file);
    }
    const out: LogLine[] = [];
    if (next.done) {
      this.done = true;
      await this.close();
      if (this.decoder) this.textLines(this.decoder.decode(), true, out);
      else if (this.carryBytes) this.byteLines(this.carryBytes, 0, this.carryBytes.length, true, out);
      this.carryBytes = undefined;
      this.table?.end();
    } else {
      this.stats.bytes += next.value.length;
      this.chunk(next.value, out);
    }
    return out;
  }

  async close(): Promise<void> {
    this.done = true;
    await this.closeSource().catch(() => undefined);
  }

  private chunk(bytes: Buffer, out: LogLine[]): void {
    if (!this.encodingKnown) {
      this.encodingKnown = true;
      const { encoding, bomBytes } = detectEncoding(bytes);
      this.stats.encoding = encoding;
      bytes = bytes.subarray(bomBytes);
      if (encoding !== 'utf-8') {
        // Node's TextDecoder has no streaming UTF-16 BE; swap to LE ourselves.
        this.swapBytes = encoding === 'utf-16be';
        this.decoder = new TextDecoder('utf-16le', { ignoreBOM: true });
      }
    }
    if (this.decoder === undefined) {
      this.utf8Chunk(bytes, out);
      return;
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
    this.textLines(this.decoder.decode(bytes, { stream: true }), false, out);
  }

  /**
   * The whole lines of a UTF-8 chunk; the unfinished last line waits for the
   * next chunk. Only that line's bytes are copied: the previous chunk's
   * unfinished line and this chunk's first line are read together, the rest
   * of the chunk where it lies.
   */
  private utf8Chunk(bytes: Buffer, out: LogLine[]): void {
    let start = 0;
    if (this.carryBytes !== undefined) {
      const first = bytes.indexOf(10);
      if (first < 0) {
        this.carryBytes = Buffer.concat([this.carryBytes, bytes]);
        this.dropOverlongLine();
        return;
      }
      const head = Buffer.concat([this.carryBytes, bytes.subarray(0, first + 1)]);
      this.carryBytes = undefined;
      this.byteLines(head, 0, head.length, false, out);
      start = first + 1;
    }
    const nl = bytes.lastIndexOf(10);
    if (nl + 1 < bytes.length) {
      this.carryBytes = Buffer.from(bytes.subarray(nl + 1));
      this.dropOverlongLine();
    }
    if (nl >= start) this.byteLines(bytes, start, nl + 1, false, out);
  }

  private dropOverlongLine(): void {
    if (this.carryBytes === undefined || this.carryBytes.length <= readerLimits.lineCharsMax) return;
    this.stats.lines++;
    this.unparsed(this.carryBytes.subarray(0, readerLimits.unparsedSampleCharsMax).toString('utf8'), ++this.lineNo);
    this.carryBytes = undefined;
  }

  /**
   * UTF-8 lines in bytes[start, end), scanned where they lie. A kept line is
   * decoded on its own: as Latin-1 when it is ASCII (most of a real log), else
   * as UTF-8. Only a line whose prefix is not ASCII (no-break spaces copied
   * from a web page, a component named in another script) is decoded before
   * it is scanned. (Decoding whole chunks that were not ASCII cost several
   * times the rest of the reading.)
   */
  private byteLines(bytes: Buffer, start: number, end: number, last: boolean, out: LogLine[]): void {
    this.lines(bytes, start, end, undefined, last, out, !isAscii(bytes.subarray(start, end)));
  }

  /** Decoded text (UTF-16): its whole lines; the unfinished last one waits for the next chunk. */
  private textLines(chunk: string, last: boolean, out: LogLine[]): void {
    let text = this.carry === '' ? chunk : this.carry + chunk;
    this.carry = '';
    if (!last) {
      const nl = text.lastIndexOf('\n');
      this.carry = text.slice(nl + 1);
      text = text.slice(0, nl + 1);
      if (this.carry.length > readerLimits.lineCharsMax) {
        this.stats.lines++;
        this.unparsed(this.carry, ++this.lineNo);
        this.carry = '';
      }
    }
    if (text !== '') this.lines(this.units.of(text), 0, text.length, text, last, out);
  }

  /**
   * Reads the lines of b[start, end): UTF-8 bytes (`text` undefined; `mixed`
   * when some are not ASCII), or the character codes of `text`, one byte each,
   * which the lines' strings are then sliced from. Each kept line is a string
   * of its own, so a line kept for a report keeps no chunk alive. Without
   * `last`, the range ends with a line break.
   */
  private lines(b: Buffer, start: number, end: number, text: string | undefined, last: boolean, out: LogLine[], mixed = false): void {
    const scan = this.scan;
    const stats = this.stats;
    let pos = start;
    let lastLogLine = -1;
    let lastLogEnd = 0;
    while (pos < end) {
      let nl = b.indexOf(10, pos);
      if (nl < 0 || nl >= end) {
        if (!last) break;
        nl = end;
      }
      const lineNo = ++this.lineNo;
      stats.lines++;
      // The line's first byte beyond ASCII, or its end.
      const high = mixed ? firstHighByte(b, pos, nl) : nl;
      if (scanAny(b, pos, nl, scan) && (high === nl || (high >= scan.textStart && scan.componentStart >= 0))) {
        this.logLine(b, pos, nl, text, start, high, lineNo, out);
        lastLogLine = pos;
        lastLogEnd = nl;
      } else if (high < nl) {
        // Not ASCII before its text: decoded first, and read from its characters.
        const line = b.toString('utf8', pos, nl);
        const codes = this.units.of(line);
        if (scanAny(codes, 0, line.length, scan)) {
          this.logLine(codes, 0, line.length, line, 0, line.length, lineNo, out);
          const t = timeOf(codes, scan);
          if (t !== undefined) {
            stats.lastTimeMs = t + this.offsetMs();
            lastLogLine = -1;
          }
        } else {
          this.otherLine(line.replace(/\r$/, ''), lineNo);
        }
      } else {
        const line = text === undefined ? b.toString('latin1', pos, nl) : copyString(text.slice(pos - start, nl - start));
        this.otherLine(line.replace(/\r$/, ''), lineNo);
      }
      pos = nl + 1;
    }
    if (lastLogLine >= 0 && scanAny(b, lastLogLine, lastLogEnd, scan) && scan.timeStart >= 0) {
      const t = timeOf(b, scan);
      if (t !== undefined) stats.lastTimeMs = t + this.offsetMs();
    }
  }

  /**
   * A log line, just scanned: counted, and made a record when the pre-filter
   * keeps it. `high` is its first byte beyond ASCII (after the prefix), or its
   * end; `text` with `textStart` as in `lines`.
   */
  private logLine(b: Buffer, pos: number, nl: number, text: string | undefined, textStart: number, high: number, lineNo: number, out: LogLine[]): void {
    const scan = this.scan;
    const stats = this.stats;
    stats.parsed++;
    if (stats.firstTimeMs === undefined && scan.timeStart >= 0) {
      const t = timeOf(b, scan);
      if (t !== undefined) stats.firstTimeMs = t + this.offsetMs();
    }
    if (scan.timeStart < 0) stats.timeless++;
    if (!eventLine(b, scan)) return;
    let raw: string;
    if (text !== undefined) {
      raw = copyString(text.slice(pos - textStart, scan.end - textStart));
    } else if (high === nl) {
      raw = b.toString('latin1', pos, scan.end);
    } else {
      // UTF-8 text after an ASCII prefix: its end is found among the characters (the scan's is a byte position).
      const line = b.toString('utf8', pos, nl);
      const textFrom = scan.textStart - pos;
      let e = line.length;
      while (e > textFrom && isBlank(line.charCodeAt(e - 1))) e--;
      raw = line.slice(0, e);
      scan.end = pos + e;
    }
    const record = recordOf(b, scan, raw, pos, this.offsetMs());
    if (record) out.push({ record, node: stats.node, file: stats.file, lineNo, raw });
  }

  private offsetMs(): number {
    return this.localTime ? this.offsetMinutes * 60_000 : 0;
  }

  /** A line that is not a log line: blank, a section header or its text, a table row, or unparsed. */
  private otherLine(line: string, lineNo: number): void {
    const stats = this.stats;
    if (line.trim() === '') {
      stats.blank++;
      this.table?.feed('');
      return;
    }
    const name = sectionName(line);
    if (name !== undefined) {
      stats.sectionLines++;
      this.table?.end();
      this.table = undefined;
      this.section = name;
      // Log sections hold log lines (anything else in them is unparsed); the others hold text and tables.
      this.logSection = /logs?\b/i.test(name) || name.includes('/');
      const kind = sectionKind(name);
      if (kind !== undefined && this.onObject) {
        const listedBy = stats.node;
        const onObject = this.onObject;
        this.table = new SectionTable(kind, (o) => {
          if (++this.objects <= sectionLimits.objectsPerFileMax) onObject({ ...o, listedBy });
        });
      }
      return;
    }
    if (this.section !== undefined && !this.logSection) {
      stats.sectionLines++;
      if (this.table) this.table.feed(line);
      else if (stats.parsed === 0) this.header(line);
      return;
    }
    this.unparsed(line, lineNo);
  }

  private header(line: string): void {
    const off = reOffset.exec(line);
    if (off) this.offsetMinutes = Number.parseInt(off[1]!, 10);
    if (reLocalTime.test(line)) this.localTime = true;
    if (this.localTime) this.stats.localTimeOffsetMinutes = this.offsetMinutes;
  }

  private unparsed(line: string, lineNo: number): void {
    const stats = this.stats;
    stats.unparsed++;
    if (stats.unparsedSamples.length < readerLimits.unparsedSamplesMax) {
      stats.unparsedSamples.push({ lineNo, text: copyString(line.slice(0, readerLimits.unparsedSampleCharsMax)) });
    }
  }
}

/**
 * A copy of a string that does not keep the chunk it was sliced from alive.
 * Use it for anything kept after its chunk has been processed.
 */
export function copyString(s: string): string {
  // Concatenating makes a rope; slicing it flattens the rope into a new string
  // and takes a view of that copy, not of the chunk.
  return (' ' + s).slice(1);
}

export interface MergedRead {
  /** Batches of lines in merged time order. */
  batches: AsyncGenerator<LogLine[]>;
  /** Per-file statistics (a .zip gives one per entry), complete once the batches are exhausted. */
  files: FileStats[];
}

const gzipMagic = [0x1f, 0x8b];
const zipMagic = [0x50, 0x4b, 0x03, 0x04];

function startsWith(head: Buffer, magic: readonly number[]): boolean {
  return head.length >= magic.length && magic.every((b, i) => head[i] === b);
}

async function openHandle(path: string): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
    if ((await handle.stat()).isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    return handle;
  } catch (e) {
    await handle?.close().catch(() => undefined);
    throw fileError(e, path);
  }
}

/** Readers for one input: one for a plain or gzip file, one per log entry of a .zip. */
async function openInput(input: LogInput, options: ReadOptions): Promise<LogFileReader[]> {
  const handle = await openHandle(input.path);
  const head = Buffer.alloc(4);
  const { bytesRead } = await handle.read(head, 0, 4, 0).catch(async (e: unknown) => {
    await handle.close();
    throw fileError(e, input.path);
  });
  const magic = head.subarray(0, bytesRead);
  const node = input.node ?? nodeNameFromPath(input.path);
  if (startsWith(magic, zipMagic)) {
    await handle.close();
    return openZip(input, options);
  }
  if (startsWith(magic, gzipMagic)) {
    const stream = handle.createReadStream({ highWaterMark: readerLimits.chunkBytes, start: 0 });
    const gunzip = createGunzip({ chunkSize: readerLimits.chunkBytes });
    stream.on('error', (e) => gunzip.destroy(e));
    const close = async (): Promise<void> => {
      gunzip.destroy();
      stream.destroy();
      await handle.close().catch(() => undefined);
    };
    return [new LogFileReader(stream.pipe(gunzip), close, input.path, node, options, 'gzip')];
  }
  return [new LogFileReader(fileChunks(handle), () => handle.close(), input.path, node, options)];
}

/**
 * A plain file's bytes, a chunk at a time. Two buffers are reused in turn:
 * while one chunk is scanned, the next is read into the other (each chunk is
 * scanned before the one after next is read).
 */
async function* fileChunks(handle: FileHandle): AsyncGenerator<Buffer> {
  const buffers = [Buffer.allocUnsafe(readerLimits.chunkBytes), Buffer.allocUnsafe(readerLimits.chunkBytes)] as const;
  let turn = 0;
  let position = 0;
  const readInto = (buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }> => {
    const read = handle.read(buffer, 0, buffer.length, position);
    // Read ahead of the consumer, who may stop early; its error is seen when awaited.
    read.catch(() => undefined);
    return read;
  };
  let next = readInto(buffers[0]);
  for (;;) {
    const { bytesRead, buffer } = await next;
    if (bytesRead === 0) return;
    position += bytesRead;
    turn ^= 1;
    next = readInto(buffers[turn]!);
    yield buffer.subarray(0, bytesRead);
  }
}

/** Every file entry of a .zip bundle, each read as its own node's log (gzip entries are decompressed). */
async function openZip(input: LogInput, options: ReadOptions): Promise<LogFileReader[]> {
  const yauzl = await import('yauzl');
  const zip = await new Promise<import('yauzl').ZipFile>((resolve, reject) =>
    yauzl.open(input.path, { lazyEntries: true, autoClose: false }, (err, z) => (err || !z ? reject(fileError(err ?? new Error('not a zip file'), input.path)) : resolve(z))),
  );
  const entries: import('yauzl').Entry[] = [];
  await new Promise<void>((resolve, reject) => {
    zip.on('entry', (e: import('yauzl').Entry) => {
      if (!e.fileName.endsWith('/')) entries.push(e);
      zip.readEntry();
    });
    zip.on('end', resolve);
    zip.on('error', (e: Error) => reject(fileError(e, input.path)));
    zip.readEntry();
  });
  if (entries.length === 0) {
    zip.close();
    throw new ClusterError('ERROR_INVALID_DATA', `${input.path} is a zip file without any file in it`);
  }
  let open = entries.length;
  const closeOne = async (): Promise<void> => {
    if (--open === 0) zip.close();
  };
  const readers: LogFileReader[] = [];
  for (const entry of entries) {
    const stream = await new Promise<Readable>((resolve, reject) =>
      zip.openReadStream(entry, (err, s) => (err || !s ? reject(fileError(err ?? new Error('unreadable entry'), `${input.path}:${entry.fileName}`)) : resolve(s))),
    );
    const gz = /\.gz$/i.test(entry.fileName);
    const source: Readable = gz ? stream.pipe(createGunzip({ chunkSize: readerLimits.chunkBytes })) : stream;
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      source.destroy();
      stream.destroy();
      await closeOne();
    };
    const node = entries.length === 1 && input.node !== undefined ? input.node : nodeNameFromPath(entry.fileName);
    readers.push(new LogFileReader(source, close, `${input.path}:${entry.fileName}`, node, options, 'zip'));
  }
  return readers;
}

/** Opens every input (all errors surface before any line is read) and merges them by time. */
export async function readLogs(inputs: readonly LogInput[], options: ReadOptions = {}): Promise<MergedRead> {
  const readers: LogFileReader[] = [];
  try {
    for (const input of inputs) readers.push(...(await openInput(input, options)));
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
  const cursors: Cursor[] = readers.map((reader) => ({ reader, batch: [], pos: 0, clockMs: -Infinity, finished: false }));
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
