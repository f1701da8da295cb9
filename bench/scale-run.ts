// A large cluster built and exercised the way a user would: `failover up` as
// its own process, `failover apply` of a generated YAML file, then the API
// over HTTP. Shared by the scale benchmark (2,000 groups) and the scale test
// (500 groups), which assert different things of the same figures.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { summary } from './stats.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin', 'failover.js');

/** Every wait of the run is bounded: a cluster that never gets there fails the run instead of hanging it. */
export const SCALE_STEP_TIMEOUT_MS = 15 * 60_000;
const POLL_INTERVAL_MS = 250;
const RSS_SAMPLE_INTERVAL_MS = 500;

export interface ScaleOptions {
  readonly groups: number;
  readonly resourcesPerGroup?: number;
  readonly antiAffinityClasses?: number;
  readonly nodes?: number;
  /** Print progress lines. */
  readonly log?: (line: string) => void;
  /** Read/mutation throughput phase length. */
  readonly throughputMs?: number;
}

export interface ScaleFigures {
  groups: number;
  resources: number;
  applyMs: number;
  onlineAfterApplyMs: number;
  statusMedianMs: number;
  listGroupsMedianMs: number;
  readsPerSecond: number;
  mutationsPerSecond: number;
  mutationErrors: number;
  drainMs: number;
  drainAntiAffinityViolations: number;
  restartApiMs: number;
  restartOnlineMs: number;
  leaseLosses: number;
  rssPeakMb: number;
  rssIdleMb: number;
}

interface GroupView {
  name: string;
  state: string;
  owner?: string;
  common: { AntiAffinityClassNames?: string[] };
}

/** The YAML of a cluster of `groups` groups of chained Dummy resources, preferred owners rotating, anti-affinity classes. */
export function scaleYaml(groups: number, perGroup: number, classes: number, nodes: number): string {
  const lines = ['version: 1', 'groups:'];
  for (let g = 0; g < groups; g++) {
    const name = `G${String(g).padStart(5, '0')}`;
    const first = (g % nodes) + 1;
    const second = ((g + 1) % nodes) + 1;
    lines.push(`  ${name}:`, '    state: online', `    properties: { PreferredOwners: [node${first}, node${second}], AntiAffinityClassNames: [class${g % classes}] }`, '    resources:');
    for (let r = 0; r < perGroup; r++) {
      lines.push(`      ${name}-R${r}:`, '        type: Dummy');
      if (r > 0) lines.push(`        dependencies: "[${name}-R${r - 1}]"`);
    }
  }
  return lines.join('\n') + '\n';
}

export class UpProcess {
  private child: ChildProcess | undefined;
  private output = '';
  rssPeakKb = 0;
  private sampler: NodeJS.Timeout | undefined;

  constructor(readonly dataDir: string, private readonly nodes: number) {}

