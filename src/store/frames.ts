// The on-disk framing of the write-ahead log and the snapshot: an 8-byte file
// header (6-byte magic, 2-byte format version), then records, each
//   u32 BE payload length | u32 BE crc32(length bytes + payload) | payload (UTF-8 JSON).
// The checksum covers the length too, so a damaged length is caught like damaged data.

import { crc32 } from 'node:zlib';
import { WAL_RECORD_BYTES_MAX } from './limits.ts';

export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 8;
export const FRAME_OVERHEAD_BYTES = 8;
export const WAL_MAGIC = 'FOWAL1';
export const SNAPSHOT_MAGIC = 'FOSNP1';

export function fileHeader(magic: string): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  header.write(magic, 0, 'latin1');
  header.writeUInt16BE(FORMAT_VERSION, 6);
  return header;
}

/** Why a header is not ours, or undefined if it is. */
export function headerProblem(buf: Buffer, magic: string): string | undefined {
  if (buf.length < HEADER_BYTES) return `file is ${buf.length} bytes, shorter than its ${HEADER_BYTES}-byte header`;
  if (buf.toString('latin1', 0, 6) !== magic) return `not a failover ${magic === WAL_MAGIC ? 'log' : 'snapshot'} file (bad magic)`;
  const version = buf.readUInt16BE(6);
  if (version !== FORMAT_VERSION) return `unknown format version ${version} (this build reads version ${FORMAT_VERSION})`;
  return undefined;
}

export function encodeFrame(payload: unknown): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const frame = Buffer.allocUnsafe(FRAME_OVERHEAD_BYTES + body.length);
  frame.writeUInt32BE(body.length, 0);
  body.copy(frame, FRAME_OVERHEAD_BYTES);
  frame.writeUInt32BE(frameChecksum(frame, 0, body.length), 4);
  return frame;
}

function frameChecksum(buf: Buffer, start: number, length: number): number {
  const lengthBytes = buf.subarray(start, start + 4);
  return crc32(buf.subarray(start + FRAME_OVERHEAD_BYTES, start + FRAME_OVERHEAD_BYTES + length), crc32(lengthBytes));
}

export type FrameRead =
  | { readonly ok: true; readonly payload: unknown; readonly end: number }
  | { readonly ok: false; readonly why: string };

/** Reads the frame at offset; a frame that is short, fails its checksum or is not JSON is reported, not thrown. */
export function readFrame(buf: Buffer, offset: number): FrameRead {
  if (buf.length - offset < FRAME_OVERHEAD_BYTES) return { ok: false, why: `${buf.length - offset} bytes left, less than a record header` };
  const length = buf.readUInt32BE(offset);
  if (length === 0 || length > WAL_RECORD_BYTES_MAX) return { ok: false, why: `implausible record length ${length}` };
  const end = offset + FRAME_OVERHEAD_BYTES + length;
  if (end > buf.length) return { ok: false, why: `record of ${length} bytes runs past the end of the file` };
  if (buf.readUInt32BE(offset + 4) !== frameChecksum(buf, offset, length)) return { ok: false, why: 'checksum mismatch' };
  try {
    return { ok: true, payload: JSON.parse(buf.toString('utf8', offset + FRAME_OVERHEAD_BYTES, end)), end };
  } catch {
    return { ok: false, why: 'checksum matches but the payload is not JSON' };
  }
}

/**
 * Whether any intact frame starts after offset. A bad record with intact ones
 * after it is corruption in the middle of the log; with none after it, it is a
 * write torn by a crash, which was never acknowledged.
 */
export function intactFrameAfter(buf: Buffer, offset: number): number | undefined {
  for (let p = offset + 1; p + FRAME_OVERHEAD_BYTES < buf.length; p++) {
    const length = buf.readUInt32BE(p);
    if (length === 0 || length > WAL_RECORD_BYTES_MAX || p + FRAME_OVERHEAD_BYTES + length > buf.length) continue;
    if (readFrame(buf, p).ok) return p;
  }
  return undefined;
}
