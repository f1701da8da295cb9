// Error classes: the few kinds of failure a client acts on differently. The
// REST server turns a class into an HTTP status and the CLI into an exit code,
// so both agree on what "not found" or "refused" means for every WSFC code.
import { ClusterError, errorByCode, errors, type ClusterErrorValue, type ErrorName } from '../model/errors.ts';

export type ErrorClass =
  /** The request itself is wrong: a bad name, value, type or expression. */
  | 'badInput'
  /** The object the request names does not exist. */
  | 'notFound'
  /** Refused in the current state: already exists, moving (5908), online, busy, ... */
  | 'conflict'
  /** The token is missing, unknown, or may not do this. */
  | 'denied'
  /** The cluster (or a node it needs) cannot be reached or is shutting down. */
  | 'unavailable'
  /** A deadline passed before the operation ended. */
  | 'timeout'
  /** The operation was accepted and ran, but failed (a resource failed, ...). */
  | 'failed';

const classOf: Partial<Record<ErrorName, ErrorClass>> = {
  ERROR_INVALID_PARAMETER: 'badInput',
  ERROR_INVALID_DATA: 'badInput',
  ERROR_INVALID_NAME: 'badInput',
  ERROR_FILENAME_EXCED_RANGE: 'badInput',
  ERROR_INSUFFICIENT_BUFFER: 'badInput',
  ERROR_NOT_SUPPORTED: 'badInput',
  ERROR_CIRCULAR_DEPENDENCY: 'badInput',
  ERROR_DEPENDENCY_NOT_ALLOWED: 'badInput',
  ERROR_CLUSTER_RESNAME_NOT_FOUND: 'badInput',
  ERROR_CLUSTER_INVALID_REQUEST: 'badInput',
  ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH: 'badInput',
  ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS: 'badInput',
  ERROR_CLUSTER_REGISTRY_INVALID_FUNCTION: 'badInput',
  ERROR_CLUSTER_INVALID_STRING_FORMAT: 'badInput',
  ERROR_CLUSTER_NULL_DATA: 'badInput',
  ERROR_CLUSTER_CANT_DESERIALIZE_DATA: 'badInput',
  ERROR_DEPENDENCY_TREE_TOO_COMPLEX: 'badInput',
  ERROR_RESOURCE_PROPERTY_UNCHANGEABLE: 'badInput',

  ERROR_FILE_NOT_FOUND: 'notFound',
  ERROR_INVALID_HANDLE: 'notFound',
  ERROR_DEPENDENCY_NOT_FOUND: 'notFound',
  ERROR_RESOURCE_NOT_FOUND: 'notFound',
  ERROR_GROUP_NOT_FOUND: 'notFound',
  ERROR_CLUSTER_NODE_NOT_FOUND: 'notFound',
  ERROR_CLUSTER_INVALID_NODE: 'notFound',
  ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND: 'notFound',
  ERROR_NO_MORE_ITEMS: 'notFound',
  ERROR_KEY_DELETED: 'notFound',

  ERROR_ALREADY_EXISTS: 'conflict',
  // A change too large for one store transaction or batch: refused as a whole, make it in parts.
  ERROR_NOT_ENOUGH_QUOTA: 'conflict',
  ERROR_OBJECT_ALREADY_EXISTS: 'conflict',
  ERROR_OBJECT_IN_LIST: 'conflict',
  ERROR_DEPENDENCY_ALREADY_EXISTS: 'conflict',
  ERROR_CLUSTER_NODE_EXISTS: 'conflict',
  ERROR_DEPENDENT_RESOURCE_EXISTS: 'conflict',
  ERROR_RESOURCE_NOT_ONLINE: 'conflict',
  ERROR_RESOURCE_ONLINE: 'conflict',
  ERROR_INVALID_STATE: 'conflict',
  ERROR_CLUSTER_GROUP_MOVING: 'conflict',
  ERROR_CLUSTER_GROUP_BUSY: 'conflict',
  ERROR_CLUSTER_GROUP_QUEUED: 'conflict',
  ERROR_GROUP_NOT_AVAILABLE: 'conflict',
  ERROR_GROUP_NOT_ONLINE: 'conflict',
  ERROR_CANT_EVICT_ACTIVE_NODE: 'conflict',
  ERROR_CLUSTER_NODE_PAUSED: 'conflict',
  ERROR_CLUSTER_NODE_NOT_PAUSED: 'conflict',
  ERROR_CLUSTER_NODE_UP: 'conflict',
  ERROR_CLUSTER_NODE_DOWN: 'conflict',
  ERROR_CLUSTER_NODE_ALREADY_UP: 'conflict',
  ERROR_CLUSTER_NODE_ALREADY_DOWN: 'conflict',
  ERROR_CLUSTER_NODE_DRAIN_IN_PROGRESS: 'conflict',
  ERROR_CLUSTER_JOIN_IN_PROGRESS: 'conflict',
  ERROR_CLUSTER_MEMBERSHIP_INVALID_STATE: 'conflict',
  ERROR_HOST_NODE_NOT_AVAILABLE: 'conflict',
  ERROR_HOST_NODE_NOT_RESOURCE_OWNER: 'conflict',
  ERROR_HOST_NODE_NOT_GROUP_OWNER: 'conflict',
  ERROR_NODE_CANT_HOST_RESOURCE: 'conflict',
  ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST: 'conflict',
  ERROR_CLUSTER_RESOURCE_TYPE_BUSY: 'conflict',
  ERROR_CLUSTER_OBJECT_ALREADY_USED: 'conflict',
  ERROR_CLUSTER_AFFINITY_CONFLICT: 'conflict',
  ERROR_RESMON_INVALID_STATE: 'conflict',
  ERROR_RESOURCE_PROPERTIES_STORED: 'conflict',
  ERROR_CLUSTER_DATABASE_SEQMISMATCH: 'conflict',

  ERROR_ACCESS_DENIED: 'denied',

  ERROR_SHARING_PAUSED: 'unavailable',
  ERROR_NOT_READY: 'unavailable',
  ERROR_SHUTDOWN_CLUSTER: 'unavailable',
  ERROR_CLUSTER_SHUTTING_DOWN: 'unavailable',
  ERROR_CLUSTER_NODE_UNREACHABLE: 'unavailable',
  ERROR_CLUSTER_NODE_NOT_READY: 'unavailable',
  ERROR_CLUSTER_NODE_SHUTTING_DOWN: 'unavailable',
  ERROR_CLUSTER_NODE_NOT_MEMBER: 'unavailable',
  ERROR_CLUSTER_NO_QUORUM: 'unavailable',
  ERROR_CLUSTER_WATCHDOG_TERMINATING: 'unavailable',

  WAIT_TIMEOUT: 'timeout',
  ERROR_TIMEOUT: 'timeout',
  ERROR_RESOURCE_CALL_TIMED_OUT: 'timeout',
};

