// Typed values of the cluster database (the registry's REG_SZ, REG_MULTI_SZ,
// REG_DWORD, REG_QWORD and REG_BINARY): validation, size, and their JSON form
// in the store.
import { ClusterError } from '../model/errors.ts';
import { STORE_VALUE_BYTES_MAX } from '../store/store.ts';
import { VALUE_DATA_BYTES_MAX } from './limits.ts';
import { preview } from './paths.ts';

export type RegistryValueType = 'string' | 'multiString' | 'dword' | 'qword' | 'binary';

/** A value as callers may give it (a qword may be a safe integer number). */
export type RegistryValueInput =
  | { readonly type: 'string'; readonly data: string }
  | { readonly type: 'multiString'; readonly data: readonly string[] }
  | { readonly type: 'dword'; readonly data: number }
  | { readonly type: 'qword'; readonly data: bigint | number }
  | { readonly type: 'binary'; readonly data: Uint8Array };

/** A value as the database returns it: qwords are always bigints. */
export type RegistryValue =
  | { readonly type: 'string'; readonly data: string }
  | { readonly type: 'multiString'; readonly data: readonly string[] }
  | { readonly type: 'dword'; readonly data: number }
  | { readonly type: 'qword'; readonly data: bigint }
  | { readonly type: 'binary'; readonly data: Uint8Array };

export const DWORD_MAX = 0xffff_ffff;
export const QWORD_MAX = 0xffff_ffff_ffff_ffffn;

const VALUE_TYPES: readonly RegistryValueType[] = ['string', 'multiString', 'dword', 'qword', 'binary'];

function mismatch(where: string, what: string): ClusterError {
  return new ClusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${where}: ${what}`);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return preview(v);
  if (typeof v === 'bigint') return `${v}n`;
  return typeof v === 'object' ? 'an object' : String(v);
}

/**
 * Checks a value given by a caller and returns it in the form the database
 * keeps (copied, qword as bigint). `where` names the value for messages.
 */
export function validateValue(where: string, input: unknown): RegistryValue {
  if (typeof input !== 'object' || input === null || !('type' in input) || !('data' in input)) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: a value must be an object with "type" and "data", got ${describe(input)}`);
  }
  const { type, data } = input as { type: unknown; data: unknown };
  if (typeof type !== 'string' || !VALUE_TYPES.includes(type as RegistryValueType)) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: unknown value type ${describe(type)} (one of ${VALUE_TYPES.join(', ')})`);
  }
  let value: RegistryValue;
  switch (type as RegistryValueType) {
    case 'string':
      if (typeof data !== 'string') throw mismatch(where, `a string value needs a string, got ${describe(data)}`);
      if (data.includes('\0')) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: a string must not contain a NUL character`);
      value = { type: 'string', data };
      break;
    case 'multiString': {
      if (!Array.isArray(data) || !data.every((s) => typeof s === 'string')) throw mismatch(where, `a multiString value needs a list of strings, got ${describe(data)}`);
      const list = data as string[];
      const bad = list.findIndex((s) => s === '' || s.includes('\0'));
      // REG_MULTI_SZ ends at an empty string, so an empty item cannot be kept.
      if (bad >= 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: item ${bad} of a multiString is empty or contains a NUL character`);
      value = { type: 'multiString', data: [...list] };
      break;
    }
    case 'dword':
      if (typeof data !== 'number' || !Number.isInteger(data)) throw mismatch(where, `a dword needs an integer, got ${describe(data)}`);
      if (data < 0 || data > DWORD_MAX) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: dword ${data} is outside 0..${DWORD_MAX}`);
      value = { type: 'dword', data };
      break;
    case 'qword': {
      let big: bigint;
      if (typeof data === 'bigint') big = data;
      else if (typeof data === 'number' && Number.isSafeInteger(data)) big = BigInt(data);
      else throw mismatch(where, `a qword needs a bigint or a safe integer, got ${describe(data)}`);
      if (big < 0n || big > QWORD_MAX) throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: qword ${big} is outside 0..${QWORD_MAX}`);
      value = { type: 'qword', data: big };
      break;
    }
    case 'binary':
      if (!(data instanceof Uint8Array)) throw mismatch(where, `a binary value needs a Uint8Array, got ${describe(data)}`);
      value = { type: 'binary', data: new Uint8Array(data) };
      break;
  }
  const bytes = valueDataBytes(value);
  if (bytes > VALUE_DATA_BYTES_MAX) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: ${value.type} data is ${bytes} bytes, more than ${VALUE_DATA_BYTES_MAX}`);
  }
  return value;
}

