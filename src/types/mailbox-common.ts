// What the mailbox server's resource types share: finding the other resources
// of their group through the cluster, and reading typed private properties.
import { ClusterError } from '../model/errors.ts';
import { defaultsOf, type PropertyDescriptor, type PropertyValue } from '../model/properties.ts';
import type { ClusterResourceInfo, EntryPointContext, ResourceTypeServices } from './resource-type.ts';

export const IP_ADDRESS_TYPE_NAME = 'IP Address';
export const NETWORK_NAME_TYPE_NAME = 'Network Name';
export const PHYSICAL_DISK_TYPE_NAME = 'Physical Disk';
export const MAILBOX_DATABASE_TYPE_NAME = 'Mailbox Database';
export const INFORMATION_STORE_TYPE_NAME = 'Information Store';
export const SYSTEM_ATTENDANT_TYPE_NAME = 'System Attendant';

export function stringParam(ctx: { parameters: Readonly<Record<string, PropertyValue>> }, name: string): string {
  const v = ctx.parameters[name];
  return typeof v === 'string' ? v : '';
}

export function numberParam(ctx: { parameters: Readonly<Record<string, PropertyValue>> }, name: string): number {
  const v = ctx.parameters[name];
  return typeof v === 'number' ? v : 0;
}

export function listParam(ctx: { parameters: Readonly<Record<string, PropertyValue>> }, name: string): string[] {
  const v = ctx.parameters[name];
  return Array.isArray(v) ? v : [];
}

/** The resources of a given type in the resource's group, with their types' defaults filled in. */
export function groupResourcesOfType(
  services: ResourceTypeServices,
  ctx: EntryPointContext,
  typeName: string,
  schema: readonly PropertyDescriptor[],
): ClusterResourceInfo[] {
  if (!services.topology) {
    throw new ClusterError('ERROR_NOT_SUPPORTED', `${ctx.resource}: this host does not tell resource types about their group; ${typeName} resources cannot be found`);
  }
  return services.topology
    .groupResources(ctx.resource)
    .filter((r) => r.type === typeName)
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((r) => ({ ...r, parameters: { ...defaultsOf(schema), ...r.parameters } }));
}

/** The group of the resource, as the cluster configuration has it. */
export function groupOf(services: ResourceTypeServices, ctx: EntryPointContext): string {
  const self = services.topology?.groupResources(ctx.resource).find((r) => r.name === ctx.resource);
  if (!self) throw new ClusterError('ERROR_RESOURCE_NOT_FOUND', `${ctx.resource}: its group is not known to this node`);
  return self.group;
}

export function nodeOf(services: ResourceTypeServices, ctx: EntryPointContext): string {
  if (!services.node) throw new ClusterError('ERROR_NOT_SUPPORTED', `${ctx.resource}: this host does not say which node it runs on`);
  return services.node;
}

/** Throws ERROR_OPERATION_ABORTED if the call's deadline passed (or the host stopped) while it waited. */
export function throwIfAborted(ctx: EntryPointContext, what: string): void {
  if (ctx.signal.aborted) throw new ClusterError('ERROR_OPERATION_ABORTED', `${what}: aborted at the call's deadline or by the node stopping`);
}
