// An example custom resource type (docs/resource-types.md): "Heartbeat File"
// keeps writing the node's name and the time into a file while its resource
// is online, so whatever reads the file can tell whether, and where, the
// service runs. Load it with `failover up --types-dir examples/resource-types`.
//
// A type module exports one or more definitions: { descriptor, create }. Each
// resource host process creates one instance per type, so per-resource state
// lives in the instance, keyed by resource name.
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  ClusterError,
  unsupportedControl,
  type ControlRequest,
  type EntryPointContext,
  type ResourceType,
  type ResourceTypeDefinition,
  type ResourceTypeDescriptor,
  type ResourceTypeServices,
} from '../../src/types/sdk.ts';

const descriptor: ResourceTypeDescriptor = {
  name: 'Heartbeat File',
  description: "Writes the node's name and the time into a file every IntervalMs while online.",
  privateProperties: [
    { name: 'Path', kind: 'string', default: '', description: 'The file to write.' },
    { name: 'IntervalMs', kind: 'dword', default: 1_000, min: 10, max: 3_600_000, description: 'ms between writes.' },
  ],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 30_000,
};

class HeartbeatFile implements ResourceType {
  readonly descriptor = descriptor;
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly services: ResourceTypeServices) {}

  async open(ctx: EntryPointContext): Promise<void> {
    this.path(ctx); // configuration errors show at open, before any online
  }
  async close(ctx: EntryPointContext): Promise<void> {
    await this.offline(ctx);
  }
  async online(ctx: EntryPointContext): Promise<void> {
    const path = this.path(ctx);
    await mkdir(dirname(path), { recursive: true });
    await this.write(path);
    clearInterval(this.timers.get(ctx.resource));
    const every = Number(ctx.parameters['IntervalMs']);
    this.timers.set(ctx.resource, setInterval(() => void this.write(path).catch(() => undefined), every));
    ctx.log(`writing ${path} every ${every} ms`);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    clearInterval(this.timers.get(ctx.resource));
    this.timers.delete(ctx.resource);
    await rm(this.path(ctx), { force: true });
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    await this.offline(ctx);
  }
  /** Cheap: the timer runs. */
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.timers.has(ctx.resource);
  }
  /** Thorough: the file was written within the last three intervals. */
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    if (!this.timers.has(ctx.resource)) return false;
    const s = await stat(this.path(ctx)).catch(() => undefined);
    return s !== undefined && Date.now() - s.mtimeMs < 3 * Number(ctx.parameters['IntervalMs']);
  }
  /** Codes: "GetPath" -> { path }. */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code === 'GetPath') return { path: this.path(ctx) };
    return unsupportedControl(descriptor.name, ctx.resource, request);
  }

  private path(ctx: EntryPointContext): string {
    const path = ctx.parameters['Path'];
    // Operating errors are ClusterErrors with a WSFC code; anything else thrown is reported as 5930.
    if (typeof path !== 'string' || path === '') throw new ClusterError('ERROR_INVALID_PARAMETER', `${descriptor.name} <${ctx.resource}>: Path is empty`);
    return path;
  }

  private async write(path: string): Promise<void> {
    await writeFile(path, `${this.services.node ?? 'unknown'} ${new Date(this.services.clock.now()).toISOString()}\n`);
  }
}

export const heartbeatFileType: ResourceTypeDefinition = {
  descriptor,
  create: (services) => new HeartbeatFile(services),
};
