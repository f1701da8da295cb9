// The IP Address resource type: a loopback address (127.x.y.z) that the
// group's services bind on the node that owns the group, and only there. On
// Linux every 127/8 address reaches the loopback interface, so no privileges
// are needed; online checks that the address can be bound.
import { createServer } from 'node:net';
import { isIPv4 } from 'node:net';
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { MailboxNodeRuntime } from '../mailbox/runtime.ts';
import { IP_ADDRESS_TYPE_NAME, stringParam, throwIfAborted } from './mailbox-common.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition } from './resource-type.ts';

export const ipAddressDescriptor: ResourceTypeDescriptor = {
  name: IP_ADDRESS_TYPE_NAME,
  description: "A loopback address (127.x.y.z) the group's services bind on the owning node.",
  privateProperties: [{ name: 'Address', kind: 'string', default: '', description: 'The IPv4 loopback address, e.g. 127.0.10.1.' }],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

/** The address, or ERROR_INVALID_PARAMETER naming the resource and the value. */
export function loopbackAddress(resource: string, address: string): string {
  if (!isIPv4(address) || !address.startsWith('127.')) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${IP_ADDRESS_TYPE_NAME} <${resource}>: Address ${JSON.stringify(address)} is not an IPv4 loopback address (127.x.y.z)`);
  }
  return address;
}

/** Resolves once a listener could be bound to the address (port chosen by the system) and closed again. */
export function checkBindable(resource: string, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new ClusterError('ERROR_RESOURCE_FAILED', `${IP_ADDRESS_TYPE_NAME} <${resource}>: cannot bind ${address}: ${e.code ?? e.message}`)),
    );
    server.listen(0, address, () => server.close(() => resolve()));
  });
}

export class IpAddressType implements ResourceType {
  readonly descriptor = ipAddressDescriptor;
  constructor(private readonly runtime: MailboxNodeRuntime) {}

  async open(ctx: EntryPointContext): Promise<void> {
    loopbackAddress(ctx.resource, stringParam(ctx, 'Address'));
  }
  async close(ctx: EntryPointContext): Promise<void> {
    this.runtime.addresses.delete(ctx.resource);
  }
  async online(ctx: EntryPointContext): Promise<void> {
    const address = loopbackAddress(ctx.resource, stringParam(ctx, 'Address'));
    await checkBindable(ctx.resource, address);
    throwIfAborted(ctx, `${IP_ADDRESS_TYPE_NAME} <${ctx.resource}>: online`);
    this.runtime.addresses.set(ctx.resource, address);
    ctx.log(`address ${address} online`);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    this.runtime.addresses.delete(ctx.resource);
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    this.runtime.addresses.delete(ctx.resource);
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.runtime.addresses.has(ctx.resource);
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.runtime.addresses.has(ctx.resource);
  }
  /** Codes: "GetAddress" -> { address } (undefined while offline here). */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code === 'GetAddress') return { address: this.runtime.addresses.get(ctx.resource) };
    return unsupportedControl(IP_ADDRESS_TYPE_NAME, ctx.resource, request);
  }
}

export function ipAddressType(runtime: MailboxNodeRuntime): ResourceTypeDefinition {
  return { descriptor: ipAddressDescriptor, create: () => new IpAddressType(runtime) };
}
