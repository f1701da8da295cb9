// JSON schemas of every request and response of the REST API. Property schemas
// are generated from the model's property descriptors, so the API, the
// validation and the OpenAPI document cannot drift apart.
import { groupCommonProperties, resourceCommonProperties, type PropertyDescriptor } from '../model/properties.ts';
import { NAME_MAX_LENGTH, resourceStates } from '../model/objects.ts';

type Schema = Record<string, unknown>;

const DWORD_MAX = 0xffffffff;

export const errorBody: Schema = {
  $id: 'ClusterError',
  type: 'object',
  description: 'Every error: the WSFC error code by number and name, and a message naming the offending input.',
  required: ['code', 'name', 'message'],
  properties: { code: { type: 'integer' }, name: { type: 'string' }, message: { type: 'string' } },
};

const name: Schema = { type: 'string', minLength: 1, maxLength: NAME_MAX_LENGTH };
const stringList: Schema = { type: 'array', items: { type: 'string', maxLength: NAME_MAX_LENGTH }, maxItems: 1024 };

function propertySchema(d: PropertyDescriptor): Schema {
  switch (d.kind) {
    case 'dword':
    case 'qword': {
      const s: Schema = { type: 'integer', minimum: d.min ?? 0, maximum: d.max ?? (d.kind === 'dword' ? DWORD_MAX : Number.MAX_SAFE_INTEGER), description: d.description };
      if (d.values) s.enum = [...d.values];
      return s;
    }
    case 'string':
      return { type: 'string', maxLength: 65_536, description: d.description };
    case 'multiString':
      return { ...stringList, description: d.description };
    case 'binary':
      return { type: 'object', required: ['base64'], additionalProperties: false, properties: { base64: { type: 'string' } }, description: d.description };
  }
}

function commonSchema(schema: readonly PropertyDescriptor[], forRequest: boolean): Schema {
  return {
    type: 'object',
    additionalProperties: !forRequest,
    properties: Object.fromEntries(schema.map((d) => [d.name, propertySchema(d)])),
  };
}

export const groupCommonRequest = commonSchema(groupCommonProperties, true);
export const resourceCommonRequest = commonSchema(resourceCommonProperties, true);

/** A private property value on the wire: number, string, list of strings, or { base64 } for binary. */
export const propertyValue: Schema = {
  anyOf: [
    { type: 'number' },
    { type: 'string' },
    { type: 'array', items: { type: 'string' } },
    { type: 'object', required: ['base64'], additionalProperties: false, properties: { base64: { type: 'string' } } },
  ],
};

export const parametersRequest: Schema = { type: 'object', additionalProperties: propertyValue, maxProperties: 1024 };

const errorInfo: Schema = {
  type: 'object',
  properties: { code: { type: 'integer' }, name: { type: 'string' }, message: { type: 'string' }, resource: { type: 'string' } },
};

