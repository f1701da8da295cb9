// The RCM's inputs, effects and state. The RCM is a pure function
// step(state, input) -> { state, effects }: time arrives on every input (`now`,
// ms of the injected clock), effects are plain data that a shell executes
// (entry-point calls, timers, store writes, log lines, replies), and results
// come back as inputs.
import type {
  ClusterErrorValue,
  DependencyExpr,
  GroupConfig,
  LogMessage,
  NodeConfig,
  ResourceConfig,
  ResourceState,
  ResourceTypeDescriptor,
} from '../model/index.ts';
import type { RcmLimits } from './limits.ts';

export type EntryPoint = 'open' | 'close' | 'online' | 'offline' | 'terminate' | 'looksAlive' | 'isAlive';

/** The cluster configuration as the store holds it; `configure` always carries all of it. */
export interface ClusterSnapshot {
  readonly nodes: readonly NodeConfig[];
  readonly groups: readonly GroupConfig[];
  readonly resources: readonly ResourceConfig[];
  readonly types: readonly ResourceTypeDescriptor[];
}

/** Why a node is given a group: node start, a move's target, a failover, a failback, or a failed move returning. */
export type AcquireReason = 'start' | 'move' | 'failover' | 'failback' | 'return';

/** The move a target node takes over when it acquires a group during a move. */
export interface MoveHandover {
  readonly moveId: string;
  readonly from: string;
  readonly deadlineAt: number;
  readonly returnToSourceOnError: boolean;
  readonly kind?: MoveKind;
}

export type MoveKind = 'Manual' | 'Failover' | 'Failback';

export type Operation =
  | { readonly op: 'onlineGroup'; readonly group: string }
  | { readonly op: 'offlineGroup'; readonly group: string }
  | { readonly op: 'onlineResource'; readonly resource: string }
  | { readonly op: 'offlineResource'; readonly resource: string }
  | { readonly op: 'failResource'; readonly resource: string }
  | { readonly op: 'resetResource'; readonly resource: string }
  | {
      readonly op: 'moveGroup';
      readonly group: string;
      /** A node name, or 'best': then bestTarget is the node the placement policy chose (the shell asks it). */
      readonly target: string;
      readonly bestTarget?: string;
      /** MoveGroupEx's CLUSTER_GROUP_MOVE_RETURN_TO_SOURCE_NODE_ON_ERROR. */
      readonly returnToSourceOnError?: boolean;
      /** Manual for operator moves; the shell passes Failover/Failback for policy-driven ones. */
      readonly kind?: MoveKind;
    };

/**
 * What changed in the configuration since the last configure: cheaper than the
 * whole configuration when a few objects of a large cluster change.
 */
export interface ConfigDelta {
  /** All nodes, when any changed (they are few); absent: unchanged. */
  readonly nodes?: readonly NodeConfig[];
  /** All resource types, when any changed; absent: unchanged. */
  readonly types?: readonly ResourceTypeDescriptor[];
  /** Groups that changed: the new configuration, or none when deleted. */
  readonly groups: ReadonlyArray<{ readonly name: string; readonly config?: GroupConfig }>;
  /** Resources that changed: the new configuration, or none when deleted. */
  readonly resources: ReadonlyArray<{ readonly name: string; readonly config?: ResourceConfig }>;
}

export type CallOutcome = 'ok' | 'pending' | 'failed';

export type RcmInput =
  | { readonly type: 'configure'; readonly now: number; readonly config: ClusterSnapshot }
  | { readonly type: 'configureDelta'; readonly now: number; readonly delta: ConfigDelta }
  | {
      readonly type: 'callResult';
      readonly now: number;
      readonly resource: string;
      readonly callId: string;
      /** For looksAlive/isAlive: ok = alive, failed = not alive. pending only for online/offline. */
      readonly outcome: CallOutcome;
      readonly error?: ClusterErrorValue;
    }
  | { readonly type: 'timer'; readonly now: number; readonly timerId: string }
  | { readonly type: 'request'; readonly now: number; readonly requestId: string; readonly op: Operation }
  | {
      readonly type: 'acquireGroup';
      readonly now: number;
      readonly group: string;
      readonly epoch: number;
      readonly reason: AcquireReason;
      readonly move?: MoveHandover;
    }
  /** Ownership left this node: after a move's transfer (expected) or unexpectedly (lease lost: terminate at once). */
  | { readonly type: 'releaseGroup'; readonly now: number; readonly group: string };

