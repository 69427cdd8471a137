#!/usr/bin/env node
// The `argus` command. Runs the TypeScript sources directly through tsx: no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/main.ts');
await main(process.argv);
