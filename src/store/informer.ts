// One watch of the whole store per process, fanned out to in-memory views
// (the informer / watch-cache pattern): each view lists its prefix once at a
// revision, then applies the watch's events after that revision. Readers ask
// the views instead of the store, so a read costs what it looks at, not the
// size of the cluster. If the watch fails (a compacted revision, a lost
// connection), every view lists again and starts over from the new revision.
//
// sync() makes a read linearizable: it asks the store for its current revision
// and waits until the watch has delivered it, so a view never answers with
// something older than a write acknowledged before the read began.
import type { KeyValue, Store, Watcher, WatchEvent } from './store.ts';
import { StoreError } from './store.ts';

/** How long sync() waits for the watch to deliver the store's current revision before listing again. */
export const INFORMER_SYNC_WAIT_MS = 5_000;
/** Pause between attempts to re-establish the watch after it failed. */
export const INFORMER_RESTART_DELAY_MS = 200;

/** A view kept by an informer: rebuilt from a listing, then updated event by event. */
export interface InformerView {
  /** Everything under the view's prefix as of `revision` (the view starts over). */
  reset(kvs: readonly KeyValue[], revision: number): void;
  /** The events of one revision under the view's prefix, in order. */
  apply(events: readonly WatchEvent[], revision: number): void;
}

interface Registration {
  readonly prefix: string;
  readonly view: InformerView;
  /** Listed at this revision: events up to it are already in the view. */
  listedAt: number;
  /** Events that arrived while the view was being listed. */
  buffer: Array<{ events: WatchEvent[]; revision: number }> | undefined;
}

const informers = new WeakMap<Store, StoreInformer>();

export class StoreInformer {
  private readonly registrations: Registration[] = [];
  private watcher: Watcher | undefined;
  private starting: Promise<void> | undefined;
  private closed = false;
  /** The latest revision the watch has delivered (or the store was listed at). */
  private delivered = 0;
  private readonly waiters: Array<{ revision: number; resolve: () => void }> = [];

  private constructor(private readonly store: Store) {}

  /** The process's informer for this store (one watch per store, shared by every view). */
  static for(store: Store): StoreInformer {
    let informer = informers.get(store);
    if (!informer) {
      informer = new StoreInformer(store);
      informers.set(store, informer);
    }
    return informer;
  }

  get revision(): number {
    return this.delivered;
  }

  /** Registers a view of a prefix: it is listed now and kept up to date from then on. */
  async register(prefix: string, view: InformerView): Promise<void> {
    await this.start();
    const registration: Registration = { prefix, view, listedAt: Number.MAX_SAFE_INTEGER, buffer: [] };
    this.registrations.push(registration);
    await this.list(registration);
  }

  /** Waits until the views reflect every write acknowledged before this call. */
  async sync(): Promise<void> {
    await this.start();
    const target = await this.store.revision();
    if (this.delivered >= target) return;
    const reached = await this.waitFor(target, INFORMER_SYNC_WAIT_MS);
    // The watch fell behind (or missed a revision): list afresh, which is current by construction.
    if (!reached) await this.restart();
  }

  /** Waits until the watch has delivered `revision` (a write this process made). */
  async waitFor(revision: number, timeoutMs = INFORMER_SYNC_WAIT_MS): Promise<boolean> {
    if (this.delivered >= revision) return true;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i >= 0) this.waiters.splice(i, 1);
        resolve(false);
      }, timeoutMs);
      timer.unref?.();
      const waiter = {
        revision,
        resolve: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      this.waiters.push(waiter);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    informers.delete(this.store);
    await this.watcher?.cancel().catch(() => undefined);
    this.watcher = undefined;
    for (const w of this.waiters.splice(0)) w.resolve();
  }

  private start(): Promise<void> {
    if (this.closed) return Promise.reject(new StoreError('closed', 'the store informer was closed'));
    this.starting ??= this.watch().catch((e: unknown) => {
      this.starting = undefined;
      throw e;
    });
    return this.starting;
  }

  /** Starts the one watch at the store's current revision. */
  private async watch(): Promise<void> {
    const revision = await this.store.revision();
    this.delivered = Math.max(this.delivered, revision);
    this.watcher = await this.store.watchPrefix('', (events, r) => this.deliver(events, r), {
      fromRevision: revision + 1,
      onError: () => void this.restart(),
    });
  }

  private async list(registration: Registration): Promise<void> {
    const { kvs, revision } = await this.store.range(registration.prefix);
    registration.view.reset(kvs, revision);
    registration.listedAt = revision;
    const buffered = registration.buffer ?? [];
    registration.buffer = undefined;
    for (const b of buffered) if (b.revision > revision) registration.view.apply(b.events, b.revision);
  }

  /** The watch failed or fell behind: a new watch, and every view listed again. */
  private restarting: Promise<void> | undefined;
  private restart(): Promise<void> {
    this.restarting ??= (async () => {
      await this.watcher?.cancel().catch(() => undefined);
      this.watcher = undefined;
      for (;;) {
        if (this.closed) return;
        try {
          for (const r of this.registrations) r.buffer = [];
          await this.watch();
          for (const r of this.registrations) await this.list(r);
          this.release();
          return;
        } catch (e) {
          // A closed store has nothing more to deliver.
          if (e instanceof StoreError && e.kind === 'closed') return void (await this.close());
          await new Promise((resolve) => setTimeout(resolve, INFORMER_RESTART_DELAY_MS).unref());
        }
      }
    })().finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  private deliver(events: readonly WatchEvent[], revision: number): void {
    for (const r of this.registrations) {
      const mine = events.filter((e) => e.kv.key.startsWith(r.prefix));
      if (mine.length === 0) continue;
      if (r.buffer) r.buffer.push({ events: mine, revision });
      else if (revision > r.listedAt) r.view.apply(mine, revision);
    }
    if (revision > this.delivered) this.delivered = revision;
    this.release();
  }

  private release(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      const w = this.waiters[i]!;
      if (w.revision <= this.delivered) {
        this.waiters.splice(i, 1);
        w.resolve();
      }
    }
  }
}
