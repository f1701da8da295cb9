// The Linux IP Address resource type: an address (IPv4 or IPv6) on a network
// interface of the node that owns the group, configured with iproute2 — what
// WSFC's IP Address resource does on Windows. Needs root (CAP_NET_ADMIN).
//
//   open       the address and prefix length are valid
//   online     the interface is Interface, or the one the node routes the
//              address through; an address this node already holds is online
//              at once; otherwise nobody else may answer for it (arping's
//              duplicate address detection when arping is installed, else a TCP
//              probe: a connection or a refusal within ProbeTimeoutMs means a
//              host holds it -> ERROR_CLUSTER_IPADDR_IN_USE); then `ip addr add`
//              and, with arping, ArpCount gratuitous ARPs so neighbours learn
//              the new owner
//   offline / terminate   `ip addr del` wherever the node holds it
//   looksAlive the node holds the address; isAlive also its interface is up
//   control    "GetAddress" -> { address, interface } (interface undefined while offline)
import { spawn } from 'node:child_process';
import { isIP, Socket } from 'node:net';
import { ClusterError } from '../model/errors.ts';
import type { ResourceTypeDescriptor } from '../model/objects.ts';
import { findExecutableOnPath } from './executables.ts';
import { unsupportedControl, type ControlRequest, type EntryPointContext, type ResourceType, type ResourceTypeDefinition } from './resource-type.ts';

export const LINUX_IP_ADDRESS_TYPE_NAME = 'Linux IP Address';

/** A port nothing is expected to listen on: any answer (accept or refuse) still proves a host holds the address. */
const PROBE_PORT = 9;
const OUTPUT_TAIL_BYTES = 2_048;

export const linuxIpAddressDescriptor: ResourceTypeDescriptor = {
  name: LINUX_IP_ADDRESS_TYPE_NAME,
  description: 'An IPv4 or IPv6 address on a network interface of the owning node (iproute2).',
  privateProperties: [
    { name: 'Address', kind: 'string', default: '', description: 'The address, e.g. 192.0.2.10 or 2001:db8::10.' },
    { name: 'PrefixLength', kind: 'dword', default: 24, min: 1, max: 128, description: 'Network prefix length (24 for a /24).' },
    { name: 'Interface', kind: 'string', default: '', description: 'Interface to add it to; empty: the one the node routes the address through.' },
    { name: 'ArpCount', kind: 'dword', default: 3, min: 0, max: 100, description: 'Gratuitous ARPs sent after online, when arping is installed.' },
    { name: 'ProbeTimeoutMs', kind: 'dword', default: 1_000, min: 1, max: 60_000, description: 'How long online looks for another host answering for the address.' },
  ],
  looksAlivePollIntervalMs: 5_000,
  isAlivePollIntervalMs: 60_000,
};

interface Run {
  readonly code: number | null;
  readonly output: string;
}

/** Runs a command, killed when the signal aborts. */
function run(file: string, args: readonly string[], signal: AbortSignal): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], signal });
    let output = '';
    const collect = (chunk: Buffer): void => void (output = (output + chunk.toString('utf8')).slice(-OUTPUT_TAIL_BYTES));
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.once('error', (e) =>
      reject(signal.aborted ? new ClusterError('ERROR_OPERATION_ABORTED', `${file}: aborted at the call's deadline`) : new ClusterError('ERROR_FILE_NOT_FOUND', `cannot run ${file}: ${e.message}`)),
    );
    child.once('close', (code) => resolve({ code, output }));
  });
}

interface LinkAddresses {
  readonly ifname: string;
  readonly flags?: readonly string[];
  readonly addr_info?: ReadonlyArray<{ readonly local: string; readonly prefixlen: number }>;
}

/** Whether a host answers on the address within ms: a TCP connection accepted or refused. */
function tcpAnswers(address: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (answered: boolean): void => {
      socket.destroy();
      resolve(answered);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', (e: NodeJS.ErrnoException) => done(e.code === 'ECONNREFUSED'));
    socket.connect(PROBE_PORT, address);
  });
}

export class LinuxIpAddressType implements ResourceType {
  readonly descriptor = linuxIpAddressDescriptor;
  private readonly ipPath: string;
  private readonly arpingPath: string | undefined;

  constructor() {
    this.ipPath = findExecutableOnPath('ip') ?? 'ip';
    this.arpingPath = findExecutableOnPath('arping');
  }

  async open(ctx: EntryPointContext): Promise<void> {
    this.address(ctx);
  }
  async close(_ctx: EntryPointContext): Promise<void> {}

  async online(ctx: EntryPointContext): Promise<void> {
    const { address, prefix, family } = this.address(ctx);
    const what = this.what(ctx, 'online');
    if (await this.holder(ctx, address)) {
      ctx.log(`${address} is already on this node`);
      return;
    }
    const dev = await this.interfaceFor(ctx, address);
    const probeMs = Number(ctx.parameters['ProbeTimeoutMs']);
    const taken = family === 4 && this.arpingPath ? await this.arpingDuplicate(ctx, dev, address, probeMs) : await tcpAnswers(address, probeMs);
    if (taken) throw new ClusterError('ERROR_CLUSTER_IPADDR_IN_USE', `${what}: another host answers for ${address}`);
    await this.ip(ctx, what, ['addr', 'add', `${address}/${prefix}`, 'dev', dev]);
    ctx.log(`${address}/${prefix} added to ${dev}`);
    const arps = Number(ctx.parameters['ArpCount']);
    if (family === 4 && this.arpingPath && arps > 0) {
      const r = await run(this.arpingPath, ['-U', '-c', String(arps), '-I', dev, address], ctx.signal);
      if (r.code !== 0) ctx.log(`gratuitous ARP for ${address} failed (exit ${r.code}): ${r.output.trim()}`);
    }
  }

