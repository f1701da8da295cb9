// The browser the console's tests drive: Debian's chromium at /usr/bin/chromium,
// installed with apt-get by `npm test` when it is missing (as etcd is). No
// browser is ever downloaded from anywhere else. If it cannot be installed,
// the run says why and goes on: only the console's browser tests fail then.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Keep the tail of apt-get's output to explain a failed install. */
const aptOutputTailBytesMax = 8_192;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Debian's chromium, or undefined when it is not installed. */
export function findChromium(): string | undefined {
  return isExecutable(CHROMIUM_PATH) ? CHROMIUM_PATH : undefined;
}

function onPath(name: string): boolean {
  return (process.env['PATH'] ?? '').split(path.delimiter).some((dir) => dir !== '' && isExecutable(path.join(dir, name)));
}

function runQuietly(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    // No stdin, no questions: apt must never wait for an answer.
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

/** Returns chromium's path, installing Debian's package first if needed; throws with the reason it cannot. */
export async function ensureChromiumInstalled(): Promise<string> {
  const found = findChromium();
  if (found) return found;
  const cannot = (why: string): Error =>
    new Error(`chromium is not installed and cannot be installed automatically: ${why}. Install it with "apt-get install -y chromium".`);
  if (!onPath('apt-get')) throw cannot('apt-get was not found (not a Debian-like system)');
  if (process.getuid?.() !== 0) throw cannot('installing packages needs root');
  const update = await runQuietly('apt-get', ['update']);
  if (update.code !== 0) throw cannot(`"apt-get update" failed (exit ${update.code}):\n${update.output}`);
  const install = await runQuietly('apt-get', ['install', '-y', 'chromium']);
  if (install.code !== 0) throw cannot(`"apt-get install -y chromium" failed (exit ${install.code}):\n${install.output}`);
  const installed = findChromium();
  if (!installed) throw cannot(`the chromium package was installed but ${CHROMIUM_PATH} did not appear`);
  return installed;
}

/** For `npm test`: makes sure chromium is there, or says why the console's browser tests will fail. */
export async function prepareTestRunChromium(log: (line: string) => void = console.log): Promise<void> {
  if (findChromium()) {
    log(`chromium: ${CHROMIUM_PATH}`);
    return;
  }
  log('chromium: not installed, installing Debian\'s package with apt-get ...');
  try {
    log(`chromium: installed ${await ensureChromiumInstalled()}`);
  } catch (err) {
    log(`chromium: not available, the console's browser tests will fail: ${(err as Error).message}`);
  }
}
