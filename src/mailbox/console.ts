// The mailbox console: creates, inspects, moves, stops and starts clustered
// mailbox servers through the cluster API (any ClusterApi: in-process or
// HTTP), the way the Exchange Management Console drives a CMS.
//
// A server is a group named after it, with these resources (SCC adds the disk):
//
//   IP Address (S)            Address
//   Network Name (S)          Name                 depends on the IP Address
//   Physical Disk (S)         Path (SCC only)
//   System Attendant (S)      HttpPort             depends on the Network Name (and the disk)
//   Information Store (S)     SmtpPort             depends on the System Attendant
//   Mailbox Database (S/D)    ...                  depends on the Information Store (and the disk)
//
// move follows the seed document's workflow — PersistentState 0 on the
// databases, move the group, online the databases, PersistentState 1 again —
// after checking the target; failover's RCM re-opens a database whose Open
// failed earlier instead of wedging, so the workflow completes.
import { join, resolve } from 'node:path';
import { RealClock } from '../clock/real.ts';
import type { ClusterApi, OperationView, ResourceView } from '../api/types.ts';
import type { Clock } from '../model/clock.ts';
import type { PropertyValue } from '../model/properties.ts';
import { ClusterError, errors, isClusterError, type ErrorName } from '../model/errors.ts';
import {
  INFORMATION_STORE_TYPE_NAME,
  IP_ADDRESS_TYPE_NAME,
  MAILBOX_DATABASE_TYPE_NAME,
  NETWORK_NAME_TYPE_NAME,
  PHYSICAL_DISK_TYPE_NAME,
  SYSTEM_ATTENDANT_TYPE_NAME,
} from '../types/mailbox-common.ts';
import { REPLICATION_CONTINUOUS, REPLICATION_SINGLE_COPY } from '../types/mailbox-database.ts';
import { DEFAULT_HTTP_PORT, DEFAULT_SMTP_PORT } from '../types/mailbox-services.ts';
import { MailboxHttpClient, resolveNetworkName, sendMail, serverEndpoints, type MessagePage, type OutgoingMail, type SendOutcome, type StoredMessage } from './client.ts';
import { defaultMailboxConsoleLimits, defaultMailboxLimits, type MailboxConsoleLimits } from './limits.ts';
import { copyDirectory, copyStatuses, requestReseed, type CopyStatus } from './replication.ts';

export type ServerMode = 'scc' | 'ccr';

export const DEFAULT_DATABASE_NAME = 'Mailbox Database';

export const serverResourceNames = {
  ipAddress: (server: string) => `IP Address (${server})`,
  networkName: (server: string) => `Network Name (${server})`,
  physicalDisk: (server: string) => `Physical Disk (${server})`,
  systemAttendant: (server: string) => `System Attendant (${server})`,
  informationStore: (server: string) => `Information Store (${server})`,
  database: (server: string, database: string) => `Mailbox Database (${server}/${database})`,
};

export interface CreateServerOptions {
  readonly mode: ServerMode;
  /** Nodes that may own the server, in order of preference (CCR: each holds a copy; at least two). */
  readonly nodes: readonly string[];
  /** Directory under which the server's shared disk (SCC) or database copies (CCR) are kept. */
  readonly storageRoot: string;
  /** Loopback address; default: the first free 127.77.x.y. */
  readonly address?: string;
  /** Default: the server name in lower case. */
  readonly networkName?: string;
  readonly smtpPort?: number;
  readonly httpPort?: number;
  /** Mailboxes of the first database; empty: every mailbox. */
  readonly mailboxes?: readonly string[];
  /** Wait until the server is online (default true). */
  readonly waitOnline?: boolean;
}

export interface DatabaseStatus {
  readonly name: string;
  readonly state: ResourceView['state'];
  readonly mailboxes: readonly string[];
  readonly lastError?: { code: number; name: string; message: string };
  /** CCR: every copy; SCC: none. */
  readonly copies: readonly CopyStatus[];
}

export interface ServerStatus {
  readonly server: string;
  readonly mode: ServerMode;
  readonly state: string;
  readonly owner?: string;
  readonly moving: boolean;
  readonly networkName: string;
  readonly address: string;
  readonly smtpPort: number;
  readonly httpPort: number;
  readonly nodes: readonly string[];
  readonly resources: ReadonlyArray<{ name: string; type: string; state: ResourceView['state'] }>;
  readonly databases: readonly DatabaseStatus[];
}

