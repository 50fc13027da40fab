/**
 * Owns the pipeline worker thread: one job at a time, each under a deadline.
 * A job that overruns (a start function that loops past its fuel, a compile
 * bomb that slips past the caps) gets its thread terminated and START_TIMEOUT;
 * the next job gets a fresh thread.
 *
 * The thread is a V8 isolate of its own with tsx and Extism loaded (about
 * 35 MB resident, some 60 MB after metering and compiling 1 MB modules), so
 * it stops after `idleMs` without a job and starts again with the next one.
 */
import { Worker } from 'node:worker_threads';
import { WasmgateError } from '../errors.ts';
import type { RuntimeLimits } from '../limits.ts';
import type { ModuleFacts, PipelineOptions } from './pipeline.ts';
import type { PipelineJob, PipelineReply } from './worker.ts';

export interface PreparedBytes {
  bytes: Uint8Array;
  module: WebAssembly.Module;
  facts: ModuleFacts;
}

const workerEntry = new URL('./worker.ts', import.meta.url).href;
const bootstrap = new URL('./worker-bootstrap.mjs', import.meta.url);

/** How long a new pipeline thread may take to load before its first job fails. */
const STARTUP_MS = 120_000;

export class PipelineWorker {
  #worker: Worker | null = null;
  #ready: Promise<void> | null = null;
  #nextId = 1;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;
  #pending = 0;
  #idleTimer: NodeJS.Timeout | null = null;

  /** `idleMs`: how long the thread outlives its last job (0: it never stops on its own). */
  constructor(readonly idleMs = 60_000) {}

  /** True while the thread exists (running, or waiting for jobs before its idle stop). */
  get alive(): boolean {
    return this.#worker !== null;
  }

  #armIdle(): void {
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    if (this.idleMs <= 0 || this.#pending > 0 || !this.#worker) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = null;
      if (this.#pending === 0) this.#kill();
    }, this.idleMs);
    this.#idleTimer.unref();
  }

  #spawn(): Worker {
    const worker = new Worker(bootstrap, { workerData: { entry: workerEntry }, stdout: false, stderr: false });
    worker.unref();
    this.#ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new WasmgateError('START_TIMEOUT', 'the upload pipeline thread did not start')),
        STARTUP_MS,
      );
      timer.unref();
      const onReady = (m: { ready?: boolean }) => {
        if (!m?.ready) return;
        clearTimeout(timer);
        worker.off('message', onReady);
        resolve();
      };
      worker.on('message', onReady);
      worker.once('exit', () => {
        clearTimeout(timer);
        reject(new WasmgateError('INVALID_MODULE', 'the upload pipeline thread stopped'));
      });
    });
    this.#ready.catch(() => {});
    this.#worker = worker;
    return worker;
  }

  #kill(): void {
    const w = this.#worker;
    this.#worker = null;
    void w?.terminate();
  }

  /** Warms the thread (loading and compiling the pipeline's TypeScript takes a moment). */
  warm(): void {
    if (!this.#worker && !this.#closed) this.#spawn();
    this.#armIdle();
  }

  run(source: Uint8Array, options: PipelineOptions, limits: RuntimeLimits): Promise<PreparedBytes> {
    this.#pending++;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    this.#idleTimer = null;
    const job = this.#queue.then(() => this.#runOne(source, options, limits));
    const done = job.finally(() => {
      this.#pending--;
      this.#armIdle();
    });
    this.#queue = done.catch(() => {});
    return job;
  }

  async #runOne(source: Uint8Array, options: PipelineOptions, limits: RuntimeLimits): Promise<PreparedBytes> {
    if (this.#closed) throw new Error('the runtime is closed');
    const worker = this.#worker ?? this.#spawn();
    // The job's deadline covers the job, not the thread's start-up (slow on a busy machine).
    await this.#ready;
    const id = this.#nextId++;
    return new Promise<PreparedBytes>((resolve, reject) => {
      const deadline = limits.initDeadlineMs + 5_000 + Math.ceil(source.byteLength / 1024);
      const cleanup = () => {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
      };
      const timer = setTimeout(() => {
        cleanup();
        this.#kill();
        reject(new WasmgateError('START_TIMEOUT', `the upload pipeline did not finish within ${deadline} ms`));
      }, deadline);
      const onMessage = (reply: PipelineReply) => {
        if (reply.id !== id) return;
        cleanup();
        if (reply.ok) {
          resolve({ bytes: reply.bytes, module: reply.module, facts: reply.facts });
        } else {
          if (reply.fatal) this.#kill();
          reject(new WasmgateError(reply.code, reply.message));
        }
      };
      const onError = (err: Error) => {
        cleanup();
        this.#kill();
        reject(new WasmgateError('INVALID_MODULE', 'the upload pipeline failed on this module', { cause: err }));
      };
      const onExit = () => {
        cleanup();
        this.#worker = null;
        reject(new WasmgateError('INVALID_MODULE', 'the upload pipeline stopped on this module'));
      };
      worker.on('message', onMessage);
      worker.on('error', onError);
      worker.on('exit', onExit);
      const job: PipelineJob = { id, source, options, limits };
      worker.postMessage(job);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#idleTimer) clearTimeout(this.#idleTimer);
    const w = this.#worker;
    this.#worker = null;
    await w?.terminate();
  }
}
