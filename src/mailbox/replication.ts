// Continuous replication (CCR) by log shipping through the copies' directories.
//
// Every node that holds a copy of a database has a node-local copy directory
// (<CopyRoot>/<node>). The active copy's log is mirrored byte for byte into
// each passive copy's log: every group commit is appended and fsynced to the
// active's log and to every passive copy before any message of it is
// acknowledged (SMTP 250), so an acknowledged message is on the passive node
// before the sender hears of it. The passive directory is reached as a share
// would be in a multi-machine deployment (Exchange 2007 CCR copies its logs
// over SMB too); on one machine it is a plain directory.
//
// Replay: a passive copy's index checkpoint (index.json) is brought up to date
// from its received log every copyReplayIntervalMs, a step the active's
// replicator runs on the copy's behalf (there is no process on a passive node
// in this design). Activation (mount on a new node) always replays whatever
// the checkpoint has not covered yet before the database accepts anything.
//
// Catch-up: at mount the new active compares each passive copy's log with its
// own. A copy that is a prefix gets the missing bytes; a copy that diverged
// (it holds records the active has not — written by a node that crashed before
// they were shipped and acknowledged) or whose reseed was requested is
// reseeded: its log and index are replaced by the active's.
import { access, open, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterError } from '../model/errors.ts';
import { FencedDirectory, readFence, writeFileDurably } from './fenced-directory.ts';
import { checkpointLsnOf, INDEX_FILE, loadIndex } from './index-state.ts';
import { generationFileName, generationPath, LOG_DIR, scanLog, type LogScan } from './log-format.ts';

export const COPY_STATE_FILE = 'copy-state.json';
export const RESEED_REQUEST_FILE = 'reseed-request.json';

export type CopyHealth = 'Healthy' | 'Failed';

export interface CopyStateRecord {
  readonly state: CopyHealth;
  readonly reason?: string;
  readonly at: number;
}

/** The directory of one node's copy. */
export function copyDirectory(copyRoot: string, node: string): string {
  return join(copyRoot, node);
}

export async function readCopyState(copyDir: string): Promise<CopyStateRecord | undefined> {
  try {
    return JSON.parse(await readFile(join(copyDir, COPY_STATE_FILE), 'utf8')) as CopyStateRecord;
  } catch {
    return undefined;
  }
}

export async function reseedRequested(copyDir: string): Promise<boolean> {
  try {
    await access(join(copyDir, RESEED_REQUEST_FILE));
    return true;
  } catch {
    return false;
  }
}

/** Asks for a copy to be rebuilt from the active copy (done by the active database, at once or when it next mounts). */
export async function requestReseed(copyDir: string, now: number): Promise<void> {
  await writeFileDurably(join(copyDir, RESEED_REQUEST_FILE), JSON.stringify({ at: now }));
}

/** Whether a copy's log is a prefix of the active's: same records at the same places. */
function isPrefixOf(copy: LogScan, active: LogScan): boolean {
  if (copy.lastLsn > active.lastLsn) return false;
  const last = copy.records.at(-1);
  if (!last) return true;
  const same = active.records[last.header.lsn - 1] ?? active.records.find((r) => r.header.lsn === last.header.lsn);
  return (
    same !== undefined &&
    same.header.lsn === last.header.lsn &&
    same.header.epoch === last.header.epoch &&
    same.position.generation === last.position.generation &&
    same.position.offset === last.position.offset &&
    same.position.length === last.position.length
  );
}

/** Copies bytes [from, to) of an active generation file to the end of the copy's file of that generation. */
async function copyRange(activeDir: string, copy: FencedDirectory, generation: number, from: number, to: number): Promise<void> {
  if (to <= from) return;
  const src = await open(generationPath(activeDir, generation), 'r');
  try {
    const buf = Buffer.allocUnsafe(to - from);
    await src.read(buf, 0, buf.length, from);
    const out = await copy.openAppender(join(LOG_DIR, generationFileName(generation)));
    try {
      await out.append(buf);
    } finally {
      await out.close();
    }
  } finally {
    await src.close();
  }
}

/** Replaces a copy's log by the active's and rebuilds its index (the active must not write meanwhile). */
export async function reseedCopy(activeDir: string, active: LogScan, copy: FencedDirectory, now: number): Promise<void> {
  await copy.remove(LOG_DIR);
  await copy.remove(INDEX_FILE);
  for (const g of active.generations) await copyRange(activeDir, copy, g.generation, 0, g.validBytes);
  await replayCopy(copy); // a reseeded copy comes with its index, as a reseed copies the database too
  await copy.remove(RESEED_REQUEST_FILE);
  await markCopy(copy, { state: 'Healthy', at: now });
}

/**
 * Brings a passive copy level with the active (which must not write meanwhile):
 * appends what it lacks, or reseeds it if it diverged or a reseed was asked for.
 * Returns what was done.
 */
