// What the embedded store's data directory needs from a filesystem, so it can
// run on the real one (nodeFiles) or on a simulated disk that loses what was
// not synced at a power cut (src/sim/disk.ts), which is how the durability
// test and the simulator's store crashes see a missing fsync.
import { existsSync, promises as fsp } from 'node:fs';
import { lockDataDir, type DirLock } from './lock.ts';

export interface StoreFileHandle {
  write(data: Buffer): Promise<unknown>;
  /** Makes the file's data durable. */
  datasync(): Promise<void>;
  /** Makes the file's data and metadata durable (for a directory: its entries). */
  sync(): Promise<void>;
  truncate(length: number): Promise<void>;
  close(): Promise<void>;
}

export interface StoreFiles {
  exists(path: string): boolean;
  /** Creates the directory and its parents; true if it did not exist. */
  mkdir(path: string): Promise<boolean>;
  readFile(path: string): Promise<Buffer>;
  /** Removes a file if it exists. */
  rm(path: string): Promise<void>;
  /** r: read (a directory, to sync it); r+: update; w: create or truncate; a: append. */
  open(path: string, flags: 'r' | 'r+' | 'w' | 'a'): Promise<StoreFileHandle>;
  rename(from: string, to: string): Promise<void>;
  /** One opener per data directory. */
  lock(dir: string): Promise<DirLock>;
}

export const nodeFiles: StoreFiles = {
  exists: (path) => existsSync(path),
  mkdir: async (path) => (await fsp.mkdir(path, { recursive: true })) !== undefined,
  readFile: (path) => fsp.readFile(path),
  rm: (path) => fsp.rm(path, { force: true }),
  open: (path, flags) => fsp.open(path, flags),
  rename: (from, to) => fsp.rename(from, to),
  lock: (dir) => lockDataDir(dir),
};
