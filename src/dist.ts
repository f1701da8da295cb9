// The JavaScript build. `npm run build` (scripts/build.ts, also run by `npm ci`)
// bundles the programs listed here into dist/, which mirrors src/:
// src/cli/main.ts becomes dist/cli/main.js, with source maps back to the .ts
// lines. Modules a program imports with `import()` become chunks of their own,
// loaded only when that import runs. In the built code `import.meta.url` still
// names the module's .ts source, so files found next to a source (the
// console's web/ directory) are found the same way built or not.

/** Sources that run as programs of their own (paths under src/); each becomes an entry point in dist/. */
export const distEntryPoints: readonly string[] = ['cli/main.ts', 'node/watchdog-process.ts'];

/** Defined as `true` by the build; absent when the TypeScript runs through tsx. */
declare const FAILOVER_BUILT: boolean | undefined;

/**
 * True when this code runs from dist/. A program that starts another of the
 * entry points starts it the same way it runs itself: `node builtFileOf(url)`
 * when built, `node --import tsx <source>` when not, so the two always match.
 */
export const runningBuilt: boolean = typeof FAILOVER_BUILT !== 'undefined';

const srcDir = new URL('./', import.meta.url);
const distDir = new URL('../dist/', import.meta.url);

/** The built file of an entry point, from its source's URL (e.g. `new URL('./watchdog-process.ts', import.meta.url)`). */
export function builtFileOf(source: URL): URL {
  if (!source.href.startsWith(srcDir.href) || !source.href.endsWith('.ts')) throw new Error(`assertion failed: ${source.href} is a .ts file under ${srcDir.href}`);
  const relative = source.href.slice(srcDir.href.length);
  if (!distEntryPoints.includes(decodeURIComponent(relative))) throw new Error(`assertion failed: ${relative} is listed in distEntryPoints (src/dist.ts)`);
  return new URL(`${relative.slice(0, -'.ts'.length)}.js`, distDir);
}
