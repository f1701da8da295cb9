// Issue 8's end-to-end test: real SMTP clients send at least 2,000 messages to
// the server's network name while the server moves between the nodes ten times
// (by the mailbox console) and its active node is killed once; afterwards every
// message that got a 250 is readable through the mailbox API exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MailboxHttpClient, resolveNetworkName } from '../../src/mailbox/client.ts';
import { startMailboxCluster, type MailboxTestCluster } from './helpers.ts';
import { Sender } from './sender.ts';

const MESSAGES_MIN = 2_000;
const MOVES = 10;
const CRASH_AFTER_MOVE = 5;
const MAILBOXES = ['alice', 'bob', 'carol', 'dave', 'erin'];
/**
 * Bound on each wait for mail to flow or the server to come back. About a
 * second is enough on an idle machine; the bound is for a starved one (the
 * whole suite under CPU hogs), where a move and the copy's catch-up crawl.
 */
const FLOW_WAIT_MS = 120_000;
/** The whole test: ten moves, a crash and 2,000 messages, each wait at its bound at worst on a starved machine. */
const TEST_TIMEOUT_MS = 900_000;

/** What the sender and the server look like, for a wait that timed out. */
async function situation(t: MailboxTestCluster, sender: Sender): Promise<string> {
  const g = await t.api.getGroup('CMS01').catch((e: unknown) => ({ state: String(e), owner: undefined }));
  const retries = [...sender.stats.retries].map(([cause, n]) => `${cause}: ${n}`).join(', ');
  return `CMS01 ${g.state} on ${g.owner ?? 'no node'}; ${sender.stats.accepted.size} accepted; retries: ${retries}`;
}

async function ownerOf(t: MailboxTestCluster, server: string): Promise<string | undefined> {
  return (await t.api.getGroup(server)).owner;
}

async function moveWhenReady(t: MailboxTestCluster, server: string, to: string, comment: string): Promise<void> {
  // A copy may still be catching up after the crash: the console's checks refuse until it is healthy.
  const deadline = Date.now() + FLOW_WAIT_MS;
  for (;;) {
    try {
      const report = await t.console.move(server, { to, comment });
      assert.equal(report.ok, true, JSON.stringify(report));
      return;
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

test('CCR: 2,000+ messages over 10 moves and the loss of the active node; every accepted message is stored exactly once', { timeout: TEST_TIMEOUT_MS }, async () => {
  const t = await startMailboxCluster({ agentLimits: { leaseTtlSeconds: 2, leaseKeepAliveIntervalMs: 250, selfFenceMarginMs: 700 } });
  try {
    await t.console.createServer('CMS01', { mode: 'ccr', nodes: ['node1', 'node2'], storageRoot: t.dir, address: t.address, smtpPort: t.smtpPort, httpPort: t.httpPort });
    const sender = new Sender({ api: t.api, networkName: 'cms01', smtpPort: t.smtpPort, connections: 8, mailboxes: MAILBOXES });
    let moving = true;
    const sending = sender.run(MESSAGES_MIN, () => moving);
    const moves: string[] = [];
    let crashed = '';
    try {
      for (let n = 1; n <= MOVES; n++) {
        // Let mail flow between moves.
        const before = sender.stats.accepted.size;
        await t.until('mail accepted between moves', () => sender.stats.accepted.size >= before + 50, FLOW_WAIT_MS, () => situation(t, sender));
        const from = (await ownerOf(t, 'CMS01'))!;
        const to = from === 'node1' ? 'node2' : 'node1';
        await moveWhenReady(t, 'CMS01', to, `move ${n}`);
        moves.push(`${from}->${to}`);
        if (n === CRASH_AFTER_MOVE) {
          const acceptedBefore = sender.stats.accepted.size;
          await t.until('mail accepted before the crash', () => sender.stats.accepted.size >= acceptedBefore + 50, FLOW_WAIT_MS, () => situation(t, sender));
          crashed = to;
          await t.cluster.crashNode(crashed);
          await t.until(
            'the server fails over to the other node and is online',
            async () => {
              const g = await t.api.getGroup('CMS01');
              return g.owner !== crashed && g.state === 'Online';
            },
            FLOW_WAIT_MS,
            () => situation(t, sender),
          );
          await t.cluster.startNode(crashed);
        }
      }
    } finally {
      moving = false;
    }
    await sending;
    const { accepted, permanentFailures, retries } = sender.stats;
    assert.deepEqual(permanentFailures, [], 'no message was refused for good');
    assert.ok(accepted.size >= MESSAGES_MIN, `at least ${MESSAGES_MIN} messages accepted (got ${accepted.size})`);
    assert.equal(moves.length, MOVES);
    assert.notEqual(crashed, '');
    assert.ok([...retries.values()].reduce((a, b) => a + b, 0) > 0, 'the moves and the crash made the sender retry');

    // Read every mailbox through the mailbox access API at the network name.
    const resolved = await resolveNetworkName(t.api, 'cms01');
    const client = new MailboxHttpClient(`http://${resolved.address}:${t.httpPort}`);
    const seen = new Map<string, number>();
    let stored = 0;
    for (const mailbox of MAILBOXES) {
      for (const m of await client.listAll(mailbox)) {
        stored++;
        if (m.messageId) seen.set(m.messageId, (seen.get(m.messageId) ?? 0) + 1);
      }
    }
    const missing = [...accepted.keys()].filter((id) => !seen.has(id));
    const doubled = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    assert.deepEqual(missing, [], 'every accepted message is stored');
    assert.deepEqual(doubled, [], 'no message is stored twice');
    assert.equal(stored, accepted.size, 'nothing but the accepted messages is stored');
    // And a message reads back whole.
    const sample = (await client.list(MAILBOXES[0]!, { limit: 1 })).messages[0]!;
    const full = await client.read(MAILBOXES[0]!, sample.id);
    assert.match(full.raw, /body of message \d+/);
    const retried = [...retries].map(([cause, n]) => `${cause}: ${n}`).join(', ');
    console.log(`accepted ${accepted.size} messages over moves ${moves.join(' ')} and a crash of ${crashed}; retries: ${retried}`);
  } finally {
    await t.stop();
  }
});
