// One opener per data directory: a LOCK file holding the owner's pid. A lock
// left by a process that no longer exists (killed, crashed) is taken over.
//
// Limitation: two processes taking over the same stale lock at the same instant
// could both succeed; Node has no flock. Starting two stores on one directory
// at once after a crash is an operator error this does not fully guard against.

import { promises as fsp } from 'node:fs';
import { join, resolve } from 'node:path';
import { ClusterError } from '../model/errors.ts';

export const LOCK_FILE = 'LOCK';

/** Directories this process has open, so a second open in the same process is refused too. */
const openHere = new Set<string>();

export interface DirLock {
  release(): Promise<void>;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function lockDataDir(dir: string): Promise<DirLock> {
  const key = resolve(dir);
  const path = join(dir, LOCK_FILE);
  if (openHere.has(key)) throw new ClusterError('ERROR_SHARING_VIOLATION', `store data directory ${dir} is already open in this process (pid ${process.pid})`);
  const mine = `${process.pid}\n`;
  // Claimed before the first await, so two opens racing in this process cannot both win.
  openHere.add(key);
  try {
    await takeLockFile(dir, path, mine);
  } catch (e) {
    openHere.delete(key);
    throw e;
  }
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      const holder = await fsp.readFile(path, 'utf8').catch(() => '');
      if (holder === mine) await fsp.unlink(path).catch(() => {});
      // Only now may this process open the directory again.
      openHere.delete(key);
    },
  };
}

async function takeLockFile(dir: string, path: string, mine: string): Promise<void> {
  try {
    await fsp.writeFile(path, mine, { flag: 'wx' });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    const holder = Number.parseInt((await fsp.readFile(path, 'utf8').catch(() => '')).trim(), 10);
    if (Number.isSafeInteger(holder) && holder > 0 && holder !== process.pid && processExists(holder)) {
      throw new ClusterError('ERROR_SHARING_VIOLATION', `store data directory ${dir} is locked by running process ${holder} (${path})`);
    }
    // Stale: its owner is gone (or it was this pid in an earlier life). Replace it atomically.
    const temp = `${path}.${process.pid}.tmp`;
    await fsp.writeFile(temp, mine);
    await fsp.rename(temp, path);
  }
}