export type MovePhase = 'offline-on-source' | 'transfer' | 'online-on-target' | 'return-offline' | 'return-transfer';
export type MoveOutcome = 'completed' | 'failed' | 'returned';

export type RcmEffect =
  /** Call an entry point. deadlineMs: how long it may run; deadlineAt = issue time + deadlineMs. */
  | {
      readonly type: 'call';
      readonly resource: string;
      readonly entryPoint: EntryPoint;
      readonly callId: string;
      readonly deadlineMs: number;
      readonly deadlineAt: number;
    }
  | {
      readonly type: 'transition';
      readonly resource: string;
      readonly group: string;
      readonly from: ResourceState;
      readonly to: ResourceState;
      readonly seq: number;
    }
  | { readonly type: 'log'; readonly message: LogMessage }
  /** Arm a timer: feed { type: 'timer', timerId } at `at`. Timers not armed any more are ignored when they fire. */
  | { readonly type: 'setTimer'; readonly timerId: string; readonly at: number }
  | { readonly type: 'cancelTimer'; readonly timerId: string }
  /** Store the resource's PersistentState (MS-CMRP ApiOnlineResource / ApiOfflineResource do). */
  | { readonly type: 'setPersistentState'; readonly resource: string; readonly value: 0 | 1 }
  /** A request accepted (ok) or refused at once. */
  | { readonly type: 'reply'; readonly requestId: string; readonly ok: boolean; readonly error?: ClusterErrorValue }
  /** An accepted long request ended; resource names what made it fail. */
  | {
      readonly type: 'operationEnded';
      readonly requestId: string;
      readonly ok: boolean;
      readonly error?: ClusterErrorValue;
      readonly resource?: string;
    }
  /** A resource exceeded its restart threshold with RestartAction 2: ask the placement policy for a new owner (answer with a moveGroup of kind Failover). */
  | { readonly type: 'requestFailover'; readonly group: string; readonly resource: string; readonly reason: string }
  /**
   * A move began on its source; the shell writes the move record. The move
   * request (requestId) ends with the move's moveEnded, whichever node emits it.
   */
  | {
      readonly type: 'moveStarted';
      readonly moveId: string;
      readonly requestId: string;
      readonly group: string;
      readonly from: string;
      readonly to: string;
      readonly deadlineAt: number;
      readonly returnToSourceOnError: boolean;
      readonly kind: MoveKind;
    }
  | { readonly type: 'movePhase'; readonly moveId: string; readonly group: string; readonly phase: MovePhase }
  /** Pass ownership in one store transaction (bumping the epoch), then feed acquireGroup to `to` and releaseGroup to `from`. */
  | {
      readonly type: 'transferOwnership';
      readonly moveId: string;
      readonly group: string;
      readonly from: string;
      readonly to: string;
      readonly reason: 'move' | 'return';
    }
  | {
      readonly type: 'moveEnded';
      readonly moveId: string;
      readonly group: string;
      readonly outcome: MoveOutcome;
      readonly error?: ClusterErrorValue;
      readonly resource?: string;
    };

export interface StepResult {
  readonly state: RcmState;
  readonly effects: readonly RcmEffect[];
}

// ---- state ----

/** What a call is for; decides what its result does. */
export type CallPurpose =
  | 'open' // at configure, or the first open after a reset
  | 'openRetry' // background retry after a failed open
  | 'openBeforeOnline' // re-open because an online wants the resource
  | 'close'
  | 'online'
  | 'offline'
  | 'terminate'
  | 'health';

export interface InFlightCall {
  readonly callId: string;
  readonly entryPoint: EntryPoint;
  readonly purpose: CallPurpose;
  readonly issuedAt: number;
  readonly deadlineAt: number;
  readonly timerId: string;
}

export type ResourceTimerKind = 'openRetry' | 'restart' | 'retryOnFailure' | 'looksAlive' | 'isAlive' | 'wait';

