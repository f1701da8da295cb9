// npm run build (and `npm ci`, through the prepare script): bundles the
// programs in src/dist.ts's distEntryPoints into dist/ with esbuild. Packages
// stay external (node_modules is next to dist/); each `import()` of a source
// module becomes a chunk loaded only when it runs; source maps lead stack
// traces back to the .ts lines. Type-checking is tsc's job (npm test), not
// this build's. bin/failover.js runs dist/ only while dist/build.json is newer
// than every file under src/.
import { build, type Plugin } from 'esbuild';
import { readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { distEntryPoints } from '../src/dist.ts';

const root = new URL('../', import.meta.url);
const srcDir = fileURLToPath(new URL('src/', root));
const distDir = fileURLToPath(new URL('dist/', root));
/** Written last; its time is the build's start, so a source saved during the build counts as newer. */
export const buildStampFile = 'build.json';

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

const started = new Date();
rmSync(distDir, { recursive: true, force: true });
const result = await build({
  entryPoints: distEntryPoints.map((p) => `${srcDir}${p}`),
  outbase: srcDir,
  outdir: distDir,
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  sourcesContent: false,
  define: { FAILOVER_BUILT: 'true' },
  plugins: [sourceUrlPlugin],
  metafile: true,
  logLevel: 'warning',
});
const outputs = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js'));
const stamp = `${distDir}${buildStampFile}`;
writeFileSync(stamp, `${JSON.stringify({ entryPoints: distEntryPoints, outputs }, null, 2)}\n`);
utimesSync(stamp, started, started);
const bytes = outputs.reduce((n, f) => n + result.metafile.outputs[f]!.bytes, 0);
console.log(`build: ${distEntryPoints.length} entry point(s), ${outputs.length} file(s), ${Math.round(bytes / 1024)} KB of JavaScript in dist/`);
