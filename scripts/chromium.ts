// The browser the console's tests drive: Debian's chromium at /usr/bin/chromium,
// installed with apt-get by `npm test` when it is missing (as etcd is). No
// browser is ever downloaded from anywhere else. If it cannot be installed,
// the run says why and goes on: only the console's browser tests fail then.
import { ensureDebianPackage, isExecutable } from './debian.ts';

export const CHROMIUM_PATH = '/usr/bin/chromium';
/** Debian's chromium, or undefined when it is not installed. */
export function findChromium(): string | undefined {
  return isExecutable(CHROMIUM_PATH) ? CHROMIUM_PATH : undefined;
}

/** Returns chromium's path, installing Debian's package first if needed; throws with the reason it cannot. */
export function ensureChromiumInstalled(): Promise<string> {
  return ensureDebianPackage('chromium', 'chromium', findChromium, { withRecommends: true });
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
