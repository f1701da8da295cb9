// The HTTP transport of the ClusterApi: the same interface over the REST
// server, with Node's fetch. Failures reject with ClusterError carrying the
// server's { code, name, message }; an unreachable server or a request past its
// deadline are ClusterErrors too (5051, 1460). subscribe() follows the server's
// event stream and reconnects when it drops, telling the caller with a
// `reconnect` event that events may have been lost.
import type { Clock, TimerHandle } from '../model/clock.ts';
import { RealClock } from '../clock/real.ts';
import { ClusterError } from '../model/errors.ts';
import type { GroupCommon, ResourceCommon, ResourceTypeDescriptor } from '../model/objects.ts';
import type { PropertyValue } from '../model/properties.ts';
import { clusterErrorFromWire } from './error-classes.ts';
import { SSE_SUBSCRIBED_COMMENT } from './sse.ts';
import type {
  ClusterApi,
  ClusterEvent,
  ClusterView,
  EventFilter,
  GroupView,
  MoveOptions,
  NewResourceSpec,
  NodeView,
  OperationView,
  RegistryValue,
  ResourceView,
  Subscription,
} from './types.ts';
import {
  decodeRegistryValue,
  decodeResourceView,
  decodeTypeDescriptor,
  encodeProperties,
  encodeRegistryValue,
  type WireRegistryValue,
} from './wire.ts';

export interface HttpApiOptions {
  readonly url: string;
  readonly token: string;
  /** Deadline of one request. */
  readonly requestTimeoutMs?: number;
  /** First wait before re-opening a dropped event stream; doubles up to reconnectDelayMaxMs. */
  readonly reconnectDelayMs?: number;
  readonly reconnectDelayMaxMs?: number;
  readonly clock?: Clock;
}

export const httpApiDefaults = {
  requestTimeoutMs: 30_000,
  reconnectDelayMs: 250,
  reconnectDelayMaxMs: 5_000,
} as const;

const enc = encodeURIComponent;

