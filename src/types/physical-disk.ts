// The Physical Disk resource type: a directory on shared storage owned by one
// node at a time. Online takes the directory with the group's ownership epoch
// as fencing token (src/mailbox/fenced-directory.ts): another group holding it
// is refused, a stale owner's writes are rejected. Offline releases it; a
// crashed owner's claim is taken over by the next owner of the same group,
// whose epoch is higher.
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import { FencedDirectory } from '../mailbox/fenced-directory.ts';
import type { MailboxNodeRuntime } from '../mailbox/runtime.ts';
import { groupOf, nodeOf, PHYSICAL_DISK_TYPE_NAME, stringParam, throwIfAborted } from './mailbox-common.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition, type ResourceTypeServices } from './resource-type.ts';

export const physicalDiskDescriptor: ResourceTypeDescriptor = {
  name: PHYSICAL_DISK_TYPE_NAME,
  description: 'A directory on shared storage, owned exclusively with a fencing token.',
  privateProperties: [{ name: 'Path', kind: 'string', default: '', description: 'Absolute path of the shared directory.' }],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

function pathOf(ctx: EntryPointContext): string {
  const path = stringParam(ctx, 'Path');
  if (!path.startsWith('/')) throw new ClusterError('ERROR_INVALID_PARAMETER', `${PHYSICAL_DISK_TYPE_NAME} <${ctx.resource}>: Path ${JSON.stringify(path)} is not an absolute path`);
  return path;
}

export class PhysicalDiskType implements ResourceType {
  readonly descriptor = physicalDiskDescriptor;

  constructor(
    private readonly services: ResourceTypeServices,
    private readonly runtime: MailboxNodeRuntime,
  ) {}

  async open(ctx: EntryPointContext): Promise<void> {
    pathOf(ctx);
  }
  async close(ctx: EntryPointContext): Promise<void> {
    this.drop(ctx.resource);
  }
  async online(ctx: EntryPointContext): Promise<void> {
    const what = `${PHYSICAL_DISK_TYPE_NAME} <${ctx.resource}>: online`;
    const claim = { group: groupOf(this.services, ctx), node: nodeOf(this.services, ctx), token: ctx.epoch };
    const disk = await FencedDirectory.acquire(pathOf(ctx), claim, () => this.services.clock.now());
    if (ctx.signal.aborted) {
      await disk.release().catch(() => disk.close());
      throwIfAborted(ctx, what);
    }
    this.runtime.disks.set(ctx.resource, disk);
    ctx.log(`owns ${disk.root} with fencing token ${ctx.epoch}`);
  }
  async offline(ctx: EntryPointContext): Promise<void> {
    const disk = this.runtime.disks.get(ctx.resource);
    this.runtime.disks.delete(ctx.resource);
    if (disk) await disk.release().catch((e: unknown) => ctx.log(`release failed: ${e instanceof Error ? e.message : String(e)}`));
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    this.drop(ctx.resource);
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    const disk = this.runtime.disks.get(ctx.resource);
    return disk !== undefined && !disk.isClosed;
  }
  /** The ownership record still names this owner and token. */
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    const disk = this.runtime.disks.get(ctx.resource);
    if (!disk) return false;
    try {
      await disk.check();
      return true;
    } catch (e) {
      ctx.log(e instanceof Error ? e.message : String(e));
      return false;
    }
  }
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    return unsupportedControl(PHYSICAL_DISK_TYPE_NAME, ctx.resource, request);
  }

  private drop(resource: string): void {
    this.runtime.disks.get(resource)?.close();
    this.runtime.disks.delete(resource);
  }
}

export function physicalDiskType(runtime: MailboxNodeRuntime): ResourceTypeDefinition {
  return { descriptor: physicalDiskDescriptor, create: (services) => new PhysicalDiskType(services, runtime) };
}
