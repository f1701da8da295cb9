// The placement and failover policy: pure decisions over a view of the cluster.
export * from './view.ts';
export * from './placement.ts';
export * from './threshold.ts';
export * from './failback.ts';
export * from './node-down.ts';
export * from './plan.ts';