export function createHttpApi(options: HttpApiOptions): ClusterApi {
  const base = options.url.replace(/\/+$/, '');
  const requestTimeoutMs = options.requestTimeoutMs ?? httpApiDefaults.requestTimeoutMs;
  const clock = options.clock ?? new RealClock();

  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: AbortSignal.timeout(requestTimeoutMs),
      });
    } catch (e) {
      throw transportError(base, method, path, e, requestTimeoutMs);
    }
    const text = await res.text();
    if (!res.ok) throw errorFromResponse(res.status, text, method, path);
    if (res.status === 204 || text === '') return undefined as T;
    return JSON.parse(text) as T;
  }

  const api: ClusterApi = {
    getCluster: () => call<ClusterView>('GET', '/v1/cluster'),
    listNodes: () => call<NodeView[]>('GET', '/v1/nodes'),
    getNode: (name) => call<NodeView>('GET', `/v1/nodes/${enc(name)}`),
    pauseNode: async (name, opts) => (await call<{ operation?: OperationView }>('POST', `/v1/nodes/${enc(name)}/pause`, { ...(opts?.drain !== undefined ? { drain: opts.drain } : {}) })).operation,
    resumeNode: (name) => call<void>('POST', `/v1/nodes/${enc(name)}/resume`),
    evictNode: (name) => call<void>('POST', `/v1/nodes/${enc(name)}/evict`),

    listResourceTypes: async () => (await call<unknown[]>('GET', '/v1/types')).map(decodeTypeDescriptor) as ResourceTypeDescriptor[],

    listGroups: () => call<GroupView[]>('GET', '/v1/groups'),
    getGroup: (name) => call<GroupView>('GET', `/v1/groups/${enc(name)}`),
    createGroup: (name, common?: Partial<GroupCommon>, opts?: { resources?: readonly NewResourceSpec[] }) =>
      call<GroupView>('POST', '/v1/groups', {
        name,
        ...(common ? { common } : {}),
        ...(opts?.resources ? { resources: opts.resources.map((r) => ({ ...r, ...(r.parameters ? { parameters: encodeProperties(r.parameters) } : {}) })) } : {}),
      }),
    deleteGroup: (name) => call<void>('DELETE', `/v1/groups/${enc(name)}`),
    renameGroup: (name, newName) => call<void>('POST', `/v1/groups/${enc(name)}/rename`, { newName }),
    setGroupProperties: (name, common) => call<GroupView>('PUT', `/v1/groups/${enc(name)}/properties`, common),
    onlineGroup: (name) => call<OperationView>('POST', `/v1/groups/${enc(name)}/online`),
    offlineGroup: (name) => call<OperationView>('POST', `/v1/groups/${enc(name)}/offline`),
    moveGroup: (name, opts?: MoveOptions) => call<OperationView>('POST', `/v1/groups/${enc(name)}/move`, { ...opts }),

    listResources: async (filter) => {
      const query = [...(filter?.group !== undefined ? [`group=${enc(filter.group)}`] : []), ...(filter?.states ? [`state=${enc(filter.states.join(','))}`] : [])];
      return (await call<unknown[]>('GET', `/v1/resources${query.length > 0 ? `?${query.join('&')}` : ''}`)).map(decodeResourceView);
    },
    getResource: async (name) => decodeResourceView(await call('GET', `/v1/resources/${enc(name)}`)),
    createResource: async (name, type, group, opts?: { common?: Partial<ResourceCommon>; parameters?: Record<string, PropertyValue>; dependencies?: string }) =>
      decodeResourceView(
        await call('POST', '/v1/resources', {
          name,
          type,
          group,
          ...(opts?.common ? { common: opts.common } : {}),
          ...(opts?.parameters ? { parameters: encodeProperties(opts.parameters) } : {}),
          ...(opts?.dependencies !== undefined ? { dependencies: opts.dependencies } : {}),
        }),
      ),
    deleteResource: (name) => call<void>('DELETE', `/v1/resources/${enc(name)}`),
    renameResource: (name, newName) => call<void>('POST', `/v1/resources/${enc(name)}/rename`, { newName }),
    changeResourceGroup: (name, group) => call<void>('PUT', `/v1/resources/${enc(name)}/group`, { group }),
    setResourceProperties: async (name, common) => decodeResourceView(await call('PUT', `/v1/resources/${enc(name)}/properties`, common)),
    setResourceParameters: async (name, parameters) => decodeResourceView(await call('PUT', `/v1/resources/${enc(name)}/parameters`, encodeProperties(parameters))),
    setDependencies: async (name, expression) => decodeResourceView(await call('PUT', `/v1/resources/${enc(name)}/dependencies`, { expression })),
    addDependency: async (name, provider) => decodeResourceView(await call('POST', `/v1/resources/${enc(name)}/dependencies`, { provider })),
    removeDependency: async (name, provider) => decodeResourceView(await call('DELETE', `/v1/resources/${enc(name)}/dependencies/${enc(provider)}`)),
    addPossibleOwner: async (name, node) => decodeResourceView(await call('POST', `/v1/resources/${enc(name)}/possible-owners`, { node })),
    removePossibleOwner: async (name, node) => decodeResourceView(await call('DELETE', `/v1/resources/${enc(name)}/possible-owners/${enc(node)}`)),
    onlineResource: (name) => call<OperationView>('POST', `/v1/resources/${enc(name)}/online`),
    offlineResource: (name) => call<OperationView>('POST', `/v1/resources/${enc(name)}/offline`),
    failResource: (name) => call<OperationView>('POST', `/v1/resources/${enc(name)}/fail`),
    resetResource: (name) => call<OperationView>('POST', `/v1/resources/${enc(name)}/reset`),

    getOperation: (id) => call<OperationView>('GET', `/v1/operations/${enc(id)}`),

    registryEnumKeys: (path) => call<string[]>('GET', `/v1/registry/keys/${enc(path)}`),
    registryCreateKey: (path) => call<void>('PUT', `/v1/registry/keys/${enc(path)}`),
    registryDeleteKey: (path) => call<void>('DELETE', `/v1/registry/keys/${enc(path)}`),
    registryEnumValues: async (path) =>
      (await call<Array<{ name: string; value: WireRegistryValue }>>('GET', `/v1/registry/values/${enc(path)}`)).map((v) => ({ name: v.name, value: decodeRegistryValue(v.value) })),
    registryGetValue: async (path, name) => decodeRegistryValue(await call<WireRegistryValue>('GET', `/v1/registry/values/${enc(path)}?name=${enc(name)}`)),
    registrySetValue: (path, name, value: RegistryValue) => call<void>('PUT', `/v1/registry/values/${enc(path)}?name=${enc(name)}`, encodeRegistryValue(value)),
    registryDeleteValue: (path, name) => call<void>('DELETE', `/v1/registry/values/${enc(path)}?name=${enc(name)}`),

    subscribe: (filter, onEvent) => subscribeSse(base, options, clock, filter, onEvent),
  };
  return api;
}

