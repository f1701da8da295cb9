// The live feed: GET /v1/events read with fetch and a ReadableStream (an
// EventSource cannot send the Authorization header). Once the server confirms
// the subscription, the page re-reads everything, so no change between the
// read and the first event is missed; the same happens after a `reconnect`
// event (the server dropped events for a slow reader) and after the stream
// drops, which is re-opened with a growing delay. A stream silent past
// several heartbeats counts as dropped.
import type { ClusterEvent } from '../../api/types.ts';
import { SseParser } from '../../api/http-client.ts';
import { SSE_SUBSCRIBED_COMMENT } from '../../api/sse.ts';
import { ClusterError } from '../../model/errors.ts';
import type { ConsoleClient } from './client.ts';
import { consoleLimits } from './limits.ts';

export type FeedStatus =
  | { readonly kind: 'connecting' }
  | { readonly kind: 'live' }
  | { readonly kind: 'dropped'; readonly error: ClusterError; readonly retryInMs: number };

export interface FeedHandlers {
  /** The stream is (again) subscribed, or the server said events were lost: read everything now. */
  resync(): void;
  event(e: ClusterEvent): void;
  status(s: FeedStatus): void;
}

export class EventFeed {
  private controller: AbortController | undefined;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private silence: ReturnType<typeof setTimeout> | undefined;
  private delayMs: number = consoleLimits.reconnectDelayMs;
  private stopped = false;

  constructor(
    private readonly client: ConsoleClient,
    private readonly on: FeedHandlers,
  ) {}

  start(): void {
    this.stopped = false;
    void this.open();
  }

  stop(): void {
    this.stopped = true;
    this.controller?.abort();
    if (this.retry !== undefined) clearTimeout(this.retry);
    if (this.silence !== undefined) clearTimeout(this.silence);
  }

  private async open(): Promise<void> {
    this.on.status({ kind: 'connecting' });
    const controller = new AbortController();
    this.controller = controller;
    try {
      const res = await this.client.openEvents(controller.signal);
      await this.read(res, controller);
      // The server ended the stream (it is shutting down, or a proxy cut it).
      if (!this.stopped) this.dropped(new ClusterError('ERROR_CLUSTER_NODE_UNREACHABLE', 'the server closed the event stream'));
    } catch (e) {
      if (!this.stopped) this.dropped(e);
    } finally {
      if (this.silence !== undefined) clearTimeout(this.silence);
    }
  }

  private async read(res: Response, controller: AbortController): Promise<void> {
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser((frame) => {
      if (frame.comments.includes(SSE_SUBSCRIBED_COMMENT)) {
        this.delayMs = consoleLimits.reconnectDelayMs;
        this.on.status({ kind: 'live' });
        this.on.resync();
      }
      if (frame.data === undefined) return;
      // Event types this page does not know (a newer server) change nothing in the model.
      const event = JSON.parse(frame.data) as ClusterEvent;
      if (event.type === 'reconnect') this.on.resync();
      else this.on.event(event);
    });
    this.watchSilence(controller);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      this.watchSilence(controller);
      parser.push(decoder.decode(value, { stream: true }));
    }
  }

  /** Aborts the stream when nothing, not even a heartbeat, arrived for streamSilenceMaxMs. */
  private watchSilence(controller: AbortController): void {
    if (this.silence !== undefined) clearTimeout(this.silence);
    this.silence = setTimeout(() => controller.abort(new ClusterError('ERROR_TIMEOUT', `no data on the event stream for ${consoleLimits.streamSilenceMaxMs} ms`)), consoleLimits.streamSilenceMaxMs);
  }

  private dropped(e: unknown): void {
    const retryInMs = this.delayMs;
    this.delayMs = Math.min(this.delayMs * 2, consoleLimits.reconnectDelayMaxMs);
    const error = e instanceof ClusterError ? e : new ClusterError('ERROR_CLUSTER_NODE_UNREACHABLE', `the event stream broke (${e instanceof Error ? e.message : String(e)})`);
    this.on.status({ kind: 'dropped', error, retryInMs });
    this.retry = setTimeout(() => {
      this.retry = undefined;
      if (!this.stopped) void this.open();
    }, retryInMs);
  }
}
