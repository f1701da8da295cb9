// A store's data directory: LOCK, `snapshot` (the whole state at one record)
// and `wal` (the records since). Loading replays both; the journal appends with
// group commit (records that arrive during an fsync go out together in the
// next one) and swaps in a new snapshot when the log grows too long.

import { dirname, join, resolve } from 'node:path';
import { ClusterError } from '../model/errors.ts';
import type { Journal, JournalOwner, LoadedState } from './embedded.ts';
import { encodeFrame, fileHeader, HEADER_BYTES, headerProblem, intactFrameAfter, readFrame, SNAPSHOT_MAGIC, WAL_MAGIC } from './frames.ts';
import { KeySpace } from './keyspace.ts';
import { WAL_SNAPSHOT_THRESHOLD_BYTES_DEFAULT } from './limits.ts';
import type { DirLock } from './lock.ts';
import { nodeFiles, type StoreFileHandle, type StoreFiles } from './files.ts';
import { applyRecord, checkRecord, RecordShapeError, restoreSnapshot, type WalRecord } from './records.ts';
import type { WatchEvent } from './store.ts';

export const WAL_FILE = 'wal';
export const SNAPSHOT_FILE = 'snapshot';
const TEMP_SUFFIX = '.tmp';

export interface DataDirOptions {
  readonly fsync: boolean;
  /** The filesystem (default: the real one). */
  readonly files?: StoreFiles;
  readonly snapshotThresholdBytes?: number;
}

function corrupt(file: string, offset: number, why: string): ClusterError {
  return new ClusterError('ERROR_CLUSTERLOG_CORRUPT', `store file ${file} is corrupt at byte ${offset}: ${why}; refusing to open it (the file is left as it was)`);
}

/** Locks the directory, loads snapshot and log, and returns the state plus a way to keep appending. */
export async function loadDataDir(dir: string, options: DataDirOptions): Promise<LoadedState> {
  const files = options.files ?? nodeFiles;
  // A directory created here is made durable in its parent, like any file in it.
  if (await files.mkdir(dir)) await syncDir(files, dirname(resolve(dir)));
  const lock = await files.lock(dir);
  try {
    return await load(files, dir, lock, options);
  } catch (e) {
    await lock.release();
    throw e;
  }
}

