/// <reference lib="dom" />
// The console page: checks the token, shows the cluster and keeps it current
// from the event stream, and runs the operator's actions, following each one
// to its outcome in the activity list.
import type { ClusterEvent, OperationView } from '../../api/types.ts';
import { asClusterError, ConsoleClient } from './client.ts';
import { EventFeed, type FeedStatus } from './events.ts';
import { describeOperation, formatError } from './format.ts';
import { consoleLimits } from './limits.ts';
import { ClusterModel } from './model.ts';
import { ConsoleView, type ActivityEntry } from './render.ts';
import { forgetToken, rememberToken, takeToken } from './token.ts';

const model = new ClusterModel();
let client: ConsoleClient | undefined;
let feed: EventFeed | undefined;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const render = (): void => view.render(model, Date.now());

// ---- reading the cluster

let reading = false;
let readAgain = false;
let rereadTimer: ReturnType<typeof setTimeout> | undefined;

/** Reads everything; a call while a read runs makes that read run once more, so the newest state always lands last. */
async function reread(): Promise<void> {
  if (reading) {
    readAgain = true;
    return;
  }
  reading = true;
  try {
    do {
      readAgain = false;
      if (!client) return;
      model.load(await client.snapshot());
      render();
    } while (readAgain);
  } catch (e) {
    view.setConnection('error', `Cannot read the cluster: ${formatError(asClusterError(e))}`);
  } finally {
    reading = false;
  }
}

/** One re-read after a burst of events (not one per event). */
function scheduleReread(): void {
  if (rereadTimer !== undefined) return;
  rereadTimer = setTimeout(() => {
    rereadTimer = undefined;
    void reread();
  }, consoleLimits.rereadDebounceMs);
}

function onEvent(e: ClusterEvent): void {
  if (model.apply(e)) render();
  scheduleReread();
}

function onFeedStatus(s: FeedStatus): void {
  switch (s.kind) {
    case 'connecting':
      return view.setConnection('connecting', 'Connecting to the event stream…');
    case 'live':
      return view.setConnection('live', 'Live: changes appear as they happen');
    case 'dropped':
      return view.setConnection('dropped', `Disconnected: ${formatError(s.error)}. Reconnecting in ${Math.ceil(s.retryInMs / 1000)} s…`);
  }
}

// ---- signing in

async function signIn(token: string): Promise<void> {
  feed?.stop();
  const candidate = new ConsoleClient(location.origin, token);
  view.setConnection('connecting', 'Checking the token…');
  let access: 'full' | 'read';
  try {
    access = (await candidate.session()).access;
  } catch (e) {
    const err = asClusterError(e);
    if (err.name === 'ERROR_ACCESS_DENIED') {
      forgetToken();
      view.showSignIn(`The token was refused: ${formatError(err)}`);
    } else {
      view.showSignIn(`Cannot check the token: ${formatError(err)}`);
    }
    return;
  }
  client = candidate;
  view.showCluster(access);
  // The feed re-reads everything once it is subscribed, so nothing between the read and the first event is missed.
  feed = new EventFeed(client, { resync: () => void reread(), event: onEvent, status: onFeedStatus });
  feed.start();
}

function signOut(): void {
  feed?.stop();
  feed = undefined;
  client = undefined;
  forgetToken();
  view.showSignIn('The token was forgotten. Enter a token to open the console again.');
}

// ---- actions

/** Starts an action and follows it to its end in the activity list. */
async function act(title: string, start: (c: ConsoleClient) => Promise<OperationView | undefined>): Promise<void> {
  if (!client) return;
  const c = client;
  const startedAt = Date.now();
  const entry = view.startActivity(title, startedAt);
  try {
    const op = await start(c);
    if (op) await follow(c, op, entry, startedAt);
    else entry.update('ok', 'done');
  } catch (e) {
    entry.update('failed', formatError(asClusterError(e)));
  }
  scheduleReread();
}

async function follow(c: ConsoleClient, first: OperationView, entry: ActivityEntry, startedAt: number): Promise<void> {
  let op = first;
  let failures = 0;
  for (;;) {
    const d = describeOperation(op, startedAt, Date.now());
    entry.update(d.state, d.text);
    if (op.done) return;
    await sleep(consoleLimits.operationPollIntervalMs);
    try {
      op = await c.getOperation(op.id);
      failures = 0;
    } catch (e) {
      if (++failures >= consoleLimits.operationPollFailuresMax) {
        entry.update('failed', `lost track of operation ${op.id}: ${formatError(asClusterError(e))}`);
        return;
      }
    }
  }
}

const view = new ConsoleView({
  moveGroup: (group, to) => void act(`Move group ${group} to ${to ?? 'the best node'}`, (c) => c.moveGroup(group, to)),
  groupAction: (group, verb) => void act(`${verb === 'online' ? 'Online' : 'Offline'} group ${group}`, (c) => c.groupAction(group, verb)),
  resourceAction: (resource, verb) => void act(`${verb[0]!.toUpperCase()}${verb.slice(1)} resource ${resource}`, (c) => c.resourceAction(resource, verb)),
  pauseNode: (node, drain) => void act(`${drain ? 'Drain' : 'Pause'} node ${node}`, (c) => c.pauseNode(node, drain)),
  resumeNode: (node) =>
    void act(`Resume node ${node}`, async (c) => {
      await c.resumeNode(node);
      return undefined;
    }),
});

// ---- start

view.onTokenSubmit((token) => {
  rememberToken(token);
  void signIn(token);
});
view.onForgetToken(signOut);
// Move deadlines count down.
setInterval(() => {
  if (client) render();
}, consoleLimits.countdownIntervalMs);

const token = takeToken();
if (token === undefined) view.showSignIn('No token: open the console with the address "failover up" printed (…/console/#token=…), or enter a token below.');
else void signIn(token);
