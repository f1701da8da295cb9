// Scenario files: a simulation with a scripted topology and scripted faults
// (YAML). Without `randomFaults: true` only the scripted events happen, so a
// scenario replays one story exactly — such as the seed's move:
//
//   name: seed move
//   nodes: 2
//   steps: 400
//   apiOfflineAtStart: [node2]
//   groups:
//     - name: Mailbox
//       preferredOwners: [node1]
//       resources:
//         - { name: Storage }
//         - { name: Mailbox, dependsOn: "[Storage]" }
//         - { name: Store, dependsOn: "[Mailbox]" }
//   events:
//     - { step: 10, action: setPersistentState, resource: Mailbox, value: 0 }
//     - { step: 11, action: moveGroup, group: Mailbox, to: node2 }
//   expect:
//     - { step: 200, resource: Store, state: Online }
//
// Each event's fields are those of the action (see actions.ts). An expectation
// checks a resource's state on its group's owner after that step.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { ClusterError } from '../model/errors.ts';
import { entryPoints, type EntryPoint } from '../types/resource-type.ts';
import { actionKinds, type SimAction, type SimActionKind } from './actions.ts';
import { callFaultKinds, type CallFaultKind } from './sim-type.ts';
import { resourceStates, type ResourceState } from '../model/objects.ts';

export interface ScenarioResource {
  readonly name: string;
  readonly persistentState: 0 | 1;
  readonly restartAction: 0 | 1 | 2;
  readonly dependsOn: string;
}

export interface ScenarioGroup {
  readonly name: string;
  readonly preferredOwners: readonly string[];
  readonly resources: readonly ScenarioResource[];
}

export interface Scenario {
  readonly name: string;
  readonly nodes?: number;
  readonly steps?: number;
  readonly seed?: number;
  /** Also draw random faults and operator actions from the seed. Default false. */
  readonly randomFaults: boolean;
  readonly apiOfflineAtStart: readonly string[];
  /** Without groups, the topology is drawn from the seed. */
  readonly groups?: readonly ScenarioGroup[];
  readonly events: readonly { readonly step: number; readonly action: SimAction }[];
  readonly expect: readonly ScenarioExpectation[];
}

export interface ScenarioExpectation {
  readonly step: number;
  readonly resource: string;
  readonly state: ResourceState;
}

type Obj = Record<string, unknown>;

class ScenarioReader {
  constructor(private readonly source: string) {}

  bad(where: string, problem: string): never {
    throw new ClusterError('ERROR_INVALID_PARAMETER', `scenario ${this.source}: ${where}: ${problem}`);
  }

  object(v: unknown, where: string): Obj {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) this.bad(where, 'expected a mapping');
    return v as Obj;
  }

  list(v: unknown, where: string): unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) this.bad(where, 'expected a list');
    return v;
  }

  string(o: Obj, key: string, where: string): string {
    const v = o[key];
    if (typeof v !== 'string' || v === '') this.bad(where, `${key} must be a non-empty string, got ${JSON.stringify(v)}`);
    return v;
  }

  optionalString(o: Obj, key: string, where: string): string | undefined {
    return o[key] === undefined ? undefined : this.string(o, key, where);
  }

  int(o: Obj, key: string, where: string, min: number, max: number, fallback?: number): number {
    const v = o[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      this.bad(where, `${key} must be a whole number from ${min} to ${max}, got ${JSON.stringify(o[key])}`);
    }
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, where: string, allowed: readonly T[]): T {
    const v = o[key];
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.bad(where, `${key} must be one of ${allowed.join(', ')}, got ${JSON.stringify(v)}`);
    return v as T;
  }

  strings(v: unknown, where: string): string[] {
    return this.list(v, where).map((x, i) => {
      if (typeof x !== 'string' || x === '') this.bad(`${where}[${i}]`, 'expected a non-empty string');
      return x;
    });
  }

  action(o: Obj, where: string): SimAction {
    const kind = this.oneOf<SimActionKind>(o, 'action', where, actionKinds);
    const node = (): string => this.string(o, 'node', where);
    const resource = (): string => this.string(o, 'resource', where);
    const group = (): string => this.string(o, 'group', where);
    const durationMs = (): number => this.int(o, 'durationMs', where, 1, 3_600_000);
    switch (kind) {
      case 'crashNode':
      case 'apiOnline':
      case 'pauseNode':
      case 'resumeNode':
        return { kind, node: node() };
      case 'restartNode':
        return { kind, node: node(), holdApiOffline: o.holdApiOffline === true };
      case 'partition':
        return { kind, node: node(), durationMs: durationMs() };
      case 'slowStore':
        return { kind, node: node(), delayMs: this.int(o, 'delayMs', where, 0, 60_000), durationMs: durationMs() };
      case 'crashStore':
        return { kind, durationMs: durationMs() };
      case 'slowDisk':
        return { kind, syncDelayMs: this.int(o, 'syncDelayMs', where, 0, 60_000), durationMs: durationMs() };
      case 'callFault': {
        const fault = this.oneOf<CallFaultKind>(o, 'fault', where, callFaultKinds);
        return {
          kind,
          node: node(),
          resource: resource(),
          entryPoint: this.oneOf<EntryPoint>(o, 'entryPoint', where, entryPoints),
          fault,
          calls: this.int(o, 'calls', where, 1, 1_000, 1),
          ...(fault === 'slow' ? { delayMs: this.int(o, 'delayMs', where, 0, 3_600_000) } : {}),
        };
      }
      case 'moveGroup': {
        const to = this.optionalString(o, 'to', where);
        return { kind, group: group(), ...(to !== undefined ? { to } : {}), ...(o.returnToSourceOnError === true ? { returnToSourceOnError: true } : {}) };
      }
      case 'onlineGroup':
      case 'offlineGroup':
        return { kind, group: group() };
      case 'onlineResource':
      case 'offlineResource':
      case 'failResource':
      case 'resetResource':
        return { kind, resource: resource() };
      case 'setPersistentState':
        return { kind, resource: resource(), value: this.int(o, 'value', where, 0, 1) as 0 | 1 };
      case 'addDependency':
      case 'removeDependency':
        return { kind, resource: resource(), provider: this.string(o, 'provider', where) };
    }
  }
}

