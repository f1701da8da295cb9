// What the mailbox server's resource types share on one node: the addresses
// its IP Address resources hold, the disks its Physical Disk resources own and
// the databases mounted there. One runtime per node (per resource type
// registry), so nodes of an in-process cluster never see each other's.
import type { FencedDirectory } from './fenced-directory.ts';
import type { MailboxDatabase } from './database.ts';
import type { MailboxLimits } from './limits.ts';
import { defaultMailboxLimits } from './limits.ts';

export class MailboxNodeRuntime {
  /** IP Address resource -> the address it holds online here. */
  readonly addresses = new Map<string, string>();
  /** Physical Disk resource -> its directory, owned here. */
  readonly disks = new Map<string, FencedDirectory>();
  /** Mailbox Database resource -> the mounted database. */
  readonly databases = new Map<string, MailboxDatabase>();
  readonly limits: MailboxLimits;

  constructor(limits: Partial<MailboxLimits> = {}) {
    this.limits = { ...defaultMailboxLimits, ...limits };
  }
}