export interface MoveReport {
  readonly server: string;
  readonly from: string;
  readonly to: string;
  readonly comment: string;
  /** Whether the group moved and every database came online on the target. */
  readonly ok: boolean;
  readonly move: OperationView;
  readonly databases: ReadonlyArray<{ name: string; ok: boolean; error?: ErrorView }>;
  readonly tookMs: number;
}

export interface MailboxConsoleOptions {
  readonly clock: Clock;
  readonly limits?: Partial<MailboxConsoleLimits>;
}

function sanitise(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]+/g, '_');
}

type ErrorView = { code: number; name: string; message: string };

/** A ClusterError from an operation's error view (its name, where known). */
function fromView(view: ErrorView | undefined, fallback: ErrorName, detail: string): ClusterError {
  const name = view && view.name in errors ? (view.name as ErrorName) : fallback;
  return new ClusterError(name, `${detail}: ${view?.message ?? 'no error reported'}`);
}

function asError(e: unknown): ErrorView {
  if (isClusterError(e)) return e.toJSON();
  if (e && typeof e === 'object' && 'code' in e && 'name' in e && 'message' in e) return e as ErrorView;
  return new ClusterError('ERROR_INTERNAL_ERROR', e instanceof Error ? e.message : String(e)).toJSON();
}

export class MailboxConsole {
  readonly limits: MailboxConsoleLimits;

  constructor(
    readonly api: ClusterApi,
    private readonly options: MailboxConsoleOptions,
  ) {
    this.limits = { ...defaultMailboxConsoleLimits, ...options.limits };
  }

