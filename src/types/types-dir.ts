// Custom resource types as modules in a directory (`--types-dir DIR`): every
// .js, .mjs or .ts file there is imported, and each of its exports that is a
// resource type definition (a descriptor and a create function) becomes a
// type. A definition that does not say where a resource host process finds it
// is given its own module and export name, so custom types run in host
// processes like the built-in ones. docs/resource-types.md is the guide.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDefinition } from './resource-type.ts';

const MODULE_EXTENSIONS = /\.(m?js|ts)$/;

function isDefinition(v: unknown): v is ResourceTypeDefinition {
  return typeof v === 'object' && v !== null && typeof (v as ResourceTypeDefinition).create === 'function' && typeof (v as ResourceTypeDefinition).descriptor === 'object';
}

let tsxRegistered = false;

/** The definitions exported by the modules in dir, in file then export order. */
export async function loadTypesDir(dir: string): Promise<ResourceTypeDefinition[]> {
  let files: string[];
  try {
    files = (await readdir(dir)).filter((f) => MODULE_EXTENSIONS.test(f) && !f.endsWith('.d.ts')).sort();
  } catch (e) {
    throw new ClusterError('ERROR_FILE_NOT_FOUND', `resource types directory ${JSON.stringify(dir)} cannot be read: ${(e as Error).message}`);
  }
  if (!tsxRegistered) {
    // The built command runs without the TypeScript loader; types written in
    // TypeScript, and modules importing src/types/sdk.ts, need it.
    const { register } = await import('tsx/esm/api');
    register();
    tsxRegistered = true;
  }
  const out: ResourceTypeDefinition[] = [];
  for (const file of files) {
    const url = pathToFileURL(join(dir, file)).href;
    let exports: Record<string, unknown>;
    try {
      exports = (await import(url)) as Record<string, unknown>;
    } catch (e) {
      throw new ClusterError('ERROR_INVALID_DATA', `resource type module ${file} cannot be loaded: ${(e as Error).message}`);
    }
    const found = Object.entries(exports).filter(([, v]) => isDefinition(v)) as Array<[string, ResourceTypeDefinition]>;
    if (found.length === 0) throw new ClusterError('ERROR_INVALID_DATA', `resource type module ${file} exports no resource type definition (an object with a descriptor and a create function)`);
    // The descriptor is checked when the type is registered in the cluster database.
    for (const [name, d] of found) out.push(d.module ? d : { descriptor: d.descriptor, create: (services) => d.create(services), module: { url, export: name } });
  }
  return out;
}