  async offline(ctx: EntryPointContext): Promise<void> {
    await this.remove(ctx, 'offline');
  }
  async terminate(ctx: EntryPointContext): Promise<void> {
    await this.remove(ctx, 'terminate');
  }
  async looksAlive(ctx: EntryPointContext): Promise<boolean> {
    return (await this.holder(ctx, this.address(ctx).address)) !== undefined;
  }
  async isAlive(ctx: EntryPointContext): Promise<boolean> {
    const link = await this.holder(ctx, this.address(ctx).address);
    return link !== undefined && (link.flags ?? []).includes('UP');
  }
  /** Codes: "GetAddress" -> { address, interface }. */
  async control(ctx: EntryPointContext, request: ControlRequest): Promise<unknown> {
    if (request.code !== 'GetAddress') return unsupportedControl(LINUX_IP_ADDRESS_TYPE_NAME, ctx.resource, request);
    const { address } = this.address(ctx);
    return { address, interface: (await this.holder(ctx, address))?.ifname };
  }

  private async remove(ctx: EntryPointContext, ep: string): Promise<void> {
    const { address } = this.address(ctx);
    const link = await this.holder(ctx, address);
    if (!link) return;
    const prefix = link.addr_info!.find((a) => a.local === address)!.prefixlen;
    await this.ip(ctx, this.what(ctx, ep), ['addr', 'del', `${address}/${prefix}`, 'dev', link.ifname]);
    ctx.log(`${address}/${prefix} removed from ${link.ifname}`);
  }

  /** The link that holds the address on this node, if any. */
  private async holder(ctx: EntryPointContext, address: string): Promise<LinkAddresses | undefined> {
    const out = await this.ip(ctx, this.what(ctx, 'address lookup'), ['-j', 'addr', 'show']);
    const links = JSON.parse(out || '[]') as LinkAddresses[];
    return links.find((l) => (l.addr_info ?? []).some((a) => a.local === address));
  }

  private async interfaceFor(ctx: EntryPointContext, address: string): Promise<string> {
    const given = String(ctx.parameters['Interface'] ?? '');
    if (given !== '') return given;
    const what = this.what(ctx, 'online');
    const routes = JSON.parse((await this.ip(ctx, what, ['-j', 'route', 'get', address])) || '[]') as Array<{ dev?: string; gateway?: string }>;
    const route = routes[0];
    if (!route?.dev || route.dev === 'lo') throw new ClusterError('ERROR_INVALID_PARAMETER', `${what}: no interface of this node reaches ${address}; set Interface`);
    return route.dev;
  }

  /** iputils arping's duplicate address detection: exit 1 when a host replied. */
  private async arpingDuplicate(ctx: EntryPointContext, dev: string, address: string, probeMs: number): Promise<boolean> {
    const seconds = Math.max(1, Math.ceil(probeMs / 1000));
    const r = await run(this.arpingPath!, ['-D', '-q', '-c', '2', '-w', String(seconds), '-I', dev, address], ctx.signal);
    return r.code === 1;
  }

  private async ip(ctx: EntryPointContext, what: string, args: readonly string[]): Promise<string> {
    const r = await run(this.ipPath, args, ctx.signal);
    if (r.code !== 0) throw new ClusterError(r.code === 2 && /Operation not permitted/.test(r.output) ? 'ERROR_ACCESS_DENIED' : 'ERROR_RESOURCE_FAILED', `${what}: ip ${args.join(' ')} failed (exit ${r.code}): ${r.output.trim()}`);
    return r.output;
  }

  private address(ctx: EntryPointContext): { address: string; prefix: number; family: 4 | 6 } {
    const address = String(ctx.parameters['Address'] ?? '').trim();
    const family = isIP(address);
    if (family === 0) throw new ClusterError('ERROR_INVALID_PARAMETER', `${this.what(ctx, 'open')}: Address ${JSON.stringify(address)} is not an IPv4 or IPv6 address`);
    const prefix = Number(ctx.parameters['PrefixLength']);
    if (!(prefix >= 1 && prefix <= (family === 4 ? 32 : 128))) throw new ClusterError('ERROR_INVALID_PARAMETER', `${this.what(ctx, 'open')}: PrefixLength ${prefix} does not fit an IPv${family} address`);
    return { address, prefix, family: family as 4 | 6 };
  }

  private what(ctx: EntryPointContext, ep: string): string {
    return `${LINUX_IP_ADDRESS_TYPE_NAME} <${ctx.resource}>: ${ep}`;
  }
}

export const linuxIpAddressType: ResourceTypeDefinition = {
  descriptor: linuxIpAddressDescriptor,
  create: () => new LinuxIpAddressType(),
  module: { url: import.meta.url, export: 'linuxIpAddressType' },
};
