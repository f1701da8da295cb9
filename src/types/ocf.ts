// OCF resource agents as resource types: `ocf:PROVIDER:AGENT` runs the
// executable OCF_ROOT/resource.d/PROVIDER/AGENT the way Pacemaker does (the
// Open Cluster Framework resource agent API, version 1.1), so the ~100 agents
// of Debian's resource-agents package (IPaddr2, Filesystem, apache, ...) and
// any agent written to that API manage cluster resources.
//
//   open       validate-all (when the agent has it), after checking that every
//              required parameter is set
//   online     start          offline / terminate   stop (OCF_NOT_RUNNING is success)
//   looksAlive monitor at OCF_CHECK_LEVEL 0; isAlive monitor at the deepest depth
//              the meta-data declares
//   control    "GetMetaData" -> { xml }; "ValidateAll" -> { exitCode }
//
// The agent's meta-data gives the type: its parameters become private
// properties (integer -> dword, boolean -> dword 0/1, anything else string;
// OCF defaults as defaults) passed as OCF_RESKEY_<name>; its monitor actions'
// intervals become the LooksAlive and IsAlive poll intervals. Exit codes map
// to WSFC errors (ocfFailure). An agent runs as the leader of its own process
// group; the call's deadline kills the group.
import { spawn } from 'node:child_process';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { ClusterError, type ErrorName } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyDescriptor, PropertyValue } from '../model/properties.ts';
import { signalGroup } from './process-group.ts';
import {
  unsupportedControl,
  type ControlRequest,
  type EntryPointContext,
  type ResourceType,
  type ResourceTypeDefinition,
} from './resource-type.ts';

export const OCF_ROOT_DEFAULT = '/usr/lib/ocf';

export const ocfLimits = {
  /** How long an agent's meta-data action may take. */
  metaDataTimeoutMs: 15_000,
  /** Agents whose meta-data is read at once when a directory of agents is loaded. */
  metaDataConcurrency: 4,
  /** The last bytes of an agent's output kept to explain a failure. */
  outputTailBytes: 2_048,
  /** Poll intervals when the meta-data names none (WSFC's defaults). */
  looksAliveDefaultMs: 5_000,
  isAliveDefaultMs: 60_000,
} as const;

/** OCF exit codes (resource agent API 1.1). */
export const ocfExitCodes = {
  OCF_SUCCESS: 0,
  OCF_ERR_GENERIC: 1,
  OCF_ERR_ARGS: 2,
  OCF_ERR_UNIMPLEMENTED: 3,
  OCF_ERR_PERM: 4,
  OCF_ERR_INSTALLED: 5,
  OCF_ERR_CONFIGURED: 6,
  OCF_NOT_RUNNING: 7,
  OCF_RUNNING_PROMOTED: 8,
  OCF_FAILED_PROMOTED: 9,
  OCF_DEGRADED: 190,
  OCF_DEGRADED_PROMOTED: 191,
} as const;

const exitCodeNames = new Map<number, string>(Object.entries(ocfExitCodes).map(([n, c]) => [c, n]));

export type OcfAction = 'start' | 'stop' | 'monitor' | 'validate-all' | 'meta-data';

/**
 * What an agent's exit code means: 'running' (success; degraded counts),
 * 'stopped' (OCF_NOT_RUNNING), or the WSFC error it fails with.
 */
