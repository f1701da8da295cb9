export * from './errors.ts';
export * from './clock.ts';
export * from './properties.ts';
export * from './objects.ts';
export * from './dependency.ts';
export * from './messages.ts';