async function load(files: StoreFiles, dir: string, lock: DirLock, options: DataDirOptions): Promise<LoadedState> {
  const walPath = join(dir, WAL_FILE);
  const snapshotPath = join(dir, SNAPSHOT_FILE);
  // Leftovers of a snapshot interrupted before its rename: never part of the state.
  for (const f of [walPath, snapshotPath]) await files.rm(f + TEMP_SUFFIX);

  const space = new KeySpace();
  let seq = 0;
  let snapshotSeq = 0;
  let historyBase = 0;
  if (files.exists(snapshotPath)) {
    const buf = await files.readFile(snapshotPath);
    const problem = headerProblem(buf, SNAPSHOT_MAGIC);
    if (problem) throw corrupt(snapshotPath, 0, problem);
    const frame = readFrame(buf, HEADER_BYTES);
    if (!frame.ok) throw corrupt(snapshotPath, HEADER_BYTES, frame.why);
    if (frame.end !== buf.length) throw corrupt(snapshotPath, frame.end, 'unexpected bytes after the snapshot');
    try {
      const snap = restoreSnapshot(space, frame.payload);
      seq = snapshotSeq = snap.seq;
      historyBase = snap.revision;
    } catch (e) {
      if (e instanceof RecordShapeError) throw corrupt(snapshotPath, HEADER_BYTES, e.message);
      throw e;
    }
  }

  const replayed: { revision: number; events: WatchEvent[] }[] = [];
  let walBytes = HEADER_BYTES;
  if (!files.exists(walPath)) {
    await writeFileAtomically(files, dir, WAL_FILE, fileHeader(WAL_MAGIC));
  } else {
    const buf = await files.readFile(walPath);
    const problem = headerProblem(buf, WAL_MAGIC);
    if (problem) throw corrupt(walPath, 0, problem);
    let offset = HEADER_BYTES;
    while (offset < buf.length) {
      const frame = readFrame(buf, offset);
      if (!frame.ok) {
        const next = intactFrameAfter(buf, offset);
        if (next !== undefined) throw corrupt(walPath, offset, `${frame.why}, with intact records after it (at byte ${next})`);
        // A torn last write: it was never acknowledged, so it is dropped.
        break;
      }
      const rec = frame.payload as WalRecord;
      // Records already in the snapshot (the log was not yet restarted when the process stopped).
      if (seq === snapshotSeq && typeof rec?.s === 'number' && rec.s <= snapshotSeq) {
        offset = walBytes = frame.end;
        continue;
      }
      try {
        const events = applyRecord(space, checkRecord(space, frame.payload, seq + 1));
        if (events.length > 0) replayed.push({ revision: space.revision, events });
      } catch (e) {
        if (e instanceof RecordShapeError) throw corrupt(walPath, offset, e.message);
        // A record that passed its checks but could not be applied (e.g. revokes a lease with keys left).
        throw corrupt(walPath, offset, (e as Error).message);
      }
      seq += 1;
      offset = walBytes = frame.end;
    }
    if (walBytes < buf.length) {
      const fh = await files.open(walPath, 'r+');
      try {
        await fh.truncate(walBytes);
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }

  return {
    space,
    seq,
    historyBase,
    replayed,
    openJournal: (owner) => new DiskJournal(files, dir, lock, owner, seq, walBytes, options),
  };
}

/** Writes a file whole or not at all: temp file, fsync, rename, fsync of the directory. */
async function writeFileAtomically(files: StoreFiles, dir: string, name: string, data: Buffer): Promise<void> {
  const path = join(dir, name);
  const temp = path + TEMP_SUFFIX;
  const fh = await files.open(temp, 'w');
  try {
    await fh.write(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await files.rename(temp, path);
  await syncDir(files, dir);
}

async function syncDir(files: StoreFiles, dir: string): Promise<void> {
  const fh = await files.open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

class DiskJournal implements Journal {
  durableSeq: number;
  private readonly queue: { seq: number; frame: Buffer }[] = [];
  private queuedBytes = 0;
  private log: Promise<StoreFileHandle>;
  /** The flush loop while it runs; close() waits for it. */
  private flushing: Promise<void> | undefined;
  private broken: Error | undefined;
  private readonly snapshotThresholdBytes: number;

  constructor(
    private readonly files: StoreFiles,
    private readonly dir: string,
    private readonly lock: DirLock,
    private readonly owner: JournalOwner,
    seq: number,
    private walBytes: number,
    private readonly options: DataDirOptions,
  ) {
    this.durableSeq = seq;
    this.snapshotThresholdBytes = options.snapshotThresholdBytes ?? WAL_SNAPSHOT_THRESHOLD_BYTES_DEFAULT;
    this.log = files.open(join(dir, WAL_FILE), 'a');
    this.log.catch(() => {}); // reported by the first flush that awaits it
  }

  append(record: WalRecord): void {
    if (this.broken) return;
    const frame = encodeFrame(record);
    this.queue.push({ seq: record.s, frame });
    this.queuedBytes += frame.length;
    this.flushing ??= this.flushLoop();
  }

  private async flushLoop(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        if (this.walBytes > this.snapshotThresholdBytes) await this.snapshot();
        else await this.writeBatch();
      }
    } catch (e) {
      this.broken = e as Error;
      this.queue.length = 0;
      this.owner.failed(e as Error);
    } finally {
      this.flushing = undefined;
    }
  }

  /** Everything queued goes out in one write and one fsync. */
  private async writeBatch(): Promise<void> {
    const batch = this.queue.splice(0);
    const bytes = Buffer.concat(
      batch.map((b) => b.frame),
      this.queuedBytes,
    );
    this.queuedBytes = 0;
    const fh = await this.log;
    await fh.write(bytes);
    if (this.options.fsync) await fh.datasync();
    this.walBytes += bytes.length;
    this.advance(batch[batch.length - 1]!.seq);
  }

  /**
   * Replaces the log with a snapshot of the current state. The state includes
   * every queued record, so they become durable with the snapshot. A crash
   * between the two renames leaves the new snapshot with the old log, whose
   * records the snapshot already covers; loading skips them.
   */
  private async snapshot(): Promise<void> {
    const state = this.owner.snapshot();
    const covered = this.queue.splice(0);
    this.queuedBytes = 0;
    const lastQueued = covered[covered.length - 1];
    if (lastQueued && lastQueued.seq !== state.seq) throw new Error(`assertion failed: snapshot at record ${state.seq} covers queued record ${lastQueued.seq}`);
    await writeFileAtomically(this.files, this.dir, SNAPSHOT_FILE, Buffer.concat([fileHeader(SNAPSHOT_MAGIC), encodeFrame(state)]));
    const old = await this.log;
    await writeFileAtomically(this.files, this.dir, WAL_FILE, fileHeader(WAL_MAGIC));
    await old.close();
    this.log = this.files.open(join(this.dir, WAL_FILE), 'a');
    await this.log;
    this.walBytes = HEADER_BYTES;
    this.advance(state.seq);
  }

  private advance(seq: number): void {
    if (seq <= this.durableSeq) return;
    this.durableSeq = seq;
    this.owner.durable(seq);
  }

  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    try {
      await (await this.log).close();
    } catch {
      // The log never opened; the failure was already reported.
    }
    await this.lock.release();
    if (this.broken) throw this.broken;
  }
}