export function ocfOutcome(exitCode: number | null): 'running' | 'stopped' | ErrorName {
  switch (exitCode) {
    case ocfExitCodes.OCF_SUCCESS:
    case ocfExitCodes.OCF_RUNNING_PROMOTED:
    case ocfExitCodes.OCF_DEGRADED:
    case ocfExitCodes.OCF_DEGRADED_PROMOTED:
      return 'running';
    case ocfExitCodes.OCF_NOT_RUNNING:
      return 'stopped';
    case ocfExitCodes.OCF_ERR_ARGS:
    case ocfExitCodes.OCF_ERR_CONFIGURED:
      return 'ERROR_INVALID_PARAMETER';
    case ocfExitCodes.OCF_ERR_UNIMPLEMENTED:
      return 'ERROR_NOT_SUPPORTED';
    case ocfExitCodes.OCF_ERR_PERM:
      return 'ERROR_ACCESS_DENIED';
    case ocfExitCodes.OCF_ERR_INSTALLED:
      return 'ERROR_FILE_NOT_FOUND';
    default: // OCF_ERR_GENERIC, OCF_FAILED_PROMOTED, killed by a signal, anything else
      return 'ERROR_RESOURCE_FAILED';
  }
}

export function describeExitCode(exitCode: number | null, signal: NodeJS.Signals | null = null): string {
  if (signal) return `killed by ${signal}`;
  return `exit code ${exitCode} (${exitCodeNames.get(exitCode ?? -1) ?? 'not an OCF code'})`;
}

/** An OCF duration ("10s", "500ms", "2m", "1h", "20" = seconds) in ms; undefined if it is not one. */
export function parseOcfDuration(text: string | undefined): number | undefined {
  const m = /^\s*(\d+)\s*(ms|msec|s|sec|m|min|h|hr)?\s*$/i.exec(text ?? '');
  if (!m) return undefined;
  const unit = (m[2] ?? 's').toLowerCase();
  const factor = unit.startsWith('ms') ? 1 : unit.startsWith('s') ? 1_000 : unit.startsWith('m') ? 60_000 : 3_600_000;
  return Number(m[1]) * factor;
}

export interface OcfMetaData {
  readonly descriptor: ResourceTypeDescriptor;
  /** Parameters the agent declares required="1". */
  readonly required: readonly string[];
  readonly actions: ReadonlySet<string>;
  /** OCF_CHECK_LEVEL for isAlive: the deepest monitor depth declared. */
  readonly deepCheckLevel: number;
}

const xml = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '', isArray: (name) => name === 'parameter' || name === 'action' });

interface XmlParameter {
  name?: string;
  required?: string;
  shortdesc?: string | { '#text'?: string };
  content?: { type?: string; default?: string };
}
interface XmlAction {
  name?: string;
  interval?: string;
  depth?: string;
  role?: string;
}

function textOf(v: unknown): string {
  if (typeof v === 'string') return v.trim();
  if (v && typeof v === 'object' && '#text' in v) return String((v as { '#text': unknown })['#text']).trim();
  return '';
}

function isTrue(v: string | undefined): boolean {
  return /^(1|yes|true|on|y)$/i.test((v ?? '').trim());
}

function propertyOf(p: XmlParameter): PropertyDescriptor {
  const name = p.name!;
  const type = p.content?.type ?? 'string';
  const given = p.content?.default;
  const description = `${textOf(p.shortdesc) || name}${isTrue(p.required) ? ' (required)' : ''}`;
  if (type === 'boolean') return { name, kind: 'dword', values: [0, 1], ...(given !== undefined && given !== '' ? { default: isTrue(given) ? 1 : 0 } : {}), description };
  if (type === 'integer' && (given === undefined || given === '' || /^\d+$/.test(given.trim()))) {
    return { name, kind: 'dword', min: 0, ...(given !== undefined && given !== '' ? { default: Number(given) } : {}), description };
  }
  return { name, kind: 'string', ...(given !== undefined && given !== '' ? { default: given } : {}), description };
}

