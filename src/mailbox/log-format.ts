// The mailbox database's transaction log: numbered generations (files named as
// Exchange names its logs, E00<generation in hex>.log), each a sequence of
// frames
//
//   u32 bodyLength | u32 crc32(body) | body
//   body = u32 headerLength | header (JSON, LogRecordHeader) | payload (the raw message)
//
// A frame is written whole or, after a crash, torn: a reader stops at the first
// frame whose length or checksum does not hold and treats what follows as never
// written (it was never acknowledged: acknowledgement waits for fsync).
import { crc32 } from 'node:zlib';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

export type LogOp = 'put' | 'delete';

export interface LogRecordHeader {
  /** Log sequence number: 1, 2, 3, ... without gaps across generations. */
  readonly lsn: number;
  /** Ownership epoch of the group when the record was written (fencing token). */
  readonly epoch: number;
  readonly op: LogOp;
  readonly mailbox: string;
  /** The message's id in the store. */
  readonly id: string;
  readonly messageId?: string;
  readonly receivedAt?: number;
  readonly from?: string;
  readonly subject?: string;
}

export interface LogRecord {
  readonly header: LogRecordHeader;
  readonly payload: Buffer;
}

/** Where a frame lies in the log. */
export interface FramePosition {
  readonly generation: number;
  readonly offset: number;
  readonly length: number;
}

export interface ScannedRecord {
  readonly header: LogRecordHeader;
  readonly position: FramePosition;
  /** Where the payload starts within the generation file, and its length. */
  readonly payloadOffset: number;
  readonly payloadLength: number;
}

export interface ScannedGeneration {
  readonly generation: number;
  /** Bytes holding whole, valid frames. */
  readonly validBytes: number;
  /** The file's size; more than validBytes after a torn write. */
  readonly fileBytes: number;
}

export interface LogScan {
  readonly generations: readonly ScannedGeneration[];
  readonly records: readonly ScannedRecord[];
  readonly lastLsn: number;
  readonly lastEpoch: number;
}

const FRAME_PREFIX_BYTES = 8;

export const LOG_DIR = 'log';

export function generationFileName(generation: number): string {
  return `E00${generation.toString(16).toUpperCase().padStart(8, '0')}.log`;
}

export function generationOfFile(name: string): number | undefined {
  const m = /^E00([0-9A-F]{8})\.log$/.exec(name);
  return m ? parseInt(m[1]!, 16) : undefined;
}

export function encodeFrame(record: LogRecord): Buffer {
  const header = Buffer.from(JSON.stringify(record.header), 'utf8');
  const body = Buffer.allocUnsafe(4 + header.length + record.payload.length);
  body.writeUInt32LE(header.length, 0);
  header.copy(body, 4);
  record.payload.copy(body, 4 + header.length);
  const prefix = Buffer.allocUnsafe(FRAME_PREFIX_BYTES);
  prefix.writeUInt32LE(body.length, 0);
  prefix.writeUInt32LE(crc32(body), 4);
  return Buffer.concat([prefix, body]);
}

/** Decodes every whole, valid frame of one generation file's bytes, in order. */
export function decodeFrames(generation: number, bytes: Buffer): { records: ScannedRecord[]; validBytes: number } {
  const records: ScannedRecord[] = [];
  let offset = 0;
  while (offset + FRAME_PREFIX_BYTES <= bytes.length) {
    const bodyLength = bytes.readUInt32LE(offset);
    const end = offset + FRAME_PREFIX_BYTES + bodyLength;
    if (bodyLength < 4 || end > bytes.length) break;
    const body = bytes.subarray(offset + FRAME_PREFIX_BYTES, end);
    if (crc32(body) !== bytes.readUInt32LE(offset + 4)) break;
    const headerLength = body.readUInt32LE(0);
    if (4 + headerLength > body.length) break;
    let header: LogRecordHeader;
    try {
      header = JSON.parse(body.subarray(4, 4 + headerLength).toString('utf8')) as LogRecordHeader;
    } catch {
      break;
    }
    if (typeof header.lsn !== 'number' || (header.op !== 'put' && header.op !== 'delete')) break;
    const payloadOffset = offset + FRAME_PREFIX_BYTES + 4 + headerLength;
    records.push({ header, position: { generation, offset, length: end - offset }, payloadOffset, payloadLength: end - payloadOffset });
    offset = end;
  }
  return { records, validBytes: offset };
}

/** The generations present in a copy's log directory, ascending. */
export async function listGenerations(copyDir: string): Promise<number[]> {
  let names: string[];
  try {
    names = await readdir(join(copyDir, LOG_DIR));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return names.flatMap((n) => {
    const g = generationOfFile(n);
    return g === undefined ? [] : [g];
  }).sort((a, b) => a - b);
}

export function generationPath(copyDir: string, generation: number): string {
  return join(copyDir, LOG_DIR, generationFileName(generation));
}

/**
 * Reads a copy's whole log. Records after a torn frame are not returned, nor
 * anything in later generations (the log is one sequence; a hole ends it).
 */
export async function scanLog(copyDir: string, fromGeneration = 1): Promise<LogScan> {
  const generations: ScannedGeneration[] = [];
  const records: ScannedRecord[] = [];
  let lastLsn = 0;
  let lastEpoch = 0;
  for (const generation of await listGenerations(copyDir)) {
    if (generation < fromGeneration) continue;
    const bytes = await readFile(generationPath(copyDir, generation));
    const decoded = decodeFrames(generation, bytes);
    generations.push({ generation, validBytes: decoded.validBytes, fileBytes: bytes.length });
    for (const r of decoded.records) records.push(r);
    const last = decoded.records.at(-1);
    if (last) {
      lastLsn = last.header.lsn;
      lastEpoch = last.header.epoch;
    }
    if (decoded.validBytes < bytes.length) break;
  }
  return { generations, records, lastLsn, lastEpoch };
}
