// The Systemd Unit resource type: a systemd unit of the node that owns the
// group, started and stopped with systemctl — for services packaged as units.
//
//   open       the unit name is set and systemd runs on this node
//   online     systemctl start UNIT          offline / terminate  systemctl stop UNIT
//              (terminate: systemctl kill --signal=SIGKILL first)
//   looksAlive systemctl is-active UNIT      isAlive  is-active, and not is-failed
//   control    "GetStatus" -> { active, text } (systemctl is-active's word)
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import { findExecutableOnPath } from './executables.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition } from './resource-type.ts';

export const SYSTEMD_UNIT_TYPE_NAME = 'Systemd Unit';
const OUTPUT_TAIL_BYTES = 2_048;

/** Why systemd units cannot be managed on this machine, or undefined when they can (sd_booted's test). */
export function systemdUnavailableReason(): string | undefined {
  if (!existsSync('/run/systemd/system')) return 'systemd is not running here (no /run/systemd/system)';
  if (!findExecutableOnPath('systemctl')) return 'systemctl is not installed';
  return undefined;
}

export const systemdUnitDescriptor: ResourceTypeDescriptor = {
  name: SYSTEMD_UNIT_TYPE_NAME,
  description: 'A systemd unit of the owning node, started and stopped with systemctl.',
  privateProperties: [{ name: 'UnitName', kind: 'string', default: '', description: 'The unit, e.g. nginx.service.' }],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

function systemctl(args: readonly string[], signal: AbortSignal): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('systemctl', args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let output = '';
    const collect = (chunk: Buffer): void => void (output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (e) =>
      reject(signal.aborted ? new ClusterError('ERROR_OPERATION_ABORTED', `systemctl ${args.join(' ')}: aborted at the call's deadline`) : new ClusterError('ERROR_FILE_NOT_FOUND', `cannot run systemctl: ${e.message}`)),
    );
    child.once('close', (code) => resolve({ code, output: output.trim() }));
  });
}

export class SystemdUnitType implements ResourceType {
  readonly descriptor = systemdUnitDescriptor;

  async open(ctx: EntryPointContext): Promise<void> {
    this.unit(ctx, 'open');
    const why = systemdUnavailableReason();
    if (why) throw new ClusterError('ERROR_NOT_SUPPORTED', `${this.what(ctx, 'open')}: ${why}`);
  }
  async close(_ctx: EntryPointContext): Promise<void> {}
  async online(ctx: EntryPointContext): Promise<void> {
    await this.must(ctx, 'online', ['start', this.unit(ctx, 'online')]);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    await this.must(ctx, 'offline', ['stop', this.unit(ctx, 'offline')]);
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    const unit = this.unit(ctx, 'terminate');
    await systemctl(['kill', '--signal=SIGKILL', unit], ctx.signal);
    await this.must(ctx, 'terminate', ['stop', unit]);
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return (await systemctl(['is-active', '--quiet', this.unit(ctx, 'looksAlive')], ctx.signal)).code === 0;
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    const unit = this.unit(ctx, 'isAlive');
    if ((await systemctl(['is-active', '--quiet', unit], ctx.signal)).code !== 0) return false;
    return (await systemctl(['is-failed', '--quiet', unit], ctx.signal)).code !== 0;
  }
  /** Codes: "GetStatus" -> { active, text }. */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code !== 'GetStatus') return unsupportedControl(SYSTEMD_UNIT_TYPE_NAME, ctx.resource, request);
    const r = await systemctl(['is-active', this.unit(ctx, 'control')], ctx.signal);
    return { active: r.code === 0, text: r.output };
  }

  private async must(ctx: EntryPointContext, ep: string, args: readonly string[]): Promise<void> {
    const r = await systemctl(args, ctx.signal);
    if (r.code !== 0) throw new ClusterError('ERROR_RESOURCE_FAILED', `${this.what(ctx, ep)}: systemctl ${args.join(' ')} failed (exit ${r.code})${r.output ? `: ${r.output}` : ''}`);
  }

  private unit(ctx: EntryPointContext, ep: string): string {
    const unit = String(ctx.parameters['UnitName'] ?? '').trim();
    if (unit === '' || unit.startsWith('-')) throw new ClusterError('ERROR_INVALID_PARAMETER', `${this.what(ctx, ep)}: UnitName ${JSON.stringify(unit)} is not a unit name`);
    return unit;
  }

  private what(ctx: EntryPointContext, ep: string): string {
    return `${SYSTEMD_UNIT_TYPE_NAME} <${ctx.resource}>: ${ep}`;
  }
}

export const systemdUnitType: ResourceTypeDefinition = {
  descriptor: systemdUnitDescriptor,
  create: () => new SystemdUnitType(),
  module: { url: import.meta.url, export: 'systemdUnitType' },
};
