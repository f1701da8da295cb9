// The messages between a node's resource host (the parent, resource-host.ts)
// and a resource host process (host-process.ts), over the child's IPC channel
// with Node's structured-clone serialisation (binary property values survive).
//
// One call is one 'call' message and one 'result' message; the type's module
// is announced once per process ('type'), and parameters travel as the
// configuration view gives them (its type's defaults already filled in; the
// process fills any gap again), so a call costs two messages. Each side sends what one turn of its event loop produced as one
// batch (an array), so many calls in flight cost few writes. Services a type needs from the node (the cluster database) are
// 'service' requests the parent answers.
import type { ClusterErrorValue } from '../model/errors.ts';
import type { PropertyValue } from '../model/properties.ts';
import type { ControlRequest, EntryPoint, TypeModule } from '../types/resource-type.ts';

/** Parent to host process. */
export type ToHost =
  | { readonly t: 'type'; readonly name: string; readonly module: TypeModule }
  | {
      readonly t: 'call';
      readonly id: number;
      readonly resource: string;
      readonly type: string;
      readonly entryPoint: EntryPoint;
      readonly parameters: Readonly<Record<string, PropertyValue>>;
      readonly deadlineMs: number;
      readonly epoch: number;
      readonly control?: ControlRequest;
    }
  | { readonly t: 'abort'; readonly id: number }
  | { readonly t: 'service'; readonly id: number; readonly value?: unknown; readonly error?: ClusterErrorValue };

/** How an entry point ended in the host process. */
export type RemoteOutcome =
  | { readonly ok: true; readonly value: unknown }
  /** A ClusterError it threw (error), or any other exception rendered as text (thrown). */
  | { readonly ok: false; readonly error?: ClusterErrorValue; readonly thrown?: string };

/** Host process to parent. */
export type FromHost =
  | { readonly t: 'ready'; readonly pid: number }
  | ({ readonly t: 'result'; readonly id: number } & RemoteOutcome)
  | { readonly t: 'log'; readonly resource: string; readonly type: string; readonly text: string }
  | { readonly t: 'service'; readonly id: number; readonly op: 'readParameters'; readonly resource: string };

/** What one side sends what it has queued: one IPC message per event-loop turn. */
export class Outbox<M> {
  private queued: M[] = [];
  constructor(private readonly write: (batch: M[]) => void) {}

  push(m: M): void {
    if (this.queued.length === 0) setImmediate(() => this.flush());
    this.queued.push(m);
  }

  private flush(): void {
    const batch = this.queued;
    this.queued = [];
    if (batch.length > 0) this.write(batch);
  }
}

/** The environment variable whose value marks every process a resource host started (and the host itself). */
export const HOST_MARK_ENV = 'FAILOVER_HOST_MARK';
/** The node name, given to the types in a host process. */
export const HOST_NODE_ENV = 'FAILOVER_HOST_NODE';
