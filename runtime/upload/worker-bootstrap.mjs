// Worker threads start without the parent's module loader; register tsx so
// the TypeScript worker entry (workerData.entry) can load.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI is an experimental feature')) return;
  emitWarning.call(process, warning, ...rest);
};

// binaryen (15 MB of JavaScript) is loaded before tsx is registered: through
// tsx's loader it would be transformed, costing some 400 MB more resident
// memory. The entry's own `import binaryen` then finds it already loaded.
await import('binaryen');
register();
await import(workerData.entry);
