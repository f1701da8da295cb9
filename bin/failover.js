#!/usr/bin/env node
// The failover command. Sources are TypeScript, loaded through tsx's ESM hook.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
