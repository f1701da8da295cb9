// A fencing-token guard for shared storage: a log file on storage every node
// can reach, written by whichever node owns the group, each write carrying the
// group's ownership epoch (ctx.epoch; FAILOVER_EPOCH in a Generic
// Application's environment) as its token.
//
// The rule: a write is accepted only if its token is at least every token
// written before it. Once a newer owner has written, an old owner's writes are
// refused, for good — even if the old owner still runs because it was frozen
// and has not noticed it lost the group.
//
// How, without a lock that a killed writer could leave behind: every write is
// one O_APPEND write() of one line (the kernel orders concurrent appends; no
// two interleave), and the log's order decides. A writer appends, reads the
// log back up to its own line and learns whether it was accepted; every
// reader applies the same rule, so a refused line is never part of the log's
// content even though its bytes are in the file. This is the storage-side
// check of SCSI persistent reservations, done by the log's own format.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { ClusterError } from '../model/errors.ts';

/** One line must reach the file in one write() for appends to stay whole. */
export const FENCED_RECORD_BYTES_MAX = 4_096;
/** The log is read back in chunks of this size. */
const READ_CHUNK_BYTES = 64 * 1024;

export interface FencedRecord {
  readonly token: number;
  /** Who wrote it (a node name). */
  readonly writer: string;
  /** Unique per write, so a writer finds its own line again. */
  readonly id: string;
  readonly data: unknown;
}

export interface FencedEntry {
  readonly record: FencedRecord;
  /** Whether the rule accepted it (its token was at least every earlier one). */
  readonly accepted: boolean;
}

function parseRecord(line: string): FencedRecord | undefined {
  try {
    const v = JSON.parse(line) as Partial<FencedRecord> | null;
    if (v && typeof v.token === 'number' && Number.isSafeInteger(v.token) && typeof v.writer === 'string' && typeof v.id === 'string') {
      return { token: v.token, writer: v.writer, id: v.id, data: v.data };
    }
  } catch {
    // a foreign or damaged line: not a record
  }
  return undefined;
}

export class FencedLog {
  /** Bytes of the file already read, and the highest token in them. */
  private scannedBytes = 0;
  private highestToken = 0;
  private partial = '';
  private readonly decoder = new StringDecoder('utf8');
  private writeCount = 0;
  private readonly writerId = randomBytes(4).toString('hex');

  constructor(readonly path: string) {}

  /** The highest token written so far (0 for an empty log). */
  highest(): number {
    this.scan(() => undefined);
    return this.highestToken;
  }

  /**
   * Appends data under token. Returns the record if accepted; throws
   * (ERROR_HOST_NODE_NOT_GROUP_OWNER, naming both tokens) if a newer token was
   * written first.
   */
  append(token: number, writer: string, data: unknown): FencedRecord {
    if (!Number.isSafeInteger(token) || token < 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `fenced log ${this.path}: token ${String(token)} must be a whole number >= 0`);
    // Refuse early when the log already shows a newer owner: no need to write a line that cannot count.
    const known = this.highest();
    if (token < known) throw this.stale(token, known, writer);
    const record: FencedRecord = { token, writer, id: `${writer}.${process.pid}.${this.writerId}.${++this.writeCount}`, data };
    const line = `${JSON.stringify(record)}\n`;
    const bytes = Buffer.byteLength(line);
    if (bytes > FENCED_RECORD_BYTES_MAX) {
      throw new ClusterError('ERROR_INSUFFICIENT_BUFFER', `fenced log ${this.path}: a record of ${bytes} bytes exceeds ${FENCED_RECORD_BYTES_MAX} bytes`);
    }
    const fd = openSync(this.path, 'a');
    try {
      writeSync(fd, line);
    } finally {
      closeSync(fd);
    }
    // Read on up to our own line: the highest token before it decides.
    let before: number | undefined;
    this.scan((r, highestBefore) => {
      if (r.id === record.id) before = highestBefore;
    });
    if (before === undefined) throw new ClusterError('ERROR_INVALID_DATA', `fenced log ${this.path}: the record just appended (${record.id}) is not in the file`);
    if (token < before) throw this.stale(token, before, writer);
    return record;
  }

  /** Every record in the file, in order, with the rule's verdict. */
  entries(): FencedEntry[] {
    const out: FencedEntry[] = [];
    let highest = 0;
    for (const line of readLines(this.path)) {
      const r = parseRecord(line);
      if (!r) continue;
      out.push({ record: r, accepted: r.token >= highest });
      highest = Math.max(highest, r.token);
    }
    return out;
  }

  /** The log's content: the accepted records, in order. */
  accepted(): FencedRecord[] {
    return this.entries()
      .filter((e) => e.accepted)
      .map((e) => e.record);
  }

  private stale(token: number, newer: number, writer: string): ClusterError {
    return new ClusterError(
      'ERROR_HOST_NODE_NOT_GROUP_OWNER',
      `fenced log ${this.path}: write by ${writer} with token ${token} refused; token ${newer} has been written (a newer owner holds the group)`,
    );
  }

  /** Reads what was appended since the last scan, calling back for each record with the highest token before it. */
  private scan(onRecord: (r: FencedRecord, highestBefore: number) => void): void {
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw e;
    }
    try {
      const size = fstatSync(fd).size;
      const buf = Buffer.alloc(READ_CHUNK_BYTES);
      while (this.scannedBytes < size) {
        const n = readSync(fd, buf, 0, buf.length, this.scannedBytes);
        if (n <= 0) break;
        this.scannedBytes += n;
        const lines = (this.partial + this.decoder.write(buf.subarray(0, n))).split('\n');
        this.partial = lines.pop() ?? '';
        for (const line of lines) {
          const r = parseRecord(line);
          if (!r) continue;
          onRecord(r, this.highestToken);
          this.highestToken = Math.max(this.highestToken, r.token);
        }
      }
    } finally {
      closeSync(fd);
    }
  }
}

function readLines(path: string): string[] {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.alloc(READ_CHUNK_BYTES);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n <= 0) break;
      chunks.push(Buffer.from(buf.subarray(0, n)));
      pos += n;
    }
    return Buffer.concat(chunks).toString('utf8').split('\n');
  } finally {
    closeSync(fd);
  }
}