/** Size as the registry counts it: UTF-16 strings with their terminators. */
export function valueDataBytes(value: RegistryValue): number {
  switch (value.type) {
    case 'string':
      return (value.data.length + 1) * 2;
    case 'multiString':
      return value.data.reduce((sum, s) => sum + (s.length + 1) * 2, 2);
    case 'dword':
      return 4;
    case 'qword':
      return 8;
    case 'binary':
      return value.data.byteLength;
  }
}

export function valuesEqual(a: RegistryValue, b: RegistryValue): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case 'string':
    case 'dword':
    case 'qword':
      return a.data === b.data;
    case 'multiString': {
      const other = b.data as readonly string[];
      return a.data.length === other.length && a.data.every((s, i) => s === other[i]);
    }
    case 'binary':
      return Buffer.from(a.data).equals(Buffer.from(b.data as Uint8Array));
  }
}

/** A value with where it lives, as kept in the store. */
export interface ValueRecord {
  /** Display path of the key holding the value. */
  readonly path: string;
  readonly name: string;
  readonly value: RegistryValue;
}

export interface KeyRecord {
  /** Display path of the key. */
  readonly path: string;
}

export function encodeValueRecord(record: ValueRecord, where: string): string {
  const { value } = record;
  const data =
    value.type === 'qword' ? value.data.toString() : value.type === 'binary' ? Buffer.from(value.data).toString('base64') : value.data;
  const text = JSON.stringify({ path: record.path, name: record.name, type: value.type, data });
  // Strings count as UTF-16 above; their JSON (escapes, UTF-8) can be longer, and must still fit.
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > STORE_VALUE_BYTES_MAX) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${where}: the value takes ${bytes} bytes in the store, more than ${STORE_VALUE_BYTES_MAX}`);
  }
  return text;
}

function corrupt(storeKey: string, what: string): ClusterError {
  return new ClusterError('ERROR_CLUSTER_CANT_DESERIALIZE_DATA', `store entry ${preview(storeKey)}: ${what}`);
}

export function decodeValueRecord(storeKey: string, text: string): ValueRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw corrupt(storeKey, 'not JSON');
  }
  if (typeof raw !== 'object' || raw === null) throw corrupt(storeKey, 'not a value record');
  const { path, name, type, data } = raw as Record<string, unknown>;
  if (typeof path !== 'string' || typeof name !== 'string') throw corrupt(storeKey, 'value record without path or name');
  let value: RegistryValue;
  if (type === 'string' && typeof data === 'string') value = { type, data };
  else if (type === 'multiString' && Array.isArray(data) && data.every((s) => typeof s === 'string')) value = { type, data: data as string[] };
  else if (type === 'dword' && typeof data === 'number') value = { type, data };
  else if (type === 'qword' && typeof data === 'string' && /^\d+$/.test(data)) value = { type, data: BigInt(data) };
  else if (type === 'binary' && typeof data === 'string') value = { type, data: new Uint8Array(Buffer.from(data, 'base64')) };
  else throw corrupt(storeKey, `value record of type ${describe(type)} with data ${describe(data)}`);
  return { path, name, value };
}

export function encodeKeyRecord(record: KeyRecord): string {
  return JSON.stringify({ path: record.path });
}

export function decodeKeyRecord(storeKey: string, text: string): KeyRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw corrupt(storeKey, 'not JSON');
  }
  const path = (raw as { path?: unknown } | null)?.path;
  if (typeof path !== 'string') throw corrupt(storeKey, 'key record without a path');
  return { path };
}
