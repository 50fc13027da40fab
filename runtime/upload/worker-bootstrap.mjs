// Worker threads start without the parent's module loader; register tsx so
// the TypeScript worker entry (workerData.entry) can load.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI is an experimental feature')) return;
  emitWarning.call(process, warning, ...rest);
};

register();
await import(workerData.entry);
