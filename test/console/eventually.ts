// Waiting in real time for something the page or the cluster does by itself
// (kept apart from the harness so tests without a browser do not load playwright).

/** Generous real-time bound: the cluster brings Dummy groups online in about a second. */
export const settleTimeoutMs = 20_000;
const pollIntervalMs = 50;

/** Retries check until it stops throwing; after timeoutMs rethrows its last failure, naming what was awaited. */
export async function eventually<T>(what: string, check: () => Promise<T> | T, timeoutMs = settleTimeoutMs): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${(e as Error).message}`);
    }
    await new Promise((resolve) => setTimeout(resolve, pollIntervalMs));
  }
}

