// Network namespaces a test creates for itself (root only): two namespaces
// joined by a veth pair on a /24 of their own, standing in for two machines
// on one LAN. Names carry this process's pid, so parallel test files never
// collide; remove() deletes both (the veth pair goes with them).
import { spawnSync } from 'node:child_process';
import { findExecutable } from '../../scripts/debian.ts';

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

function ip(args: readonly string[]): string {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout;
}

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
