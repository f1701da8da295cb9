#!/usr/bin/env node
// The failover command. Runs the JavaScript build in dist/ (`npm ci` makes it,
// `npm run build` remakes it). When dist/ is missing or older than a file
// under src/ (a checkout being edited), runs the TypeScript sources through
// tsx instead, so the command always does what the sources say, and says so:
// that start is about a second slower.
import { readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';

// fetch parses HTTP with WebAssembly. V8 compiles it quickly, then again with its
// optimizing compiler in the background, and a process cannot exit before that
// second compile ends: about 80 ms of CPU added to every short command for code
// it no longer runs. The quick compile alone serves a command line well.
setFlagsFromString('--liftoff-only');

const root = new URL('../', import.meta.url);

/** Latest modification time (ms) of the files under dir, 0 if there are none. */
function newestMs(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    newest = Math.max(newest, entry.isDirectory() ? newestMs(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function distIsCurrent() {
  try {
    return statSync(new URL('dist/build.json', root)).mtimeMs >= newestMs(fileURLToPath(new URL('src', root)));
  } catch {
    return false;
  }
}

if (distIsCurrent()) {
  process.setSourceMapsEnabled(true);
  await import('../dist/cli/main.js');
} else {
  process.stderr.write('failover: dist/ is missing or older than src/, running the TypeScript sources through tsx (slower start); `npm run build` rebuilds dist/\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