/** Reads an agent's meta-data XML (pure). Throws ERROR_INVALID_DATA when it is not OCF meta-data. */
export function parseOcfMetaData(typeName: string, text: string): OcfMetaData {
  let doc: { 'resource-agent'?: { shortdesc?: unknown; longdesc?: unknown; parameters?: { parameter?: XmlParameter[] }; actions?: { action?: XmlAction[] } } };
  try {
    doc = xml.parse(text) as typeof doc;
  } catch (e) {
    throw new ClusterError('ERROR_INVALID_DATA', `${typeName}: meta-data is not XML: ${(e as Error).message}`);
  }
  const agent = doc['resource-agent'];
  if (!agent) throw new ClusterError('ERROR_INVALID_DATA', `${typeName}: meta-data has no <resource-agent> element`);
  const parameters = (agent.parameters?.parameter ?? []).filter((p) => typeof p.name === 'string' && p.name !== '');
  const actions = agent.actions?.action ?? [];
  const monitors = actions.filter((a) => a.name === 'monitor' && !/^(master|promoted|slave|unpromoted)$/i.test(a.role ?? ''));
  const byDepth = [...monitors].sort((a, b) => Number(a.depth ?? 0) - Number(b.depth ?? 0));
  const shallow = byDepth[0];
  const deep = byDepth.length > 1 ? byDepth.at(-1) : undefined;
  return {
    descriptor: {
      name: typeName,
      description: textOf(agent.shortdesc) || textOf(agent.longdesc).split('\n')[0] || `OCF resource agent ${typeName}`,
      privateProperties: parameters.map(propertyOf),
      looksAlivePollIntervalMs: parseOcfDuration(shallow?.interval) || ocfLimits.looksAliveDefaultMs,
      isAlivePollIntervalMs: parseOcfDuration(deep?.interval) || ocfLimits.isAliveDefaultMs,
    },
    required: parameters.filter((p) => isTrue(p.required)).map((p) => p.name!),
    actions: new Set(actions.map((a) => a.name ?? '')),
    deepCheckLevel: Number(deep?.depth ?? shallow?.depth ?? 0) || 0,
  };
}

interface AgentRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly output: string;
}

/** Runs one action of an agent as the leader of its own process group; the signal kills the group. */
export function runOcfAgent(path: string, action: OcfAction, env: NodeJS.ProcessEnv, signal: AbortSignal): Promise<AgentRun> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new ClusterError('ERROR_OPERATION_ABORTED', `${path} ${action}: aborted at the call's deadline`));
    const child = spawn(path, [action], { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-(action === 'meta-data' ? Infinity : ocfLimits.outputTailBytes));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    const onAbort = (): void => {
      if (child.pid !== undefined) signalGroup(child.pid, 'SIGKILL');
    };
    signal.addEventListener('abort', onAbort, { once: true });
    child.once('error', (e) => {
      signal.removeEventListener('abort', onAbort);
      reject(new ClusterError('ERROR_FILE_NOT_FOUND', `cannot run ${path} ${action}: ${e.message}`));
    });
    child.once('close', (exitCode, sig) => {
      signal.removeEventListener('abort', onAbort);
      if (signal.aborted) return reject(new ClusterError('ERROR_OPERATION_ABORTED', `${path} ${action}: killed at the call's deadline`));
      resolve({ exitCode, signal: sig, output });
    });
  });
}

export function ocfAgentPath(root: string, provider: string, agent: string): string {
  return join(root, 'resource.d', provider, agent);
}

/** The environment every action of an agent gets (OCF 1.1 section 3.5). */
function baseEnvironment(root: string, provider: string, agent: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    OCF_ROOT: root,
    OCF_RA_VERSION_MAJOR: '1',
    OCF_RA_VERSION_MINOR: '1',
    OCF_RESOURCE_TYPE: agent,
    OCF_RESOURCE_PROVIDER: provider,
  };
}

/** Reads an agent's meta-data by running it. */
export async function readOcfMetaData(root: string, provider: string, agent: string): Promise<OcfMetaData & { readonly xml: string }> {
  const name = `ocf:${provider}:${agent}`;
  const path = ocfAgentPath(root, provider, agent);
  const run = await runOcfAgent(path, 'meta-data', baseEnvironment(root, provider, agent), AbortSignal.timeout(ocfLimits.metaDataTimeoutMs));
  if (run.exitCode !== 0) throw new ClusterError('ERROR_INVALID_DATA', `${name}: meta-data failed (${describeExitCode(run.exitCode, run.signal)})`);
  return { ...parseOcfMetaData(name, run.output), xml: run.output };
}

