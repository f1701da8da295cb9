// Prefix watches: a bounded history of past revisions (so a watch can start in
// the past) and per-watcher queues that deliver one revision per callback, in
// order, never synchronously inside the write that produced it.

import { StoreError, type WatchCallback, type WatchErrorCallback, type WatchEvent, type Watcher } from './store.ts';

interface RevisionEvents {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

interface HistoryEntry extends RevisionEvents {
  /** Approximate memory the entry holds (keys and values, in UTF-16 units). */
  readonly size: number;
}

function approximateSize(events: readonly WatchEvent[]): number {
  let size = 0;
  for (const e of events) size += e.kv.key.length + e.kv.value.length + (e.prevKv ? e.prevKv.key.length + e.prevKv.value.length : 0);
  return size;
}

class PrefixWatcher implements Watcher {
  private readonly queue: RevisionEvents[] = [];
  private scheduled = false;
  cancelled = false;

  constructor(
    private readonly hub: WatchHub,
    readonly prefix: string,
    /** Revisions below this are not for this watcher (it started later). */
    readonly startRevision: number,
    private readonly onEvents: WatchCallback,
  ) {}

  offer(entry: RevisionEvents): void {
    if (this.cancelled || entry.revision < this.startRevision) return;
    const mine = entry.events.filter((e) => e.kv.key.startsWith(this.prefix));
    if (mine.length === 0) return;
    this.queue.push({ revision: entry.revision, events: mine });
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => this.drain());
    }
  }

  private drain(): void {
    this.scheduled = false;
    while (!this.cancelled) {
      const next = this.queue.shift();
      if (!next) break;
      this.onEvents(next.events, next.revision);
    }
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    this.queue.length = 0;
    this.hub.remove(this);
  }
}

export class WatchHub {
  private readonly history: HistoryEntry[] = [];
  private historySize = 0;
  private readonly watchers = new Set<PrefixWatcher>();
  /** Last revision handed to watchers (durable, when the store is on disk). */
  private publishedRevision: number;
  /** Oldest revision a watch may start from; older ones are compacted. */
  private firstAvailableRevision: number;

  constructor(
    startRevision: number,
    private readonly historyRevisionsMax: number,
    private readonly historyBytesMax: number,
  ) {
    this.publishedRevision = startRevision;
    this.firstAvailableRevision = startRevision + 1;
  }

  /** Hands one revision's events to the history and to every watcher. Revisions come in order. */
  publish(revision: number, events: readonly WatchEvent[]): void {
    if (revision <= this.publishedRevision) throw new Error(`assertion failed: revision ${revision} published after ${this.publishedRevision}`);
    const entry = { revision, events, size: approximateSize(events) };
    this.publishedRevision = revision;
    this.history.push(entry);
    this.historySize += entry.size;
    // The newest revision always stays, however big, so a watch from "now" never misses it.
    while (this.history.length > 1 && (this.history.length > this.historyRevisionsMax || this.historySize > this.historyBytesMax)) {
      this.historySize -= this.history.shift()!.size;
    }
    this.firstAvailableRevision = this.history[0]?.revision ?? revision + 1;
    for (const w of this.watchers) w.offer(entry);
  }

  /**
   * Starts a watch. With fromRevision, past events from that revision on are
   * replayed first; without it, events after nextRevision - 1 are delivered.
   */
  add(
    prefix: string,
    onEvents: WatchCallback,
    options: { fromRevision?: number; nextRevision: number; onError?: WatchErrorCallback },
  ): Watcher {
    const from = options.fromRevision !== undefined && options.fromRevision > 0 ? options.fromRevision : options.nextRevision;
    if (from < this.firstAvailableRevision && from <= this.publishedRevision) {
      const error = new StoreError(
        'compacted',
        `watch of prefix ${JSON.stringify(prefix)} from revision ${from}: revisions before ${this.firstAvailableRevision} are compacted`,
      );
      if (!options.onError) throw error;
      const onError = options.onError;
      queueMicrotask(() => onError(error));
      return { cancel: async () => {} };
    }
    const watcher = new PrefixWatcher(this, prefix, from, onEvents);
    for (const entry of this.history) if (entry.revision >= from) watcher.offer(entry);
    this.watchers.add(watcher);
    return watcher;
  }

  /** Forgets the history before revision (as etcd's compaction); watches from there get 'compacted'. */
  compact(revision: number): void {
    while (this.history.length > 0 && this.history[0]!.revision < revision) this.historySize -= this.history.shift()!.size;
    this.firstAvailableRevision = Math.max(this.firstAvailableRevision, Math.min(revision, this.publishedRevision + 1));
  }

  remove(watcher: PrefixWatcher): void {
    this.watchers.delete(watcher);
  }

  /** Stops every watch (the store is closing). */
  cancelAll(): void {
    for (const w of this.watchers) w.cancelled = true;
    this.watchers.clear();
  }
}
