// Clients of the clustered mailbox server: resolving its network name through
// the cluster, sending mail over SMTP (nodemailer) and reading mailboxes over
// the mailbox access API.
import nodemailer from 'nodemailer';
import type { ClusterApi, ResourceView } from '../api/types.ts';
import { ClusterError, errors as errorNames } from '../model/errors.ts';
import {
  INFORMATION_STORE_TYPE_NAME,
  IP_ADDRESS_TYPE_NAME,
  NETWORK_NAME_TYPE_NAME,
  SYSTEM_ATTENDANT_TYPE_NAME,
} from '../types/mailbox-common.ts';
import { DEFAULT_HTTP_PORT, DEFAULT_SMTP_PORT } from '../types/mailbox-services.ts';
import type { MessageSummary } from './database.ts';

export interface ResolvedName {
  readonly name: string;
  readonly address: string;
  readonly group: string;
  readonly owner: string;
}

/**
 * Resolves a network name as cluster DNS would: the Network Name resource
 * whose Name it is, then the address of its group's IP Address — only while
 * that address is online on the node that owns the group. Fails with
 * DNS_ERROR_RCODE_NAME_ERROR (9003) for an unknown name and
 * ERROR_HOST_NODE_NOT_AVAILABLE (5005) while the address is not online
 * anywhere (the group is moving or failing over): clients retry.
 */
export async function resolveNetworkName(api: ClusterApi, name: string): Promise<ResolvedName> {
  const resources = await api.listResources();
  const nn = resources.find((r) => r.type === NETWORK_NAME_TYPE_NAME && String(r.parameters['Name'] ?? '').toLowerCase() === name.toLowerCase());
  if (!nn) throw new ClusterError('DNS_ERROR_RCODE_NAME_ERROR', `network name ${JSON.stringify(name)} is not known to the cluster`);
  const ip = resources.find((r) => r.group === nn.group && r.type === IP_ADDRESS_TYPE_NAME && r.state === 'Online');
  if (!ip || !ip.owner) throw new ClusterError('ERROR_HOST_NODE_NOT_AVAILABLE', `network name ${JSON.stringify(name)}: the IP Address of group ${nn.group} is not online on any node`);
  return { name, address: String(ip.parameters['Address']), group: nn.group, owner: ip.owner };
}

export interface ServerEndpoints {
  readonly server: string;
  /** The mail domain: the network name. */
  readonly domain: string;
  readonly smtpPort: number;
  readonly httpPort: number;
}

function portOf(r: ResourceView | undefined, name: string, fallback: number): number {
  const v = r?.parameters[name];
  return typeof v === 'number' ? v : fallback;
}

/** The server's network name and service ports, from its group's configuration. */
export async function serverEndpoints(api: ClusterApi, server: string): Promise<ServerEndpoints> {
  const resources = await api.listResources({ group: server });
  const nn = resources.find((r) => r.type === NETWORK_NAME_TYPE_NAME);
  if (!nn) throw new ClusterError('ERROR_RESOURCE_NOT_FOUND', `group ${server} has no Network Name: it is not a mailbox server`);
  return {
    server,
    domain: String(nn.parameters['Name']),
    smtpPort: portOf(resources.find((r) => r.type === INFORMATION_STORE_TYPE_NAME), 'SmtpPort', DEFAULT_SMTP_PORT),
    httpPort: portOf(resources.find((r) => r.type === SYSTEM_ATTENDANT_TYPE_NAME), 'HttpPort', DEFAULT_HTTP_PORT),
  };
}

export interface OutgoingMail {
  readonly from: string;
  readonly to: string | readonly string[];
  readonly subject: string;
  readonly text: string;
  /** Set it to make retries of one message recognisable (the store de-duplicates by it). */
  readonly messageId?: string;
}

export interface SendOutcome {
  /** The server's final reply, e.g. "250 2.0.0 stored as m12". */
  readonly response: string;
  readonly messageId: string;
}

/** Sends one message over SMTP to an address and port (one connection, closed afterwards). */
export async function sendMail(host: string, port: number, mail: OutgoingMail, timeoutMs = 30_000): Promise<SendOutcome> {
  const transport = nodemailer.createTransport({ host, port, secure: false, ignoreTLS: true, connectionTimeout: timeoutMs, greetingTimeout: timeoutMs, socketTimeout: timeoutMs });
  try {
    const info = await transport.sendMail({
      from: mail.from,
      to: [...(typeof mail.to === 'string' ? [mail.to] : mail.to)],
      subject: mail.subject,
      text: mail.text,
      ...(mail.messageId ? { messageId: mail.messageId } : {}),
    });
    return { response: info.response, messageId: info.messageId };
  } finally {
    transport.close();
  }
}

export interface MessagePage {
  readonly mailbox: string;
  readonly total: number;
  readonly offset: number;
  readonly limit: number;
  readonly messages: MessageSummary[];
  readonly next?: number;
}

export interface StoredMessage extends MessageSummary {
  readonly raw: string;
}

/** The mailbox access API at one address. */
export class MailboxHttpClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {}

  private async request<T>(method: string, path: string): Promise<T | undefined> {
    const res = await fetch(`${this.baseUrl}${path}`, { method, signal: AbortSignal.timeout(this.timeoutMs) });
    if (res.status === 204) return undefined;
    const body = (await res.json()) as unknown;
    if (!res.ok) {
      const e = body as { name?: string; message?: string };
      const name = (e.name && e.name in errorNames ? e.name : 'ERROR_INTERNAL_ERROR') as keyof typeof errorNames;
      throw new ClusterError(name, `${method} ${path}: HTTP ${res.status}: ${e.message ?? 'no message'}`);
    }
    return body as T;
  }

  async status(): Promise<unknown> {
    return this.request('GET', '/status');
  }
  async mailboxes(): Promise<Array<{ mailbox: string; database: string; count: number }>> {
    return (await this.request('GET', '/mailboxes')) ?? [];
  }
  async list(mailbox: string, options: { offset?: number; limit?: number } = {}): Promise<MessagePage> {
    const q = new URLSearchParams();
    if (options.offset !== undefined) q.set('offset', String(options.offset));
    if (options.limit !== undefined) q.set('limit', String(options.limit));
    const qs = q.size > 0 ? `?${q}` : '';
    return (await this.request<MessagePage>('GET', `/mailboxes/${encodeURIComponent(mailbox)}/messages${qs}`))!;
  }
  /** Every message summary of a mailbox, page by page. */
  async listAll(mailbox: string, pageSize = 500): Promise<MessageSummary[]> {
    const out: MessageSummary[] = [];
    for (let offset: number | undefined = 0; offset !== undefined; ) {
      const page: MessagePage = await this.list(mailbox, { offset, limit: pageSize });
      out.push(...page.messages);
      offset = page.next;
    }
    return out;
  }
  async read(mailbox: string, id: string): Promise<StoredMessage> {
    return (await this.request<StoredMessage>('GET', `/mailboxes/${encodeURIComponent(mailbox)}/messages/${encodeURIComponent(id)}`))!;
  }
  async delete(mailbox: string, id: string): Promise<void> {
    await this.request('DELETE', `/mailboxes/${encodeURIComponent(mailbox)}/messages/${encodeURIComponent(id)}`);
  }
}

