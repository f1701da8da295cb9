// The console's live feed over a scripted event stream: it sends the token in
// the Authorization header (never in the URL), re-reads once subscribed and on
// a `reconnect` event, passes events on, and re-opens a refused or dropped
// stream after a delay, saying why with the WSFC error.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConsoleClient } from '../../src/console/web/client.ts';
import { EventFeed, type FeedStatus } from '../../src/console/web/events.ts';
import { consoleLimits } from '../../src/console/web/limits.ts';
import { encodeSseEvent } from '../../src/api/sse.ts';
import type { ClusterEvent } from '../../src/api/types.ts';
import { eventually } from './eventually.ts';

const TOKEN = 'feed-test-token';
const seen: Array<{ url: string; authorization: string | undefined }> = [];
let connections = 0;
let lastOpen: http.ServerResponse | undefined;
let lastClosed = false;

const groupEvent: ClusterEvent = { type: 'groupState', group: 'Web', state: 'Pending', owner: 'node2', revision: 7 };

// 1st stream: refused. 2nd: subscribed, one event, then the server ends it. 3rd: subscribed, then "events were lost", and stays open.
const server = http.createServer((req, res) => {
  seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
  connections++;
  if (connections === 1) {
    res.writeHead(401, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code: 5, name: 'ERROR_ACCESS_DENIED', message: 'unknown token' }));
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream' });
  res.write(': subscribed\n\n');
  if (connections === 2) {
    res.end(encodeSseEvent(groupEvent));
    return;
  }
  res.write(encodeSseEvent({ type: 'reconnect', revision: 9 }));
  lastOpen = res;
  req.on('close', () => (lastClosed = true));
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

after(() => {
  lastOpen?.end();
  server.close();
  // The client's keep-alive sockets would hold the process open for seconds.
  server.closeAllConnections();
});

test('the feed follows the stream through a refusal, a drop and lost events', async () => {
  const log: string[] = [];
  const statuses: FeedStatus[] = [];
  const events: ClusterEvent[] = [];
  const feed = new EventFeed(new ConsoleClient(base, TOKEN), {
    resync: () => log.push('resync'),
    event: (e) => {
      log.push(`event ${e.type}`);
      events.push(e);
    },
    status: (s) => {
      log.push(s.kind === 'dropped' ? `dropped ${s.error.name} retry ${s.retryInMs}` : s.kind);
      statuses.push(s);
    },
  });
  feed.start();
  try {
    await eventually('the third stream to be subscribed and report lost events', () => assert.equal(log.filter((l) => l === 'resync').length, 3), 10_000);
  } finally {
    feed.stop();
  }
  const delay = consoleLimits.reconnectDelayMs;
  assert.deepEqual(log, [
    'connecting',
    `dropped ERROR_ACCESS_DENIED retry ${delay}`,
    'connecting',
    'live',
    'resync',
    'event groupState',
    // Subscribing again reset the delay.
    `dropped ERROR_CLUSTER_NODE_UNREACHABLE retry ${delay}`,
    'connecting',
    'live',
    'resync',
    'resync',
  ]);
  assert.deepEqual(events, [groupEvent]);
  const dropped = statuses.find((s) => s.kind === 'dropped' && s.error.name === 'ERROR_CLUSTER_NODE_UNREACHABLE');
  assert.match(dropped?.kind === 'dropped' ? dropped.error.message : '', /server closed the event stream/);
  for (const s of seen) {
    assert.equal(s.url, '/v1/events');
    assert.equal(s.authorization, `Bearer ${TOKEN}`);
  }
  await eventually('the server to see the stopped feed close its stream', () => assert.equal(lastClosed, true), 5_000);
});