export async function catchUpCopy(activeDir: string, active: LogScan, copy: FencedDirectory, now: number): Promise<'caught-up' | 'reseeded'> {
  const scan = await scanLog(copy.root);
  if ((await reseedRequested(copy.root)) || !isPrefixOf(scan, active) || scan.generations.some((g) => g.validBytes < g.fileBytes)) {
    await reseedCopy(activeDir, active, copy, now);
    return 'reseeded';
  }
  const copySize = new Map(scan.generations.map((g) => [g.generation, g.validBytes]));
  for (const g of active.generations) await copyRange(activeDir, copy, g.generation, copySize.get(g.generation) ?? 0, g.validBytes);
  await markCopy(copy, { state: 'Healthy', at: now });
  return 'caught-up';
}

export async function markCopy(copy: FencedDirectory, state: CopyStateRecord): Promise<void> {
  const current = await readCopyState(copy.root);
  if (current?.state === state.state && current.reason === state.reason) return;
  await copy.writeFile(COPY_STATE_FILE, JSON.stringify(state));
}

/** Replays what a copy received into its index checkpoint; returns how many records were replayed. */
export async function replayCopy(copy: FencedDirectory): Promise<number> {
  const scan = await scanLog(copy.root);
  const { index, replayed } = await loadIndex(copy.root, scan.records);
  if (replayed > 0) await copy.writeFile(INDEX_FILE, index.toCheckpoint());
  return replayed;
}

export interface CopyInspection {
  readonly node: string;
  readonly directory: string;
  /** Last record the copy holds (received, for a passive copy). */
  readonly lastLsn: number;
  /** Generation of that record: Exchange's "last inspected log". */
  readonly lastGeneration: number;
  /** Last record the copy's index has replayed. */
  readonly replayedLsn: number;
  readonly state?: CopyStateRecord;
  readonly reseedRequested: boolean;
  /** The group and node its fencing record names. */
  readonly fence?: { group: string; node: string; token: number; released: boolean };
}

/** What one copy's directory holds, read without taking it. */
export async function inspectCopy(copyRoot: string, node: string): Promise<CopyInspection> {
  const directory = copyDirectory(copyRoot, node);
  const scan = await scanLog(directory);
  const fence = await readFence(directory);
  const state = await readCopyState(directory);
  return {
    node,
    directory,
    lastLsn: scan.lastLsn,
    lastGeneration: scan.records.at(-1)?.position.generation ?? 0,
    replayedLsn: await checkpointLsnOf(directory),
    ...(state ? { state } : {}),
    reseedRequested: await reseedRequested(directory),
    ...(fence ? { fence: { group: fence.group, node: fence.node, token: fence.token, released: fence.released } } : {}),
  };
}

export interface CopyStatus {
  readonly node: string;
  readonly active: boolean;
  /** Healthy: holds everything the active has (or is the active); Failed: shipping to it failed, reseed it. */
  readonly status: 'Mounted' | 'Dismounted' | 'Healthy' | 'Failed' | 'Behind' | 'ReseedRequested';
  /** Records the active has that this copy has not received. */
  readonly copyQueueLength: number;
  /** Records this copy received and has not replayed yet. */
  readonly replayQueueLength: number;
  /** The log generation file of the last record received. */
  readonly lastInspectedLog: string;
  readonly lastInspectedLsn: number;
}

/** Copy status of every copy of a database, given which node holds the active copy. */
export async function copyStatuses(copyRoot: string, nodes: readonly string[], activeNode: string | undefined, mounted: boolean): Promise<CopyStatus[]> {
  const inspections = await Promise.all(nodes.map((n) => inspectCopy(copyRoot, n)));
  const active = inspections.find((i) => i.node === activeNode) ?? inspections.reduce<CopyInspection | undefined>((best, i) => (!best || i.lastLsn > best.lastLsn ? i : best), undefined);
  const activeLsn = active?.lastLsn ?? 0;
  return inspections.map((i) => {
    const isActive = i.node === active?.node && i.node === activeNode;
    const copyQueueLength = Math.max(0, activeLsn - i.lastLsn);
    const status: CopyStatus['status'] = isActive
      ? mounted
        ? 'Mounted'
        : 'Dismounted'
      : i.reseedRequested
        ? 'ReseedRequested'
        : i.state?.state === 'Failed'
          ? 'Failed'
          : copyQueueLength > 0
            ? 'Behind'
            : 'Healthy';
    return {
      node: i.node,
      active: isActive,
      status,
      copyQueueLength: isActive ? 0 : copyQueueLength,
      replayQueueLength: isActive ? 0 : Math.max(0, i.lastLsn - i.replayedLsn),
      lastInspectedLog: i.lastGeneration > 0 ? generationFileName(i.lastGeneration) : '',
      lastInspectedLsn: i.lastLsn,
    };
  });
}

export function copyNotHealthy(database: string, node: string, status: CopyStatus): ClusterError {
  return new ClusterError('ERROR_RESOURCE_NOT_AVAILABLE', `the copy of ${database} on node ${node} is ${status.status} (copy queue ${status.copyQueueLength}); reseed it or wait until it is healthy`);
}
