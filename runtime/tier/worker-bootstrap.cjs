// A worker-tier thread starts without the parent's module loader. tsx's
// CommonJS hook loads the TypeScript entry inside this thread; its ESM
// loader would start one more loader thread per worker (measured: 250 ms and
// 30 MB per worker through the ESM loader, 130 ms and 24 MB through this one).
const { workerData } = require('node:worker_threads');

const emitWarning = process.emitWarning;
process.emitWarning = (warning, ...rest) => {
  if (String(warning).includes('WASI is an experimental feature')) return;
  emitWarning.call(process, warning, ...rest);
};

require('tsx/cjs/api').register();
require(workerData.entry);
