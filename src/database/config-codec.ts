// How the cluster configuration's objects map to cluster database keys and
// values, both ways. The layout is documented in config.ts.
import { ClusterError, errors, type ClusterErrorValue } from '../model/errors.ts';
import type { GroupConfig, NodeConfig, ResourceConfig, ResourceTypeDescriptor } from '../model/objects.ts';
import {
  groupCommonProperties,
  propertyIndex,
  resourceCommonProperties,
  type PropertyDescriptor,
  type PropertyKind,
  type PropertyValue,
} from '../model/properties.ts';
import { canonicalName } from './paths.ts';
import type { KeyTree, NamedValue } from './registry.ts';
import { validateValue, type RegistryValue, type RegistryValueInput } from './values.ts';

export const NODES_KEY = 'Nodes';
export const TYPES_KEY = 'ResourceTypes';
export const GROUPS_KEY = 'Groups';
export const RESOURCES_KEY = 'Resources';
export const PARAMETERS_KEY = 'Parameters';
/** Root value bumped by every configuration change: the one thing all changes compare on. */
export const GENERATION_VALUE = 'ConfigGeneration';
export const CONFIG_KEYS = [NODES_KEY, TYPES_KEY, GROUPS_KEY, RESOURCES_KEY] as const;

/** Throws a model validation result as a ClusterError, keeping its message. */
export function raise(value: ClusterErrorValue): never {
  const suffix = ` (${errors[value.name].message})`;
  throw new ClusterError(value.name, value.message.endsWith(suffix) ? value.message.slice(0, -suffix.length) : value.message);
}

/** A property value as a typed registry value, checked against what the registry can keep. */
export function toRegistryValue(where: string, kind: PropertyKind, value: PropertyValue): RegistryValueInput {
  const input = { type: kind, data: value } as RegistryValueInput;
  validateValue(where, input);
  return input;
}

/** A registry value as a property value (qwords become numbers; they are kept safe integers). */
export function fromRegistryValue(value: RegistryValue): PropertyValue {
  switch (value.type) {
    case 'qword':
      return Number(value.data);
    case 'multiString':
      return [...value.data];
    default:
      return value.data;
  }
}

export function findSubkey(tree: KeyTree | undefined, name: string): KeyTree | undefined {
  const canonical = canonicalName(name);
  return tree?.subkeys.find((k) => k.name.length === canonical.length && canonicalName(k.name) === canonical);
}

export function findValue(tree: KeyTree, name: string): RegistryValue | undefined {
  const canonical = canonicalName(name);
  return tree.values.find((v) => v.name.length === canonical.length && canonicalName(v.name) === canonical)?.value;
}

/** A key's values by canonical name: built once per decoded object, then every property is one lookup. */
function valuesOf(tree: KeyTree): ReadonlyMap<string, RegistryValue> {
  return new Map(tree.values.map((v) => [canonicalName(v.name), v.value]));
}

const TYPE = canonicalName('Type');
const GROUP = canonicalName('Group');
const DEPENDS_ON = canonicalName('DependsOn');
const ID = canonicalName('Id');
const DESCRIPTION = canonicalName('Description');
const PRIVATE_PROPERTIES = canonicalName('PrivateProperties');
const LOOKS_ALIVE_POLL_INTERVAL = canonicalName('LooksAlivePollInterval');
const IS_ALIVE_POLL_INTERVAL = canonicalName('IsAlivePollInterval');

function stringValue(values: ReadonlyMap<string, RegistryValue>, canonical: string): string {
  const v = values.get(canonical);
  return v?.type === 'string' ? v.data : '';
}

function numberValue(values: ReadonlyMap<string, RegistryValue>, canonical: string): number {
  const v = values.get(canonical);
  return v?.type === 'dword' ? v.data : v?.type === 'qword' ? Number(v.data) : 0;
}

/** Properties of a schema read from a key's values: stored ones, else the schema's default. */
function propertiesOf(values: ReadonlyMap<string, RegistryValue>, schema: readonly PropertyDescriptor[]): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  for (const { descriptor: d, canonical } of propertyIndex(schema).entries) {
    const stored = values.get(canonical);
    if (stored) out[d.name] = fromRegistryValue(stored);
    else if (d.default !== undefined) out[d.name] = d.default;
  }
  return out;
}

export function decodeNode(tree: KeyTree): NodeConfig {
  return { name: tree.name, id: numberValue(valuesOf(tree), ID) };
}

interface StoredDescriptor {
  name: string;
  kind: PropertyKind;
  default?: PropertyValue | { base64: string };
  min?: number;
  max?: number;
  values?: number[];
  description: string;
}

export function encodePrivateProperties(list: readonly PropertyDescriptor[]): string {
  return JSON.stringify(
    list.map((d) => ({ ...d, ...(d.default instanceof Uint8Array ? { default: { base64: Buffer.from(d.default).toString('base64') } } : {}) })),
  );
}

function decodePrivateProperties(text: string, type: string): PropertyDescriptor[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ClusterError('ERROR_CLUSTER_CANT_DESERIALIZE_DATA', `resource type ${JSON.stringify(type)}: PrivateProperties is not JSON`);
  }
  if (!Array.isArray(raw)) throw new ClusterError('ERROR_CLUSTER_CANT_DESERIALIZE_DATA', `resource type ${JSON.stringify(type)}: PrivateProperties is not a list`);
  return (raw as StoredDescriptor[]).map((d) => {
    const def = d.default;
    if (def !== null && typeof def === 'object' && !Array.isArray(def) && 'base64' in def) {
      return { ...d, default: new Uint8Array(Buffer.from(def.base64, 'base64')) };
    }
    return d as PropertyDescriptor;
  });
}

export function decodeType(tree: KeyTree): ResourceTypeDescriptor {
  const values = valuesOf(tree);
  return {
    name: tree.name,
    description: stringValue(values, DESCRIPTION),
    privateProperties: decodePrivateProperties(stringValue(values, PRIVATE_PROPERTIES) || '[]', tree.name),
    looksAlivePollIntervalMs: numberValue(values, LOOKS_ALIVE_POLL_INTERVAL),
    isAlivePollIntervalMs: numberValue(values, IS_ALIVE_POLL_INTERVAL),
  };
}

export function decodeGroup(tree: KeyTree): GroupConfig {
  return { name: tree.name, common: propertiesOf(valuesOf(tree), groupCommonProperties) as unknown as GroupConfig['common'] };
}

export function decodeResource(tree: KeyTree): ResourceConfig {
  const parametersKey = findSubkey(tree, PARAMETERS_KEY);
  const parameters: Record<string, PropertyValue> = {};
  for (const v of parametersKey?.values ?? ([] as NamedValue[])) parameters[v.name] = fromRegistryValue(v.value);
  const values = valuesOf(tree);
  return {
    name: tree.name,
    type: stringValue(values, TYPE),
    group: stringValue(values, GROUP),
    common: propertiesOf(values, resourceCommonProperties) as unknown as ResourceConfig['common'],
    parameters,
    dependencies: stringValue(values, DEPENDS_ON),
  };
}
