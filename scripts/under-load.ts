// Runs a command several times in a row while CPU hogs (4 busy processes per
// core, normal priority) keep every core busy: `npm run test:load` runs the
// whole suite 3 times so. The hogs are time-bounded and stopped when the runs
// end, also on failure or Ctrl-C.
//
//   node --import tsx scripts/under-load.ts [--runs N] [--hours H] [-- command args...]
//
// Default command: npm test. The long checks run their full counts here
// (FAILOVER_SPLIT_BRAIN_HOG_CYCLES=30, FAILOVER_CRASH_HOG_KILLS=50) unless set.
import { spawn } from 'node:child_process';
import { startCpuHogs } from '../test/support/load.ts';

function option(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${name} must be a positive number`);
  return v;
}

const runs = option('--runs', 3);
const hours = option('--hours', 3);
const dashes = process.argv.indexOf('--');
const command = dashes >= 0 ? process.argv.slice(dashes + 1) : ['npm', 'test'];
const env = { FAILOVER_SPLIT_BRAIN_HOG_CYCLES: '30', FAILOVER_CRASH_HOG_KILLS: '50', ...process.env };

const hogs = startCpuHogs({ maxMs: hours * 3_600_000 });
console.log(`${hogs.count} CPU hogs running (for at most ${hours} h); ${runs} runs of: ${command.join(' ')}`);
const stop = (): void => void hogs.stop().then(() => process.exit(130));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
let code = 0;
try {
  for (let run = 1; run <= runs && code === 0; run++) {
    const started = Date.now();
    code = await new Promise<number>((resolve) => {
      const child = spawn(command[0]!, command.slice(1), { stdio: 'inherit', env });
      child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
      child.on('error', () => resolve(1));
    });
    console.log(`run ${run}/${runs}: ${code === 0 ? 'passed' : `failed (exit code ${code})`} in ${Math.round((Date.now() - started) / 1000)} s`);
  }
} finally {
  await hogs.stop();
}
process.exit(code);
