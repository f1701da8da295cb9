// A directory on shared storage owned by one group on one node at a time, with
// the group's ownership epoch as fencing token — what SCSI-3 persistent
// reservations give a WSFC Physical Disk. Every writer goes through it:
//
// - acquire writes an ownership record (.fence.json). A different group is
//   refused while the record is held (ERROR_SHARING_VIOLATION); within the same
//   group a higher token takes over from a lower one (the group failed over:
//   the old owner is stale), an equal token from another node is refused (a
//   second owner), a lower token is refused as stale (ERROR_WRITE_PROTECT).
// - every write first re-reads the record and is rejected with
//   ERROR_WRITE_PROTECT unless the record still names this owner and token.
//
// The check and the write are two steps, so a write already past its check
// when another owner takes over still lands; in the cluster a takeover only
// happens after the old owner's lease expired and it stopped its resources
// (self-fencing), which closes that gap in practice. A disk that enforces
// reservations itself has no such gap.
import { mkdir, open, readFile, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { ClusterError } from '../model/errors.ts';

export const FENCE_FILE = '.fence.json';

export interface FenceClaim {
  /** The group that owns the directory. */
  readonly group: string;
  readonly node: string;
  /** The group's ownership epoch. */
  readonly token: number;
}

export interface FenceRecord extends FenceClaim {
  readonly released: boolean;
  readonly at: number;
}

export async function readFence(root: string): Promise<FenceRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(root, FENCE_FILE), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    const r = JSON.parse(text) as FenceRecord;
    return typeof r.group === 'string' && typeof r.node === 'string' && typeof r.token === 'number' ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Why a claim may not take the directory, or undefined if it may. */
export function claimConflict(root: string, current: FenceRecord | undefined, claim: FenceClaim): ClusterError | undefined {
  if (!current || current.released) return undefined;
  const where = JSON.stringify(root);
  if (current.group !== claim.group) {
    return new ClusterError('ERROR_SHARING_VIOLATION', `${where} is owned by group ${current.group} on node ${current.node}; group ${claim.group} cannot take it`);
  }
  if (claim.token < current.token) {
    return new ClusterError('ERROR_WRITE_PROTECT', `${where}: fencing token ${claim.token} of node ${claim.node} is stale; node ${current.node} holds token ${current.token}`);
  }
  if (claim.token === current.token && claim.node !== current.node) {
    return new ClusterError('ERROR_SHARING_VIOLATION', `${where} is owned by node ${current.node} with token ${current.token}; node ${claim.node} cannot own it too`);
  }
  return undefined;
}

/** Writes a file so that readers see the old or the new content, never a mix, and it survives a crash. */
export async function writeFileDurably(path: string, data: string | Buffer): Promise<void> {
  const tmp = `${path}.tmp`;
  const fh = await open(tmp, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  await syncDirectory(dirname(path));
}

export async function syncDirectory(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export class FencedDirectory {
  private closed = false;

  private constructor(
    readonly root: string,
    readonly claim: FenceClaim,
    private readonly clockNow: () => number,
    /** Where the ownership record lives: the root, or the directory a sub view was made from. */
    private readonly parent?: FencedDirectory,
  ) {}

  /**
   * A directory inside this one, written under the same fence (a database on a
   * disk). Closing or releasing the view leaves the parent as it is.
   */
  sub(relative: string): FencedDirectory {
    return new FencedDirectory(join(this.root, relative), this.claim, this.clockNow, this);
  }

  /** Takes the directory for a group on a node with a token, or throws why it cannot. */
  static async acquire(root: string, claim: FenceClaim, now: () => number): Promise<FencedDirectory> {
    await mkdir(root, { recursive: true });
    const conflict = claimConflict(root, await readFence(root), claim);
    if (conflict) throw conflict;
    const record: FenceRecord = { ...claim, released: false, at: now() };
    await writeFileDurably(join(root, FENCE_FILE), JSON.stringify(record));
    return new FencedDirectory(root, claim, now);
  }

  get isClosed(): boolean {
    return this.closed || (this.parent?.isClosed ?? false);
  }

  private get fenceRoot(): string {
    return this.parent ? this.parent.fenceRoot : this.root;
  }

  /** A path inside the directory. */
  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  /** Throws ERROR_WRITE_PROTECT unless this handle is open and the record still names its owner and token. */
  async check(): Promise<void> {
    const where = JSON.stringify(this.root);
    if (this.isClosed) throw new ClusterError('ERROR_WRITE_PROTECT', `${where}: the handle of node ${this.claim.node} (token ${this.claim.token}) was closed`);
    const current = await readFence(this.fenceRoot);
    if (!current || current.released || current.group !== this.claim.group || current.node !== this.claim.node || current.token !== this.claim.token) {
      const holder = current ? `${current.released ? 'released by' : 'held by'} node ${current.node} with token ${current.token}` : 'has no owner';
      throw new ClusterError('ERROR_WRITE_PROTECT', `${where}: write by node ${this.claim.node} with stale fencing token ${this.claim.token} rejected; the directory ${holder}`);
    }
  }

  async mkdir(...parts: string[]): Promise<string> {
    await this.check();
    const p = this.path(...parts);
    await mkdir(p, { recursive: true });
    return p;
  }

  /** Replaces a file durably, after the fence check. */
  async writeFile(relative: string, data: string | Buffer): Promise<void> {
    await this.check();
    await mkdir(dirname(this.path(relative)), { recursive: true });
    await writeFileDurably(this.path(relative), data);
  }

  async remove(relative: string): Promise<void> {
    await this.check();
    await rm(this.path(relative), { recursive: true, force: true });
  }

  /** Opens a file for appending; each append is fence-checked and fsynced. */
  async openAppender(relative: string): Promise<FencedAppender> {
    await this.check();
    await mkdir(dirname(this.path(relative)), { recursive: true });
    const fh = await open(this.path(relative), 'a');
    return new FencedAppender(this, fh);
  }

  /** Gives the directory up: the record says released, so any group may take it. */
  async release(): Promise<void> {
    if (this.closed) return;
    if (this.parent) {
      this.closed = true;
      return;
    }
    await this.check();
    this.closed = true;
    const record: FenceRecord = { ...this.claim, released: true, at: this.clockNow() };
    await writeFileDurably(join(this.root, FENCE_FILE), JSON.stringify(record));
  }

  /** Stops writing through this handle at once, leaving the record (a crash or terminate). */
  close(): void {
    this.closed = true;
  }
}

export class FencedAppender {
  constructor(
    private readonly fence: FencedDirectory,
    private readonly fh: FileHandle,
  ) {}

  /** Appends and fsyncs; rejected without writing if the fence no longer holds. */
  async append(data: Buffer): Promise<void> {
    await this.fence.check();
    await this.fh.write(data);
    await this.fh.datasync();
  }

  async truncate(length: number): Promise<void> {
    await this.fence.check();
    await this.fh.truncate(length);
    await this.fh.datasync();
  }

  async close(): Promise<void> {
    await this.fh.close().catch(() => undefined);
  }
}
