#!/usr/bin/env node
// The CLI is written in TypeScript and run through tsx's loader, so the same
// sources serve `npm start`, the tests and the worker threads.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../gateway/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
