// The SMTP listener of the Information Store (the smtp-server library): accepts
// mail for the server's mailboxes and acknowledges it (250) only once every
// recipient's database stored it durably (and, with continuous replication,
// its passive copies did). While a recipient's database is not mounted the
// listener answers 451 (try again later), as real servers do, so senders retry.
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { MailboxDatabase } from './database.ts';
import { normaliseMailbox } from './database.ts';
import type { MailboxLimits } from './limits.ts';
import { parseHeaders } from './message.ts';

/** Where a mailbox lives: its database's resource name and, if mounted here, the database. */
export interface MailboxRoute {
  readonly database: string;
  readonly mounted?: MailboxDatabase;
}

export interface MailRouter {
  /** Domains accepted (the server's network name). */
  domains(): string[];
  /** The route of a mailbox, or undefined if no database of the server holds it. */
  route(mailbox: string): MailboxRoute | undefined;
}

export interface SmtpListenerOptions {
  readonly address: string;
  readonly port: number;
  readonly serverName: string;
  readonly router: MailRouter;
  readonly limits: MailboxLimits;
  readonly log?: (message: string) => void;
}

interface SmtpReplyError extends Error {
  responseCode: number;
}

function reply(code: number, text: string): SmtpReplyError {
  return Object.assign(new Error(text), { responseCode: code });
}

function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  return at < 0 ? { local: address, domain: '' } : { local: address.slice(0, at), domain: address.slice(at + 1) };
}

export class SmtpListener {
  private constructor(
    private readonly server: SMTPServer,
    readonly address: string,
    readonly port: number,
  ) {}

  static start(options: SmtpListenerOptions): Promise<SmtpListener> {
    const { router, limits } = options;
    const resolveRecipient = (address: string): { mailbox: string; route: MailboxRoute } => {
      const { local, domain } = splitAddress(address);
      if (!router.domains().some((d) => d.toLowerCase() === domain.toLowerCase())) throw reply(550, `5.7.1 <${address}>: relaying denied; this server accepts mail for ${router.domains().join(', ')}`);
      const mailbox = normaliseMailbox(local);
      const route = router.route(mailbox);
      if (!route) throw reply(550, `5.1.1 <${address}>: no such mailbox`);
      if (!route.mounted?.mounted) throw reply(451, `4.3.2 <${address}>: database ${route.database} is not mounted; try again later`);
      return { mailbox, route };
    };
    const server = new SMTPServer({
      name: options.serverName,
      banner: `${options.serverName} failover mailbox server`,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      hideSTARTTLS: true,
      size: limits.messageBytesMax,
      logger: false,
      closeTimeout: limits.smtpCloseGraceMs,
      socketTimeout: limits.smtpSocketIdleTimeoutMs,
      onRcptTo(address, _session, callback) {
        try {
          resolveRecipient(address.address);
          callback();
        } catch (e) {
          callback(e as Error);
        }
      },
      onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('error', (e: Error) => callback(reply(451, `4.3.0 reading the message failed: ${e.message}`)));
        stream.on('end', () => {
          if (stream.sizeExceeded) return callback(reply(552, `5.3.4 message exceeds ${limits.messageBytesMax} bytes`));
          const raw = Buffer.concat(chunks);
          const headers = parseHeaders(raw);
          const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : undefined;
          const deliveries = session.envelope.rcptTo.map(async (rcpt) => {
            const { mailbox, route } = resolveRecipient(rcpt.address);
            return route.mounted!.deliver({
              mailbox,
              raw,
              ...(headers.messageId !== undefined ? { messageId: headers.messageId } : {}),
              ...(headers.from ?? from ? { from: headers.from ?? from } : {}),
              ...(headers.subject !== undefined ? { subject: headers.subject } : {}),
            });
          });
          Promise.all(deliveries).then(
            (results) => callback(null, `2.0.0 stored as ${results.map((r) => `${r.id}${r.duplicate ? ' (duplicate)' : ''}`).join(', ')}`),
            (e: unknown) => {
              if (typeof (e as SmtpReplyError).responseCode === 'number') return callback(e as Error);
              const text = isClusterError(e) ? e.message : e instanceof Error ? e.message : String(e);
              options.log?.(`delivery failed, answered 451: ${text}`);
              callback(reply(451, `4.3.0 not stored: ${text}`));
            },
          );
        });
      },
    });
    return new Promise((resolve, reject) => {
      const onError = (e: NodeJS.ErrnoException): void =>
        reject(new ClusterError('ERROR_RESOURCE_FAILED', `SMTP listener cannot listen on ${options.address}:${options.port}: ${e.code ?? e.message}`));
      server.once('error', onError);
      server.listen(options.port, options.address, () => {
        server.off('error', onError);
        server.on('error', (e: Error) => options.log?.(`SMTP: ${e.message}`));
        resolve(new SmtpListener(server, options.address, options.port));
      });
    });
  }

  /** Stops listening; connected clients get smtpCloseGraceMs to finish, then 421 and the connection closes. */
  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Stops at once: every connection is cut. */
  destroy(): void {
    this.server.server.close();
    for (const c of this.server.connections) c._socket.destroy();
  }
}
