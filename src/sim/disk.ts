// A simulated disk for the embedded store's data directory: files live in
// memory with a page cache. Written data is durable only once its file is
// synced; a new, renamed or removed name only once its directory is synced. A
// power cut loses everything else (of each file's unsynced tail, the cut may
// keep a prefix, as a partial writeback would), and the handles opened before
// it fail from then on, as the process that held them is gone. Syncs may be
// made slow on a clock (a slow disk).
import { dirname } from 'node:path';
import type { Clock } from '../model/clock.ts';
import type { DirLock } from '../store/lock.ts';
import type { StoreFileHandle, StoreFiles } from '../store/files.ts';

/**
 * A file. Its bytes are kept as the pieces written, so an append costs the
 * bytes appended, not the file's size (the simulator appends to its log for
 * minutes of virtual time). What a power cut leaves is the first syncedLength
 * bytes, or syncedCopy if the file was cut shorter than that since its last sync.
 */
class Inode {
  private chunks: Buffer[] = [];
  length = 0;
  syncedLength = 0;
  syncedCopy: Buffer | undefined;

  contents(): Buffer {
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.length)];
    return this.chunks[0]!;
  }

  append(data: Buffer): void {
    this.chunks.push(Buffer.from(data));
    this.length += data.length;
  }

  truncate(length: number): void {
    if (length >= this.length) return;
    if (length < this.syncedLength && !this.syncedCopy) this.syncedCopy = Buffer.from(this.contents().subarray(0, this.syncedLength));
    this.chunks = [Buffer.from(this.contents().subarray(0, length))];
    this.length = length;
  }

  sync(): void {
    this.syncedLength = this.length;
    this.syncedCopy = undefined;
  }

  /** Back to what was synced, plus the first bytes of the unsynced tail that keep(unsynced) allows. */
  powerCut(keep: (unsynced: number) => number): void {
    if (this.syncedCopy) {
      // Cut or rewritten since its last sync: the old synced bytes are what the disk holds.
      this.chunks = [this.syncedCopy];
      this.length = this.syncedCopy.length;
    } else if (this.length > this.syncedLength) {
      this.truncate(this.syncedLength + Math.min(this.length - this.syncedLength, Math.max(0, keep(this.length - this.syncedLength))));
    }
    this.sync();
  }
}

function enoent(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT' });
}

export class SimulatedDisk implements StoreFiles {
  private names = new Map<string, Inode>();
  private durableNames = new Map<string, Inode>();
  private readonly dirs = new Set<string>(['/']);
  private life = 0;
  private syncDelayMs = 0;
  /** Syncs done (every datasync, file sync and directory sync). */
  syncs = 0;

  constructor(private readonly clock?: Clock) {}

  /** Makes every sync take this long on the clock (0: at once). */
  setSyncDelayMs(ms: number): void {
    this.syncDelayMs = Math.max(0, ms);
  }

  /**
   * The power fails: names and data return to what was synced; keepUnsyncedBytes
   * (given a file's unsynced byte count) says how much of its unsynced tail was
   * written back anyway (default none).
   */
  powerCut(keepUnsyncedBytes: (unsynced: number) => number = () => 0): void {
    this.life++;
    this.names = new Map(this.durableNames);
    for (const inode of new Set(this.names.values())) inode.powerCut(keepUnsyncedBytes);
  }

  exists(path: string): boolean {
    return this.names.has(path) || this.dirs.has(path);
  }

  async mkdir(path: string): Promise<boolean> {
    if (this.dirs.has(path)) return false;
    for (let p = path; !this.dirs.has(p); p = dirname(p)) this.dirs.add(p);
    return true;
  }

  async readFile(path: string): Promise<Buffer> {
    const inode = this.names.get(path);
    if (!inode) throw enoent(path);
    return Buffer.from(inode.contents());
  }

  async rm(path: string): Promise<void> {
    this.names.delete(path);
  }

  async rename(from: string, to: string): Promise<void> {
    const inode = this.names.get(from);
    if (!inode) throw enoent(from);
    this.names.set(to, inode);
    this.names.delete(from);
  }

  async lock(): Promise<DirLock> {
    // One simulated machine, one opener; a power cut ends the old opener's life.
    return { release: async () => undefined };
  }

  async open(path: string, flags: 'r' | 'r+' | 'w' | 'a'): Promise<StoreFileHandle> {
    const life = this.life;
    const alive = (): void => {
      if (this.life !== life) throw new Error(`simulated disk: power was lost since ${path} was opened`);
    };
    if (flags === 'r' && this.dirs.has(path)) {
      // A directory: syncing it makes its entries durable.
      return this.handle(alive, {
        sync: () => {
          for (const p of [...this.durableNames.keys()]) if (dirname(p) === path && !this.names.has(p)) this.durableNames.delete(p);
          for (const [p, inode] of this.names) if (dirname(p) === path) this.durableNames.set(p, inode);
        },
      });
    }
    let inode = this.names.get(path);
    if (!inode) {
      if (flags === 'r' || flags === 'r+') throw enoent(path);
      if (!this.dirs.has(dirname(path))) throw enoent(path);
      inode = new Inode();
      this.names.set(path, inode);
    } else if (flags === 'w') {
      inode.truncate(0);
    }
    const file = inode;
    return this.handle(alive, {
      write: (data) => file.append(data),
      sync: () => file.sync(),
      truncate: (length) => file.truncate(length),
    });
  }

  private handle(alive: () => void, ops: { write?: (data: Buffer) => void; sync: () => void; truncate?: (length: number) => void }): StoreFileHandle {
    const sync = async (): Promise<void> => {
      alive();
      if (this.syncDelayMs > 0 && this.clock) await new Promise<void>((resolve) => this.clock!.setTimer(this.syncDelayMs, resolve));
      alive();
      this.syncs++;
      ops.sync();
    };
    return {
      write: async (data) => {
        alive();
        ops.write?.(data);
      },
      datasync: sync,
      sync,
      truncate: async (length) => {
        alive();
        ops.truncate?.(length);
      },
      close: async () => undefined,
    };
  }
}
