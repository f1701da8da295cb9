// Gathers every node's cluster log of a local cluster into one directory, as
// Get-ClusterLog -Destination does: `<data-dir>/logs/<Node>/cluster.log[.N]`
// becomes `<out>/<Node>_cluster.log[.N]`, which `failover log diagnose` reads
// back with the node names.

import { copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ClusterError } from '../model/errors.ts';

export interface CollectedFile {
  node: string;
  from: string;
  to: string;
  bytes: number;
}

const logFileName = /^cluster\.log(\.\d+)?$/;

export async function collectClusterLogs(dataDir: string, outDir: string): Promise<CollectedFile[]> {
  const logsDir = join(dataDir, 'logs');
  let nodes: string[];
  try {
    nodes = (await readdir(logsDir, { withFileTypes: true })).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch {
    throw new ClusterError('ERROR_FILE_NOT_FOUND', `no local cluster in ${dataDir}: ${logsDir} does not exist (start one with \`failover up\`, or pass --data-dir)`);
  }
  const found: { node: string; from: string; name: string }[] = [];
  for (const node of nodes) {
    for (const name of (await readdir(join(logsDir, node))).sort()) {
      if (logFileName.test(name)) found.push({ node, from: join(logsDir, node, name), name });
    }
  }
  if (found.length === 0) throw new ClusterError('ERROR_FILE_NOT_FOUND', `no cluster.log under ${logsDir}/<node>/ (is the cluster in ${dataDir} running?)`);
  try {
    await mkdir(outDir, { recursive: true });
  } catch (e) {
    throw new ClusterError('ERROR_ACCESS_DENIED', `cannot create ${outDir}: ${(e as Error).message}`);
  }
  const out: CollectedFile[] = [];
  for (const f of found) {
    const to = join(outDir, `${f.node}_${f.name}`);
    try {
      await copyFile(f.from, to);
    } catch (e) {
      throw new ClusterError('ERROR_WRITE_FAULT', `cannot copy ${f.from} to ${to}: ${(e as Error).message}`);
    }
    out.push({ node: f.node, from: f.from, to, bytes: (await stat(to)).size });
  }
  return out;
}
