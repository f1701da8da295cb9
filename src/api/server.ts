// The REST server: every ClusterApi method as a resource-oriented route, JSON
// schemas for every request and response, the OpenAPI document at
// /openapi.json, events as Server-Sent Events, and two access levels (MS-CMRP's
// Read and All) through bearer tokens. Bad input is always a 4xx with the
// { code, name, message } body and never reaches the cluster.
import { timingSafeEqual, createHash } from 'node:crypto';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { ClusterError, errors, isClusterError, type ClusterErrorValue, type ErrorName } from '../model/errors.ts';
import { nameProblem, resourceStates, type ResourceState } from '../model/objects.ts';
import type { Clock } from '../model/clock.ts';
import { RealClock } from '../clock/real.ts';
import { errorClassOf, httpStatusOfClass } from './error-classes.ts';
import { errorBody, eventTypes, requests, responses } from './schemas.ts';
import { SseStream, sseDefaultLimits, type SseLimits } from './sse.ts';
import { isConsoleUrl, registerConsoleRoutes } from '../console/routes.ts';
import type { ClusterApi, ClusterEvent, EventFilter, NewResourceSpec, RegistryValue } from './types.ts';
import {
  decodeProperties,
  decodeRegistryValue,
  encodeRegistryValue,
  encodeResourceView,
  encodeTypeDescriptor,
  type WireRegistryValue,
} from './wire.ts';

export interface ApiServerOptions {
  readonly api: ClusterApi;
  /** Default 127.0.0.1: the API is reachable from this machine only unless told otherwise. */
  readonly host?: string;
  /** 0 (the default) picks a free port. */
  readonly port?: number;
  readonly tokens: { readonly full: string; readonly read: string };
  readonly bodyLimitBytes?: number;
  /** Drives SSE heartbeats; the real clock by default. */
  readonly clock?: Clock;
  readonly sse?: Partial<SseLimits>;
  /** Also serve the web console at /console/ (its page holds no data; it reads through the API with a token). */
  readonly console?: boolean;
  /** More routes (e.g. the mailbox console's), behind the same tokens and error handling. */
  readonly routes?: ReadonlyArray<(app: FastifyInstance) => void>;
}

export interface ApiServer {
  readonly url: string;
  close(): Promise<void>;
}

export const apiServerDefaults = {
  host: '127.0.0.1',
  bodyLimitBytes: 1_048_576,
  /** Names are at most 256 characters; URL-encoded they may triple. */
  routeParamLengthMax: 4096,
} as const;

type Access = 'full' | 'read';

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: ClusterErrorValue,
  ) {
    super(body.message);
  }
}

function wireError(name: ErrorName, message: string): ClusterErrorValue {
  return { code: errors[name].code, name, message };
}

/** Digest-then-compare, so the comparison takes the same time whatever the guess. */
function tokenMatcher(tokens: { full: string; read: string }): (candidate: string) => Access | undefined {
  const digest = (s: string): Buffer => createHash('sha256').update(s).digest();
  const full = digest(tokens.full);
  const read = digest(tokens.read);
  return (candidate) => {
    const d = digest(candidate);
    if (timingSafeEqual(d, full)) return 'full';
    if (timingSafeEqual(d, read)) return 'read';
    return undefined;
  };
}

