// Publishes a node's resource reports to the store in order: every transition
// becomes its own revision for its key, so subscribers see each one, while
// reports of different resources share a transaction.
import type { Store } from '../store/store.ts';
import { STORE_TXN_OPS_MAX } from '../store/store.ts';

export class OrderedPublisher {
  private readonly queues = new Map<string, string[]>();
  private running: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void,
  ) {}

  publish(key: string, value: string): void {
    if (this.closed) return;
    const q = this.queues.get(key);
    if (q) q.push(value);
    else this.queues.set(key, [value]);
    // drain() always awaits before it can finish, so `running` is set before it is cleared.
    this.running ??= this.drain();
  }

  /** Resolves when everything published so far is in the store. */
  async flushed(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
    this.queues.clear();
  }

  private async drain(): Promise<void> {
    try {
      await Promise.resolve();
      while (this.queues.size > 0 && !this.closed) {
        // The oldest unpublished report of each key, up to one transaction's worth.
        const batch: { type: 'put'; key: string; value: string }[] = [];
        for (const [key, q] of this.queues) {
          if (batch.length >= STORE_TXN_OPS_MAX) break;
          batch.push({ type: 'put', key, value: q.shift()! });
          if (q.length === 0) this.queues.delete(key);
        }
        try {
          await this.store.txn({ compare: [], success: batch });
        } catch (e) {
          this.onError(e);
        }
      }
    } finally {
      // Cleared in the same turn as the last check of the queues, so nothing published is left behind.
      this.running = undefined;
    }
  }
}
