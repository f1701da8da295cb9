// The legal edges of the resource lifecycle (DESIGN.md "Resource lifecycle").
// The RCM asserts every transition it makes against this table, and the
// simulator and the scenario tests check every logged transition against it.
import { isPendingState, type ResourceState } from '../model/index.ts';

export const legalTransitions: { readonly [From in ResourceState]: readonly ResourceState[] } = {
  Initializing: ['OpenCallIssued'],
  OpenCallIssued: ['Offline', 'OpenCallFailed'],
  // Re-open (background retry, or before an online); Initializing on reset.
  OpenCallFailed: ['OpenCallIssued', 'Initializing'],
  // WaitingToComeOnline when providers are not online yet, else straight to the call; Initializing on reset.
  Offline: ['WaitingToComeOnline', 'OnlineCallIssued', 'Initializing'],
  // Offline when the online is withdrawn; Failed when a provider cannot come online or waiting timed out.
  WaitingToComeOnline: ['OnlineCallIssued', 'Offline', 'Failed'],
  OnlineCallIssued: ['OnlinePending', 'Online', 'Failed', 'Terminating'],
  OnlinePending: ['Online', 'Failed', 'Terminating'],
  // A failure while Online (looksAlive/isAlive false, fail request, provider lost) terminates first,
  // so nothing of the failed instance runs when it restarts.
  Online: ['WaitingToGoOffline', 'OfflineCallIssued', 'Terminating'],
  // Back to Online when the offline is withdrawn (an online request came in meanwhile).
  WaitingToGoOffline: ['OfflineCallIssued', 'Online', 'Terminating'],
  OfflineCallIssued: ['OfflinePending', 'Offline', 'Failed', 'Terminating'],
  OfflinePending: ['Offline', 'Failed', 'Terminating'],
  // Failed after a failure; Offline when ownership was lost; Initializing on reset.
  Terminating: ['Failed', 'Offline', 'Initializing'],
  // Restart / retry; Offline when taken offline; Initializing on reset.
  Failed: ['WaitingToComeOnline', 'OnlineCallIssued', 'Offline', 'Initializing'],
};

export function isLegalTransition(from: ResourceState, to: ResourceState): boolean {
  return legalTransitions[from].includes(to);
}

/** States in which the resource's code may be running (online, going online or offline, or being terminated). */
export function isUpState(s: ResourceState): boolean {
  return (
    s === 'OnlineCallIssued' ||
    s === 'OnlinePending' ||
    s === 'Online' ||
    s === 'WaitingToGoOffline' ||
    s === 'OfflineCallIssued' ||
    s === 'OfflinePending' ||
    s === 'Terminating'
  );
}

/**
 * States that are waiting for something (a call, a timer, providers or
 * dependents). Each must be bounded: a call with a deadline or a timer.
 */
export function isTransitionalState(s: ResourceState): boolean {
  // The model's pending states (which make a group Pending), plus an Open in flight.
  return s === 'OpenCallIssued' || isPendingState(s);
}
