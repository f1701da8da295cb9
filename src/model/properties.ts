// Common properties of resources and groups, with WSFC's defaults and ranges,
// and the validation every writer of properties goes through.
import { clusterError, type ClusterErrorValue } from './errors.ts';
import { canonicalName } from './names.ts';

export type PropertyKind = 'dword' | 'qword' | 'string' | 'multiString' | 'binary';
export type PropertyValue = number | string | string[] | Uint8Array;

export interface PropertyDescriptor {
  readonly name: string;
  readonly kind: PropertyKind;
  readonly default?: PropertyValue;
  readonly min?: number;
  readonly max?: number;
  /** Allowed values, for enumerations such as RestartAction. */
  readonly values?: readonly number[];
  readonly description: string;
}

const DWORD_MAX = 0xffffffff;

export const resourceCommonProperties = [
  { name: 'PersistentState', kind: 'dword', default: 1, values: [0, 1], description: 'Whether the resource is brought online after a move, failover or restart (1) or stays offline (0).' },
  { name: 'RestartAction', kind: 'dword', default: 2, values: [0, 1, 2], description: '0: do not restart; 1: restart, never fail the group over; 2: restart, then fail the group over when the threshold is exceeded.' },
  { name: 'RestartThreshold', kind: 'dword', default: 3, min: 0, max: DWORD_MAX, description: 'Restarts allowed within RestartPeriod.' },
  { name: 'RestartPeriod', kind: 'dword', default: 900_000, min: 0, max: DWORD_MAX, description: 'Window in ms in which RestartThreshold counts restarts.' },
  { name: 'RestartDelay', kind: 'dword', default: 500, min: 0, max: DWORD_MAX, description: 'Delay in ms before a restart.' },
  { name: 'RetryPeriodOnFailure', kind: 'dword', default: 3_600_000, min: 0, max: DWORD_MAX, description: 'After the resource stays Failed, ms until it is tried again (0xFFFFFFFF: never).' },
  { name: 'PendingTimeout', kind: 'dword', default: 180_000, min: 1, max: DWORD_MAX, description: 'ms an online or offline may stay pending before the resource is terminated and Failed.' },
  { name: 'LooksAlivePollInterval', kind: 'dword', min: 0, max: DWORD_MAX, description: 'ms between looksAlive checks; unset: the resource type default.' },
  { name: 'IsAlivePollInterval', kind: 'dword', min: 0, max: DWORD_MAX, description: 'ms between isAlive checks; unset: the resource type default.' },
  { name: 'DeadlockTimeout', kind: 'dword', default: 300_000, min: 1, max: DWORD_MAX, description: 'ms an entry point call may take before its resource host is considered deadlocked.' },
  { name: 'SeparateMonitor', kind: 'dword', default: 0, values: [0, 1], description: "1: the resource's entry points run in a resource host process of their own." },
  { name: 'PossibleOwners', kind: 'multiString', default: [], description: 'Nodes that may host the resource; empty means every node.' },
  { name: 'Description', kind: 'string', default: '', description: 'Free text.' },
] as const satisfies readonly PropertyDescriptor[];

export const groupCommonProperties = [
  { name: 'PersistentState', kind: 'dword', default: 1, values: [0, 1], description: 'Whether the group is brought online when its node starts (1) or stays offline (0).' },
  { name: 'PreferredOwners', kind: 'multiString', default: [], description: 'Nodes in order of preference.' },
  { name: 'FailoverThreshold', kind: 'dword', min: 0, max: DWORD_MAX, description: 'Failovers allowed within FailoverPeriod; unset: number of nodes - 1.' },
  { name: 'FailoverPeriod', kind: 'dword', default: 6, min: 1, max: 1193, description: 'Window in hours in which FailoverThreshold counts failovers.' },
  { name: 'AutoFailbackType', kind: 'dword', default: 0, values: [0, 1], description: '0: no failback; 1: fail back to the most preferred node.' },
  { name: 'FailbackWindowStart', kind: 'dword', default: DWORD_MAX, description: 'Hour (0-23, local time of the cluster) a failback window opens; 0xFFFFFFFF: any time.' },
  { name: 'FailbackWindowEnd', kind: 'dword', default: DWORD_MAX, description: 'Hour (0-23) a failback window closes; 0xFFFFFFFF: any time.' },
  { name: 'Priority', kind: 'dword', default: 2000, min: 0, max: 10_000, description: 'Start order: higher first; 0 means the group is not started automatically.' },
  { name: 'AntiAffinityClassNames', kind: 'multiString', default: [], description: 'Groups sharing a class are kept on different nodes where possible.' },
  { name: 'Description', kind: 'string', default: '', description: 'Free text.' },
] as const satisfies readonly PropertyDescriptor[];

