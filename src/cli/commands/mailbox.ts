// failover mailbox ...: the mailbox console on the command line (create,
// inspect, move, stop and start clustered mailbox servers; try them out with
// send and read). Everything goes through the cluster API, like the other
// commands; copy status is read from the database copies' directories.
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { ClusterError } from '../../model/errors.ts';
import type { MailboxConsole, ServerMode, ServerStatus } from '../../mailbox/console.ts';
import { act, defaultDeps, table, withClusterOptions, type CliDeps, type Ctx } from '../kit.ts';

function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

function port(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new ClusterError('ERROR_INVALID_PARAMETER', `${what} ${JSON.stringify(text)} is not a port number (1-65535)`);
  return n;
}

function count(text: string | undefined, what: string): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${what} ${JSON.stringify(text)} is not a whole number`);
  return n;
}

async function consoleOf(ctx: Ctx): Promise<MailboxConsole> {
  // The mailbox console (and the mail library behind it) loads when a mailbox command runs.
  const { MailboxConsole } = await import('../../mailbox/console.ts');
  return new MailboxConsole(await ctx.api(), { clock: ctx.deps.clock });
}

function printStatus(ctx: Ctx, s: ServerStatus): void {
  ctx.say(`Mailbox server ${s.server} (${s.mode.toUpperCase()}): ${s.state}, on ${s.owner ?? '(no node)'}${s.moving ? ', moving' : ''}`);
  ctx.say(`  network name ${s.networkName} -> ${s.address}; SMTP port ${s.smtpPort}, mailbox API http://${s.address}:${s.httpPort}; nodes ${s.nodes.join(', ')}`);
  ctx.say('');
  ctx.say(table(['RESOURCE', 'TYPE', 'STATE'], s.resources.map((r) => [r.name, r.type, r.state])));
  for (const db of s.databases) {
    ctx.say('');
    ctx.say(`${db.name}: ${db.state}; mailboxes ${db.mailboxes.length > 0 ? db.mailboxes.join(', ') : '(all others)'}${db.lastError ? `; last error ${db.lastError.name}(${db.lastError.code}): ${db.lastError.message}` : ''}`);
    if (db.copies.length > 0) {
      ctx.say(
        table(
          ['COPY', 'STATUS', 'COPY QUEUE', 'REPLAY QUEUE', 'LAST INSPECTED LOG'],
          db.copies.map((c) => [c.node, c.status, String(c.copyQueueLength), String(c.replayQueueLength), c.lastInspectedLog ? `${c.lastInspectedLog} (LSN ${c.lastInspectedLsn})` : '-']),
        ),
      );
    }
  }
}