function transportError(base: string, method: string, path: string, e: unknown, timeoutMs: number): ClusterError {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') {
    return new ClusterError('ERROR_TIMEOUT', `${method} ${path}: no answer from ${base} within ${timeoutMs} ms`);
  }
  const why = err.cause?.code ?? err.cause?.message ?? err.message;
  return new ClusterError('ERROR_CLUSTER_NODE_UNREACHABLE', `cannot reach the cluster API at ${base} (${why})`);
}

function errorFromResponse(status: number, text: string, method: string, path: string): ClusterError {
  let body: { code?: unknown; name?: unknown; message?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* not our server's error body: fall back on the status */
  }
  const fallback = status === 401 || status === 403 ? 'ERROR_ACCESS_DENIED' : status === 404 ? 'ERROR_NOT_SUPPORTED' : status >= 500 ? 'ERROR_INTERNAL_ERROR' : 'ERROR_INVALID_PARAMETER';
  const err = clusterErrorFromWire(body, fallback);
  if (typeof body.message !== 'string') err.message = `${method} ${path}: HTTP ${status} ${text.slice(0, 200)}`;
  return err;
}

function eventsPath(filter: EventFilter): string {
  const params = new URLSearchParams();
  if (filter.types && filter.types.length > 0) params.set('types', filter.types.join(','));
  if (filter.group !== undefined) params.set('group', filter.group);
  if (filter.resource !== undefined) params.set('resource', filter.resource);
  if (filter.node !== undefined) params.set('node', filter.node);
  const qs = params.toString();
  return `/v1/events${qs ? `?${qs}` : ''}`;
}

/** Splits an SSE byte stream into frames and hands each complete one to onFrame. */
export class SseParser {
  private buffer = '';
  constructor(private readonly onFrame: (frame: { event?: string; data?: string; id?: string; comments: string[] }) => void) {}
  push(text: string): void {
    this.buffer += text.replace(/\r\n?/g, '\n');
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const frame: { event?: string; data?: string; id?: string; comments: string[] } = { comments: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) frame.comments.push(line.slice(1).trim());
        else {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') frame.event = value;
          else if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
          else if (field === 'id') frame.id = value;
        }
      }
      this.onFrame(frame);
    }
  }
}

async function subscribeSse(base: string, options: HttpApiOptions, clock: Clock, filter: EventFilter, onEvent: (e: ClusterEvent) => void): Promise<Subscription> {
  const path = eventsPath(filter);
  const firstDelay = options.reconnectDelayMs ?? httpApiDefaults.reconnectDelayMs;
  const maxDelay = options.reconnectDelayMaxMs ?? httpApiDefaults.reconnectDelayMaxMs;
  let closed = false;
  let controller: AbortController | undefined;
  let retry: TimerHandle | undefined;
  let lastRevision = 0;
  let delay = firstDelay;

  /** Opens the stream; resolves once the server has subscribed, then keeps reading in the background. */
  const open = async (isReconnect: boolean): Promise<void> => {
    controller = new AbortController();
    const signal = controller.signal;
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { headers: { authorization: `Bearer ${options.token}`, accept: 'text/event-stream' }, signal });
    } catch (e) {
      throw transportError(base, 'GET', path, e, 0);
    }
    if (!res.ok || !res.body) throw errorFromResponse(res.status, await res.text(), 'GET', path);
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let ready: (() => void) | undefined;
    const subscribed = new Promise<void>((resolve) => (ready = resolve));
    const parser = new SseParser((frame) => {
      if (frame.comments.includes(SSE_SUBSCRIBED_COMMENT)) {
        ready?.();
        if (isReconnect) onEvent({ type: 'reconnect', revision: lastRevision });
      }
      if (frame.data === undefined) return;
      let event: ClusterEvent;
      try {
        event = JSON.parse(frame.data) as ClusterEvent;
      } catch {
        return; // a frame we cannot read is skipped; the stream goes on
      }
      if (typeof event.revision === 'number') lastRevision = Math.max(lastRevision, event.revision);
      onEvent(event);
    });
    const pump = async (): Promise<void> => {
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          parser.push(decoder.decode(value, { stream: true }));
        }
      } catch {
        /* dropped: reconnect below */
      }
      ready?.();
      if (!closed) scheduleReconnect();
    };
    void pump();
    await subscribed;
    delay = firstDelay;
  };

  const scheduleReconnect = (): void => {
    retry = clock.setTimer(delay, () => {
      retry = undefined;
      if (closed) return;
      open(true).catch(() => {
        if (!closed) scheduleReconnect();
      });
    });
    delay = Math.min(maxDelay, delay * 2);
  };

  await open(false);
  return {
    close: () => {
      closed = true;
      if (retry) clock.clearTimer(retry);
      controller?.abort();
    },
  };
}