export type ResourceCommonName = (typeof resourceCommonProperties)[number]['name'];
export type GroupCommonName = (typeof groupCommonProperties)[number]['name'];

const HOUR_OR_ANY = (v: number): boolean => v === DWORD_MAX || (v >= 0 && v <= 23);

/** Checks one value against its descriptor; returns an error naming the property, or undefined. */
export function validatePropertyValue(
  owner: string,
  d: PropertyDescriptor,
  value: unknown,
): ClusterErrorValue | undefined {
  const where = `${owner}: property ${d.name}`;
  switch (d.kind) {
    case 'dword':
    case 'qword': {
      if (typeof value !== 'number' || !Number.isInteger(value)) {
        return clusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${where} must be an integer, got ${describe(value)}`);
      }
      const max = d.kind === 'dword' ? DWORD_MAX : Number.MAX_SAFE_INTEGER;
      if (value < 0 || value > max) {
        return clusterError('ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', `${where} is ${value}, outside 0..${max}`);
      }
      if (d.values && !d.values.includes(value)) {
        return clusterError('ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', `${where} is ${value}, must be one of ${d.values.join(', ')}`);
      }
      if ((d.min !== undefined && value < d.min) || (d.max !== undefined && value > d.max)) {
        return clusterError('ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', `${where} is ${value}, outside ${d.min ?? 0}..${d.max ?? max}`);
      }
      if ((d.name === 'FailbackWindowStart' || d.name === 'FailbackWindowEnd') && !HOUR_OR_ANY(value)) {
        return clusterError('ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS', `${where} is ${value}, must be an hour 0..23 or 4294967295`);
      }
      return undefined;
    }
    case 'string':
      return typeof value === 'string'
        ? undefined
        : clusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${where} must be a string, got ${describe(value)}`);
    case 'multiString':
      return Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? undefined
        : clusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${where} must be a list of strings, got ${describe(value)}`);
    case 'binary':
      return value instanceof Uint8Array
        ? undefined
        : clusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${where} must be binary data, got ${describe(value)}`);
  }
}

/**
 * Validates a set of property changes against a schema: every name must be known,
 * every value of the right type and in range. Returns the first error, or undefined.
 */
export function validateProperties(
  owner: string,
  schema: readonly PropertyDescriptor[],
  changes: Record<string, unknown>,
): ClusterErrorValue | undefined {
  for (const [name, value] of Object.entries(changes)) {
    const d = propertyIndex(schema).byName.get(name);
    if (!d) {
      return clusterError('ERROR_INVALID_PARAMETER', `${owner}: unknown property ${JSON.stringify(name)}`);
    }
    const err = validatePropertyValue(owner, d, value);
    if (err) return err;
  }
  return undefined;
}

/** A schema's lookups, built once per schema (schemas are immutable). */
export interface PropertyIndex {
  /** By exact name. */
  readonly byName: ReadonlyMap<string, PropertyDescriptor>;
  /** By canonical (case-folded) name: names compare case-insensitively where they are keys. */
  readonly byCanonicalName: ReadonlyMap<string, PropertyDescriptor>;
  /** The descriptors in schema order, each with its canonical name. */
  readonly entries: readonly { readonly descriptor: PropertyDescriptor; readonly canonical: string }[];
}

const propertyIndexes = new WeakMap<readonly PropertyDescriptor[], PropertyIndex>();

export function propertyIndex(schema: readonly PropertyDescriptor[]): PropertyIndex {
  let index = propertyIndexes.get(schema);
  if (!index) {
    const entries = schema.map((descriptor) => ({ descriptor, canonical: canonicalName(descriptor.name) }));
    index = {
      // The first declaration wins, as a search in schema order would find it.
      byName: new Map([...entries].reverse().map((e) => [e.descriptor.name, e.descriptor])),
      byCanonicalName: new Map([...entries].reverse().map((e) => [e.canonical, e.descriptor])),
      entries,
    };
    propertyIndexes.set(schema, index);
  }
  return index;
}

const defaultsBySchema = new WeakMap<readonly PropertyDescriptor[], Readonly<Record<string, PropertyValue>>>();

/**
 * Defaults of a schema, for properties that have one: built once per schema
 * (as propertyIndex) and frozen, since every resource's values are read
 * over them.
 */
export function defaultsOf(schema: readonly PropertyDescriptor[]): Readonly<Record<string, PropertyValue>> {
  let defaults = defaultsBySchema.get(schema);
  if (!defaults) {
    const out: Record<string, PropertyValue> = {};
    for (const d of schema) if (d.default !== undefined) out[d.name] = d.default;
    defaults = Object.freeze(out);
    defaultsBySchema.set(schema, defaults);
  }
  return defaults;
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  return typeof v === 'object' ? 'an object' : String(v);
}
