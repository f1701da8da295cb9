// The Network Name resource type: a name clients use instead of an address.
// It resolves, through the cluster, to the address of its group's IP Address
// on the node that owns the group (see resolveNetworkName in
// src/mailbox/client.ts); online needs that address online here.
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { MailboxNodeRuntime } from '../mailbox/runtime.ts';
import { ipAddressDescriptor } from './ip-address.ts';
import { groupResourcesOfType, IP_ADDRESS_TYPE_NAME, NETWORK_NAME_TYPE_NAME, stringParam } from './mailbox-common.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition, type ResourceTypeServices } from './resource-type.ts';

export const networkNameDescriptor: ResourceTypeDescriptor = {
  name: NETWORK_NAME_TYPE_NAME,
  description: "A name that resolves to the address of the group's IP Address on the node owning the group.",
  privateProperties: [{ name: 'Name', kind: 'string', default: '', description: 'The host name clients use (letters, digits, hyphens).' }],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

const HOST_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

export function checkHostName(resource: string, name: string): string {
  if (!HOST_LABEL.test(name)) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${NETWORK_NAME_TYPE_NAME} <${resource}>: Name ${JSON.stringify(name)} is not a host name (1-63 letters, digits or hyphens)`);
  }
  return name;
}

export class NetworkNameType implements ResourceType {
  readonly descriptor = networkNameDescriptor;
  private readonly online_ = new Set<string>();

  constructor(
    private readonly services: ResourceTypeServices,
    private readonly runtime: MailboxNodeRuntime,
  ) {}

  async open(ctx: EntryPointContext): Promise<void> {
    checkHostName(ctx.resource, stringParam(ctx, 'Name'));
  }
  async close(ctx: EntryPointContext): Promise<void> {
    this.online_.delete(ctx.resource);
  }
  async online(ctx: EntryPointContext): Promise<void> {
    const name = checkHostName(ctx.resource, stringParam(ctx, 'Name'));
    const ips = groupResourcesOfType(this.services, ctx, IP_ADDRESS_TYPE_NAME, ipAddressDescriptor.privateProperties);
    const address = ips.map((ip) => this.runtime.addresses.get(ip.name)).find((a) => a !== undefined);
    if (!address) {
      throw new ClusterError('ERROR_DEPENDENCY_NOT_FOUND', `${NETWORK_NAME_TYPE_NAME} <${ctx.resource}>: no IP Address of its group is online on this node (${ips.map((i) => i.name).join(', ') || 'none configured'})`);
    }
    this.online_.add(ctx.resource);
    ctx.log(`name ${name} registered for ${address}`);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    this.online_.delete(ctx.resource);
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    this.online_.delete(ctx.resource);
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.online_.has(ctx.resource);
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.online_.has(ctx.resource);
  }
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    return unsupportedControl(NETWORK_NAME_TYPE_NAME, ctx.resource, request);
  }
}

export function networkNameType(runtime: MailboxNodeRuntime): ResourceTypeDefinition {
  return { descriptor: networkNameDescriptor, create: (services) => new NetworkNameType(services, runtime) };
}