export function registerMailbox(program: Command, deps: CliDeps = defaultDeps()): void {
  const mailbox = program.command('mailbox').description('Clustered mailbox servers: create, status, move, stop, start; send and read mail to try them.');

  withClusterOptions(
    mailbox
      .command('create-server')
      .argument('<name>')
      .requiredOption('--mode <mode>', 'scc (single copy on a shared disk) or ccr (continuous replication)')
      .requiredOption('--nodes <nodes>', 'nodes that may own it, in order of preference, e.g. node1,node2')
      .option('--storage <dir>', 'where its disk (scc) or database copies (ccr) live (default: <data-dir>/mailbox)')
      .option('--address <ip>', 'its loopback address, 127.x.y.z (default: the first free 127.77.x.y)')
      .option('--network-name <name>', 'the name clients use (default: the server name in lower case)')
      .option('--smtp-port <port>', 'SMTP port')
      .option('--http-port <port>', 'mailbox access API port')
      .option('--mailboxes <list>', 'mailboxes of its first database (default: all)')
      .description('Create a mailbox server: its group, resources and dependencies, and one database; bring it online.')
      .addHelpText('after', '\nExample:\n  failover mailbox create-server CMS01 --mode ccr --nodes node1,node2'),
  ).action(
    act(deps, async (ctx, name: string) => {
      const o = ctx.options as unknown as { mode: string; nodes: string; storage?: string; address?: string; networkName?: string; smtpPort?: string; httpPort?: string; mailboxes?: string; dataDir?: string };
      const mode = o.mode.toLowerCase();
      if (mode !== 'scc' && mode !== 'ccr') throw new ClusterError('ERROR_INVALID_PARAMETER', `--mode ${JSON.stringify(o.mode)}: give scc or ccr`);
      const smtpPort = port(o.smtpPort, '--smtp-port');
      const httpPort = port(o.httpPort, '--http-port');
      const s = await (await consoleOf(ctx)).createServer(name, {
        mode: mode as ServerMode,
        nodes: list(o.nodes),
        storageRoot: resolve(ctx.deps.cwd(), o.storage ?? join(o.dataDir ?? '.failover', 'mailbox')),
        ...(o.address ? { address: o.address } : {}),
        ...(o.networkName ? { networkName: o.networkName } : {}),
        ...(smtpPort ? { smtpPort } : {}),
        ...(httpPort ? { httpPort } : {}),
        ...(o.mailboxes ? { mailboxes: list(o.mailboxes) } : {}),
      });
      if (ctx.json) return ctx.emitJson(s);
      printStatus(ctx, s);
    }),
  );

  withClusterOptions(
    mailbox
      .command('create-database')
      .argument('<server>')
      .argument('<database>')
      .option('--mailboxes <list>', 'mailboxes it holds (default: all that no other database names)')
      .description('Add a mailbox database to a server and mount it.')
      .addHelpText('after', '\nExample:\n  failover mailbox create-database CMS01 Sales --mailboxes alice,bob'),
  ).action(
    act(deps, async (ctx, server: string, database: string) => {
      const o = ctx.options as unknown as { mailboxes?: string };
      const db = await (await consoleOf(ctx)).createDatabase(server, database, o.mailboxes ? { mailboxes: list(o.mailboxes) } : {});
      if (ctx.json) return ctx.emitJson(db);
      ctx.say(`${db.name}: ${db.state}`);
    }),
  );

  withClusterOptions(mailbox.command('status').argument('[server]').description('Show servers, their databases and the databases\' copies.').addHelpText('after', '\nExample:\n  failover mailbox status CMS01')).action(
    act(deps, async (ctx, server: string | undefined) => {
      const c = await consoleOf(ctx);
      const servers = server ? [server] : await c.listServers();
      const all = [];
      for (const s of servers) all.push(await c.status(s));
      if (ctx.json) return ctx.emitJson(server ? all[0] : all);
      if (all.length === 0) return ctx.say('No mailbox servers.');
      all.forEach((s, i) => {
        if (i > 0) ctx.say('');
        printStatus(ctx, s);
      });
    }),
  );

  withClusterOptions(
    mailbox
      .command('move')
      .argument('<server>')
      .requiredOption('--to <node>', 'the target node')
      .option('--comment <text>', 'why (kept with the server)', '')
      .description('Move a server to a node: checks the target, then PersistentState 0 on the databases, move, online the databases, PersistentState 1.')
      .addHelpText('after', '\nExample:\n  failover mailbox move CMS01 --to node2 --comment "patching node1"'),
  ).action(
    act(deps, async (ctx, server: string) => {
      const o = ctx.options as unknown as { to: string; comment: string };
      ctx.progress(`Moving ${server} to ${o.to} ...`);
      const r = await (await consoleOf(ctx)).move(server, { to: o.to, comment: o.comment });
      if (!r.ok) ctx.fail(1);
      if (ctx.json) return ctx.emitJson(r);
      ctx.say(`${r.ok ? 'Moved' : 'Move FAILED:'} ${r.server} ${r.from} -> ${r.to} in ${r.tookMs} ms (group move: ${r.move.ok ? 'completed' : `failed: ${r.move.error?.message ?? 'unknown'}`})`);
      for (const d of r.databases) ctx.say(`  ${d.name}: ${d.ok ? 'mounted' : `not mounted: ${d.error?.message ?? 'unknown'}`}`);
    }),
  );

  for (const [verb, text] of [
    ['stop', 'Take a server offline; it stays offline across node restarts until start.'],
    ['start', 'Bring a stopped server online.'],
  ] as const) {
    withClusterOptions(mailbox.command(verb).argument('<server>').description(text).addHelpText('after', `\nExample:\n  failover mailbox ${verb} CMS01`)).action(
      act(deps, async (ctx, server: string) => {
        const c = await consoleOf(ctx);
        const op = verb === 'stop' ? await c.stop(server) : await c.start(server);
        if (!op.ok) ctx.fail(1);
        if (ctx.json) return ctx.emitJson(op);
        ctx.say(op.ok ? `${server} ${verb === 'stop' ? 'stopped' : 'started'}.` : `${verb} of ${server} failed: ${op.error?.message ?? 'unknown error'}`);
      }),
    );
  }

  withClusterOptions(
    mailbox
      .command('reseed')
      .argument('<server>')
      .argument('<database>')
      .requiredOption('--node <node>', 'the node whose copy is rebuilt')
      .description("Rebuild a node's copy of a replicated database from the active copy.")
      .addHelpText('after', '\nExample:\n  failover mailbox reseed CMS01 "Mailbox Database" --node node2'),
  ).action(
    act(deps, async (ctx, server: string, database: string) => {
      const o = ctx.options as unknown as { node: string };
      const r = await (await consoleOf(ctx)).reseed(server, database, o.node);
      if (ctx.json) return ctx.emitJson(r);
      ctx.say(r.done ? `The copy on ${o.node} was reseeded.` : `Reseed of the copy on ${o.node} requested; it is done when the database mounts.`);
    }),
  );

  withClusterOptions(
    mailbox
      .command('send')
      .argument('<server>')
      .requiredOption('--to <mailboxes>', 'recipients: mailbox names or addresses, comma separated')
      .option('--from <address>', 'sender', 'administrator')
      .option('--subject <text>', 'subject', 'Test message')
      .option('--text <text>', 'body', 'Sent with failover mailbox send.')
      .description("Send a message to a server over SMTP, at its network name's address.")
      .addHelpText('after', '\nExample:\n  failover mailbox send CMS01 --to alice --subject hello'),
  ).action(
    act(deps, async (ctx, server: string) => {
      const o = ctx.options as unknown as { to: string; from: string; subject: string; text: string };
      const r = await (await consoleOf(ctx)).send(server, { from: o.from, to: list(o.to), subject: o.subject, text: o.text });
      if (ctx.json) return ctx.emitJson(r);
      ctx.say(`${r.response} (${r.messageId})`);
    }),
  );

  withClusterOptions(
    mailbox
      .command('read')
      .argument('<server>')
      .argument('<mailbox>')
      .option('--id <id>', 'show this message whole')
      .option('--offset <n>', 'first message of the page')
      .option('--limit <n>', 'messages per page')
      .description("List a mailbox's messages (a page at a time), or show one.")
      .addHelpText('after', '\nExamples:\n  failover mailbox read CMS01 alice\n  failover mailbox read CMS01 alice --id m12'),
  ).action(
    act(deps, async (ctx, server: string, box: string) => {
      const o = ctx.options as unknown as { id?: string; offset?: string; limit?: string };
      const c = await consoleOf(ctx);
      if (o.id) {
        const m = await c.readMessage(server, box, o.id);
        if (ctx.json) return ctx.emitJson(m);
        ctx.say(m.raw);
        return;
      }
      const offset = count(o.offset, '--offset');
      const limit = count(o.limit, '--limit');
      const page = await c.read(server, box, { ...(offset !== undefined ? { offset } : {}), ...(limit !== undefined ? { limit } : {}) });
      if (ctx.json) return ctx.emitJson(page);
      ctx.say(`${page.mailbox}: ${page.total} message(s)${page.next !== undefined ? `; next page: --offset ${page.next}` : ''}`);
      if (page.messages.length > 0) {
        ctx.say(table(['ID', 'RECEIVED', 'FROM', 'SUBJECT'], page.messages.map((m) => [m.id, new Date(m.receivedAt).toISOString(), m.from ?? '', m.subject ?? ''])));
      }
    }),
  );
}
