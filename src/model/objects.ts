// The cluster's objects as configuration (desired state) and as reported state.
import type { PropertyValue } from './properties.ts';

export type NodeState = 'Up' | 'Down' | 'Paused' | 'Joining';

export interface NodeConfig {
  readonly name: string;
  /** WSFC node id, 1-based, unique in the cluster. */
  readonly id: number;
}

export interface ResourceCommon {
  PersistentState: 0 | 1;
  RestartAction: 0 | 1 | 2;
  RestartThreshold: number;
  RestartPeriod: number;
  RestartDelay: number;
  RetryPeriodOnFailure: number;
  PendingTimeout: number;
  /** Unset: the resource type's default. */
  LooksAlivePollInterval?: number;
  IsAlivePollInterval?: number;
  DeadlockTimeout: number;
  /** 1: the resource's entry points run in a resource host of their own. */
  SeparateMonitor: 0 | 1;
  PossibleOwners: string[];
  Description: string;
}

export interface ResourceConfig {
  readonly name: string;
  readonly type: string;
  readonly group: string;
  readonly common: ResourceCommon;
  /** Private properties, as stored under the resource's Parameters key. */
  readonly parameters: Readonly<Record<string, PropertyValue>>;
  /** Dependency expression text, e.g. "[DB] and ([IP1] or [IP2])"; empty for none. */
  readonly dependencies: string;
}

export interface GroupCommon {
  PersistentState: 0 | 1;
  PreferredOwners: string[];
  /** Unset: number of nodes - 1. */
  FailoverThreshold?: number;
  FailoverPeriod: number;
  AutoFailbackType: 0 | 1;
  FailbackWindowStart: number;
  FailbackWindowEnd: number;
  Priority: number;
  AntiAffinityClassNames: string[];
  Description: string;
}

export interface GroupConfig {
  readonly name: string;
  readonly common: GroupCommon;
}

/** RCM resource states (DESIGN.md "Resource lifecycle"). */
export const resourceStates = [
  'Initializing',
  'OpenCallIssued',
  'OpenCallFailed',
  'Offline',
  'WaitingToComeOnline',
  'OnlineCallIssued',
  'OnlinePending',
  'Online',
  'WaitingToGoOffline',
  'OfflineCallIssued',
  'OfflinePending',
  'Terminating',
  'Failed',
] as const;
export type ResourceState = (typeof resourceStates)[number];

export function isPendingState(s: ResourceState): boolean {
  return (
    s === 'WaitingToComeOnline' ||
    s === 'OnlineCallIssued' ||
    s === 'OnlinePending' ||
    s === 'WaitingToGoOffline' ||
    s === 'OfflineCallIssued' ||
    s === 'OfflinePending' ||
    s === 'Terminating'
  );
}

export type GroupState = 'Online' | 'Offline' | 'Failed' | 'PartialOnline' | 'Pending';

/** Group state is derived from its resources' states (DESIGN.md "Group"). */
export function deriveGroupState(states: readonly ResourceState[]): GroupState {
  if (states.some((s) => s === 'Failed')) return 'Failed';
  if (states.some(isPendingState)) return 'Pending';
  const online = states.filter((s) => s === 'Online').length;
  if (online > 0 && online === states.length) return 'Online';
  if (online > 0) return 'PartialOnline';
  return 'Offline';
}

/** A resource type's descriptor: what WSFC keeps about a resource DLL. */
export interface ResourceTypeDescriptor {
  readonly name: string;
  readonly description: string;
  readonly privateProperties: readonly import('./properties.ts').PropertyDescriptor[];
  readonly looksAlivePollIntervalMs: number;
  readonly isAlivePollIntervalMs: number;
}

/**
 * Names of nodes, groups, resources and types: printable, no brackets (they delimit
 * dependency names) and no backslash (it separates cluster database key names).
 * Forward slashes are allowed: WSFC resource names such as
 * "Mailbox Database (CMS01/First Storage Group/Mailbox Database)" use them.
 */
export const NAME_MAX_LENGTH = 256;
export function nameProblem(kind: string, name: unknown): string | undefined {
  if (typeof name !== 'string') return `${kind} name must be a string`;
  if (name.trim() === '') return `${kind} name must not be empty`;
  if (name !== name.trim()) return `${kind} name ${JSON.stringify(name)} must not start or end with white space`;
  if (name.length > NAME_MAX_LENGTH) return `${kind} name is longer than ${NAME_MAX_LENGTH} characters`;
  if (/[[\]\\\x00-\x1f\x7f]/.test(name)) {
    return `${kind} name ${JSON.stringify(name)} must not contain brackets, backslashes or control characters`;
  }
  return undefined;
}
