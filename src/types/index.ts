// Resource types: the interface, the registry and the built-in types.
import { dummyType } from './dummy.ts';
import { genericApplicationType } from './generic-application.ts';
import { ResourceTypeRegistry, type ResourceTypeDefinition } from './resource-type.ts';
import { ipAddressType } from './ip-address.ts';
import { linuxIpAddressType } from './linux-ip-address.ts';
import { systemdUnitType } from './systemd-unit.ts';
import { networkNameType } from './network-name.ts';
import { physicalDiskType } from './physical-disk.ts';
import { mailboxDatabaseType } from './mailbox-database.ts';
import { informationStoreType, systemAttendantType } from './mailbox-services.ts';
import { MailboxNodeRuntime } from '../mailbox/runtime.ts';
import type { MailboxLimits } from '../mailbox/limits.ts';

export * from './resource-type.ts';
export * from './dummy.ts';
export * from './generic-application.ts';

/** The built-in types that need nothing of the node: each can run in a resource host process. */
export const builtinResourceTypeDefinitions: readonly ResourceTypeDefinition[] = [dummyType, genericApplicationType, linuxIpAddressType, systemdUnitType];

/** A registry holding the built-in types (Dummy, Generic Application, Linux IP Address, Systemd Unit). */
export function builtinResourceTypes(): ResourceTypeRegistry {
  return new ResourceTypeRegistry(builtinResourceTypeDefinitions);
}

/**
 * The clustered mailbox server's types (IP Address, Network Name, Physical
 * Disk, Mailbox Database, Information Store, System Attendant), sharing one
 * node's mailbox runtime: call once per node.
 */
export function mailboxResourceTypeDefinitions(limits: Partial<MailboxLimits> = {}): ResourceTypeDefinition[] {
  const runtime = new MailboxNodeRuntime(limits);
  return [ipAddressType(runtime), networkNameType(runtime), physicalDiskType(runtime), mailboxDatabaseType(runtime), informationStoreType(runtime), systemAttendantType(runtime)];
}

/** The built-in types plus the mailbox server's: a fresh registry (and mailbox runtime) per call, i.e. per node. */
export function mailboxResourceTypes(limits: Partial<MailboxLimits> = {}): ResourceTypeRegistry {
  return new ResourceTypeRegistry([...builtinResourceTypeDefinitions, ...mailboxResourceTypeDefinitions(limits)]);
}
