#!/usr/bin/env node
// The CLI is written in TypeScript and run through tsx's loader, so the same
// sources serve `npm start`, the tests and the worker threads.
import { register } from 'tsx/esm/api';

// Node marks its WASI module experimental; wasmgate enables WASI only for
// modules uploaded with `wasi: true`, so the warning is noise on every start.
const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI is an experimental feature')) return;
  emitWarning.call(process, warning, ...rest);
};

register();
const { main } = await import('../gateway/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