export interface ResourceRecord {
  readonly name: string;
  readonly group: string;
  state: ResourceState;
  /** Bumped on every transition (MS-CMRP's state sequence number). */
  seq: number;
  stateSince: number;
  lastError: ClusterErrorValue | undefined;
  /** Set when this resource failed because a provider did: the provider at the root of it. */
  failedBecauseOf: string | undefined;
  /** Open succeeded and no close since. */
  opened: boolean;
  /** Failed opens in the current background retry series. */
  openAttempts: number;
  /** The one entry-point call in flight, if any. */
  call: InFlightCall | undefined;
  /** Where this node drives the resource; undefined: leave it where it is. */
  want: 'online' | 'offline' | undefined;
  /** Progress of a reset: terminate (if running), close (if opened), open. */
  reset: 'terminate' | 'close' | 'open' | undefined;
  /** State a terminate in flight leads to. */
  afterTerminate: 'Failed' | 'Offline' | 'Initializing' | undefined;
  /** Times restarts were scheduled, pruned to RestartPeriod. */
  restarts: number[];
  timers: Partial<Record<ResourceTimerKind, string>>;
}

export interface MoveRecord {
  readonly moveId: string;
  readonly role: 'source' | 'target';
  phase: MovePhase;
  readonly from: string;
  readonly to: string;
  deadlineAt: number;
  timerId: string;
  readonly returnToSourceOnError: boolean;
  readonly kind: MoveKind;
  /** The first failure on the target: the resource to blame and its error. */
  failure: { readonly resource: string; readonly error: ClusterErrorValue } | undefined;
}

export interface GroupRecord {
  readonly name: string;
  owned: boolean;
  epoch: number;
  move: MoveRecord | undefined;
}

export type OperationTarget = 'online' | 'offline' | 'reset';

export interface OperationRecord {
  readonly requestId: string;
  readonly group: string;
  readonly resources: readonly string[];
  readonly target: OperationTarget;
  readonly timerId: string;
  failure: { readonly resource: string; readonly error: ClusterErrorValue } | undefined;
}

export type TimerTarget =
  | { readonly kind: 'call'; readonly resource: string; readonly callId: string }
  | { readonly kind: ResourceTimerKind; readonly resource: string }
  | { readonly kind: 'move'; readonly group: string; readonly moveId: string }
  | { readonly kind: 'operation'; readonly requestId: string };

export interface TimerRecord {
  readonly at: number;
  readonly target: TimerTarget;
}

/** The configuration, indexed for the RCM's lookups. */
export interface ConfigIndex {
  readonly nodes: ReadonlyMap<string, NodeConfig>;
  readonly groups: ReadonlyMap<string, GroupConfig>;
  readonly resources: ReadonlyMap<string, ResourceConfig>;
  readonly types: ReadonlyMap<string, ResourceTypeDescriptor>;
  /** Resources of each group, in name order (case-insensitive). */
  readonly groupResources: ReadonlyMap<string, readonly string[]>;
  /** Parsed dependency expressions; a resource whose expression does not parse has none here and cannot come online. */
  readonly dependencies: ReadonlyMap<string, DependencyExpr | undefined>;
  readonly dependencyErrors: ReadonlyMap<string, ClusterErrorValue>;
  /** Direct dependents of each resource. */
  readonly dependents: ReadonlyMap<string, readonly string[]>;
}

export interface RcmState {
  readonly node: NodeConfig;
  readonly limits: RcmLimits;
  readonly config: ConfigIndex;
  readonly resources: ReadonlyMap<string, Readonly<ResourceRecord>>;
  readonly groups: ReadonlyMap<string, Readonly<GroupRecord>>;
  readonly operations: ReadonlyMap<string, Readonly<OperationRecord>>;
  /** Ids of each group's operations in progress (an index of `operations`, so a group's are found without a scan). */
  readonly operationsByGroup: ReadonlyMap<string, readonly string[]>;
  readonly timers: ReadonlyMap<string, TimerRecord>;
  /** Source of call, timer and move ids (unique per node; ids carry the node name). */
  readonly nextId: number;
}
