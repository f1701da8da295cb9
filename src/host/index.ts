// The resource host: executes the RCM's call effects against resource types.
export * from './calls.ts';
export * from './resource-host.ts';
export type { HostProcessOptions } from './process-host.ts';
