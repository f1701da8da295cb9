// What every cluster command shares: choosing and connecting to a cluster,
// writing tables or JSON, turning errors into messages and exit codes, and
// typing KEY=VALUE arguments by the property schemas.
import type { Command } from 'commander';
import { createHttpApi } from '../api/http-client.ts';
import { readLocalCluster } from '../api/tokens.ts';
import type { ClusterApi } from '../api/types.ts';
import { RealClock } from '../clock/real.ts';
import type { Clock } from '../model/clock.ts';
import { ClusterError, isClusterError } from '../model/errors.ts';
import type { PropertyDescriptor, PropertyValue } from '../model/properties.ts';
import { exitCodeOf, exitCodes } from './exit-codes.ts';

export interface ClusterOptions {
  cluster?: string;
  dataDir?: string;
  json?: boolean;
}

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

/** Everything a command touches outside itself; tests pass their own. */
export interface CliDeps {
  connect(options: ClusterOptions): Promise<ClusterApi>;
  readonly io: CliIo;
  setExitCode(code: number): void;
  /** Ends the program at once (usage errors, --help); tests throw instead. */
  exit(code: number): never;
  readonly clock: Clock;
  readonly cwd: () => string;
}

export const DEFAULT_DATA_DIR = '.failover';

/** --cluster URL, else FAILOVER_URL, else the cluster `failover up` started in the data directory. */
export async function connectFromEnvironment(options: ClusterOptions, env: NodeJS.ProcessEnv = process.env): Promise<ClusterApi> {
  const dataDir = options.dataDir ?? DEFAULT_DATA_DIR;
  const url = options.cluster ?? (env.FAILOVER_URL || undefined); // an empty variable counts as unset
  const token = env.FAILOVER_TOKEN;
  if (url !== undefined) {
    if (token) return createHttpApi({ url, token });
    let local;
    try {
      local = readLocalCluster(dataDir);
    } catch {
      local = undefined;
    }
    if (local && sameOrigin(local.url, url)) return createHttpApi({ url, token: local.tokens.full });
    throw new ClusterError('ERROR_ACCESS_DENIED', `no token for ${url}: set FAILOVER_TOKEN`);
  }
  const local = readLocalCluster(dataDir);
  return createHttpApi({ url: local.url, token: token || local.tokens.full });
}

function sameOrigin(a: string, b: string): boolean {
  try {
    return new URL(a).origin === new URL(b).origin;
  } catch {
    return false;
  }
}

export function defaultDeps(): CliDeps {
  // `failover events | head` closes the pipe early: that ends the program quietly, it is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
  return {
    connect: (o) => connectFromEnvironment(o),
    io: { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) },
    setExitCode: (c) => {
      process.exitCode = c;
    },
    exit: (c) => process.exit(c),
    clock: new RealClock(),
    cwd: () => process.cwd(),
  };
}

export function withClusterOptions(cmd: Command): Command {
  return cmd
    .option('--cluster <url>', 'cluster API URL (default: $FAILOVER_URL, else the local cluster of `failover up`)')
    .option('--data-dir <dir>', 'where `failover up` keeps the local cluster (its api.json)', DEFAULT_DATA_DIR)
    .option('--json', 'print JSON for scripts instead of tables');
}

export interface Ctx {
  readonly deps: CliDeps;
  readonly options: ClusterOptions;
  readonly json: boolean;
  api(): Promise<ClusterApi>;
  /** Human output: tables and progress; in --json mode progress goes to stderr so stdout stays JSON. */
  say(line: string): void;
  progress(line: string): void;
  emitJson(value: unknown): void;
  fail(code: number): void;
}

/** Wraps a command's action: connects lazily, prints errors with their WSFC name and code, sets the exit code. */
export function act<A extends unknown[]>(deps: CliDeps, run: (ctx: Ctx, ...args: A) => Promise<void>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const options = cmd.optsWithGlobals() as ClusterOptions;
    const json = options.json === true;
    let api: ClusterApi | undefined;
    const ctx: Ctx = {
      deps,
      options,
      json,
      api: async () => (api ??= await deps.connect(options)),
      say: (line) => deps.io.out(`${line}\n`),
      progress: (line) => (json ? deps.io.err(`${line}\n`) : deps.io.out(`${line}\n`)),
      emitJson: (value) => deps.io.out(`${JSON.stringify(value, jsonReplacer, 2)}\n`),
      fail: (code) => deps.setExitCode(code),
    };
    try {
      await run(ctx, ...(args.slice(0, -2) as A));
    } catch (e) {
      if (!isClusterError(e)) throw e;
      deps.setExitCode(exitCodeOf(e));
      if (json) deps.io.out(`${JSON.stringify({ error: e.toJSON() }, null, 2)}\n`);
      deps.io.err(`failover: ${e.message} [${e.name} ${e.code}]\n`);
    }
  };
}

/** Binary values print as base64 in JSON output. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? { base64: Buffer.from(value).toString('base64') } : value;
}

export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...rows.map(line)].join('\n');
}

export function formatValue(v: PropertyValue | undefined): string {
  if (v === undefined) return '(unset)';
  if (v instanceof Uint8Array) return `base64:${Buffer.from(v).toString('base64')}`;
  if (Array.isArray(v)) return v.length === 0 ? '(none)' : v.join(', ');
  if (typeof v === 'string') return v === '' ? '""' : v;
  return String(v);
}

/** Parses "KEY=VALUE" arguments, typing each value by its descriptor (dword: number, multiString: comma list). */
export function parseAssignments(args: readonly string[], schema: readonly PropertyDescriptor[], what: string): Record<string, PropertyValue> {
  const out: Record<string, PropertyValue> = {};
  if (args.length === 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `give at least one KEY=VALUE (${what}: ${schema.map((d) => d.name).join(', ')})`);
  for (const arg of args) {
    const eq = arg.indexOf('=');
    if (eq <= 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${JSON.stringify(arg)} is not KEY=VALUE`);
    const key = arg.slice(0, eq);
    const text = arg.slice(eq + 1);
    const d = schema.find((p) => p.name.toLowerCase() === key.toLowerCase());
    if (!d) throw new ClusterError('ERROR_INVALID_PARAMETER', `unknown ${what} ${JSON.stringify(key)}; known: ${schema.map((p) => p.name).join(', ')}`);
    out[d.name] = parseTyped(d, text);
  }
  return out;
}

function parseTyped(d: PropertyDescriptor, text: string): PropertyValue {
  switch (d.kind) {
    case 'dword':
    case 'qword': {
      if (!/^(0x[0-9a-f]+|\d+)$/i.test(text.trim())) throw new ClusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${d.name} is a number (${d.kind}), got ${JSON.stringify(text)}`);
      return Number(text.trim());
    }
    case 'multiString':
      return text.trim() === '' ? [] : text.split(',').map((s) => s.trim());
    case 'string':
      return text;
    case 'binary':
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text)) throw new ClusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `${d.name} is binary: give it as base64`);
      return new Uint8Array(Buffer.from(text, 'base64'));
  }
}

/** Durations for --timeout: "90" (seconds), "500ms", "30s", "2m". */
export function parseDurationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new ClusterError('ERROR_INVALID_PARAMETER', `--timeout ${JSON.stringify(text)}: expected a duration such as 30s, 500ms or 2m`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

export { exitCodes };
