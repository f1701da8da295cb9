// Access tokens of a cluster's REST API and the file that tells local clients
// where the API is: <dataDir>/api.json = { url, tokens: { full, read } }, mode
// 0600 so only the user who started the cluster can read it. Tokens are random
// and new at every start (MS-CMRP's two access levels: All and Read).
import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ClusterError } from '../model/errors.ts';

export interface ApiTokens {
  readonly full: string;
  readonly read: string;
}

export interface LocalCluster {
  readonly url: string;
  readonly tokens: ApiTokens;
}

export const API_FILE_NAME = 'api.json';
const TOKEN_BYTES = 32;
const API_FILE_MODE = 0o600;

export function createApiTokens(): ApiTokens {
  return { full: randomBytes(TOKEN_BYTES).toString('base64url'), read: randomBytes(TOKEN_BYTES).toString('base64url') };
}

export function apiFilePath(dataDir: string): string {
  return join(dataDir, API_FILE_NAME);
}

/** Writes api.json atomically (temp file, then rename), readable by its owner only. */
export function writeLocalCluster(dataDir: string, cluster: LocalCluster): string {
  const path = apiFilePath(dataDir);
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify({ url: cluster.url, tokens: cluster.tokens }, null, 2)}\n`, { mode: API_FILE_MODE });
  chmodSync(tmp, API_FILE_MODE); // the umask cannot widen it, but an existing file keeps its mode: set it
  renameSync(tmp, path);
  return path;
}

/** Reads the api.json that `failover up` wrote in dataDir; a clear error says what to do when it is missing. */
export function readLocalCluster(dataDir: string): LocalCluster {
  const path = apiFilePath(dataDir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ClusterError('ERROR_FILE_NOT_FOUND', `no local cluster: ${path} does not exist; start one with "failover up" here, or choose one with --cluster URL (and FAILOVER_TOKEN)`);
    }
    if (code === 'EACCES') throw new ClusterError('ERROR_ACCESS_DENIED', `cannot read ${path}: permission denied (it is readable by the user who ran "failover up" only)`);
    throw new ClusterError('ERROR_FILE_NOT_FOUND', `cannot read ${path}: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ClusterError('ERROR_INVALID_DATA', `${path} is not valid JSON`);
  }
  const v = parsed as { url?: unknown; tokens?: { full?: unknown; read?: unknown } };
  if (typeof v.url !== 'string' || typeof v.tokens?.full !== 'string' || typeof v.tokens.read !== 'string') {
    throw new ClusterError('ERROR_INVALID_DATA', `${path} must hold { "url": string, "tokens": { "full": string, "read": string } }`);
  }
  return { url: v.url, tokens: { full: v.tokens.full, read: v.tokens.read } };
}
