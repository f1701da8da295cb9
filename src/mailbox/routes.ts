// The mailbox console over the REST API: the same checks and the seed's move
// workflow as `failover mailbox`, for clients that speak HTTP. Mounted into
// the cluster's API server, so tokens apply as to every route (reads with the
// read token, changes with the full token).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { MailboxConsole } from './console.ts';

export interface MailboxRoutesOptions {
  readonly console: MailboxConsole;
  /** Where new servers keep their disk or database copies: the server decides, never the client. */
  readonly storageRoot: string;
}

const name = { type: 'string', minLength: 1, maxLength: 256 } as const;
const params = { type: 'object', required: ['name'], additionalProperties: false, properties: { name } } as const;
const anyObject = { type: 'object', additionalProperties: true } as const;
const ok = { 200: anyObject } as const;

const createServerBody = {
  type: 'object',
  required: ['name', 'mode', 'nodes'],
  additionalProperties: false,
  properties: {
    name,
    mode: { type: 'string', enum: ['scc', 'ccr'] },
    nodes: { type: 'array', minItems: 1, maxItems: 64, items: name },
    address: { type: 'string', pattern: '^127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}$' },
    networkName: name,
    smtpPort: { type: 'integer', minimum: 1, maximum: 65535 },
    httpPort: { type: 'integer', minimum: 1, maximum: 65535 },
    mailboxes: { type: 'array', maxItems: 10_000, items: name },
  },
} as const;

const createDatabaseBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: { name, mailboxes: { type: 'array', maxItems: 10_000, items: name } },
} as const;

const moveBody = {
  type: 'object',
  required: ['to'],
  additionalProperties: false,
  properties: { to: name, comment: { type: 'string', maxLength: 1024 } },
} as const;

interface CreateServer {
  name: string;
  mode: 'scc' | 'ccr';
  nodes: string[];
  address?: string;
  networkName?: string;
  smtpPort?: number;
  httpPort?: number;
  mailboxes?: string[];
}

export function mailboxRoutes(o: MailboxRoutesOptions): (app: FastifyInstance) => void {
  const server = (req: FastifyRequest): string => (req.params as { name: string }).name;
  return (app) => {
    const tags = ['mailbox'];
    app.get('/v1/mailbox/servers', { schema: { tags, summary: 'Names of the mailbox servers.', response: { 200: { type: 'array', items: { type: 'string' } } } } }, () => o.console.listServers());
    app.get('/v1/mailbox/servers/:name', { schema: { tags, summary: 'A server: state, owner, databases and their copies.', params, response: ok } }, (req) => o.console.status(server(req)));
    app.post('/v1/mailbox/servers', { schema: { tags, summary: 'Create a clustered mailbox server (its group, resources and dependencies) and bring it online.', body: createServerBody, response: { 201: anyObject } } }, async (req, reply) => {
      const { name: serverName, ...rest } = req.body as CreateServer;
      const status = await o.console.createServer(serverName, { ...rest, storageRoot: o.storageRoot });
      return reply.code(201).send(status);
    });
    app.post('/v1/mailbox/servers/:name/databases', { schema: { tags, summary: 'Add a mailbox database.', params, body: createDatabaseBody, response: { 201: anyObject } } }, async (req, reply) => {
      const body = req.body as { name: string; mailboxes?: string[] };
      const db = await o.console.createDatabase(server(req), body.name, body.mailboxes ? { mailboxes: body.mailboxes } : {});
      return reply.code(201).send(db);
    });
    app.post('/v1/mailbox/servers/:name/move', { schema: { tags, summary: "Move a server: checks first, then the seed's workflow, completing even after a failed Open.", params, body: moveBody, response: ok } }, (req) => {
      const body = req.body as { to: string; comment?: string };
      return o.console.move(server(req), { to: body.to, ...(body.comment !== undefined ? { comment: body.comment } : {}) });
    });
    app.post('/v1/mailbox/servers/:name/stop', { schema: { tags, summary: 'Take the server offline; it stays offline across restarts until started.', params, response: ok } }, (req) => o.console.stop(server(req)));
    app.post('/v1/mailbox/servers/:name/start', { schema: { tags, summary: 'Bring the server online.', params, response: ok } }, (req) => o.console.start(server(req)));
  };
}
