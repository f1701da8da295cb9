// The etcd that `npm test` runs for the whole test run: installed with apt-get
// if missing, started once on a free loopback port, its endpoint handed to the
// test processes in FAILOVER_TEST_ETCD, and stopped afterwards — also when the
// run fails or is interrupted. Only the etcd started here is ever stopped.
import { startEtcd, TEST_ETCD_ENV } from '../test/support/etcd.ts';

export interface TestRunEtcd {
  /** Variables to add to the test processes' environment. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

const exitCodeForSignal: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129 };

/**
 * Starts the run's etcd, unless FAILOVER_TEST_ETCD already names one (then that
 * one is used and left alone). If etcd cannot be installed or started, says why
 * and carries on without it: the tests that need etcd then fail with the same
 * explanation, the others still run.
 */
export async function startTestRunEtcd(log: (line: string) => void = console.log): Promise<TestRunEtcd> {
  const given = process.env[TEST_ETCD_ENV];
  if (given) {
    log(`etcd: using ${given} from ${TEST_ETCD_ENV}`);
    return { env: {}, stop: async () => {} };
  }
  let etcd;
  try {
    etcd = await startEtcd();
  } catch (err) {
    log(`etcd: not available, tests that need it will fail: ${(err as Error).message}`);
    return { env: {}, stop: async () => {} };
  }
  log(`etcd: started pid ${etcd.pid} at ${etcd.endpoint}`);
  const running = etcd;
  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= running.stop().then(() => {
      for (const [signal, handler] of handlers) process.off(signal, handler);
      log(`etcd: stopped pid ${running.pid}`);
    });
    return stopping;
  };
  // Interrupted (Ctrl-C, CI cancelling the job): stop etcd, then exit as the signal would.
  const handlers: Array<[NodeJS.Signals, () => void]> = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((signal) => [
    signal,
    () => {
      void stop().finally(() => process.exit(exitCodeForSignal[signal] ?? 1));
    },
  ]);
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return { env: { [TEST_ETCD_ENV]: running.endpoint }, stop };
}
