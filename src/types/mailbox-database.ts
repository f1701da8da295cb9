// The Mailbox Database resource type: a durable message store
// (src/mailbox/database.ts), mounted on the node that owns the server group.
//
//   Replication 0  single copy cluster (SCC): the database lives in
//                  DatabaseFolder on its group's Physical Disk, written under
//                  the disk's fencing token.
//   Replication 1  continuous replication (CCR): every node in CopyNodes has
//                  a node-local copy in <CopyRoot>/<node>; the owner's copy is
//                  active and ships its log to the others before a delivery
//                  is acknowledged. Mounting replays everything its copy
//                  received first; a copy marked Failed is not mounted.
//
// Open reads the resource's Parameters key from the cluster database — the
// call that failed in the seed document (error 70 while the cluster API is not
// up yet). It fails the open with that error; the RCM retries the open and
// re-opens before an online, so nothing wedges.
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';
import { MailboxDatabase, type Replica } from '../mailbox/database.ts';
import { FencedDirectory } from '../mailbox/fenced-directory.ts';
import { copyDirectory, readCopyState } from '../mailbox/replication.ts';
import type { MailboxNodeRuntime } from '../mailbox/runtime.ts';
import { groupOf, groupResourcesOfType, MAILBOX_DATABASE_TYPE_NAME, nodeOf, PHYSICAL_DISK_TYPE_NAME } from './mailbox-common.ts';
import { physicalDiskDescriptor } from './physical-disk.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition, type ResourceTypeServices } from './resource-type.ts';

export const REPLICATION_SINGLE_COPY = 0;
export const REPLICATION_CONTINUOUS = 1;

