// The SSE stream's bounded queue and heartbeat, with a sink that can refuse
// writes (a slow subscriber) and the virtual clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SseStream } from '../../src/api/sse.ts';
import { SseParser } from '../../src/api/http-client.ts';
import { VirtualClock } from '../../src/clock/virtual.ts';
import type { ClusterEvent } from '../../src/api/types.ts';

class SlowSink {
  written: string[] = [];
  accepting = true;
  ended = false;
  private drain: (() => void) | undefined;
  write(chunk: string): boolean {
    this.written.push(chunk);
    return this.accepting;
  }
  once(_event: 'drain', listener: () => void): void {
    this.drain = listener;
  }
  end(): void {
    this.ended = true;
  }
  catchUp(): void {
    this.accepting = true;
    const d = this.drain;
    this.drain = undefined;
    d?.();
  }
}

const state = (revision: number): ClusterEvent => ({ type: 'nodeState', node: 'node1', state: 'Up', revision });

function eventsIn(chunks: readonly string[]): Array<{ event?: string; data?: string; comments: string[] }> {
  const frames: Array<{ event?: string; data?: string; comments: string[] }> = [];
  const p = new SseParser((f) => frames.push(f));
  p.push(chunks.join(''));
  return frames;
}

test('events are written in order while the subscriber keeps up', () => {
  const sink = new SlowSink();
  const s = new SseStream(sink, new VirtualClock(), { queueEventsMax: 4, heartbeatIntervalMs: 1000 });
  s.start();
  for (let i = 1; i <= 10; i++) s.push(state(i));
  const frames = eventsIn(sink.written);
  assert.deepEqual(frames[0]!.comments, ['subscribed']);
  assert.deepEqual(frames.slice(1).map((f) => JSON.parse(f.data!).revision), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.equal(s.dropped, 0);
  s.close();
});

test('a subscriber that falls behind loses the backlog and gets one reconnect event, then fresh events', () => {
  const sink = new SlowSink();
  const s = new SseStream(sink, new VirtualClock(), { queueEventsMax: 4, heartbeatIntervalMs: 1000 });
  s.start();
  sink.accepting = false;
  s.push(state(1)); // written, but the socket is now full
  for (let i = 2; i <= 5; i++) s.push(state(i)); // 4 queued: at the limit
  assert.equal(s.queued, 4);
  s.push(state(6)); // overflow
  assert.equal(s.queued, 1);
  assert.equal(s.dropped, 5);
  s.push(state(7));
  sink.catchUp();
  const frames = eventsIn(sink.written).slice(1);
  assert.deepEqual(
    frames.map((f) => [f.event, JSON.parse(f.data!).revision]),
    [
      ['nodeState', 1],
      ['reconnect', 6],
      ['nodeState', 7],
    ],
  );
  assert.equal(s.queued, 0);
  s.close();
});

test('heartbeat comments keep an idle stream alive, on the injected clock', () => {
  const sink = new SlowSink();
  const clock = new VirtualClock();
  const s = new SseStream(sink, clock, { queueEventsMax: 4, heartbeatIntervalMs: 15_000 });
  s.start();
  clock.advance(14_999);
  assert.equal(eventsIn(sink.written).filter((f) => f.comments.includes('heartbeat')).length, 0);
  clock.advance(1);
  clock.advance(30_000);
  assert.equal(eventsIn(sink.written).filter((f) => f.comments.includes('heartbeat')).length, 3);
  s.close();
  assert.equal(sink.ended, true);
  assert.equal(clock.pendingTimers(), 0);
});

test('the client parser joins frames split across chunks and CRLF line ends', () => {
  const frames: Array<{ event?: string; data?: string }> = [];
  const p = new SseParser((f) => frames.push(f));
  p.push('event: move\r\ndata: {"a"');
  assert.equal(frames.length, 0);
  p.push(':1}\r\n\r\nevent: x\ndata: 2\n\n');
  assert.deepEqual(frames.map((f) => [f.event, f.data]), [
    ['move', '{"a":1}'],
    ['x', '2'],
  ]);
});
