// One Server-Sent Events subscriber. Events are written as they come while the
// socket keeps up; when it does not, they wait in a bounded queue. If the queue
// overflows, its events are dropped and replaced by one `reconnect` event
// (MS-CMRP's CLUSTER_CHANGE_CLUSTER_RECONNECT): the client re-reads what it
// shows and continues. A slow subscriber costs bounded memory and never slows
// the cluster down.
import type { Clock, TimerHandle } from '../model/clock.ts';
import type { ClusterEvent } from './types.ts';

/** The part of an http.ServerResponse the stream needs (a test can supply its own). */
export interface SseSink {
  write(chunk: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
  end(): unknown;
}

export interface SseLimits {
  /** Events that may wait for a slow subscriber before they are dropped. */
  readonly queueEventsMax: number;
  /** A comment line is sent this often so proxies and clients see the stream is alive. */
  readonly heartbeatIntervalMs: number;
}

export const sseDefaultLimits: SseLimits = { queueEventsMax: 1024, heartbeatIntervalMs: 15_000 };

/** The comment the server sends once the subscription is in place: events after it are not missed. */
export const SSE_SUBSCRIBED_COMMENT = 'subscribed';

export function encodeSseEvent(event: ClusterEvent): string {
  return `id: ${event.revision}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
}

export class SseStream {
  private queue: string[] = [];
  private writable = true;
  private closed = false;
  private heartbeat: TimerHandle | undefined;
  /** How many events were dropped in total (for tests and diagnostics). */
  dropped = 0;

  constructor(
    private readonly sink: SseSink,
    private readonly clock: Clock,
    private readonly limits: SseLimits = sseDefaultLimits,
  ) {}

  start(): void {
    this.enqueue(`: ${SSE_SUBSCRIBED_COMMENT}\n\n`);
    this.armHeartbeat();
  }

  push(event: ClusterEvent): void {
    if (this.closed) return;
    if (this.queue.length >= this.limits.queueEventsMax) {
      // The subscriber fell behind: what waits is stale anyway. Keep one marker that tells it so.
      this.dropped += this.queue.length + 1;
      this.queue = [encodeSseEvent({ type: 'reconnect', revision: event.revision })];
      return;
    }
    this.enqueue(encodeSseEvent(event));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) this.clock.clearTimer(this.heartbeat);
    this.queue = [];
    this.sink.end();
  }

  get queued(): number {
    return this.queue.length;
  }

  private enqueue(frame: string): void {
    this.queue.push(frame);
    this.flush();
  }

  private flush(): void {
    while (this.writable && !this.closed && this.queue.length > 0) {
      const frame = this.queue.shift()!;
      if (!this.sink.write(frame)) {
        this.writable = false;
        this.sink.once('drain', () => {
          this.writable = true;
          this.flush();
        });
      }
    }
  }

  private armHeartbeat(): void {
    this.heartbeat = this.clock.setTimer(this.limits.heartbeatIntervalMs, () => {
      if (this.closed) return;
      if (this.queue.length === 0) this.enqueue(': heartbeat\n\n');
      this.armHeartbeat();
    });
  }
}