function valueText(p: PropertyDescriptor | undefined, v: PropertyValue): string {
  if (p?.values && p.values.length === 2 && p.values[0] === 0 && p.values[1] === 1) return v === 1 ? 'true' : 'false';
  if (Array.isArray(v)) return v.join(' ');
  if (v instanceof Uint8Array) return Buffer.from(v).toString('hex');
  return String(v);
}

/** OCF_RESOURCE_INSTANCE must be usable in file names (agents keep state files named after it). */
export function ocfInstanceName(resource: string): string {
  return resource.replace(/[^A-Za-z0-9_.-]/g, '_');
}

export class OcfResourceType implements ResourceType {
  readonly descriptor: ResourceTypeDescriptor;
  private readonly path: string;
  private readonly properties: Map<string, PropertyDescriptor>;

  constructor(
    private readonly root: string,
    private readonly provider: string,
    private readonly agent: string,
    private readonly meta: OcfMetaData & { readonly xml: string },
  ) {
    this.descriptor = meta.descriptor;
    this.path = ocfAgentPath(root, provider, agent);
    this.properties = new Map(meta.descriptor.privateProperties.map((p) => [p.name, p]));
  }

  async open(ctx: EntryPointContext): Promise<void> {
    const missing = this.meta.required.filter((name) => ctx.parameters[name] === undefined || ctx.parameters[name] === '');
    if (missing.length > 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${this.what(ctx, 'open')}: required parameter${missing.length > 1 ? 's' : ''} ${missing.join(', ')} not set`);
    if (this.meta.actions.has('validate-all')) await this.expect(ctx, 'validate-all', 'open');
  }
  async close(_ctx: EntryPointContext): Promise<void> {}
  async online(ctx: EntryPointContext): Promise<void> {
    const r = await this.run(ctx, 'start');
    const outcome = this.outcome(ctx, 'online', 'start', r);
    if (outcome !== 'running') this.fail(ctx, 'online', 'start', r, outcome === 'stopped' ? 'ERROR_RESOURCE_FAILED' : outcome);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    await this.expect(ctx, 'stop', 'offline');
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    await this.expect(ctx, 'stop', 'terminate');
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.monitor(ctx, 'looksAlive', 0);
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.monitor(ctx, 'isAlive', this.meta.deepCheckLevel);
  }
  /** Codes: "GetMetaData" -> { xml }; "ValidateAll" -> { exitCode, meaning }. */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code === 'GetMetaData') return { xml: this.meta.xml };
    if (request.code === 'ValidateAll') {
      const r = await this.run(ctx, 'validate-all');
      return { exitCode: r.exitCode, meaning: describeExitCode(r.exitCode, r.signal) };
    }
    return unsupportedControl(this.descriptor.name, ctx.resource, request);
  }

  private async monitor(ctx: EntryPointContext, ep: string, checkLevel: number): Promise<boolean> {
    const r = await this.run(ctx, 'monitor', { OCF_CHECK_LEVEL: String(checkLevel) });
    const outcome = this.outcome(ctx, ep, 'monitor', r);
    if (outcome === 'running') return true;
    if (outcome !== 'stopped') ctx.log(`monitor failed: ${describeExitCode(r.exitCode, r.signal)}${tail(r.output)}`);
    return false;
  }

  /** Runs an action that must end in success or OCF_NOT_RUNNING. */
  private async expect(ctx: EntryPointContext, action: OcfAction, ep: string): Promise<void> {
    const r = await this.run(ctx, action);
    const outcome = this.outcome(ctx, ep, action, r);
    if (outcome !== 'running' && outcome !== 'stopped') this.fail(ctx, ep, action, r, outcome);
  }

  private outcome(ctx: EntryPointContext, ep: string, action: OcfAction, r: AgentRun): ReturnType<typeof ocfOutcome> {
    if (r.exitCode === ocfExitCodes.OCF_DEGRADED || r.exitCode === ocfExitCodes.OCF_DEGRADED_PROMOTED) ctx.log(`${ep}: ${action} reports the resource degraded`);
    return r.signal ? 'ERROR_RESOURCE_FAILED' : ocfOutcome(r.exitCode);
  }

  private fail(ctx: EntryPointContext, ep: string, action: OcfAction, r: AgentRun, error: ErrorName): never {
    throw new ClusterError(error, `${this.what(ctx, ep)}: ${action} failed with ${describeExitCode(r.exitCode, r.signal)}${tail(r.output)}`);
  }

  private run(ctx: EntryPointContext, action: OcfAction, extra: NodeJS.ProcessEnv = {}): Promise<AgentRun> {
    const env: NodeJS.ProcessEnv = {
      ...baseEnvironment(this.root, this.provider, this.agent),
      OCF_RESOURCE_INSTANCE: ocfInstanceName(ctx.resource),
      OCF_RESKEY_CRM_meta_timeout: String(ctx.deadlineMs),
      ...extra,
    };
    for (const [name, value] of Object.entries(ctx.parameters)) {
      const text = valueText(this.properties.get(name), value);
      if (text !== '') env[`OCF_RESKEY_${name}`] = text;
    }
    return runOcfAgent(this.path, action, env, ctx.signal);
  }

  private what(ctx: EntryPointContext, ep: string): string {
    return `${this.descriptor.name} <${ctx.resource}>: ${ep}`;
  }
}

function tail(output: string): string {
  const t = output.trim();
  return t ? `; output: ${t.slice(-500)}` : '';
}

/**
 * The type `ocf:PROVIDER:AGENT` for the agent under root (reads its
 * meta-data). A resource host process loads it by the same call.
 */
export async function ocfTypeDefinition(root: string, provider: string, agent: string): Promise<ResourceTypeDefinition> {
  const meta = await readOcfMetaData(root, provider, agent);
  return {
    descriptor: meta.descriptor,
    create: () => new OcfResourceType(root, provider, agent, meta),
    module: { url: import.meta.url, export: 'ocfTypeDefinition', args: [root, provider, agent] },
  };
}

/**
 * A type for every agent under root/resource.d/PROVIDER/ (those named by
 * `only`, as "PROVIDER:AGENT", when given). Agents whose meta-data cannot be
 * read are left out and named in `skipped`.
 */
export async function ocfTypeDefinitions(
  root: string = OCF_ROOT_DEFAULT,
  only?: readonly string[],
): Promise<{ definitions: ResourceTypeDefinition[]; skipped: Array<{ name: string; reason: string }> }> {
  const agents: Array<[string, string]> = [];
  const base = join(root, 'resource.d');
  for (const provider of (await readdir(base).catch(() => [] as string[])).sort()) {
    for (const agent of (await readdir(join(base, provider)).catch(() => [] as string[])).sort()) {
      if (only && !only.includes(`${provider}:${agent}`)) continue;
      const s = await stat(join(base, provider, agent)).catch(() => undefined);
      if (s?.isFile() && (s.mode & 0o111) !== 0) agents.push([provider, agent]);
    }
  }
  const definitions: ResourceTypeDefinition[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < agents.length) {
      const [provider, agent] = agents[next++]!;
      try {
        definitions.push(await ocfTypeDefinition(root, provider, agent));
      } catch (e) {
        skipped.push({ name: `ocf:${provider}:${agent}`, reason: (e as Error).message });
      }
    }
  };
  await Promise.all(Array.from({ length: ocfLimits.metaDataConcurrency }, worker));
  definitions.sort((a, b) => a.descriptor.name.localeCompare(b.descriptor.name));
  return { definitions, skipped };
}
