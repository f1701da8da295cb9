// Network namespaces a test creates for itself (root only): two namespaces
// joined by a veth pair on a /24 of their own, standing in for two machines
// on one LAN (createNetnsPair); or N namespaces on a bridge, machines on one
// switch that a test can cut off or slow down (createNetnsStar). Names carry
// this process's pid, so parallel test files never collide; remove()
// deletes what was made (veth pairs go with their namespaces).
import { spawnSync } from 'node:child_process';
import { ensureDebianPackage, findExecutable } from '../../scripts/debian.ts';

export interface NetnsPair {
  /** The namespaces' names. */
  readonly namespaces: readonly [string, string];
  /** Each namespace's own address on the link (prefix length 24). */
  readonly addresses: readonly [string, string];
  /** The link's network, e.g. "10.217.3" (append ".N" for an address on it). */
  readonly subnet: string;
  /** Runs a command in a namespace; throws with its output if it fails. */
  exec(ns: string, command: readonly string[]): string;
  /** The IPv4 addresses (without prefix) configured in a namespace, loopback excepted. */
  ipv4Addresses(ns: string): string[];
  remove(): void;
}

/** Why namespace tests cannot run here, or undefined when they can. */
export function netnsUnavailableReason(): string | undefined {
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  if (!findExecutable('ip', ['/usr/sbin', '/sbin'])) return 'iproute2 (ip) is not installed';
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return probe.status === 0 ? undefined : `ip netns does not work here: ${probe.stderr.trim()}`;
}

/** Runs a command; throws with its error output if it fails. */
function run(cmd: string, args: readonly string[], input?: string): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

const ip = (args: readonly string[]): string => run('ip', args);