/** Parses and validates a scenario; errors name the file, the place and the problem. */
export function parseScenario(text: string, source: string): Scenario {
  const r = new ScenarioReader(source);
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    r.bad('YAML', e instanceof Error ? e.message : String(e));
  }
  const top = r.object(doc, 'top level');
  const known = new Set(['name', 'nodes', 'steps', 'seed', 'randomFaults', 'apiOfflineAtStart', 'groups', 'events', 'expect']);
  for (const k of Object.keys(top)) if (!known.has(k)) r.bad('top level', `unknown key ${JSON.stringify(k)} (known: ${[...known].join(', ')})`);
  const nodes = top.nodes === undefined ? undefined : r.int(top, 'nodes', 'top level', 1, 64);
  const groups =
    top.groups === undefined
      ? undefined
      : r.list(top.groups, 'groups').map((g, gi) => {
          const where = `groups[${gi}]`;
          const go = r.object(g, where);
          return {
            name: r.string(go, 'name', where),
            preferredOwners: r.strings(go.preferredOwners, `${where}.preferredOwners`),
            resources: r.list(go.resources, `${where}.resources`).map((x, ri) => {
              const rw = `${where}.resources[${ri}]`;
              const ro = r.object(x, rw);
              return {
                name: r.string(ro, 'name', rw),
                persistentState: r.int(ro, 'persistentState', rw, 0, 1, 1) as 0 | 1,
                restartAction: r.int(ro, 'restartAction', rw, 0, 2, 1) as 0 | 1 | 2,
                dependsOn: r.optionalString(ro, 'dependsOn', rw) ?? '',
              };
            }),
          };
        });
  const events = r.list(top.events, 'events').map((e, i) => {
    const where = `events[${i}]`;
    const eo = r.object(e, where);
    return { step: r.int(eo, 'step', where, 1, 10_000_000), action: r.action(eo, where) };
  });
  const expect = r.list(top.expect, 'expect').map((e, i) => {
    const where = `expect[${i}]`;
    const eo = r.object(e, where);
    return { step: r.int(eo, 'step', where, 1, 10_000_000), resource: r.string(eo, 'resource', where), state: r.oneOf<ResourceState>(eo, 'state', where, resourceStates) };
  });
  return {
    name: top.name === undefined ? source : r.string(top, 'name', 'top level'),
    ...(nodes !== undefined ? { nodes } : {}),
    ...(top.steps !== undefined ? { steps: r.int(top, 'steps', 'top level', 0, 10_000_000) } : {}),
    ...(top.seed !== undefined ? { seed: r.int(top, 'seed', 'top level', 0, Number.MAX_SAFE_INTEGER) } : {}),
    randomFaults: top.randomFaults === true,
    apiOfflineAtStart: r.strings(top.apiOfflineAtStart, 'apiOfflineAtStart'),
    ...(groups ? { groups } : {}),
    events,
    expect,
  };
}

export function loadScenario(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ClusterError('ERROR_FILE_NOT_FOUND', `scenario ${path}: cannot read it: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseScenario(text, path);
}
