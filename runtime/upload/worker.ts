/**
 * The pipeline worker: runs checks, metering and a trial instantiation off
 * the main thread. A module whose start function loops cannot block the
 * gateway: the manager terminates this thread at the deadline.
 */
import { parentPort } from 'node:worker_threads';
import { isWasmgateError, WasmgateError } from '../errors.ts';
import { createInstance } from '../instance.ts';
import type { RuntimeLimits } from '../limits.ts';
import { type PipelineOptions, transformModule } from './pipeline.ts';

export interface PipelineJob {
  id: number;
  source: Uint8Array;
  options: PipelineOptions;
  limits: RuntimeLimits;
}

export type PipelineReply =
  | { id: number; ok: true; bytes: Uint8Array; module: WebAssembly.Module; facts: import('./pipeline.ts').ModuleFacts }
  | { id: number; ok: false; code: WasmgateError['code']; message: string; fatal: boolean };

async function run(job: PipelineJob): Promise<PipelineReply> {
  const { bytes, facts } = transformModule(job.source, job.options, job.limits);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes as Uint8Array<ArrayBuffer>);
  } catch (cause) {
    throw new WasmgateError('INVALID_MODULE', 'the module failed to compile', { cause });
  }
  const trial = await createInstance(module, {
    wasi: facts.wasi,
    config: {},
    limits: job.limits,
    logSink: () => {},
  });
  await trial.plugin.close();
  return { id: job.id, ok: true, bytes, module, facts };
}

parentPort?.on('message', async (job: PipelineJob) => {
  let reply: PipelineReply;
  try {
    reply = await run(job);
  } catch (err) {
    // An untyped error is a bug on some path no test reached: the next job gets a fresh thread, not this state.
    reply = isWasmgateError(err)
      ? { id: job.id, ok: false, code: err.code, message: err.message, fatal: false }
      : { id: job.id, ok: false, code: 'INVALID_MODULE', message: 'the module could not be processed', fatal: true };
  }
  parentPort?.postMessage(reply);
});

// Loaded (TypeScript compiled, Extism ready): job deadlines start from here, not from the thread's start.
parentPort?.postMessage({ ready: true });
