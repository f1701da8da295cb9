// Builds entry point contexts for resource type tests.
import { defaultsOf, type PropertyValue } from '../../src/model/properties.ts';
import type { EntryPointContext, ResourceType } from '../../src/types/resource-type.ts';

export function contextFor(
  type: ResourceType,
  resource: string,
  parameters: Record<string, PropertyValue> = {},
  signal: AbortSignal = new AbortController().signal,
  lines: string[] = [],
): EntryPointContext {
  return {
    resource,
    parameters: { ...defaultsOf(type.descriptor.privateProperties), ...parameters },
    signal,
    deadlineMs: 60_000,
    epoch: 1,
    log: (m) => lines.push(m),
  };
}
