// Resource types a node adds to the built-in ones at start: custom type
// modules from a directory (--types-dir) and OCF resource agents (--ocf).
import { ClusterError } from '../model/errors.ts';
import { OCF_ROOT_DEFAULT, ocfTypeDefinitions } from './ocf.ts';
import { ResourceTypeRegistry, type ResourceTypeDefinition } from './resource-type.ts';
import { loadTypesDir } from './types-dir.ts';

export interface ExtraTypeOptions {
  /** A directory of type modules. */
  readonly typesDir?: string;
  /** OCF agents: "all" (every agent under OCF_ROOT), or PROVIDER:AGENT names, comma-separated. */
  readonly ocf?: string;
  /** Default: $OCF_ROOT, else /usr/lib/ocf. */
  readonly ocfRoot?: string;
}

/** The extra types' definitions, and a line per OCF agent left out (its meta-data could not be read). */
export async function loadExtraTypes(o: ExtraTypeOptions): Promise<{ definitions: ResourceTypeDefinition[]; skipped: string[] }> {
  const definitions = o.typesDir ? await loadTypesDir(o.typesDir) : [];
  const skipped: string[] = [];
  if (o.ocf) {
    const root = o.ocfRoot ?? process.env['OCF_ROOT'] ?? OCF_ROOT_DEFAULT;
    const only = o.ocf.trim() === 'all' ? undefined : o.ocf.split(',').map((a) => a.trim()).filter((a) => a !== '');
    const ocf = await ocfTypeDefinitions(root, only);
    const found = new Set(ocf.definitions.map((d) => d.descriptor.name.slice('ocf:'.length)));
    const missing = (only ?? []).filter((a) => !found.has(a) && !ocf.skipped.some((s) => s.name === `ocf:${a}`));
    if (missing.length > 0) throw new ClusterError('ERROR_FILE_NOT_FOUND', `OCF agent${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not found under ${root}/resource.d`);
    definitions.push(...ocf.definitions);
    skipped.push(...ocf.skipped.map((s) => `${s.name}: ${s.reason}`));
  }
  return { definitions, skipped };
}

/** A factory of registries: the base types (fresh per call, i.e. per node) plus the extra ones. */
export function withExtraTypes(base: () => ResourceTypeRegistry, extra: readonly ResourceTypeDefinition[]): () => ResourceTypeRegistry {
  return () => {
    const r = base();
    for (const d of extra) r.register(d);
    return r;
  };
}
