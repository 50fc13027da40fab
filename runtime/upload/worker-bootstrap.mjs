// Worker threads start without the parent's module loader; register tsx so
// the TypeScript worker entry (workerData.entry) can load.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
await import(workerData.entry);
