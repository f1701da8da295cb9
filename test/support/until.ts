// Waiting in real time for a condition that processes, namespaces or a
// cluster on the real clock bring about by themselves.

const pollIntervalMs = 50;

/** Polls cond until it holds; fails after maxMs of real time, naming what was awaited. */
export async function until(what: string, cond: () => Promise<boolean> | boolean, maxMs: number): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > maxMs) throw new Error(`timed out after ${maxMs} ms waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, pollIntervalMs));
  }
}