const moveView: Schema = {
  type: 'object',
  additionalProperties: true,
  properties: {
    moveId: { type: 'string' },
    group: { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    phase: { type: 'string', enum: ['offline-on-source', 'transfer', 'online-on-target', 'ended'] },
    startedAt: { type: 'number' },
    deadlineAt: { type: 'number' },
    outcome: { type: 'string', enum: ['completed', 'failed', 'returned'] },
    error: errorInfo,
  },
};

export const responses = {
  cluster: { type: 'object', additionalProperties: true, properties: { name: { type: 'string' }, nodes: { type: 'integer' }, groups: { type: 'integer' }, resources: { type: 'integer' }, revision: { type: 'integer' } } },
  node: {
    type: 'object',
    additionalProperties: true,
    properties: { name: { type: 'string' }, id: { type: 'integer' }, state: { type: 'string', enum: ['Up', 'Down', 'Paused', 'Joining'] }, draining: { type: 'boolean' } },
  },
  group: {
    type: 'object',
    additionalProperties: true,
    properties: {
      name: { type: 'string' },
      state: { type: 'string', enum: ['Online', 'Offline', 'Failed', 'PartialOnline', 'Pending'] },
      owner: { type: 'string' },
      epoch: { type: 'integer' },
      moving: { type: 'boolean' },
      move: moveView,
      common: commonSchema(groupCommonProperties, false),
      resources: { type: 'array', items: { type: 'string' } },
    },
  },
  resource: {
    type: 'object',
    additionalProperties: true,
    properties: {
      name: { type: 'string' },
      type: { type: 'string' },
      group: { type: 'string' },
      state: { type: 'string', enum: [...resourceStates] },
      owner: { type: 'string' },
      stateSeq: { type: 'integer' },
      lastError: errorInfo,
      common: commonSchema(resourceCommonProperties, false),
      parameters: { type: 'object', additionalProperties: true, description: 'Private properties; binary values as { base64 }.' },
      dependencies: { type: 'string' },
    },
  },
  operation: {
    type: 'object',
    additionalProperties: true,
    properties: {
      id: { type: 'string' },
      kind: { type: 'string' },
      target: { type: 'string' },
      done: { type: 'boolean' },
      ok: { type: 'boolean' },
      error: errorInfo,
      move: moveView,
    },
  },
  type: {
    type: 'object',
    additionalProperties: true,
    properties: {
      name: { type: 'string' },
      description: { type: 'string' },
      privateProperties: { type: 'array', items: { type: 'object', additionalProperties: true } },
      looksAlivePollIntervalMs: { type: 'integer' },
      isAlivePollIntervalMs: { type: 'integer' },
    },
  },
  registryValue: {
    type: 'object',
    additionalProperties: true,
    properties: { type: { type: 'string', enum: ['string', 'multiString', 'dword', 'qword', 'binary'] }, data: {} },
  },
} satisfies Record<string, Schema>;

export const registryValueRequest: Schema = {
  oneOf: [
    { type: 'object', additionalProperties: false, required: ['type', 'data'], properties: { type: { const: 'string' }, data: { type: 'string', maxLength: 1_048_576 } } },
    { type: 'object', additionalProperties: false, required: ['type', 'data'], properties: { type: { const: 'multiString' }, data: { type: 'array', items: { type: 'string' } } } },
    { type: 'object', additionalProperties: false, required: ['type', 'data'], properties: { type: { const: 'dword' }, data: { type: 'integer', minimum: 0, maximum: DWORD_MAX } } },
    { type: 'object', additionalProperties: false, required: ['type', 'data'], properties: { type: { const: 'qword' }, data: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER } } },
    { type: 'object', additionalProperties: false, required: ['type', 'data'], properties: { type: { const: 'binary' }, data: { type: 'string', contentEncoding: 'base64' } } },
  ],
};

export const requests = {
  nameParam: { type: 'object', required: ['name'], additionalProperties: false, properties: { name } },
  createGroup: {
    type: 'object',
    required: ['name'],
    additionalProperties: false,
    properties: {
      name,
      common: groupCommonRequest,
      resources: {
        type: 'array',
        // More than one transaction holds is refused by the service with ERROR_NOT_ENOUGH_QUOTA, naming the limit.
        maxItems: 1024,
        items: {
          type: 'object',
          required: ['name', 'type'],
          additionalProperties: false,
          properties: { name, type: name, common: resourceCommonRequest, parameters: parametersRequest, dependencies: { type: 'string', maxLength: 16_384 } },
        },
      },
    },
  },
  rename: { type: 'object', required: ['newName'], additionalProperties: false, properties: { newName: name } },
  move: { type: 'object', additionalProperties: false, properties: { to: name, returnToSourceOnError: { type: 'boolean' } } },
  pause: { type: 'object', additionalProperties: false, properties: { drain: { type: 'boolean' } } },
  createResource: {
    type: 'object',
    required: ['name', 'type', 'group'],
    additionalProperties: false,
    properties: { name, type: name, group: name, common: resourceCommonRequest, parameters: parametersRequest, dependencies: { type: 'string', maxLength: 16_384 } },
  },
  changeGroup: { type: 'object', required: ['group'], additionalProperties: false, properties: { group: name } },
  setDependencies: { type: 'object', required: ['expression'], additionalProperties: false, properties: { expression: { type: 'string', maxLength: 16_384 } } },
  addDependency: { type: 'object', required: ['provider'], additionalProperties: false, properties: { provider: name } },
  addPossibleOwner: { type: 'object', required: ['node'], additionalProperties: false, properties: { node: name } },
  resourceQuery: { type: 'object', additionalProperties: false, properties: { group: name, state: { type: 'string', maxLength: 1024, description: 'Resource states, comma-separated (e.g. Failed,OpenCallFailed).' } } },
  registryValueQuery: { type: 'object', additionalProperties: false, properties: { name: { type: 'string', maxLength: 16_384 } } },
  registryValueNameRequired: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 16_384 } } },
  eventsQuery: {
    type: 'object',
    additionalProperties: false,
    properties: { types: { type: 'string', maxLength: 256 }, group: name, resource: name, node: name },
  },
} satisfies Record<string, Schema>;

export const eventTypes = ['resourceState', 'groupState', 'nodeState', 'move', 'config', 'reconnect'] as const;