interface AjvError {
  keyword: string;
  instancePath: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns a schema violation into one sentence naming the offending field, e.g. "body.common.Priority must be <= 10000". */
export function describeSchemaError(list: readonly AjvError[], dataVar: string): string {
  const e = list.find((x) => x.keyword === 'anyOf' || x.keyword === 'oneOf') ?? list[0];
  if (!e) return `invalid ${dataVar}`;
  const path = [dataVar, ...e.instancePath.split('/').filter(Boolean).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))].join('.');
  switch (e.keyword) {
    case 'additionalProperties':
      return `${path} has unknown field ${JSON.stringify(e.params.additionalProperty)}`;
    case 'required':
      return `${path} is missing required field ${JSON.stringify(e.params.missingProperty)}`;
    case 'enum':
      return `${path} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    case 'anyOf':
    case 'oneOf':
      return `${path} must be a number, a string, a list of strings or { "base64": "..." }`;
    default:
      return `${path} ${e.message ?? 'is invalid'}`;
  }
}

/** The body for any error a request can meet, and its HTTP status. */
function toHttpError(err: unknown, bodyLimitBytes: number): HttpError {
  if (err instanceof HttpError) return err;
  if (isClusterError(err)) return new HttpError(httpStatusOfClass[errorClassOf(err)], err.toJSON());
  const fe = err as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation) return new HttpError(400, wireError('ERROR_INVALID_PARAMETER', `invalid request: ${fe.message}`));
  switch (fe.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new HttpError(413, wireError('ERROR_INVALID_PARAMETER', `request body is larger than the limit of ${bodyLimitBytes} bytes`));
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new HttpError(415, wireError('ERROR_INVALID_PARAMETER', `request body must be application/json (${fe.message})`));
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new HttpError(400, wireError('ERROR_INVALID_PARAMETER', 'request body is empty but its content-type is application/json'));
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new HttpError(400, wireError('ERROR_INVALID_PARAMETER', 'request body length does not match its Content-Length header'));
  }
  if (err instanceof SyntaxError || fe.statusCode === 400) {
    return new HttpError(400, wireError('ERROR_INVALID_PARAMETER', `request body is not valid JSON: ${fe.message ?? 'parse error'}`));
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return new HttpError(fe.statusCode, wireError('ERROR_INVALID_PARAMETER', `invalid request: ${fe.message ?? 'rejected'}`));
  }
  return new HttpError(500, wireError('ERROR_INTERNAL_ERROR', `internal error: ${fe.message ?? String(err)}`));
}

function checkName(kind: string, value: string): void {
  const problem = nameProblem(kind, value);
  if (problem) throw new ClusterError('ERROR_INVALID_NAME', problem);
}

/** Registry data checked per type (the schema only knows the shape). */
function parseRegistryValue(v: { type: string; data: unknown }): RegistryValue {
  const bad = (what: string): never => {
    throw new ClusterError('ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH', `invalid request: body.data must be ${what} for a ${v.type} value`);
  };
  switch (v.type) {
    case 'string':
      if (typeof v.data !== 'string') bad('a string');
      break;
    case 'multiString':
      if (!Array.isArray(v.data) || !v.data.every((s) => typeof s === 'string')) bad('a list of strings');
      break;
    case 'dword':
      if (typeof v.data !== 'number' || !Number.isInteger(v.data) || v.data < 0 || v.data > 0xffffffff) bad('an integer 0..4294967295');
      break;
    case 'qword':
      if (typeof v.data !== 'number' || !Number.isSafeInteger(v.data) || v.data < 0) bad('a non-negative integer');
      break;
    case 'binary':
      if (typeof v.data !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v.data)) bad('base64 text');
      break;
  }
  return decodeRegistryValue(v as WireRegistryValue);
}

/** Parses ?types=a,b into known event types; an unknown one is named in the error. */
function parseEventFilter(q: { types?: string; group?: string; resource?: string; node?: string }): EventFilter {
  let types: ClusterEvent['type'][] | undefined;
  if (q.types !== undefined && q.types !== '') {
    types = [];
    for (const t of q.types.split(',').map((s) => s.trim())) {
      if (!(eventTypes as readonly string[]).includes(t)) {
        throw new ClusterError('ERROR_INVALID_PARAMETER', `invalid request: querystring.types has unknown event type ${JSON.stringify(t)} (known: ${eventTypes.join(', ')})`);
      }
      types.push(t as ClusterEvent['type']);
    }
  }
  return {
    ...(types ? { types } : {}),
    ...(q.group !== undefined ? { group: q.group } : {}),
    ...(q.resource !== undefined ? { resource: q.resource } : {}),
    ...(q.node !== undefined ? { node: q.node } : {}),
  };
}

const errorResponses = { '4xx': { $ref: 'ClusterError#' }, '5xx': { $ref: 'ClusterError#' } };
const noContent = { 204: { type: 'null', description: 'Done.' }, ...errorResponses };
const nameParams = requests.nameParam;

export async function startApiServer(options: ApiServerOptions): Promise<ApiServer> {
  const { api } = options;
  const clock = options.clock ?? new RealClock();
  const sseLimits: SseLimits = { ...sseDefaultLimits, ...options.sse };
  const accessOf = tokenMatcher(options.tokens);
  const streams = new Set<SseStream>();
  const bodyLimitBytes = options.bodyLimitBytes ?? apiServerDefaults.bodyLimitBytes;

  const app: FastifyInstance = Fastify({
    logger: false,
    bodyLimit: bodyLimitBytes,
    routerOptions: { maxParamLength: apiServerDefaults.routeParamLengthMax },
    // Wrong types are errors, not something to coerce; unknown fields are errors, not something to drop.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false, allErrors: false } },
    schemaErrorFormatter: (list, dataVar) => new Error(describeSchemaError(list as unknown as AjvError[], dataVar)),
    // Requests that are not even valid HTTP are answered in the same shape before the socket closes.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (!socket.writable) return;
      const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
      const body = JSON.stringify(wireError('ERROR_INVALID_PARAMETER', tooLarge ? 'request headers are too large' : `malformed HTTP request (${err.code ?? err.message})`));
      const status = tooLarge ? '431 Request Header Fields Too Large' : '400 Bad Request';
      socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    },
    // Errors the router meets before any route runs (bad percent-encoding, over-long parameters) get the same body.
    frameworkErrors: (err, _req, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      void (reply as FastifyReply).code(status).send(wireError('ERROR_INVALID_PARAMETER', `invalid request: ${err.message}`));
    },
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'failover cluster API',
        version: '1',
        description:
          'The cluster API of failover (modelled on MS-CMRP). Send `Authorization: Bearer <token>`: the read token may GET, the full token may do everything. Every error is `{ code, name, message }` with the WSFC error code.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  app.addSchema(errorBody);

  app.addHook('onRequest', async (req, reply) => {
    if (req.url === '/openapi.json' || req.url.startsWith('/openapi.json?')) return;
    if (options.console && isConsoleUrl(req.url)) return;
    const header = req.headers.authorization;
    const deny = (status: number, message: string): FastifyReply => {
      if (status === 401) reply.header('www-authenticate', 'Bearer');
      return reply.code(status).send(wireError('ERROR_ACCESS_DENIED', message));
    };
    if (header === undefined) return deny(401, 'missing token: send "Authorization: Bearer <token>" (the tokens of a local cluster are in .failover/api.json)');
    const m = /^Bearer +(\S+) *$/i.exec(header);
    if (!m) return deny(401, 'malformed Authorization header: expected "Bearer <token>"');
    const access = accessOf(m[1]!);
    if (!access) return deny(401, 'unknown token: it is neither this cluster\'s full nor its read-only token');
    if (access === 'read' && req.method !== 'GET' && req.method !== 'HEAD') {
      return deny(403, `the read-only token may only read; ${req.method} ${req.url.split('?')[0]} needs the full token`);
    }
    return undefined;
  });

  // Bodiless POSTs (e.g. `curl -X POST .../move`) mean "no options".
  app.addHook('preValidation', async (req) => {
    if (req.body === undefined && req.routeOptions.schema?.body) req.body = {};
  });

  app.setErrorHandler((err, _req, reply) => {
    const h = toHttpError(err, bodyLimitBytes);
    void reply.code(h.status).send(h.body);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send(wireError('ERROR_NOT_SUPPORTED', `no such route: ${req.method} ${req.url.split('?')[0]}`));
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (options.console) await registerConsoleRoutes(app, { accessOf });
  for (const register of options.routes ?? []) register(app);

  type P = { name: string };
  const pname = (req: FastifyRequest): string => (req.params as P).name;

  // ---- cluster and nodes
  app.get('/v1/cluster', { schema: { tags: ['cluster'], summary: 'The cluster: name, node count, store revision.', response: { 200: responses.cluster, ...errorResponses } } }, () => api.getCluster());
  app.get('/v1/nodes', { schema: { tags: ['nodes'], summary: 'Every node.', response: { 200: { type: 'array', items: responses.node }, ...errorResponses } } }, () => api.listNodes());
  app.get('/v1/nodes/:name', { schema: { tags: ['nodes'], params: nameParams, response: { 200: responses.node, ...errorResponses } } }, (req) => api.getNode(pname(req)));
  app.post(
    '/v1/nodes/:name/pause',
    { schema: { tags: ['nodes'], summary: 'Pause a node (it hosts nothing new); with drain, move its groups away first.', params: nameParams, body: requests.pause, response: { 200: { type: 'object', properties: { operation: responses.operation } }, ...errorResponses } } },
    async (req) => {
      const op = await api.pauseNode(pname(req), req.body as { drain?: boolean });
      return op ? { operation: op } : {};
    },
  );
  app.post('/v1/nodes/:name/resume', { schema: { tags: ['nodes'], params: nameParams, response: noContent } }, async (req, reply) => {
    await api.resumeNode(pname(req));
    return reply.code(204).send();
  });
  app.post('/v1/nodes/:name/evict', { schema: { tags: ['nodes'], params: nameParams, response: noContent } }, async (req, reply) => {
    await api.evictNode(pname(req));
    return reply.code(204).send();
  });

  // ---- resource types
  app.get('/v1/types', { schema: { tags: ['types'], summary: 'Resource types with their private-property schemas.', response: { 200: { type: 'array', items: responses.type }, ...errorResponses } } }, async () =>
    (await api.listResourceTypes()).map(encodeTypeDescriptor),
  );

  // ---- groups
  app.get('/v1/groups', { schema: { tags: ['groups'], response: { 200: { type: 'array', items: responses.group }, ...errorResponses } } }, () => api.listGroups());
  app.get('/v1/groups/:name', { schema: { tags: ['groups'], params: nameParams, response: { 200: responses.group, ...errorResponses } } }, (req) => api.getGroup(pname(req)));
  app.post('/v1/groups', { schema: { tags: ['groups'], body: requests.createGroup, response: { 201: responses.group, ...errorResponses } } }, async (req, reply) => {
    const b = req.body as { name: string; common?: object; resources?: Array<{ name: string; type: string; common?: object; parameters?: Record<string, unknown>; dependencies?: string }> };
    checkName('group', b.name);
    for (const r of b.resources ?? []) checkName('resource', r.name);
    // The schema checked their shape; properties are checked by the service, binary values decoded here.
    const resources = b.resources?.map((r): NewResourceSpec => ({ ...(r as NewResourceSpec), ...(r.parameters ? { parameters: decodeProperties(r.parameters) } : {}) }));
    return reply.code(201).send(await api.createGroup(b.name, b.common, resources ? { resources } : {}));
  });
  app.delete('/v1/groups/:name', { schema: { tags: ['groups'], params: nameParams, response: noContent } }, async (req, reply) => {
    await api.deleteGroup(pname(req));
    return reply.code(204).send();
  });
  app.post('/v1/groups/:name/rename', { schema: { tags: ['groups'], params: nameParams, body: requests.rename, response: noContent } }, async (req, reply) => {
    const { newName } = req.body as { newName: string };
    checkName('group', newName);
    await api.renameGroup(pname(req), newName);
    return reply.code(204).send();
  });
  app.put('/v1/groups/:name/properties', { schema: { tags: ['groups'], summary: 'Set common properties (only those given).', params: nameParams, body: requests.createGroup.properties.common, response: { 200: responses.group, ...errorResponses } } }, (req) =>
    api.setGroupProperties(pname(req), req.body as object),
  );
  const groupOp = (verb: 'online' | 'offline', run: (name: string) => Promise<unknown>): void => {
    app.post(`/v1/groups/:name/${verb}`, { schema: { tags: ['groups'], summary: `Bring the group ${verb}; returns the operation to follow.`, params: nameParams, response: { 202: responses.operation, ...errorResponses } } }, async (req, reply) =>
      reply.code(202).send(await run(pname(req))),
    );
  };
  groupOp('online', (n) => api.onlineGroup(n));
  groupOp('offline', (n) => api.offlineGroup(n));
  app.post('/v1/groups/:name/move', { schema: { tags: ['groups'], summary: 'Move the group to a node, or to the best node when "to" is omitted.', params: nameParams, body: requests.move, response: { 202: responses.operation, ...errorResponses } } }, async (req, reply) =>
    reply.code(202).send(await api.moveGroup(pname(req), req.body as { to?: string; returnToSourceOnError?: boolean })),
  );

  // ---- resources
  app.get('/v1/resources', { schema: { tags: ['resources'], querystring: requests.resourceQuery, response: { 200: { type: 'array', items: responses.resource }, ...errorResponses } } }, async (req) => {
    const { group, state } = req.query as { group?: string; state?: string };
    const states = state?.split(',').map((s) => s.trim());
    const unknown = states?.find((s) => !(resourceStates as readonly string[]).includes(s));
    if (unknown !== undefined) throw new ClusterError('ERROR_INVALID_PARAMETER', `querystring/state: ${JSON.stringify(unknown)} is not a resource state (one of ${resourceStates.join(', ')})`);
    return (await api.listResources({ ...(group !== undefined ? { group } : {}), ...(states ? { states: states as ResourceState[] } : {}) })).map(encodeResourceView);
  });
  app.get('/v1/resources/:name', { schema: { tags: ['resources'], params: nameParams, response: { 200: responses.resource, ...errorResponses } } }, async (req) => encodeResourceView(await api.getResource(pname(req))));
  app.post('/v1/resources', { schema: { tags: ['resources'], body: requests.createResource, response: { 201: responses.resource, ...errorResponses } } }, async (req, reply) => {
    const b = req.body as { name: string; type: string; group: string; common?: object; parameters?: Record<string, unknown>; dependencies?: string };
    checkName('resource', b.name);
    const view = await api.createResource(b.name, b.type, b.group, {
      ...(b.common ? { common: b.common } : {}),
      ...(b.parameters ? { parameters: decodeProperties(b.parameters) } : {}),
      ...(b.dependencies !== undefined ? { dependencies: b.dependencies } : {}),
    });
    return reply.code(201).send(encodeResourceView(view));
  });
  app.delete('/v1/resources/:name', { schema: { tags: ['resources'], params: nameParams, response: noContent } }, async (req, reply) => {
    await api.deleteResource(pname(req));
    return reply.code(204).send();
  });
  app.post('/v1/resources/:name/rename', { schema: { tags: ['resources'], params: nameParams, body: requests.rename, response: noContent } }, async (req, reply) => {
    const { newName } = req.body as { newName: string };
    checkName('resource', newName);
    await api.renameResource(pname(req), newName);
    return reply.code(204).send();
  });
  app.put('/v1/resources/:name/group', { schema: { tags: ['resources'], summary: 'Move the resource to another group (ChangeClusterResourceGroup).', params: nameParams, body: requests.changeGroup, response: noContent } }, async (req, reply) => {
    await api.changeResourceGroup(pname(req), (req.body as { group: string }).group);
    return reply.code(204).send();
  });
  app.put('/v1/resources/:name/properties', { schema: { tags: ['resources'], summary: 'Set common properties (only those given).', params: nameParams, body: requests.createResource.properties.common, response: { 200: responses.resource, ...errorResponses } } }, async (req) =>
    encodeResourceView(await api.setResourceProperties(pname(req), req.body as object)),
  );
  app.put('/v1/resources/:name/parameters', { schema: { tags: ['resources'], summary: 'Set private properties (only those given); binary values as { base64 }.', params: nameParams, body: requests.createResource.properties.parameters, response: { 200: responses.resource, ...errorResponses } } }, async (req) =>
    encodeResourceView(await api.setResourceParameters(pname(req), decodeProperties(req.body as Record<string, unknown>))),
  );
  app.put('/v1/resources/:name/dependencies', { schema: { tags: ['resources'], summary: 'Replace the dependency expression, e.g. "[A] and ([B] or [C])"; empty for none.', params: nameParams, body: requests.setDependencies, response: { 200: responses.resource, ...errorResponses } } }, async (req) =>
    encodeResourceView(await api.setDependencies(pname(req), (req.body as { expression: string }).expression)),
  );
  app.post('/v1/resources/:name/dependencies', { schema: { tags: ['resources'], summary: 'Add a provider (AND) to the dependencies.', params: nameParams, body: requests.addDependency, response: { 200: responses.resource, ...errorResponses } } }, async (req) =>
    encodeResourceView(await api.addDependency(pname(req), (req.body as { provider: string }).provider)),
  );
  const twoNames = { type: 'object', required: ['name', 'other'], additionalProperties: false, properties: { name: nameParams.properties.name, other: nameParams.properties.name } };
  app.delete('/v1/resources/:name/dependencies/:other', { schema: { tags: ['resources'], summary: 'Remove a provider from the dependencies.', params: twoNames, response: { 200: responses.resource, ...errorResponses } } }, async (req) => {
    const p = req.params as { name: string; other: string };
    return encodeResourceView(await api.removeDependency(p.name, p.other));
  });
  app.post('/v1/resources/:name/possible-owners', { schema: { tags: ['resources'], params: nameParams, body: requests.addPossibleOwner, response: { 200: responses.resource, ...errorResponses } } }, async (req) =>
    encodeResourceView(await api.addPossibleOwner(pname(req), (req.body as { node: string }).node)),
  );
  app.delete('/v1/resources/:name/possible-owners/:other', { schema: { tags: ['resources'], params: twoNames, response: { 200: responses.resource, ...errorResponses } } }, async (req) => {
    const p = req.params as { name: string; other: string };
    return encodeResourceView(await api.removePossibleOwner(p.name, p.other));
  });
  const resourceOp = (verb: 'online' | 'offline' | 'fail' | 'reset', run: (name: string) => Promise<unknown>, summary: string): void => {
    app.post(`/v1/resources/:name/${verb}`, { schema: { tags: ['resources'], summary, params: nameParams, response: { 202: responses.operation, ...errorResponses } } }, async (req, reply) =>
      reply.code(202).send(await run(pname(req))),
    );
  };
  resourceOp('online', (n) => api.onlineResource(n), 'Bring the resource (and its providers) online.');
  resourceOp('offline', (n) => api.offlineResource(n), 'Take the resource (and its dependents) offline.');
  resourceOp('fail', (n) => api.failResource(n), 'Fail the resource on purpose (to test restart and failover).');
  resourceOp('reset', (n) => api.resetResource(n), 'Close and open the resource again, then return it to its persistent state.');

  app.get('/v1/operations/:id', { schema: { tags: ['operations'], summary: 'A long operation (online, offline, move, drain, reset) and its outcome.', params: { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 256 } } }, response: { 200: responses.operation, ...errorResponses } } }, (req) =>
    api.getOperation((req.params as { id: string }).id),
  );

  // ---- cluster database. The key path is the rest of the URL, URL-encoded, with "\" between key names.
  const keyPath = (req: FastifyRequest): string => (req.params as { '*': string })['*'];
  const regTags = { tags: ['registry'] };
  app.get('/v1/registry/keys/*', { schema: { ...regTags, summary: 'Subkeys of a key.', response: { 200: { type: 'array', items: { type: 'string' } }, ...errorResponses } } }, (req) => api.registryEnumKeys(keyPath(req)));
  app.put('/v1/registry/keys/*', { schema: { ...regTags, summary: 'Create a key (and missing parents).', response: noContent } }, async (req, reply) => {
    await api.registryCreateKey(keyPath(req));
    return reply.code(204).send();
  });
  app.delete('/v1/registry/keys/*', { schema: { ...regTags, summary: 'Delete a key and its subtree.', response: noContent } }, async (req, reply) => {
    await api.registryDeleteKey(keyPath(req));
    return reply.code(204).send();
  });
  app.get(
    '/v1/registry/values/*',
    {
      schema: {
        ...regTags,
        summary: 'Values of a key, or with ?name= one value.',
        querystring: requests.registryValueQuery,
        response: { 200: { anyOf: [{ type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, value: responses.registryValue } } }, responses.registryValue] }, ...errorResponses },
      },
    },
    async (req) => {
      const { name } = req.query as { name?: string };
      if (name !== undefined) return encodeRegistryValue(await api.registryGetValue(keyPath(req), name));
      return (await api.registryEnumValues(keyPath(req))).map((v) => ({ name: v.name, value: encodeRegistryValue(v.value) }));
    },
  );
  app.put(
    '/v1/registry/values/*',
    {
      schema: {
        ...regTags,
        summary: 'Set a value: { type: string | multiString | dword | qword | binary (base64), data }.',
        querystring: requests.registryValueNameRequired,
        body: { type: 'object', required: ['type', 'data'], additionalProperties: false, properties: { type: { type: 'string', enum: ['string', 'multiString', 'dword', 'qword', 'binary'] }, data: {} } },
        response: noContent,
      },
    },
    async (req, reply) => {
      await api.registrySetValue(keyPath(req), (req.query as { name: string }).name, parseRegistryValue(req.body as { type: string; data: unknown }));
      return reply.code(204).send();
    },
  );
  app.delete('/v1/registry/values/*', { schema: { ...regTags, querystring: requests.registryValueNameRequired, response: noContent } }, async (req, reply) => {
    await api.registryDeleteValue(keyPath(req), (req.query as { name: string }).name);
    return reply.code(204).send();
  });

  // ---- notifications
  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'Server-Sent Events: one `event: <type>` with a JSON `data:` line per change. `types` is a comma list of resourceState, groupState, nodeState, move, config. A `reconnect` event means events were lost: re-read, then continue.',
        querystring: requests.eventsQuery,
      },
    },
    async (req, reply) => {
      const filter = parseEventFilter(req.query as Record<string, string | undefined>);
      const res = reply.raw;
      const stream = new SseStream(res, clock, sseLimits);
      // Subscribe before answering, so a bad filter is still an ordinary 4xx.
      const sub = await api.subscribe(filter, (e) => stream.push(e));
      reply.hijack();
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
      streams.add(stream);
      const end = (): void => {
        streams.delete(stream);
        sub.close();
        stream.close();
      };
      req.raw.on('close', end);
      res.on('error', end);
      stream.start();
    },
  );

  app.addHook('preClose', async () => {
    for (const s of [...streams]) s.close();
    streams.clear();
  });

  await app.listen({ host: options.host ?? apiServerDefaults.host, port: options.port ?? 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === 'string') throw new Error('assertion failed: the API server listens on a TCP port');
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    close: () => app.close(),
  };
}