export const mailboxDatabaseDescriptor: ResourceTypeDescriptor = {
  name: MAILBOX_DATABASE_TYPE_NAME,
  description: 'A durable mailbox store: single copy on the group disk, or continuously replicated node-local copies.',
  privateProperties: [
    { name: 'Replication', kind: 'dword', default: REPLICATION_SINGLE_COPY, values: [REPLICATION_SINGLE_COPY, REPLICATION_CONTINUOUS], description: '0: single copy on the Physical Disk of the group (SCC); 1: continuous replication between node-local copies (CCR).' },
    { name: 'DatabaseFolder', kind: 'string', default: '', description: 'SCC: the folder on the Physical Disk holding the database.' },
    { name: 'CopyRoot', kind: 'string', default: '', description: 'CCR: absolute path; each node keeps its copy in CopyRoot/<node>.' },
    { name: 'CopyNodes', kind: 'multiString', default: [], description: 'CCR: the nodes that hold a copy.' },
    { name: 'Mailboxes', kind: 'multiString', default: [], description: 'Mailboxes (local parts, lower case) held here; empty: every mailbox no other database of the server names.' },
  ],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

/** A database's configuration, checked. */
export interface DatabaseSettings {
  readonly replication: 0 | 1;
  readonly databaseFolder: string;
  readonly copyRoot: string;
  readonly copyNodes: readonly string[];
  readonly mailboxes: readonly string[];
}

export function databaseSettings(resource: string, p: Readonly<Record<string, PropertyValue>>): DatabaseSettings {
  const what = `${MAILBOX_DATABASE_TYPE_NAME} <${resource}>`;
  const replication = p['Replication'] === REPLICATION_CONTINUOUS ? REPLICATION_CONTINUOUS : REPLICATION_SINGLE_COPY;
  const str = (n: string): string => (typeof p[n] === 'string' ? (p[n] as string) : '');
  const list = (n: string): string[] => (Array.isArray(p[n]) ? (p[n] as string[]) : []);
  const settings: DatabaseSettings = {
    replication,
    databaseFolder: str('DatabaseFolder'),
    copyRoot: str('CopyRoot'),
    copyNodes: list('CopyNodes'),
    mailboxes: list('Mailboxes').map((m) => m.toLowerCase()),
  };
  if (replication === REPLICATION_SINGLE_COPY && (settings.databaseFolder === '' || settings.databaseFolder.split(/[\\/]/).includes('..'))) {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `${what}: DatabaseFolder ${JSON.stringify(settings.databaseFolder)} must name a folder on the disk`);
  }
  if (replication === REPLICATION_CONTINUOUS) {
    if (!settings.copyRoot.startsWith('/')) throw new ClusterError('ERROR_INVALID_PARAMETER', `${what}: CopyRoot ${JSON.stringify(settings.copyRoot)} is not an absolute path`);
    if (settings.copyNodes.length === 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${what}: CopyNodes is empty`);
  }
  return settings;
}

export class MailboxDatabaseType implements ResourceType {
  readonly descriptor = mailboxDatabaseDescriptor;
  /** Settings read by open from the cluster database, per resource. */
  private readonly opened = new Map<string, DatabaseSettings>();

  constructor(
    private readonly services: ResourceTypeServices,
    private readonly runtime: MailboxNodeRuntime,
  ) {}

  async open(ctx: EntryPointContext): Promise<void> {
    // The seed's call: fails with ERROR_SHARING_PAUSED (70) until the cluster API is online.
    const stored = await this.services.clusterDatabase.readParameters(ctx.resource);
    this.opened.set(ctx.resource, databaseSettings(ctx.resource, { ...ctx.parameters, ...stored }));
  }

  async close(ctx: EntryPointContext): Promise<void> {
    this.abort(ctx.resource, 'closed');
    this.opened.delete(ctx.resource);
  }

  async online(ctx: EntryPointContext): Promise<void> {
    const what = `${MAILBOX_DATABASE_TYPE_NAME} <${ctx.resource}>: mount`;
    const settings = this.opened.get(ctx.resource);
    if (!settings) throw new ClusterError('ERROR_INVALID_STATE', `${what}: the resource was not opened`);
    if (this.runtime.databases.get(ctx.resource)?.mounted) return;
    this.abort(ctx.resource, 'mounted again'); // a database that failed earlier
    const claim = { group: groupOf(this.services, ctx), node: nodeOf(this.services, ctx), token: ctx.epoch };
    const now = (): number => this.services.clock.now();
    let local: FencedDirectory;
    const replicas: Replica[] = [];
    if (settings.replication === REPLICATION_SINGLE_COPY) {
      const disks = groupResourcesOfType(this.services, ctx, PHYSICAL_DISK_TYPE_NAME, physicalDiskDescriptor.privateProperties);
      const disk = disks.map((d) => this.runtime.disks.get(d.name)).find((d) => d !== undefined);
      if (!disk) throw new ClusterError('ERROR_DEPENDENCY_NOT_FOUND', `${what}: no Physical Disk of its group is online on node ${claim.node}`);
      local = disk.sub(settings.databaseFolder);
    } else {
      if (!settings.copyNodes.includes(claim.node)) {
        throw new ClusterError('ERROR_NODE_CANT_HOST_RESOURCE', `${what}: node ${claim.node} holds no copy (CopyNodes: ${settings.copyNodes.join(', ')})`);
      }
      const localDir = copyDirectory(settings.copyRoot, claim.node);
      const state = await readCopyState(localDir);
      if (state?.state === 'Failed') {
        throw new ClusterError('ERROR_RESOURCE_NOT_AVAILABLE', `${what}: the copy on node ${claim.node} is Failed (${state.reason ?? 'no reason recorded'}); reseed it before activating it`);
      }
      local = await FencedDirectory.acquire(localDir, claim, now);
      for (const node of settings.copyNodes) {
        if (node === claim.node) continue;
        try {
          replicas.push({ node, fence: await FencedDirectory.acquire(copyDirectory(settings.copyRoot, node), claim, now) });
        } catch (e) {
          ctx.log(`the copy on node ${node} cannot be taken: ${e instanceof Error ? e.message : String(e)}`);
        }
      }
    }
    const db = await MailboxDatabase.mount({ name: ctx.resource, local, replicas, epoch: ctx.epoch, clock: this.services.clock, limits: this.runtime.limits, log: (m) => ctx.log(m) });
    if (ctx.signal.aborted) {
      db.abort('mount aborted at its deadline');
      throw new ClusterError('ERROR_OPERATION_ABORTED', `${what}: aborted at the call's deadline`);
    }
    this.runtime.databases.set(ctx.resource, db);
    const r = db.mountReport;
    ctx.log(
      `mounted at LSN ${r.lastLsn} with fencing token ${ctx.epoch}; ${r.replayed} log records replayed` +
        (r.copies.length > 0 ? `; copies: ${r.copies.map((c) => `${c.node} ${c.outcome}${c.reason ? ` (${c.reason})` : ''}`).join(', ')}` : ''),
    );
  }

  async offline(ctx: EntryPointContext): Promise<void> {
    const db = this.runtime.databases.get(ctx.resource);
    this.runtime.databases.delete(ctx.resource);
    if (db) {
      await db.dismount();
      ctx.log(`dismounted at LSN ${db.lastLsn}`);
    }
  }

  async terminate(ctx: EntryPointContext): Promise<void> {
    this.abort(ctx.resource, 'terminated');
  }

  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return this.runtime.databases.get(ctx.resource)?.mounted === true;
  }

  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    const db = this.runtime.databases.get(ctx.resource);
    if (!db?.mounted) {
      if (db?.failedWith) ctx.log(db.failedWith.message);
      return false;
    }
    return true;
  }

  /** Codes: "GetStatus" -> the mounted database's status (undefined when not mounted here). */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code === 'GetStatus') return this.runtime.databases.get(ctx.resource)?.status();
    return unsupportedControl(MAILBOX_DATABASE_TYPE_NAME, ctx.resource, request);
  }

  private abort(resource: string, why: string): void {
    const db = this.runtime.databases.get(resource);
    this.runtime.databases.delete(resource);
    db?.abort(why);
  }
}

export function mailboxDatabaseType(runtime: MailboxNodeRuntime): ResourceTypeDefinition {
  return { descriptor: mailboxDatabaseDescriptor, create: (services) => new MailboxDatabaseType(services, runtime) };
}
