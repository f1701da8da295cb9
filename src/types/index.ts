// Resource types: the interface, the registry and the built-in types.
import { dummyType } from './dummy.ts';
import { genericApplicationType } from './generic-application.ts';
import { ResourceTypeRegistry } from './resource-type.ts';

export * from './resource-type.ts';
export * from './dummy.ts';
export * from './generic-application.ts';

/** A registry holding the built-in types (Dummy, Generic Application). */
export function builtinResourceTypes(): ResourceTypeRegistry {
  return new ResourceTypeRegistry([dummyType, genericApplicationType]);
}
