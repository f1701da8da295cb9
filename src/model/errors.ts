// WSFC (Win32) error codes, by name and number, with their messages.
// Every operating error in failover carries one of these codes.

const table = {
  ERROR_SUCCESS: [0, 'The operation completed successfully.'],
  ERROR_FILE_NOT_FOUND: [2, 'The system cannot find the file specified.'],
  ERROR_ACCESS_DENIED: [5, 'Access is denied.'],
  ERROR_INVALID_HANDLE: [6, 'The handle is invalid.'],
  ERROR_INVALID_DATA: [13, 'The data is invalid.'],
  ERROR_NOT_READY: [21, 'The device is not ready.'],
  ERROR_NOT_SUPPORTED: [50, 'The request is not supported.'],
  ERROR_SHARING_PAUSED: [70, 'The remote server has been paused or is in the process of being started.'],
  ERROR_INVALID_PARAMETER: [87, 'The parameter is incorrect.'],
  ERROR_INSUFFICIENT_BUFFER: [122, 'The data area passed to a system call is too small.'],
  ERROR_INVALID_NAME: [123, 'The filename, directory name, or volume label syntax is incorrect.'],
  ERROR_ALREADY_EXISTS: [183, 'Cannot create a file when that file already exists.'],
  ERROR_FILENAME_EXCED_RANGE: [206, 'The filename or extension is too long.'],
  ERROR_MORE_DATA: [234, 'More data is available.'],
  WAIT_TIMEOUT: [258, 'The wait operation timed out.'],
  ERROR_NO_MORE_ITEMS: [259, 'No more data is available.'],
  ERROR_OPERATION_ABORTED: [995, 'The I/O operation has been aborted.'],
  ERROR_IO_PENDING: [997, 'Overlapped I/O operation is in progress.'],
  ERROR_KEY_DELETED: [1018, 'Illegal operation attempted on a registry key that has been marked for deletion.'],
  ERROR_CIRCULAR_DEPENDENCY: [1059, 'Circular service dependency was specified.'],
  ERROR_NOT_FOUND: [1168, 'Element not found.'],
  ERROR_TIMEOUT: [1460, 'This operation returned because the timeout period expired.'],
  ERROR_DEPENDENT_RESOURCE_EXISTS: [5001, 'The cluster resource cannot be moved to another group because other resources are dependent on it.'],
  ERROR_DEPENDENCY_NOT_FOUND: [5002, 'The cluster resource dependency cannot be found.'],
  ERROR_DEPENDENCY_ALREADY_EXISTS: [5003, 'The cluster resource cannot be made dependent on the specified resource because it is already dependent.'],
  ERROR_RESOURCE_NOT_ONLINE: [5004, 'The cluster resource is not online.'],
  ERROR_HOST_NODE_NOT_AVAILABLE: [5005, 'A cluster node is not available for this operation.'],
  ERROR_RESOURCE_NOT_AVAILABLE: [5006, 'The cluster resource is not available.'],
  ERROR_RESOURCE_NOT_FOUND: [5007, 'The cluster resource could not be found.'],
  ERROR_SHUTDOWN_CLUSTER: [5008, 'The cluster is being shut down.'],
  ERROR_CANT_EVICT_ACTIVE_NODE: [5009, 'A cluster node cannot be evicted from the cluster unless the node is down or it is the last node.'],
  ERROR_OBJECT_ALREADY_EXISTS: [5010, 'The object already exists.'],
  ERROR_OBJECT_IN_LIST: [5011, 'The object is already in the list.'],
  ERROR_GROUP_NOT_AVAILABLE: [5012, 'The cluster group is not available for any new requests.'],
  ERROR_GROUP_NOT_FOUND: [5013, 'The cluster group could not be found.'],
  ERROR_GROUP_NOT_ONLINE: [5014, 'The operation could not be completed because the cluster group is not online.'],
  ERROR_HOST_NODE_NOT_RESOURCE_OWNER: [5015, 'The operation failed because either the specified cluster node is not the owner of the resource, or the node is not a possible owner of the resource.'],
  ERROR_HOST_NODE_NOT_GROUP_OWNER: [5016, 'The operation failed because either the specified cluster node is not the owner of the group, or the node is not a possible owner of the group.'],
  ERROR_RESMON_CREATE_FAILED: [5017, 'The cluster resource could not be created in the specified resource monitor.'],
  ERROR_RESMON_ONLINE_FAILED: [5018, 'The cluster resource could not be brought online by the resource monitor.'],
  ERROR_RESOURCE_ONLINE: [5019, 'The operation could not be completed because the cluster resource is online.'],
  ERROR_CLUSTER_SHUTTING_DOWN: [5022, 'The cluster software is shutting down.'],
  ERROR_INVALID_STATE: [5023, 'The group or resource is not in the correct state to perform the requested operation.'],
  ERROR_RESOURCE_PROPERTIES_STORED: [5024, 'The properties were stored but not all changes will take effect until the next time the resource is brought online.'],
  ERROR_CLUSTERLOG_CORRUPT: [5029, 'The cluster log is corrupt.'],
  ERROR_RESOURCE_FAILED: [5038, 'The resource failed.'],
  ERROR_CLUSTER_INVALID_NODE: [5039, 'The cluster node is not valid.'],
  ERROR_CLUSTER_NODE_EXISTS: [5040, 'The cluster node already exists.'],
  ERROR_CLUSTER_JOIN_IN_PROGRESS: [5041, 'A node is in the process of joining the cluster.'],
  ERROR_CLUSTER_NODE_NOT_FOUND: [5042, 'The cluster node was not found.'],
  ERROR_CLUSTER_INVALID_REQUEST: [5048, 'The request is invalid either because node ID is not valid or the request is not allowed.'],
  ERROR_CLUSTER_NODE_DOWN: [5050, 'The cluster node is down.'],
  ERROR_CLUSTER_NODE_UNREACHABLE: [5051, 'The cluster node is not reachable.'],
  ERROR_CLUSTER_NODE_NOT_MEMBER: [5052, 'The cluster node is not a member of the cluster.'],
  ERROR_CLUSTER_NODE_UP: [5056, 'The cluster node is up.'],
  ERROR_CLUSTER_IPADDR_IN_USE: [5057, 'The cluster IP address is already in use.'],
  ERROR_CLUSTER_NODE_NOT_PAUSED: [5058, 'The cluster node is not paused.'],
  ERROR_CLUSTER_NODE_ALREADY_UP: [5061, 'The cluster node is already up.'],
  ERROR_CLUSTER_NODE_ALREADY_DOWN: [5062, 'The cluster node is already down.'],
  ERROR_DEPENDENCY_NOT_ALLOWED: [5069, 'The cluster quorum resource is not allowed to have any dependencies.'],
  ERROR_CLUSTER_NODE_PAUSED: [5070, 'The cluster node is paused.'],
  ERROR_NODE_CANT_HOST_RESOURCE: [5071, 'The cluster resource cannot be brought online. The owner node cannot run this resource.'],
  ERROR_CLUSTER_NODE_NOT_READY: [5072, 'The cluster node is not ready to perform the requested operation.'],
  ERROR_CLUSTER_NODE_SHUTTING_DOWN: [5073, 'The cluster node is shutting down.'],
  ERROR_CLUSTER_RESOURCE_TYPE_NOT_FOUND: [5078, 'The specified resource type was not found.'],
  ERROR_CLUSTER_RESNAME_NOT_FOUND: [5080, 'The specified resource name is not supported by this resource DLL.'],
  ERROR_CLUSTER_OWNER_NOT_IN_PREFLIST: [5082, 'No cluster node is available to make the group online.'],
  ERROR_CLUSTER_DATABASE_SEQMISMATCH: [5083, 'The cluster database sequence number has changed or is incompatible with the locker node.'],
  ERROR_RESMON_INVALID_STATE: [5084, 'The resource monitor will not allow the fail operation to be performed while the resource is in its current state.'],
  ERROR_RESOURCE_PROPERTY_UNCHANGEABLE: [5089, 'The property cannot be changed.'],
  ERROR_CLUSTER_MEMBERSHIP_INVALID_STATE: [5890, 'An operation was attempted that is incompatible with the current membership state of the node.'],
  ERROR_CLUSTER_PROPERTY_DATA_TYPE_MISMATCH: [5895, 'The data type of the property does not match the type expected.'],
  ERROR_CLUSTER_GROUP_MOVING: [5908, 'The group is being moved to another node.'],
  ERROR_CLUSTER_RESOURCE_TYPE_BUSY: [5909, 'The operation failed because the resource type is in use.'],
  ERROR_RESOURCE_CALL_TIMED_OUT: [5910, 'The call to the cluster resource DLL timed out.'],
  ERROR_CLUSTER_PARAMETER_OUT_OF_BOUNDS: [5913, 'A parameter value is out of acceptable range.'],
  ERROR_CLUSTER_REGISTRY_INVALID_FUNCTION: [5915, 'An invalid cluster registry operation was attempted.'],
  ERROR_CLUSTER_INVALID_STRING_FORMAT: [5917, 'An input string of characters is not properly formatted.'],
  ERROR_CLUSTER_NULL_DATA: [5920, 'An input buffer was empty.'],
  ERROR_CLUSTER_CANT_DESERIALIZE_DATA: [5923, 'The data could not be deserialized.'],
  ERROR_CLUSTER_NO_QUORUM: [5925, 'A quorum of cluster nodes was not present to form a cluster.'],
  ERROR_DEPENDENCY_TREE_TOO_COMPLEX: [5929, 'The dependency tree for this resource is too complex.'],
  ERROR_EXCEPTION_IN_RESOURCE_CALL: [5930, 'The call into the resource DLL raised an unhandled exception.'],
  ERROR_CLUSTER_RHS_FAILED_INITIALIZATION: [5931, 'The RHS process failed to initialize.'],
  ERROR_CLUSTER_OBJECT_ALREADY_USED: [5936, 'The object is already in use.'],
  ERROR_CLUSTER_GROUP_BUSY: [5944, 'The cluster group is busy.'],
  ERROR_CLUSTER_WATCHDOG_TERMINATING: [5952, 'The cluster watchdog is terminating.'],
  ERROR_CLUSTER_GROUP_QUEUED: [5959, 'The group is queued for an operation.'],
  ERROR_CLUSTER_NODE_DRAIN_IN_PROGRESS: [5962, 'A drain is already in progress on the node.'],
  ERROR_CLUSTER_AFFINITY_CONFLICT: [5971, 'The group cannot be placed because of an anti-affinity conflict.'],
  ERROR_SHARING_VIOLATION: [32, 'The process cannot access the file because it is being used by another process.'],
  ERROR_WRITE_FAULT: [29, 'The system cannot write to the specified device.'],
  ERROR_DISK_FULL: [112, 'There is not enough space on the disk.'],
  ERROR_INTERNAL_ERROR: [1359, 'An internal error occurred.'],
  ERROR_NOT_ENOUGH_QUOTA: [1816, 'Not enough quota is available to process this command.'],
  ERROR_DIR_NOT_EMPTY: [145, 'The directory is not empty.'],
  ERROR_WRITE_PROTECT: [19, 'The media is write protected.'],
  DNS_ERROR_RCODE_NAME_ERROR: [9003, 'DNS name does not exist.'],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorName = keyof typeof table;

export interface ErrorInfo {
  readonly name: ErrorName;
  readonly code: number;
  readonly message: string;
}

export const errors: { readonly [K in ErrorName]: ErrorInfo } = Object.fromEntries(
  Object.entries(table).map(([name, [code, message]]) => [name, { name, code, message }]),
) as { [K in ErrorName]: ErrorInfo };

const byCode = new Map<number, ErrorInfo>(Object.values(errors).map((e) => [e.code, e]));

export function errorByCode(code: number): ErrorInfo | undefined {
  return byCode.get(code);
}

/** An operating error: what went wrong, with its WSFC code and the offending input. */
export interface ClusterErrorValue {
  readonly code: number;
  readonly name: ErrorName;
  readonly message: string;
}

/** The thrown form, for async shells; pure cores return ClusterErrorValue instead. */
export class ClusterError extends Error implements ClusterErrorValue {
  override readonly name: ErrorName;
  readonly code: number;
  constructor(name: ErrorName, detail?: string) {
    const info = errors[name];
    super(detail ? `${detail} (${info.message})` : info.message);
    this.name = name;
    this.code = info.code;
  }
  /** Rethrows an error value as is: its message already carries the WSFC text. */
  static fromValue(v: ClusterErrorValue): ClusterError {
    const e = new ClusterError(v.name);
    e.message = v.message;
    return e;
  }
  toJSON(): ClusterErrorValue {
    return { code: this.code, name: this.name, message: this.message };
  }
}

export function clusterError(name: ErrorName, detail?: string): ClusterErrorValue {
  return new ClusterError(name, detail).toJSON();
}

export function isClusterError(e: unknown): e is ClusterError {
  return e instanceof ClusterError;
}

/** Assertion for programmer errors: these crash loudly, they are not operating errors. */
export function assert(condition: unknown, what: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${what}`);
}