  async start(): Promise<{ url: string; token: string; tookMs: number }> {
    rmSync(join(this.dataDir, 'api.json'), { force: true });
    const started = performance.now();
    this.child = spawn(process.execPath, [bin, 'up', '--no-sample', '--nodes', String(this.nodes), '--data-dir', this.dataDir, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    this.sampler = setInterval(() => (this.rssPeakKb = Math.max(this.rssPeakKb, this.rssKb())), RSS_SAMPLE_INTERVAL_MS);
    const apiFile = join(this.dataDir, 'api.json');
    await until('failover up to write api.json', () => existsSync(apiFile) || this.child?.exitCode !== null, () => this.output);
    if (this.child.exitCode !== null) throw new Error(`failover up exited ${this.child.exitCode}:\n${this.output}`);
    const api = JSON.parse(readFileSync(apiFile, 'utf8')) as { url: string; tokens: { full: string } };
    const http = new Http(api.url, api.tokens.full);
    await until('the API to answer', async () => (await http.get('/v1/cluster').then(() => true, () => false)), () => this.output);
    return { url: api.url, token: api.tokens.full, tookMs: performance.now() - started };
  }

  rssKb(): number {
    if (!this.child?.pid) return 0;
    try {
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${this.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) : 0;
    } catch {
      return 0;
    }
  }

  /** Ctrl-C: the groups go offline in order and the process ends. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), SCALE_STEP_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
    clearInterval(this.sampler);
  }

  kill(): void {
    clearInterval(this.sampler);
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

export class Http {
  constructor(private readonly url: string, private readonly token: string) {}
  async request(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await fetch(this.url + path, {
      method,
      headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  }
  get(path: string): Promise<unknown> {
    return this.request('GET', path);
  }
}

export async function until(what: string, check: () => boolean | Promise<boolean>, context: () => string = () => ''): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await check()) return performance.now() - started;
    if (performance.now() - started > SCALE_STEP_TIMEOUT_MS) throw new Error(`timed out waiting for ${what}\n${context().slice(-3000)}`);
    await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
  }
}

export function cli(args: string[], dataDir: string): { ms: number; out: string } {
  const started = performance.now();
  // The CLI finds the cluster through .failover/api.json in its working directory.
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: dirname(dataDir), encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const ms = performance.now() - started;
  if (r.status !== 0) throw new Error(`failover ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-2000)}`);
  return { ms, out: r.stdout };
}

/**
 * How far anti-affinity classes are from spread over the given nodes: for each
 * class, how many more groups its fullest node holds than one more than its
 * emptiest (0: every class is spread as evenly as it can be).
 */
export function antiAffinityViolations(groups: readonly GroupView[], nodes: readonly string[]): number {
  const perClass = new Map<string, Map<string, number>>();
  for (const g of groups) {
    for (const c of g.common.AntiAffinityClassNames ?? []) {
      if (!g.owner) continue;
      let m = perClass.get(c);
      if (!m) perClass.set(c, (m = new Map()));
      m.set(g.owner, (m.get(g.owner) ?? 0) + 1);
    }
  }
  let violations = 0;
  for (const m of perClass.values()) {
    const counts = nodes.map((n) => m.get(n) ?? 0);
    const spread = Math.max(...counts) - Math.min(...counts);
    if (spread > 1) violations += spread - 1;
  }
  return violations;
}

export function leaseLosses(dataDir: string): number {
  const logs = join(dataDir, 'logs');
  if (!existsSync(logs)) return 0;
  let n = 0;
  for (const node of readdirSync(logs)) {
    const file = join(logs, node, 'cluster.log');
    if (existsSync(file)) n += readFileSync(file, 'utf8').split('\n').filter((l) => l.includes('lost its membership')).length;
  }
  return n;
}

export async function runScale(o: ScaleOptions): Promise<ScaleFigures> {
  const log = o.log ?? (() => undefined);
  const perGroup = o.resourcesPerGroup ?? 5;
  const nodes = o.nodes ?? 3;
  const work = mkdtempSync(join(tmpdir(), 'failover-scale-'));
  const dataDir = join(work, '.failover');
  const up = new UpProcess(dataDir, nodes);
  try {
    const yamlFile = join(work, 'cluster.yaml');
    writeFileSync(yamlFile, scaleYaml(o.groups, perGroup, o.antiAffinityClasses ?? 10, nodes));
    let api = await up.start();
    let http = new Http(api.url, api.token);
    log(`failover up answering after ${(api.tookMs / 1000).toFixed(1)} s`);

    const apply = cli(['apply', '-f', yamlFile], dataDir);
    log(`apply of ${o.groups} groups: ${(apply.ms / 1000).toFixed(1)} s`);
    const allOnline = async (): Promise<boolean> => ((await http.get('/v1/groups')) as GroupView[]).filter((g) => g.state === 'Online').length === o.groups;
    const onlineAfterApplyMs = await until('every group Online after apply', allOnline);
    log(`all Online ${(onlineAfterApplyMs / 1000).toFixed(1)} s after apply`);
    const rssIdleMb = up.rssKb() / 1024;

    const status: number[] = [];
    for (let i = 0; i < 10; i++) status.push(cli(['status'], dataDir).ms);
    const list: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = performance.now();
      await http.get('/v1/groups');
      list.push(performance.now() - t);
    }

    const throughputMs = o.throughputMs ?? 5_000;
    const clients = 8;
    let reads = 0;
    let t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = c; performance.now() - t0 < throughputMs; i += clients) {
          await http.get(`/v1/groups/G${String(i % o.groups).padStart(5, '0')}`);
          reads++;
        }
      }),
    );
    const readsPerSecond = reads / ((performance.now() - t0) / 1000);
    let mutations = 0;
    let mutationErrors = 0;
    t0 = performance.now();
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = c; performance.now() - t0 < throughputMs; i += clients) {
          await http
            .request('PUT', `/v1/groups/G${String(i % o.groups).padStart(5, '0')}/properties`, { Description: `change ${i}` })
            .then(() => mutations++, () => mutationErrors++);
        }
      }),
    );
    const mutationsPerSecond = mutations / ((performance.now() - t0) / 1000);
    log(`reads ${readsPerSecond.toFixed(0)}/s, mutations ${mutationsPerSecond.toFixed(0)}/s (${mutationErrors} failed)`);

    const drainStarted = performance.now();
    await http.request('POST', '/v1/nodes/node1/pause', { drain: true });
    await until('every group online off node1', async () => {
      const gs = (await http.get('/v1/groups')) as GroupView[];
      return gs.every((g) => g.state === 'Online' && g.owner !== 'node1');
    });
    const drainMs = performance.now() - drainStarted;
    const drained = (await http.get('/v1/groups')) as GroupView[];
    const remaining = Array.from({ length: nodes - 1 }, (_, i) => `node${i + 2}`);
    const drainAntiAffinityViolations = antiAffinityViolations(drained, remaining);
    log(`drain of node1: ${(drainMs / 1000).toFixed(1)} s`);
    await http.request('POST', '/v1/nodes/node1/resume');

    await up.stop();
    api = await up.start();
    http = new Http(api.url, api.token);
    const restartApiMs = api.tookMs;
    const restartOnlineMs = restartApiMs + (await until('every group Online after restart', allOnline));
    log(`restart: API after ${(restartApiMs / 1000).toFixed(1)} s, all Online after ${(restartOnlineMs / 1000).toFixed(1)} s`);
    await up.stop();
    return {
      groups: o.groups,
      resources: o.groups * perGroup,
      applyMs: apply.ms,
      onlineAfterApplyMs,
      statusMedianMs: summary(status).median,
      listGroupsMedianMs: summary(list).median,
      readsPerSecond,
      mutationsPerSecond,
      mutationErrors,
      drainMs,
      drainAntiAffinityViolations,
      restartApiMs,
      restartOnlineMs,
      leaseLosses: leaseLosses(dataDir),
      rssPeakMb: up.rssPeakKb / 1024,
      rssIdleMb,
    };
  } finally {
    up.kill();
    rmSync(work, { recursive: true, force: true });
  }
}
