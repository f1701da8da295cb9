// A deliberately broken RCM core, for the simulator's self-test: the checkers
// must catch a core that has the seed's bug. This one drops the rule "an
// online request for a resource that never opened re-opens it first": the
// resource is marked as opening, but no Open is ever issued and no deadline
// armed, so the online waits for ever — KB2893882's wedge.
import type { RcmEffect, RcmInput, RcmState, ResourceRecord, StepResult } from '../rcm/index.ts';
import type { RcmCore } from './simulation.ts';

export function withoutOpenBeforeOnline(core: RcmCore): RcmCore {
  return (state: RcmState, input: RcmInput): StepResult => {
    const result = core(state, input);
    const dropped = new Map<string, string>(); // resource -> timer of the dropped call
    for (const e of result.effects) {
      if (e.type !== 'call' || e.entryPoint !== 'open') continue;
      const r = result.state.resources.get(e.resource);
      if (r?.call?.callId === e.callId && r.call.purpose === 'openBeforeOnline') dropped.set(e.resource, r.call.timerId);
    }
    if (dropped.size === 0) return result;
    const resources = new Map(result.state.resources);
    const timers = new Map(result.state.timers);
    for (const [name, timerId] of dropped) {
      const r = resources.get(name)!;
      const stuck: ResourceRecord = { ...r, restarts: [...r.restarts], timers: { ...r.timers }, call: undefined };
      resources.set(name, stuck);
      timers.delete(timerId);
    }
    const timerIds = new Set(dropped.values());
    const effects = result.effects.filter(
      (e: RcmEffect) =>
        !(e.type === 'call' && e.entryPoint === 'open' && dropped.has(e.resource)) && !(e.type === 'setTimer' && timerIds.has(e.timerId)),
    );
    return { state: { ...result.state, resources, timers }, effects };
  };
}