  // ---- waiting ----

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.clock.setTimer(ms, resolve));
  }

  /** Waits for an operation to end; ERROR_TIMEOUT naming it after maxMs. */
  async waitOperation(op: OperationView, maxMs: number): Promise<OperationView> {
    const until = this.options.clock.now() + maxMs;
    let view = op;
    while (!view.done) {
      if (this.options.clock.now() >= until) throw new ClusterError('ERROR_TIMEOUT', `${op.kind} of ${op.target} (operation ${op.id}) did not end within ${maxMs} ms`);
      await this.sleep(this.limits.operationPollIntervalMs);
      view = await this.api.getOperation(op.id);
    }
    return view;
  }

  private async waitFor(what: string, cond: () => Promise<boolean>, maxMs: number): Promise<void> {
    const until = this.options.clock.now() + maxMs;
    while (!(await cond())) {
      if (this.options.clock.now() >= until) throw new ClusterError('ERROR_TIMEOUT', `${what} did not happen within ${maxMs} ms`);
      await this.sleep(this.limits.operationPollIntervalMs);
    }
  }

  // ---- servers ----

  /** Names of the groups that are mailbox servers (they hold an Information Store). */
  async listServers(): Promise<string[]> {
    const resources = await this.api.listResources();
    return [...new Set(resources.filter((r) => r.type === INFORMATION_STORE_TYPE_NAME).map((r) => r.group))].sort();
  }

  private async serverResources(server: string): Promise<ResourceView[]> {
    const group = await this.api.getGroup(server);
    const resources = await this.api.listResources({ group: group.name });
    if (!resources.some((r) => r.type === INFORMATION_STORE_TYPE_NAME)) {
      throw new ClusterError('ERROR_INVALID_PARAMETER', `group ${group.name} is not a mailbox server (it has no ${INFORMATION_STORE_TYPE_NAME})`);
    }
    return resources;
  }

  private async freeAddress(): Promise<string> {
    const used = new Set((await this.api.listResources()).filter((r) => r.type === IP_ADDRESS_TYPE_NAME).map((r) => String(r.parameters['Address'])));
    for (let i = 1; i < 65_535; i++) {
      const a = `127.77.${i >> 8}.${i & 255}`;
      if ((i & 255) !== 0 && !used.has(a)) return a;
    }
    throw new ClusterError('ERROR_NOT_FOUND', 'no free address in 127.77.0.0/16');
  }

  /** Creates the server's group and resources, with one database, and brings it online. */
  async createServer(server: string, options: CreateServerOptions): Promise<ServerStatus> {
    const nodes = [...options.nodes];
    if (nodes.length === 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `create-server ${server}: --nodes names no node`);
    if (options.mode === 'ccr' && nodes.length < 2) throw new ClusterError('ERROR_INVALID_PARAMETER', `create-server ${server}: continuous replication needs at least two nodes, got ${nodes.join(', ')}`);
    if (options.mode !== 'scc' && options.mode !== 'ccr') throw new ClusterError('ERROR_INVALID_PARAMETER', `create-server ${server}: mode ${JSON.stringify(options.mode)} is neither scc nor ccr`);
    if (!options.storageRoot.startsWith('/')) throw new ClusterError('ERROR_INVALID_PARAMETER', `create-server ${server}: storage root ${JSON.stringify(options.storageRoot)} is not an absolute path`);
    const known = new Set((await this.api.listNodes()).map((n) => n.name));
    const unknown = nodes.filter((n) => !known.has(n));
    if (unknown.length > 0) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `create-server ${server}: ${unknown.join(', ')} ${unknown.length === 1 ? 'is not a node' : 'are not nodes'} of the cluster`);
    const address = options.address ?? (await this.freeAddress());
    const names = serverResourceNames;
    const common = { PersistentState: 0 as const, PossibleOwners: nodes };
    await this.api.createGroup(server, { PreferredOwners: nodes, Description: `Clustered mailbox server (${options.mode.toUpperCase()})` });
    await this.api.createResource(names.ipAddress(server), IP_ADDRESS_TYPE_NAME, server, { common, parameters: { Address: address } });
    await this.api.createResource(names.networkName(server), NETWORK_NAME_TYPE_NAME, server, {
      common,
      parameters: { Name: options.networkName ?? server.toLowerCase() },
      dependencies: `[${names.ipAddress(server)}]`,
    });
    let diskDependency = '';
    if (options.mode === 'scc') {
      await this.api.createResource(names.physicalDisk(server), PHYSICAL_DISK_TYPE_NAME, server, { common, parameters: { Path: join(options.storageRoot, sanitise(server), 'disk') } });
      diskDependency = ` and [${names.physicalDisk(server)}]`;
    }
    await this.api.createResource(names.systemAttendant(server), SYSTEM_ATTENDANT_TYPE_NAME, server, {
      common,
      parameters: { HttpPort: options.httpPort ?? DEFAULT_HTTP_PORT },
      dependencies: `[${names.networkName(server)}]${diskDependency}`,
    });
    await this.api.createResource(names.informationStore(server), INFORMATION_STORE_TYPE_NAME, server, {
      common,
      parameters: { SmtpPort: options.smtpPort ?? DEFAULT_SMTP_PORT },
      dependencies: `[${names.systemAttendant(server)}]`,
    });
    await this.addDatabase(server, DEFAULT_DATABASE_NAME, options.mode, nodes, options.storageRoot, options.mailboxes ?? []);
    const online = await this.waitOperation(await this.api.onlineGroup(server), this.limits.operationWaitMs);
    if (options.waitOnline !== false && !online.ok) throw fromView(online.error, 'ERROR_RESOURCE_FAILED', `create-server ${server}: the server did not come online`);
    return this.status(server);
  }

  private async addDatabase(server: string, database: string, mode: ServerMode, nodes: readonly string[], storageRoot: string, mailboxes: readonly string[]): Promise<ResourceView> {
    const names = serverResourceNames;
    const parameters: Record<string, PropertyValue> =
      mode === 'scc'
        ? { Replication: REPLICATION_SINGLE_COPY, DatabaseFolder: sanitise(database), Mailboxes: [...mailboxes] }
        : { Replication: REPLICATION_CONTINUOUS, CopyRoot: join(storageRoot, sanitise(server), sanitise(database)), CopyNodes: [...nodes], Mailboxes: [...mailboxes] };
    return this.api.createResource(names.database(server, database), MAILBOX_DATABASE_TYPE_NAME, server, {
      common: { PersistentState: 0, PossibleOwners: [...nodes] },
      parameters,
      dependencies: `[${names.informationStore(server)}]${mode === 'scc' ? ` and [${names.physicalDisk(server)}]` : ''}`,
    });
  }

  /** Adds a database to a server (next to its first one) and mounts it. */
  async createDatabase(server: string, database: string, options: { mailboxes?: readonly string[] } = {}): Promise<DatabaseStatus> {
    const resources = await this.serverResources(server);
    const first = resources.find((r) => r.type === MAILBOX_DATABASE_TYPE_NAME);
    if (!first) throw new ClusterError('ERROR_RESOURCE_NOT_FOUND', `server ${server} has no database to take its storage settings from`);
    const mode: ServerMode = first.parameters['Replication'] === REPLICATION_CONTINUOUS ? 'ccr' : 'scc';
    const group = await this.api.getGroup(server);
    const nodes = first.common.PossibleOwners.length > 0 ? first.common.PossibleOwners : group.common.PreferredOwners;
    // The storage root is the parent of the first database's server folder.
    const storageRoot =
      mode === 'ccr'
        ? join(String(first.parameters['CopyRoot']), '..', '..')
        : join(String(resources.find((r) => r.type === PHYSICAL_DISK_TYPE_NAME)?.parameters['Path'] ?? '/'), '..', '..');
    const r = await this.addDatabase(server, database, mode, nodes, storageRoot, options.mailboxes ?? []);
    if (group.owner && group.state !== 'Offline') {
      const op = await this.waitOperation(await this.api.onlineResource(r.name), this.limits.operationWaitMs);
      if (!op.ok) throw fromView(op.error, 'ERROR_RESOURCE_FAILED', `create-database ${database}: mount failed`);
    }
    return (await this.status(server)).databases.find((d) => d.name === r.name)!;
  }

  async status(server: string): Promise<ServerStatus> {
    const group = await this.api.getGroup(server);
    const resources = await this.serverResources(server);
    const byType = (t: string) => resources.filter((r) => r.type === t);
    const dbs = byType(MAILBOX_DATABASE_TYPE_NAME);
    const mode: ServerMode = dbs[0]?.parameters['Replication'] === REPLICATION_CONTINUOUS ? 'ccr' : 'scc';
    const databases: DatabaseStatus[] = [];
    for (const db of dbs) {
      const copyNodes = Array.isArray(db.parameters['CopyNodes']) ? (db.parameters['CopyNodes'] as string[]) : [];
      const copies = db.parameters['Replication'] === REPLICATION_CONTINUOUS ? await copyStatuses(String(db.parameters['CopyRoot']), copyNodes, group.owner, db.state === 'Online') : [];
      databases.push({
        name: db.name,
        state: db.state,
        mailboxes: Array.isArray(db.parameters['Mailboxes']) ? (db.parameters['Mailboxes'] as string[]) : [],
        ...(db.lastError ? { lastError: db.lastError } : {}),
        copies,
      });
    }
    const nn = byType(NETWORK_NAME_TYPE_NAME)[0];
    const num = (r: ResourceView | undefined, p: string, d: number): number => (typeof r?.parameters[p] === 'number' ? (r.parameters[p] as number) : d);
    return {
      server: group.name,
      mode,
      state: group.state,
      ...(group.owner ? { owner: group.owner } : {}),
      moving: group.moving,
      networkName: String(nn?.parameters['Name'] ?? ''),
      address: String(byType(IP_ADDRESS_TYPE_NAME)[0]?.parameters['Address'] ?? ''),
      smtpPort: num(byType(INFORMATION_STORE_TYPE_NAME)[0], 'SmtpPort', DEFAULT_SMTP_PORT),
      httpPort: num(byType(SYSTEM_ATTENDANT_TYPE_NAME)[0], 'HttpPort', DEFAULT_HTTP_PORT),
      nodes: group.common.PreferredOwners,
      resources: resources.map((r) => ({ name: r.name, type: r.type, state: r.state })),
      databases,
    };
  }

  /** The checks a move makes before it starts; throws the first problem found. */
  async checkMove(server: string, to: string): Promise<{ from: string; to: string; databases: string[] }> {
    const resources = await this.serverResources(server);
    const group = await this.api.getGroup(server);
    const node = await this.api.getNode(to).catch((e: unknown) => {
      throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `move ${server}: ${JSON.stringify(to)} is not a member of the cluster (${asError(e).message})`);
    });
    if (node.state !== 'Up') throw new ClusterError(node.state === 'Paused' ? 'ERROR_CLUSTER_NODE_PAUSED' : 'ERROR_CLUSTER_NODE_DOWN', `move ${server}: node ${node.name} is ${node.state}`);
    if (!group.owner) throw new ClusterError('ERROR_GROUP_NOT_AVAILABLE', `move ${server}: the server has no owner node to move from`);
    if (group.owner === node.name) throw new ClusterError('ERROR_INVALID_STATE', `move ${server}: the server already runs on node ${node.name}`);
    if (group.moving) throw new ClusterError('ERROR_CLUSTER_GROUP_MOVING', `move ${server}: the server is being moved already`);
    for (const r of resources) {
      if (r.common.PossibleOwners.length > 0 && !r.common.PossibleOwners.includes(node.name)) {
        throw new ClusterError('ERROR_HOST_NODE_NOT_RESOURCE_OWNER', `move ${server}: node ${node.name} is not a possible owner of ${r.name} (possible owners: ${r.common.PossibleOwners.join(', ')})`);
      }
    }
    for (const other of await this.listServers()) {
      if (other === group.name) continue;
      const g = await this.api.getGroup(other);
      if (g.owner === node.name && g.state !== 'Offline') throw new ClusterError('ERROR_CLUSTER_OBJECT_ALREADY_USED', `move ${server}: node ${node.name} already runs mailbox server ${other}`);
    }
    const status = await this.status(server);
    for (const db of status.databases) {
      const copy = db.copies.find((c) => c.node === node.name);
      if (status.mode === 'ccr' && !copy) throw new ClusterError('ERROR_HOST_NODE_NOT_RESOURCE_OWNER', `move ${server}: node ${node.name} holds no copy of ${db.name}`);
      if (!copy) continue;
      // A copy behind a mounted database is an in-flight commit (shipping is synchronous); behind a dismounted one it misses data.
      const behindInFlight = copy.status === 'Behind' && db.state === 'Online' && copy.copyQueueLength <= defaultMailboxLimits.commitBatchMessagesMax;
      if (copy.status !== 'Healthy' && !behindInFlight) {
        throw new ClusterError('ERROR_RESOURCE_NOT_AVAILABLE', `move ${server}: the copy of ${db.name} on node ${node.name} is ${copy.status} (copy queue ${copy.copyQueueLength}, replay queue ${copy.replayQueueLength}); reseed it first`);
      }
    }
    return { from: group.owner, to: node.name, databases: resources.filter((r) => r.type === MAILBOX_DATABASE_TYPE_NAME).map((r) => r.name) };
  }

  /** Moves the server to a node by the seed's workflow, after checkMove. */
  async move(server: string, options: { to: string; comment?: string }): Promise<MoveReport> {
    const started = this.options.clock.now();
    const { from, to, databases } = await this.checkMove(server, options.to);
    const comment = options.comment ?? '';
    await this.recordMove(server, from, to, comment);
    for (const db of databases) await this.api.setResourceProperties(db, { PersistentState: 0 });
    const results: Array<{ name: string; ok: boolean; error?: ErrorView }> = [];
    let move: OperationView;
    try {
      move = await this.waitOperation(await this.api.moveGroup(server, { to }), this.limits.moveWaitMs);
      for (const db of databases) {
        try {
          const op = await this.waitOperation(await this.api.onlineResource(db), this.limits.operationWaitMs);
          results.push({ name: db, ok: op.ok === true, ...(op.error ? { error: op.error } : {}) });
        } catch (e) {
          results.push({ name: db, ok: false, error: asError(e) });
        }
      }
    } finally {
      for (const db of databases) await this.api.setResourceProperties(db, { PersistentState: 1 }).catch(() => undefined);
    }
    return { server, from, to, comment, ok: move.ok === true && results.every((r) => r.ok), move, databases: results, tookMs: this.options.clock.now() - started };
  }

  /** Keeps the move's comment with the server, as Exchange records it. */
  private async recordMove(server: string, from: string, to: string, comment: string): Promise<void> {
    const key = `MailboxServers\\${server}`;
    await this.api.registryCreateKey(key).catch(() => undefined);
    await this.api.registrySetValue(key, 'LastMove', { type: 'string', data: JSON.stringify({ from, to, comment, at: this.options.clock.now() }) });
  }

  /** Takes the server offline; it stays offline across node restarts until start. */
  async stop(server: string): Promise<OperationView> {
    await this.serverResources(server);
    await this.api.setGroupProperties(server, { PersistentState: 0 });
    return this.waitOperation(await this.api.offlineGroup(server), this.limits.operationWaitMs);
  }

  async start(server: string): Promise<OperationView> {
    await this.serverResources(server);
    await this.api.setGroupProperties(server, { PersistentState: 1 });
    return this.waitOperation(await this.api.onlineGroup(server), this.limits.operationWaitMs);
  }

  /**
   * Rebuilds a node's copy of a database from the active copy: the active
   * database does it within copyReplayIntervalMs; a dismounted one at its
   * next mount. Resolves once done, or once requested if the database is not mounted.
   */
  async reseed(server: string, database: string, node: string): Promise<{ done: boolean }> {
    const resources = await this.serverResources(server);
    const db = resources.find((r) => r.type === MAILBOX_DATABASE_TYPE_NAME && (r.name === database || r.name === serverResourceNames.database(server, database)));
    if (!db) throw new ClusterError('ERROR_RESOURCE_NOT_FOUND', `server ${server} has no database ${JSON.stringify(database)}`);
    if (db.parameters['Replication'] !== REPLICATION_CONTINUOUS) throw new ClusterError('ERROR_INVALID_PARAMETER', `${db.name} is a single copy database; only replicated copies are reseeded`);
    const nodes = db.parameters['CopyNodes'] as string[];
    if (!nodes.includes(node)) throw new ClusterError('ERROR_CLUSTER_NODE_NOT_FOUND', `${db.name} has no copy on node ${JSON.stringify(node)} (copies: ${nodes.join(', ')})`);
    const group = await this.api.getGroup(server);
    if (group.owner === node && db.state === 'Online') throw new ClusterError('ERROR_INVALID_STATE', `the copy of ${db.name} on node ${node} is the active copy; move the server before reseeding it`);
    const root = String(db.parameters['CopyRoot']);
    await requestReseed(copyDirectory(root, node), this.options.clock.now());
    if (db.state !== 'Online') return { done: false };
    await this.waitFor(
      `reseed of ${db.name} on node ${node}`,
      async () => (await copyStatuses(root, nodes, group.owner, true)).find((c) => c.node === node)?.status === 'Healthy',
      this.limits.reseedWaitMs,
    );
    return { done: true };
  }

  // ---- trying it out ----

  private async reach(server: string): Promise<{ address: string; smtpPort: number; httpPort: number; domain: string }> {
    const ep = await serverEndpoints(this.api, server);
    const resolved = await resolveNetworkName(this.api, ep.domain);
    return { address: resolved.address, smtpPort: ep.smtpPort, httpPort: ep.httpPort, domain: ep.domain };
  }

  /** Sends a message to the server (recipients without a domain get the server's). */
  async send(server: string, mail: OutgoingMail): Promise<SendOutcome> {
    const r = await this.reach(server);
    const qualify = (a: string): string => (a.includes('@') ? a : `${a}@${r.domain}`);
    const to = typeof mail.to === 'string' ? [qualify(mail.to)] : mail.to.map(qualify);
    return sendMail(r.address, r.smtpPort, { ...mail, to, from: qualify(mail.from) });
  }

  async mailbox(server: string): Promise<MailboxHttpClient> {
    const r = await this.reach(server);
    return new MailboxHttpClient(`http://${r.address}:${r.httpPort}`);
  }

  async read(server: string, mailbox: string, options: { offset?: number; limit?: number } = {}): Promise<MessagePage> {
    return (await this.mailbox(server)).list(mailbox, options);
  }

  async readMessage(server: string, mailbox: string, id: string): Promise<StoredMessage> {
    return (await this.mailbox(server)).read(mailbox, id);
  }
}