export function createNetnsPair(tag: string): NetnsPair {
  const id = `${tag}${process.pid}`;
  const namespaces = [`${id}a`, `${id}b`] as const;
  const veths = [`v${process.pid}a`, `v${process.pid}b`] as const; // interface names: at most 15 characters
  const subnet = `10.${200 + (process.pid % 50)}.${Math.floor(process.pid / 50) % 250}`;
  const addresses = [`${subnet}.1`, `${subnet}.2`] as const;
  const remove = (): void => {
    for (const ns of namespaces) spawnSync('ip', ['netns', 'delete', ns]);
  };
  remove(); // leftovers of a killed run with the same pid
  try {
    for (const ns of namespaces) ip(['netns', 'add', ns]);
    ip(['link', 'add', veths[0], 'netns', namespaces[0], 'type', 'veth', 'peer', 'name', veths[1], 'netns', namespaces[1]]);
    for (const i of [0, 1] as const) {
      ip(['-n', namespaces[i], 'link', 'set', 'lo', 'up']);
      ip(['-n', namespaces[i], 'addr', 'add', `${addresses[i]}/24`, 'dev', veths[i]]);
      ip(['-n', namespaces[i], 'link', 'set', veths[i], 'up']);
    }
  } catch (e) {
    remove();
    throw e;
  }
  return {
    namespaces,
    addresses,
    subnet,
    exec(ns, command) {
      const r = spawnSync('ip', ['netns', 'exec', ns, ...command], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${command.join(' ')} in ${ns} failed (${r.status}): ${r.stdout}${r.stderr}`);
      return r.stdout;
    },
    ipv4Addresses(ns) {
      const links = JSON.parse(ip(['-n', ns, '-j', 'addr', 'show'])) as Array<{ ifname: string; addr_info?: Array<{ family: string; local: string }> }>;
      return links.filter((l) => l.ifname !== 'lo').flatMap((l) => (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => a.local));
    },
    remove,
  };
}

/**
 * How a node is cut off: `link`, its bridge port goes down (a switch port or
 * cable failure: its own side sees no carrier and fails sends at once); or
 * `drop`, an nftables rule in its namespace drops everything on its
 * interface both ways (a firewall or a broken path: the link stays up and
 * every side just waits).
 */
export type CutMethod = 'link' | 'drop';

/**
 * What a star of namespaces can do to one node's link: cut it off, or make
 * it slow (a low bandwidth with a deep queue, and a share of packets dropped
 * at random, both ways).
 */
export interface NetnsStar {
  /** The namespaces' names, one per node. */
  readonly namespaces: readonly string[];
  /** Each namespace's address on the bridge (prefix length 24). */
  readonly addresses: readonly string[];
  /** The root namespace's address on the bridge: how this process reaches the nodes. */
  readonly hostAddress: string;
  /** The command prefix that runs a program inside namespace i. */
  command(i: number): string[];
  /** Cuts namespace i off from the bridge (the others and this process). */
  cut(i: number, method: CutMethod): void;
  heal(i: number): void;
  /** Makes namespace i's link slow and lossy, both ways, until heal(i). */
  slow(i: number, link: SlowLink): void;
  remove(): void;
}

export interface SlowLink {
  /** Bandwidth, tc's notation (e.g. "1mbit"). */
  readonly rate: string;
  /** How long a packet may wait in the queue before it is dropped (tc tbf's latency), ms. */
  readonly queueMs: number;
  /** Share of packets dropped at random each way, percent (nftables; 0: none). */
  readonly lossPercent: number;
}

/** The interface each namespace has on the bridge. */
const starInterface = 'eth0';
/** Bytes tbf may send at once above its rate: a few packets. */
const slowBurstBytes = 4_096;

const findNft = (): string | undefined => findExecutable('nft', ['/usr/sbin', '/sbin']);

/**
 * Why a star of namespaces (createNetnsStar) cannot be made here, or
 * undefined. Its `drop` cut and its slow link's packet loss are nftables
 * rules: `nft` is installed from Debian's package when missing. (tc's netem
 * would be the usual tool for a slow link, but kernels without sch_netem
 * exist: tbf's queue and nftables' random drop need nothing uncommon.)
 */
export async function netnsStarUnavailableReason(): Promise<string | undefined> {
  const netns = netnsUnavailableReason();
  if (netns) return netns;
  if (!findExecutable('tc', ['/usr/sbin', '/sbin'])) return 'tc (iproute2) is not installed';
  try {
    await ensureDebianPackage('nftables', 'nft (nftables)', findNft);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}

/** An nftables table that applies `verdict` (e.g. "drop") to what the namespace's interface receives and sends. */
function dropRuleset(table: string, verdict: string): string {
  return [
    `table inet ${table} {`,
    `  chain in { type filter hook input priority 0; iifname "${starInterface}" ${verdict}; }`,
    `  chain out { type filter hook output priority 0; oifname "${starInterface}" ${verdict}; }`,
    '}',
  ].join('\n');
}

/**
 * `count` namespaces, each joined by a veth pair to a bridge in the root
 * namespace, on a /24 of their own: machines on one switch, with this
 * process on the switch too. Names carry this process's pid (parallel test
 * files never collide); remove() deletes the namespaces and the bridge.
 */
export function createNetnsStar(tag: string, count: number): NetnsStar {
  const id = `${tag}${process.pid}`;
  const namespaces = Array.from({ length: count }, (_, i) => `${id}n${i + 1}`);
  const bridge = `fb${process.pid}`; // interface names: at most 15 characters
  const ports = namespaces.map((_, i) => `fp${process.pid}n${i + 1}`);
  const subnet = `10.${150 + (process.pid % 50)}.${Math.floor(process.pid / 50) % 250}`;
  const addresses = namespaces.map((_, i) => `${subnet}.${i + 1}`);
  const hostAddress = `${subnet}.254`;
  const remove = (): void => {
    for (const ns of namespaces) spawnSync('ip', ['netns', 'delete', ns]);
    for (const port of ports) spawnSync('ip', ['link', 'delete', port]);
    spawnSync('ip', ['link', 'delete', bridge]);
  };
  const nft = (i: number, ruleset: string): void => void run('ip', ['netns', 'exec', namespaces[i]!, 'nft', '-f', '-'], ruleset);
  /** Runs tc on both ends of namespace i's link: its own side shapes what it sends, the bridge port what it receives. */
  const tcBothWays = (i: number, args: (dev: string) => readonly string[]): void => {
    ip(['netns', 'exec', namespaces[i]!, 'tc', ...args(starInterface)]);
    run('tc', args(ports[i]!));
  };
  remove(); // leftovers of a killed run with the same pid
  // Also gone if this process exits without calling remove() (a test that timed out, an uncaught error).
  process.once('exit', remove);
  try {
    ip(['link', 'add', bridge, 'type', 'bridge']);
    ip(['addr', 'add', `${hostAddress}/24`, 'dev', bridge]);
    ip(['link', 'set', bridge, 'up']);
    for (const [i, ns] of namespaces.entries()) {
      ip(['netns', 'add', ns]);
      ip(['link', 'add', ports[i]!, 'type', 'veth', 'peer', 'name', starInterface, 'netns', ns]);
      ip(['link', 'set', ports[i]!, 'master', bridge]);
      ip(['link', 'set', ports[i]!, 'up']);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', ns, 'addr', 'add', `${addresses[i]}/24`, 'dev', starInterface]);
      ip(['-n', ns, 'link', 'set', starInterface, 'up']);
    }
  } catch (e) {
    remove();
    process.off('exit', remove);
    throw e;
  }
  return {
    namespaces,
    addresses,
    hostAddress,
    command: (i) => ['ip', 'netns', 'exec', namespaces[i]!],
    cut(i, method) {
      if (method === 'link') ip(['link', 'set', ports[i]!, 'down']);
      else nft(i, dropRuleset('cutoff', 'drop'));
    },
    heal(i) {
      ip(['link', 'set', ports[i]!, 'up']);
      // Undo the other cut and slow(), if they were: deleting what is not there fails, harmlessly.
      for (const table of ['cutoff', 'slowlink']) spawnSync('ip', ['netns', 'exec', namespaces[i]!, 'nft', 'delete', 'table', 'inet', table]);
      spawnSync('ip', ['netns', 'exec', namespaces[i]!, 'tc', 'qdisc', 'del', 'dev', starInterface, 'root']);
      spawnSync('tc', ['qdisc', 'del', 'dev', ports[i]!, 'root']);
    },
    slow(i, link) {
      tcBothWays(i, (dev) => ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', link.rate, 'burst', String(slowBurstBytes), 'latency', `${link.queueMs}ms`]);
      if (link.lossPercent > 0) nft(i, dropRuleset('slowlink', `numgen random mod 100 < ${link.lossPercent} drop`));
    },
    remove() {
      remove();
      process.off('exit', remove);
    },
  };
}
