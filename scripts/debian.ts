// Installing a service or tool that tests need from Debian's packages with
// apt-get, when it is missing: run as root, without a terminal, never asking.
// Nothing is ever downloaded from anywhere else.
import { spawn } from 'node:child_process';
import { findExecutableOnPath, isExecutable } from '../src/types/executables.ts';

export { isExecutable };

/** Keep the tail of apt-get's output to explain a failed install. */
const aptOutputTailBytesMax = 8_192;
/** How long apt-get waits for dpkg's lock held by another install. */
const aptLockWaitSeconds = 600;

/** The first executable `name` on PATH (then in `extraDirs`), or undefined. */
export function findExecutable(name: string, extraDirs: readonly string[] = []): string | undefined {
  return findExecutableOnPath(name, extraDirs);
}

function runQuietly(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // No stdin: CI runs without a terminal, and apt must never wait for an answer.
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-aptOutputTailBytesMax);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => resolve({ code: 127, output: `${output}${String(err)}` }));
    child.on('close', (code) => resolve({ code: code ?? 1, output }));
  });
}

/**
 * Returns what `find` finds, installing Debian's `pkg` first if it finds
 * nothing; throws with the reason when that cannot be done. withRecommends:
 * also install the packages Debian recommends (a browser wants its fonts).
 */
export async function ensureDebianPackage(pkg: string, what: string, find: () => string | undefined, options: { withRecommends?: boolean } = {}): Promise<string> {
  const found = find();
  if (found) return found;
  const cannot = (why: string): Error =>
    new Error(`${what} is not installed and cannot be installed automatically: ${why}. Install it with "apt-get install -y ${pkg}".`);
  if (!findExecutable('apt-get')) throw cannot('apt-get was not found (not a Debian-like system)');
  if (process.getuid?.() !== 0) throw cannot('installing packages needs root');
  const update = await runQuietly('apt-get', ['update']);
  if (update.code !== 0) throw cannot(`"apt-get update" failed (exit ${update.code}):\n${update.output}`);
  // Another install may hold dpkg's lock (tests of several packages prepare at once): wait for it.
  const install = await runQuietly('apt-get', ['install', '-y', '-o', `DPkg::Lock::Timeout=${aptLockWaitSeconds}`, ...(options.withRecommends ? [] : ['--no-install-recommends']), pkg]);
  if (install.code !== 0) throw cannot(`"apt-get install -y ${pkg}" failed (exit ${install.code}):\n${install.output}`);
  const installed = find();
  if (!installed) throw cannot(`the ${pkg} package was installed but ${what} did not appear`);
  return installed;
}