export const SAMPLE_SERVER_NAME = 'CMS01';

/**
 * The sample server `failover up` creates: a CCR mailbox server on the first
 * two of the given nodes (storage under storageRoot). Does nothing if the
 * group exists already (a resumed cluster).
 */
export async function createSampleMailboxServer(
  api: ClusterApi,
  options: {
    nodes: readonly string[];
    /** Default: .failover/mailbox under the working directory (failover up's default data directory). */
    storageRoot?: string;
    clock?: Clock;
    name?: string;
    address?: string;
    smtpPort?: number;
    httpPort?: number;
  },
): Promise<ServerStatus> {
  const name = options.name ?? SAMPLE_SERVER_NAME;
  const console_ = new MailboxConsole(api, { clock: options.clock ?? new RealClock() });
  const exists = (await api.listGroups()).some((g) => g.name.toLowerCase() === name.toLowerCase());
  if (exists) return console_.status(name);
  if (options.nodes.length < 2) throw new ClusterError('ERROR_INVALID_PARAMETER', `the sample mailbox server needs two nodes, got ${options.nodes.length}`);
  return console_.createServer(name, {
    mode: 'ccr',
    nodes: options.nodes.slice(0, 2),
    storageRoot: options.storageRoot ?? resolve('.failover', 'mailbox'),
    ...(options.address ? { address: options.address } : {}),
    ...(options.smtpPort ? { smtpPort: options.smtpPort } : {}),
    ...(options.httpPort ? { httpPort: options.httpPort } : {}),
  });
}
