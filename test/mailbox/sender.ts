// A sender for the mailbox server's tests and benchmark: real SMTP clients
// (nodemailer) that send to the server's network name, resolved through the
// cluster, and retry whatever was not accepted (connection refused or reset,
// a 4xx reply, a lost reply) as real SMTP clients do, until the server
// replies 250. Each message keeps its Message-ID across retries.
import nodemailer, { type Transporter } from 'nodemailer';
import type { ClusterApi } from '../../src/api/types.ts';
import { resolveNetworkName } from '../../src/mailbox/client.ts';

export interface SenderOptions {
  readonly api: ClusterApi;
  readonly networkName: string;
  readonly smtpPort: number;
  /** Parallel SMTP connections. */
  readonly connections: number;
  readonly mailboxes: readonly string[];
  /** Pause before a retry. */
  readonly retryDelayMs?: number;
}

export interface SenderStats {
  /** Message-ID -> time of its 250. */
  readonly accepted: Map<string, number>;
  /** Retries by cause. */
  readonly retries: Map<string, number>;
  /** 5xx replies: the server refused for good (a test failure). */
  readonly permanentFailures: string[];
}

function causeOf(e: unknown): string {
  const err = e as { responseCode?: number; code?: string; message?: string };
  if (typeof err.responseCode === 'number') return `reply ${err.responseCode}`;
  return err.code ?? err.message ?? String(e);
}

export class Sender {
  readonly stats: SenderStats = { accepted: new Map(), retries: new Map(), permanentFailures: [] };
  private next = 0;
  private stopAt = Number.POSITIVE_INFINITY;
  private resolved: { address: string; transports: Transporter[] } | undefined;

  constructor(private readonly options: SenderOptions) {}

  /** Sends messages until at least `count` were accepted and keepGoing() says stop; resolves when every worker is done. */
  async run(count: number, keepGoing: () => boolean): Promise<void> {
    const workers = Array.from({ length: this.options.connections }, (_, w) => this.worker(w, count, keepGoing));
    await Promise.all(workers);
    for (const t of this.resolved?.transports ?? []) t.close();
  }

  /** Sends exactly the messages numbered below n (no new ones after). */
  limitTo(n: number): void {
    this.stopAt = n;
  }

  messageId(i: number): string {
    return `<msg-${i}@sender.test>`;
  }

  private async transport(worker: number): Promise<Transporter> {
    if (!this.resolved) {
      const r = await resolveNetworkName(this.options.api, this.options.networkName);
      this.resolved = {
        address: r.address,
        transports: Array.from({ length: this.options.connections }, () =>
          nodemailer.createTransport({ host: r.address, port: this.options.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 1, connectionTimeout: 5_000, greetingTimeout: 5_000, socketTimeout: 10_000 }),
        ),
      };
    }
    return this.resolved.transports[worker]!;
  }

  /** Forget the resolved address and connections: the next attempt resolves the name again. */
  private reset(): void {
    for (const t of this.resolved?.transports ?? []) t.close();
    this.resolved = undefined;
  }

  private async worker(w: number, count: number, keepGoing: () => boolean): Promise<void> {
    const { retryDelayMs = 100 } = this.options;
    for (;;) {
      if (this.next >= this.stopAt || (this.next >= count && !keepGoing())) return;
      const i = this.next++;
      const messageId = this.messageId(i);
      const to = `${this.options.mailboxes[i % this.options.mailboxes.length]}@${this.options.networkName}`;
      for (;;) {
        try {
          const transport = await this.transport(w);
          const info = (await transport.sendMail({ from: `sender@${this.options.networkName}`, to, subject: `message ${i}`, text: `body of message ${i}\n`, messageId })) as { response: string };
          if (!info.response.startsWith('250')) throw Object.assign(new Error(info.response), { responseCode: Number(info.response.slice(0, 3)) });
          this.stats.accepted.set(messageId, Date.now());
          break;
        } catch (e) {
          const cause = causeOf(e);
          const code = (e as { responseCode?: number }).responseCode;
          if (typeof code === 'number' && code >= 500) {
            this.stats.permanentFailures.push(`${messageId}: ${(e as Error).message}`);
            break;
          }
          this.stats.retries.set(cause, (this.stats.retries.get(cause) ?? 0) + 1);
          if (typeof code !== 'number') this.reset();
          await new Promise((r) => setTimeout(r, retryDelayMs));
        }
      }
    }
  }
}
