// Finding programs the way a shell would: the first executable of that name
// on PATH (then in extra directories, e.g. /usr/sbin for root's tools).
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on PATH (then in `extraDirs`), or undefined. */
export function findExecutableOnPath(name: string, extraDirs: readonly string[] = ['/usr/sbin', '/sbin']): string | undefined {
  const dirs = [...(process.env['PATH'] ?? '').split(path.delimiter).filter((d) => d !== ''), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}
