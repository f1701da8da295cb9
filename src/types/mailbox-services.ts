// The mailbox server's service resources, bound on their group's IP address
// on the node that owns the group:
//
//   Information Store  the SMTP listener (src/mailbox/smtp.ts): accepts mail
//                      for the mailboxes of the group's databases
//   System Attendant   the mailbox access API (src/mailbox/http-api.ts): list,
//                      read and delete messages, server status
//
// Both find their address, domain and databases through the group: the IP
// Address online on this node, the Network Name's Name, and the Mailbox
// Database resources (mounted ones from this node's mailbox runtime).
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import { MailboxHttpServer, type MailboxAccessRouter } from '../mailbox/http-api.ts';
import type { MailboxNodeRuntime } from '../mailbox/runtime.ts';
import { SmtpListener } from '../mailbox/smtp.ts';
import { ipAddressDescriptor } from './ip-address.ts';
import {
  groupResourcesOfType,
  INFORMATION_STORE_TYPE_NAME,
  IP_ADDRESS_TYPE_NAME,
  MAILBOX_DATABASE_TYPE_NAME,
  NETWORK_NAME_TYPE_NAME,
  nodeOf,
  numberParam,
  SYSTEM_ATTENDANT_TYPE_NAME,
  throwIfAborted,
} from './mailbox-common.ts';
import { mailboxDatabaseDescriptor } from './mailbox-database.ts';
import { networkNameDescriptor } from './network-name.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition, type ResourceTypeServices } from './resource-type.ts';

export const DEFAULT_SMTP_PORT = 2525;
export const DEFAULT_HTTP_PORT = 8025;

