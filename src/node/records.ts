// The JSON records agents keep in the store (see keys.ts), with parsing that
// refuses malformed data instead of trusting it.
import type { MoveOutcome, MovePhase, OperationView } from '../api/types.ts';
import type { ResourceState } from '../model/objects.ts';
import type { MovePhase as RcmMovePhase } from '../rcm/types.ts';
import { resourceStates } from '../model/objects.ts';

export type OwnershipReason = 'start' | 'move' | 'failover' | 'failback' | 'return';

export interface OwnerRecord {
  readonly node: string;
  readonly reason: OwnershipReason;
  readonly moveId?: string;
}

export interface MoveRecord {
  readonly moveId: string;
  readonly group: string;
  readonly from: string;
  readonly to: string;
  readonly phase: MovePhase;
  /** The RCM's own phase, which tells the way back (shown as offline-on-source and transfer again) from the way there. */
  readonly rcmPhase?: RcmMovePhase;
  readonly startedAt: number;
  readonly deadlineAt: number;
  readonly returnToSourceOnError: boolean;
  /** The operation that asked for the move, if any. */
  readonly opId?: string;
  readonly kind?: 'Manual' | 'Failover' | 'Failback';
  readonly outcome?: MoveOutcome;
  readonly error?: { code: number; name: string; message: string; resource?: string };
}

export interface ResourceReport {
  readonly group: string;
  readonly state: ResourceState;
  readonly stateSeq: number;
  /** Ownership epoch of the group on the reporting node (0 if not owned there). */
  readonly epoch: number;
  readonly lastError?: { code: number; name: string; message: string };
}

export type OpKind = OperationView['kind'];

export interface OpRequest {
  readonly opId: string;
  readonly kind: OpKind;
  readonly target: string;
  /** For moves: resolved target node and flags. */
  readonly to?: string;
  readonly returnToSourceOnError?: boolean;
  /** Moves the coordinator asks for (restart threshold exceeded, failback) say so. */
  readonly moveKind?: 'Manual' | 'Failover' | 'Failback';
  readonly requestedAt: number;
}

export interface OpResult {
  readonly opId: string;
  readonly kind: OpKind;
  readonly target: string;
  readonly done: boolean;
  readonly ok?: boolean;
  readonly error?: { code: number; name: string; message: string };
  readonly moveGroup?: string;
}

export function encode(record: object): string {
  return JSON.stringify(record);
}

/** Parses a record; undefined for data that is not a JSON object (a corrupt or foreign key). */
export function decodeObject(value: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(value);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function decodeOwner(value: string): OwnerRecord | undefined {
  const o = decodeObject(value);
  return o && typeof o.node === 'string' && typeof o.reason === 'string' ? (o as unknown as OwnerRecord) : undefined;
}

export function decodeMove(value: string): MoveRecord | undefined {
  const o = decodeObject(value);
  return o && typeof o.moveId === 'string' && typeof o.group === 'string' && typeof o.deadlineAt === 'number'
    ? (o as unknown as MoveRecord)
    : undefined;
}

export function decodeReport(value: string): ResourceReport | undefined {
  const o = decodeObject(value);
  return o && typeof o.state === 'string' && (resourceStates as readonly string[]).includes(o.state) && typeof o.stateSeq === 'number'
    ? (o as unknown as ResourceReport)
    : undefined;
}

export function decodeOpRequest(value: string): OpRequest | undefined {
  const o = decodeObject(value);
  return o && typeof o.opId === 'string' && typeof o.kind === 'string' && typeof o.target === 'string' ? (o as unknown as OpRequest) : undefined;
}

export function decodeOpResult(value: string): OpResult | undefined {
  const o = decodeObject(value);
  return o && typeof o.opId === 'string' && typeof o.done === 'boolean' ? (o as unknown as OpResult) : undefined;
}
