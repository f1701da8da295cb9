// What a custom resource type needs (docs/resource-types.md): the interface
// its definition implements, WSFC's errors, and the helpers the built-in
// types use. A module in a --types-dir directory imports this file.
export { ClusterError, errors, type ErrorName } from '../model/errors.ts';
export type { ResourceTypeDescriptor } from '../model/objects.ts';
export type { PropertyDescriptor, PropertyValue } from '../model/properties.ts';
export {
  unsupportedControl,
  type ControlRequest,
  type EntryPointContext,
  type ResourceType,
  type ResourceTypeDefinition,
  type ResourceTypeServices,
} from './resource-type.ts';
export { delay, untilAborted } from './waiting.ts';
export { findExecutableOnPath } from './executables.ts';
export { signalGroup, isGroupRunning } from './process-group.ts';
