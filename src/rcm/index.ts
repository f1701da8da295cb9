// The Resource Control Manager, pure core: step(state, input) -> { state, effects }.
export { createRcm, step } from './step.ts';
export { legalTransitions, isLegalTransition, isUpState, isTransitionalState } from './transitions.ts';
export { defaultRcmLimits, retryPeriodOnFailureNeverMs, openRetryDelayMs, type RcmLimits } from './limits.ts';
export * from './queries.ts';
export type * from './types.ts';
