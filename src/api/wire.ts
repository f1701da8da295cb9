// The JSON wire form of API values. JSON has no bytes, so binary property
// values travel as { base64 } and binary registry data as a base64 string;
// everything else is already plain JSON. Used by the server and the client.
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';
import type { RegistryValue, ResourceView } from './types.ts';

export type WirePropertyValue = number | string | string[] | { base64: string };
export type WireRegistryValue = { type: Exclude<RegistryValue['type'], 'binary'>; data: unknown } | { type: 'binary'; data: string };

export function encodePropertyValue(v: PropertyValue): WirePropertyValue {
  return v instanceof Uint8Array ? { base64: Buffer.from(v).toString('base64') } : (v as WirePropertyValue);
}

/** Decodes a wire value; anything that is not { base64 } is passed through for the API to validate. */
export function decodePropertyValue(v: unknown): PropertyValue {
  if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as { base64?: unknown }).base64 === 'string') {
    return new Uint8Array(Buffer.from((v as { base64: string }).base64, 'base64'));
  }
  return v as PropertyValue;
}

export function encodeProperties(record: Readonly<Record<string, PropertyValue>>): Record<string, WirePropertyValue> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, encodePropertyValue(v)]));
}

export function decodeProperties(record: Readonly<Record<string, unknown>>): Record<string, PropertyValue> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, decodePropertyValue(v)]));
}

export function encodeResourceView(r: ResourceView): unknown {
  return { ...r, parameters: encodeProperties(r.parameters) };
}

export function decodeResourceView(r: unknown): ResourceView {
  const v = r as ResourceView;
  return { ...v, parameters: decodeProperties(v.parameters ?? {}) };
}

export function encodeTypeDescriptor(t: ResourceTypeDescriptor): unknown {
  return {
    ...t,
    privateProperties: t.privateProperties.map((p) => (p.default === undefined ? p : { ...p, default: encodePropertyValue(p.default) })),
  };
}

export function decodeTypeDescriptor(t: unknown): ResourceTypeDescriptor {
  const v = t as ResourceTypeDescriptor;
  return {
    ...v,
    privateProperties: v.privateProperties.map((p) => (p.default === undefined ? p : { ...p, default: decodePropertyValue(p.default) })),
  };
}

export function encodeRegistryValue(v: RegistryValue): WireRegistryValue {
  return v.type === 'binary' ? { type: 'binary', data: Buffer.from(v.data).toString('base64') } : { type: v.type, data: v.data };
}

/** Decodes a wire registry value; shapes are checked by the server's schema before this runs. */
export function decodeRegistryValue(v: WireRegistryValue): RegistryValue {
  if (v.type === 'binary') return { type: 'binary', data: new Uint8Array(Buffer.from(v.data, 'base64')) };
  return v as RegistryValue;
}