export const informationStoreDescriptor: ResourceTypeDescriptor = {
  name: INFORMATION_STORE_TYPE_NAME,
  description: "The mailbox server's store process: an SMTP listener on the group's IP address.",
  privateProperties: [{ name: 'SmtpPort', kind: 'dword', default: DEFAULT_SMTP_PORT, min: 1, max: 65_535, description: 'TCP port of the SMTP listener.' }],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

export const systemAttendantDescriptor: ResourceTypeDescriptor = {
  name: SYSTEM_ATTENDANT_TYPE_NAME,
  description: "The mailbox server's attendant process: the mailbox access HTTP API on the group's IP address.",
  privateProperties: [{ name: 'HttpPort', kind: 'dword', default: DEFAULT_HTTP_PORT, min: 1, max: 65_535, description: 'TCP port of the mailbox access API.' }],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

/** Routes mailboxes to the databases of the resource's group. */
export function groupMailRouter(services: ResourceTypeServices, runtime: MailboxNodeRuntime, ctx: EntryPointContext): MailboxAccessRouter {
  const databases = () => groupResourcesOfType(services, ctx, MAILBOX_DATABASE_TYPE_NAME, mailboxDatabaseDescriptor.privateProperties);
  const mailboxesOf = (p: Readonly<Record<string, unknown>>): string[] => (Array.isArray(p['Mailboxes']) ? (p['Mailboxes'] as string[]).map((m) => m.toLowerCase()) : []);
  return {
    domains: () =>
      groupResourcesOfType(services, ctx, NETWORK_NAME_TYPE_NAME, networkNameDescriptor.privateProperties)
        .map((n) => n.parameters['Name'])
        .filter((n): n is string => typeof n === 'string' && n !== ''),
    route: (mailbox) => {
      const all = databases();
      const db = all.find((d) => mailboxesOf(d.parameters).includes(mailbox)) ?? all.find((d) => mailboxesOf(d.parameters).length === 0);
      if (!db) return undefined;
      const mounted = runtime.databases.get(db.name);
      return { database: db.name, ...(mounted ? { mounted } : {}) };
    },
    databases: () =>
      databases().map((d) => {
        const mounted = runtime.databases.get(d.name);
        return { name: d.name, ...(mounted ? { mounted } : {}) };
      }),
  };
}

/** The address of the group's IP Address online on this node. */
export function groupAddress(services: ResourceTypeServices, runtime: MailboxNodeRuntime, ctx: EntryPointContext, what: string): string {
  const ips = groupResourcesOfType(services, ctx, IP_ADDRESS_TYPE_NAME, ipAddressDescriptor.privateProperties);
  const address = ips.map((ip) => runtime.addresses.get(ip.name)).find((a) => a !== undefined);
  if (!address) throw new ClusterError('ERROR_DEPENDENCY_NOT_FOUND', `${what}: no IP Address of its group is online on this node`);
  return address;
}

interface Listener {
  close(): Promise<void>;
  destroy(): void;
}

/** Online/offline/terminate of a resource that is one listener. */
abstract class ListenerType<L extends Listener> implements ResourceType {
  abstract readonly descriptor: ResourceTypeDescriptor;
  private readonly listeners = new Map<string, L>();

  constructor(
    protected readonly services: ResourceTypeServices,
    protected readonly runtime: MailboxNodeRuntime,
  ) {}

  protected abstract start(ctx: EntryPointContext): Promise<L>;

  async open(_ctx: EntryPointContext): Promise<void> {}
  async close(ctx: EntryPointContext): Promise<void> {
    this.drop(ctx.resource);
  }
  async online(ctx: EntryPointContext): Promise<void> {
    if (this.listeners.has(ctx.resource)) return;
    const listener = await this.start(ctx);
    if (ctx.signal.aborted) {
      listener.destroy();
      throwIfAborted(ctx, `${this.descriptor.name} <${ctx.resource}>: online`);
    }
    this.listeners.set(ctx.resource, listener);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    const l = this.listeners.get(ctx.resource);
    this.listeners.delete(ctx.resource);
    if (l) await l.close();
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    this.drop(ctx.resource);
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.listeners.has(ctx.resource);
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.listeners.has(ctx.resource);
  }
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    return unsupportedControl(this.descriptor.name, ctx.resource, request);
  }
  private drop(resource: string): void {
    this.listeners.get(resource)?.destroy();
    this.listeners.delete(resource);
  }
}

export class InformationStoreType extends ListenerType<SmtpListener> {
  readonly descriptor = informationStoreDescriptor;
  protected async start(ctx: EntryPointContext): Promise<SmtpListener> {
    const what = `${INFORMATION_STORE_TYPE_NAME} <${ctx.resource}>: online`;
    const address = groupAddress(this.services, this.runtime, ctx, what);
    const router = groupMailRouter(this.services, this.runtime, ctx);
    const port = numberParam(ctx, 'SmtpPort');
    const listener = await SmtpListener.start({ address, port, serverName: router.domains()[0] ?? ctx.resource, router, limits: this.runtime.limits, log: (m) => ctx.log(m) });
    ctx.log(`SMTP listening on ${address}:${port}`);
    return listener;
  }
}

export class SystemAttendantType extends ListenerType<MailboxHttpServer> {
  readonly descriptor = systemAttendantDescriptor;
  protected async start(ctx: EntryPointContext): Promise<MailboxHttpServer> {
    const what = `${SYSTEM_ATTENDANT_TYPE_NAME} <${ctx.resource}>: online`;
    const address = groupAddress(this.services, this.runtime, ctx, what);
    const router = groupMailRouter(this.services, this.runtime, ctx);
    const port = numberParam(ctx, 'HttpPort');
    const server = await MailboxHttpServer.start({ address, port, serverName: router.domains()[0] ?? ctx.resource, node: nodeOf(this.services, ctx), router, limits: this.runtime.limits });
    ctx.log(`mailbox access API listening on http://${address}:${port}`);
    return server;
  }
}

export function informationStoreType(runtime: MailboxNodeRuntime): ResourceTypeDefinition {
  return { descriptor: informationStoreDescriptor, create: (services) => new InformationStoreType(services, runtime) };
}

export function systemAttendantType(runtime: MailboxNodeRuntime): ResourceTypeDefinition {
  return { descriptor: systemAttendantDescriptor, create: (services) => new SystemAttendantType(services, runtime) };
}
