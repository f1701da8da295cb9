// npm run build (and `npm ci`, through the prepare script): bundles the
// programs in src/dist.ts's distEntryPoints into dist/ with esbuild. Packages
// stay in node_modules (but one, see below); each `import()` of a source
// module becomes a chunk loaded only when it runs; source maps lead stack
// traces back to the .ts lines. Type-checking is tsc's job (npm test), not
// this build's. bin/failover.js runs dist/ only while dist/build.json is newer
// than every file under src/.
import { build, type Plugin } from 'esbuild';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distEntryPoints } from '../src/dist.ts';

const root = new URL('../', import.meta.url);
const rootDir = fileURLToPath(root);
const srcDir = fileURLToPath(new URL('src/', root));
/** Written last; its time is the build's start, so a source saved during the build counts as newer (bin/failover.js reads it). */
const buildStampFile = 'build.json';

/** Keeps `import.meta.url` naming each module's .ts source in the bundle (see src/dist.ts). */
const sourceUrlPlugin: Plugin = {
  name: 'source-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      return { contents: text.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/**
 * Packages stay in node_modules, loaded when a chunk that imports them runs,
 * except the command-line parser, which every command loads first: bundled, it
 * skips Node's CommonJS loader and saves about a tenth of `failover --help`.
 */
const bundledPackages = new Set(['commander']);
const externalPackagesPlugin: Plugin = {
  name: 'external-packages',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => (bundledPackages.has(args.path) ? undefined : { external: true }));
  },
};
/** CommonJS code in the bundle (commander) calls require() for Node's own modules; an ES module has none by itself. */
export const requireBanner = "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);";

/** Replaces outDir (absolute, inside the repository so packages resolve) with a fresh build; returns its JavaScript files. */
export async function buildDist(outDir: string): Promise<{ files: string[]; bytes: number }> {
  const started = new Date();
  rmSync(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: rootDir,
    entryPoints: distEntryPoints.map((p) => join(srcDir, p)),
    outbase: srcDir,
    outdir: outDir,
    entryNames: '[dir]/[name]',
    chunkNames: 'chunks/[name]-[hash]',
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    banner: { js: requireBanner },
    sourcemap: 'linked',
    sourcesContent: false,
    define: { FAILOVER_BUILT: 'true' },
    plugins: [externalPackagesPlugin, sourceUrlPlugin],
    metafile: true,
    logLevel: 'warning',
  });
  const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')); // relative to the repository
  const stamp = join(outDir, buildStampFile);
  writeFileSync(stamp, `${JSON.stringify({ entryPoints: distEntryPoints, files }, null, 2)}\n`);
  utimesSync(stamp, started, started);
  return { files, bytes: files.reduce((n, f) => n + result.metafile.outputs[f]!.bytes, 0) };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { files, bytes } = await buildDist(fileURLToPath(new URL('dist/', root)));
  console.log(`build: ${distEntryPoints.length} entry point(s), ${files.length} file(s), ${Math.round(bytes / 1024)} KB of JavaScript in dist/`);
}