/** The class of a WSFC error; codes not listed are operations that ran and failed. */
export function errorClassOf(error: { readonly code: number; readonly name?: string }): ErrorClass {
  const name = (error.name !== undefined && error.name in errors ? error.name : errorByCode(error.code)?.name) as ErrorName | undefined;
  return (name && classOf[name]) ?? 'failed';
}

export const httpStatusOfClass: Readonly<Record<ErrorClass, number>> = {
  badInput: 400,
  notFound: 404,
  conflict: 409,
  denied: 403,
  unavailable: 503,
  timeout: 504,
  failed: 422,
};

/**
 * Rebuilds a thrown ClusterError from its wire form ({ code, name, message }),
 * keeping the server's message verbatim. Unknown names fall back to the code.
 */
export function clusterErrorFromWire(value: { code?: unknown; name?: unknown; message?: unknown }, fallback: ErrorName): ClusterError {
  const byName = typeof value.name === 'string' && value.name in errors ? (value.name as ErrorName) : undefined;
  const byCode = typeof value.code === 'number' ? errorByCode(value.code)?.name : undefined;
  const err = new ClusterError(byName ?? byCode ?? fallback);
  if (typeof value.message === 'string' && value.message !== '') err.message = value.message;
  return err;
}

export function toWire(e: ClusterErrorValue): ClusterErrorValue {
  return { code: e.code, name: e.name, message: e.message };
}
