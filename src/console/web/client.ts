// The page's way to the REST API: every request carries the token in the
// Authorization header (never in a URL), and every failure — an error answer,
// an unreachable server, a request past its deadline — becomes a ClusterError
// with its WSFC code, so the page shows all of them the same way.
import { ClusterError, type ErrorName } from '../../model/errors.ts';
import { clusterErrorFromWire } from '../../api/error-classes.ts';
import type { ClusterView, GroupView, NodeView, OperationView, ResourceView } from '../../api/types.ts';
import type { ConsoleSession } from '../routes.ts';
import type { ClusterSnapshot } from './model.ts';
import { consoleLimits } from './limits.ts';

const enc = encodeURIComponent;

export class ConsoleClient {
  constructor(
    /** The API server's origin, e.g. http://127.0.0.1:45963 */
    private readonly base: string,
    private readonly token: string,
  ) {}

  async request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${this.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        cache: 'no-store',
        signal: AbortSignal.timeout(consoleLimits.requestTimeoutMs),
      });
    } catch (e) {
      throw this.transportError(method, path, e);
    }
    const text = await res.text();
    if (!res.ok) throw errorFromAnswer(res.status, text, method, path);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** Opens the event stream; the caller reads its body and aborts it through the signal. */
  async openEvents(signal: AbortSignal): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(`${this.base}/v1/events`, { headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream' }, cache: 'no-store', signal });
    } catch (e) {
      throw this.transportError('GET', '/v1/events', e);
    }
    if (!res.ok || !res.body) throw errorFromAnswer(res.status, await res.text(), 'GET', '/v1/events');
    return res;
  }

  session(): Promise<ConsoleSession> {
    return this.request('GET', '/console/session');
  }

  async snapshot(): Promise<ClusterSnapshot> {
    const [cluster, nodes, groups, resources] = await Promise.all([
      this.request<ClusterView>('GET', '/v1/cluster'),
      this.request<NodeView[]>('GET', '/v1/nodes'),
      this.request<GroupView[]>('GET', '/v1/groups'),
      this.request<ResourceView[]>('GET', '/v1/resources'),
    ]);
    return { cluster, nodes, groups, resources };
  }

  /** Without a target, the placement policy picks the best node. */
  moveGroup(group: string, to: string | undefined): Promise<OperationView> {
    return this.request('POST', `/v1/groups/${enc(group)}/move`, to !== undefined ? { to } : {});
  }

  groupAction(group: string, verb: 'online' | 'offline'): Promise<OperationView> {
    return this.request('POST', `/v1/groups/${enc(group)}/${verb}`);
  }

  resourceAction(resource: string, verb: 'online' | 'offline' | 'reset'): Promise<OperationView> {
    return this.request('POST', `/v1/resources/${enc(resource)}/${verb}`);
  }

  /** A drain is an operation to follow; a plain pause is done when it returns. */
  async pauseNode(node: string, drain: boolean): Promise<OperationView | undefined> {
    const answer = await this.request<{ operation?: OperationView }>('POST', `/v1/nodes/${enc(node)}/pause`, { drain });
    return answer.operation;
  }

  resumeNode(node: string): Promise<void> {
    return this.request('POST', `/v1/nodes/${enc(node)}/resume`);
  }

  getOperation(id: string): Promise<OperationView> {
    return this.request('GET', `/v1/operations/${enc(id)}`);
  }

  private transportError(method: string, path: string, e: unknown): ClusterError {
    const err = e as Error;
    if (err.name === 'TimeoutError') return new ClusterError('ERROR_TIMEOUT', `${method} ${path}: no answer from ${this.base} within ${consoleLimits.requestTimeoutMs} ms`);
    if (err.name === 'AbortError') return new ClusterError('ERROR_OPERATION_ABORTED', `${method} ${path}: stopped by the page`);
    return new ClusterError('ERROR_CLUSTER_NODE_UNREACHABLE', `cannot reach the cluster API at ${this.base} (${err.message})`);
  }
}

function errorFromAnswer(status: number, text: string, method: string, path: string): ClusterError {
  let body: { code?: unknown; name?: unknown; message?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* not the API's error body: the status tells the kind */
  }
  const fallback: ErrorName = status === 401 || status === 403 ? 'ERROR_ACCESS_DENIED' : status >= 500 ? 'ERROR_INTERNAL_ERROR' : 'ERROR_INVALID_PARAMETER';
  const err = clusterErrorFromWire(body, fallback);
  if (typeof body.message !== 'string') err.message = `${method} ${path}: HTTP ${status} ${text.slice(0, 200)}`;
  return err;
}

/** Any thrown value as the { code, name, message } the page shows. */
export function asClusterError(e: unknown): ClusterError {
  if (e instanceof ClusterError) return e;
  return new ClusterError('ERROR_INTERNAL_ERROR', `the console failed: ${e instanceof Error ? e.message : String(e)}`);
}
