/**
 * The worker tier (docs/sandbox.md): plugin versions whose module imports
 * Extism's synchronous `http_request` get instances that live in worker
 * threads, one instance per thread, pooled like main-thread instances (the
 * same InstancePool, limits, queue and POOL_EXHAUSTED). The main thread only
 * posts a call and awaits its answer; while the plugin waits on an HTTP
 * call, the main thread performs it through the caller's SyncHttp and
 * writes the answer into memory shared with that worker.
 *
 * Every call has a deadline (its outbound budget + limits.workerCallMs): a
 * worker that has not answered by then is terminated (CALL_TIMEOUT), one
 * that dies is discarded (WORKER_FAILED), and the pool starts another for
 * the next call. Other workers, other bindings and the event loop are
 * untouched either way.
 */
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CallOptions, CallOutcome } from '../binding.ts';
import { isWasmgateError, WasmgateError } from '../errors.ts';
import type { PluginLogSink } from '../host-functions.ts';
import type { RuntimeLimits } from '../limits.ts';
import { InstancePool, type PoolStats } from '../pool.ts';
import type { ModuleFacts } from '../upload/names.ts';
import { EXTISM_ENV } from '../upload/names.ts';
import {
  CHUNK,
  CONTROL_WORDS,
  encodeAnswer,
  encodeFailure,
  READY,
  STATE,
  type SyncHttp,
  type SyncHttpRequest,
  TOTAL,
  WAITING,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.ts';

const bootstrap = new URL('./worker-bootstrap.cjs', import.meta.url);
const entry = fileURLToPath(new URL('./worker.ts', import.meta.url));

/** A new thread loads tsx, Extism and the runtime before it instantiates: slow on a busy machine. */
const START_MS = 30_000;
/** Room in the shared buffer for an answer's status and headers, beyond its body. */
const HEADROOM_BYTES = 64 * 1024;
/** Larger answers are passed in chunks of this size. */
const MAX_SHARED_BYTES = 4 * 1024 * 1024;
/** Heap of one worker thread; plugin memory and blocks live outside it. */
const WORKER_HEAP_MB = 64;

/** A module is served by the worker tier when it imports Extism's synchronous HTTP call. */
export function needsWorkerTier(facts: Pick<ModuleFacts, 'imports'>): boolean {
  return facts.imports.includes(`${EXTISM_ENV}.http_request`);
}

interface Pending {
  id: number;
  http: SyncHttp | undefined;
  tags: Readonly<Record<string, string>>;
  timer: NodeJS.Timeout;
  resolve: (outcome: CallOutcome) => void;
  reject: (err: WasmgateError) => void;
}

interface Outgoing {
  seq: number;
  bytes: Uint8Array;
  sent: number;
}

export interface WorkerOptions {
  module: WebAssembly.Module;
  facts: ModuleFacts;
  config: Record<string, string>;
  limits: RuntimeLimits;
  logSink: PluginLogSink;
  /** Size the shared answer buffer for this many body bytes (the API's max_response_bytes). */
  httpResponseBytes: number;
}

/** One worker thread hosting one plugin instance. */
class WorkerInstance {
  readonly #worker: Worker;
  readonly #control: Int32Array;
  readonly #data: Uint8Array;
  readonly #logSink: PluginLogSink;
  #pending: Pending | null = null;
  #outgoing: Outgoing | null = null;
  #nextId = 1;
  #startup: { resolve: () => void; reject: (err: WasmgateError) => void; timer: NodeJS.Timeout } | null = null;
  /** Terminated, exited or useless: never called again. */
  dead = false;

  private constructor(opts: WorkerOptions) {
    const shared = Math.min(opts.httpResponseBytes, MAX_SHARED_BYTES) + HEADROOM_BYTES;
    const init: WorkerInit = {
      module: opts.module,
      wasi: opts.facts.wasi,
      fastInput: opts.facts.fastInput,
      config: opts.config,
      limits: opts.limits,
      control: new SharedArrayBuffer(CONTROL_WORDS * 4),
      data: new SharedArrayBuffer(shared),
    };
    this.#control = new Int32Array(init.control);
    this.#data = new Uint8Array(init.data);
    this.#logSink = opts.logSink;
    this.#worker = new Worker(bootstrap, {
      workerData: { ...init, entry },
      // The parent's flags (`--import tsx` in the benchmarks) would load tsx's ESM loader here too.
      execArgv: [],
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    this.#worker.on('message', (m: WorkerMessage) => this.#onMessage(m));
    this.#worker.on('error', (cause) =>
      this.#die(new WasmgateError('WORKER_FAILED', 'the worker thread failed', { cause })),
    );
    this.#worker.on('messageerror', (cause) =>
      this.#die(new WasmgateError('WORKER_FAILED', 'a message from the worker thread was unreadable', { cause })),
    );
    this.#worker.on('exit', () => this.#die(new WasmgateError('WORKER_FAILED', 'the worker thread exited')));
  }

  static start(opts: WorkerOptions): Promise<WorkerInstance> {
    const w = new WorkerInstance(opts);
    return new Promise<WorkerInstance>((resolve, reject) => {
      w.#startup = {
        resolve: () => resolve(w),
        reject,
        timer: setTimeout(
          () => w.#die(new WasmgateError('WORKER_FAILED', `the worker thread did not start within ${START_MS} ms`)),
          START_MS,
        ),
      };
    });
  }

  call(
    exportName: string,
    input: Uint8Array,
    fuel: number,
    opts: CallOptions,
    deadlineMs: number,
  ): Promise<CallOutcome> {
    if (this.dead) return Promise.reject(new WasmgateError('WORKER_FAILED', 'the worker thread is gone'));
    const id = this.#nextId++;
    const tags = opts.tags ?? (opts.requestId ? { request_id: opts.requestId } : {});
    return new Promise<CallOutcome>((resolve, reject) => {
      this.#pending = {
        id,
        http: opts.http,
        tags,
        resolve,
        reject,
        timer: setTimeout(
          () =>
            this.#die(
              new WasmgateError(
                'CALL_TIMEOUT',
                `the plugin call did not finish within ${deadlineMs} ms; its worker was stopped`,
              ),
            ),
          deadlineMs,
        ),
      };
      this.#worker.ref();
      // A copy of just the input: the envelope may be a view into a larger pooled buffer.
      const own = new Uint8Array(input);
      this.#worker.postMessage({ id, exportName, input: own, fuel }, [own.buffer as ArrayBuffer]);
    });
  }

  #settle(): Pending | null {
    const p = this.#pending;
    if (!p) return null;
    clearTimeout(p.timer);
    this.#pending = null;
    this.#outgoing = null;
    this.#worker.unref();
    return p;
  }

  #onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case 'ready': {
        const s = this.#startup;
        this.#startup = null;
        if (s) {
          clearTimeout(s.timer);
          this.#worker.unref();
          s.resolve();
        }
        return;
      }
      case 'start-failed':
        this.#die(new WasmgateError(m.code, m.message));
        return;
      case 'lost':
        this.#die(new WasmgateError('WORKER_FAILED', `the instance could not be replaced after a trap: ${m.message}`));
        return;
      case 'log': {
        const p = this.#pending;
        if (p) this.#logSink({ level: m.level, text: m.text }, p.tags);
        return;
      }
      case 'http':
        this.#perform(m.id, m.seq, m.request);
        return;
      case 'more':
        if (this.#outgoing?.seq === m.seq && this.#pending?.id === m.id) this.#sendChunk();
        return;
      case 'done': {
        if (this.#pending?.id !== m.id) return;
        const p = this.#settle()!;
        if (m.ok) p.resolve({ output: m.output, fuelUsed: m.fuelUsed, logDropped: m.logDropped });
        else p.reject(new WasmgateError(m.code, m.message));
        return;
      }
    }
  }

  #perform(id: number, seq: number, request: SyncHttpRequest): void {
    const p = this.#pending;
    if (!p || p.id !== id) return;
    const work = p.http
      ? p.http.request(request)
      : Promise.reject(
          new WasmgateError('OUTBOUND_NOT_ALLOWED', 'outbound calls are made only from request hooks of an API'),
        );
    work
      .then(encodeAnswer, (err: unknown) =>
        isWasmgateError(err) ? encodeFailure(err.code, err.message) : encodeFailure('TRAP', 'the outbound call failed'),
      )
      .then((bytes) => {
        // The call may have ended meanwhile (deadline, crash): its worker is gone, the answer with it.
        if (this.#pending !== p || this.dead) return;
        this.#outgoing = { seq, bytes, sent: 0 };
        this.#sendChunk();
      });
  }

  /** Writes the next chunk while the worker waits; it asks for more with a `more` message. */
  #sendChunk(): void {
    const o = this.#outgoing!;
    if (Atomics.load(this.#control, STATE) !== WAITING) return;
    const n = Math.min(o.bytes.byteLength - o.sent, this.#data.byteLength);
    this.#data.set(o.bytes.subarray(o.sent, o.sent + n));
    o.sent += n;
    Atomics.store(this.#control, CHUNK, n);
    Atomics.store(this.#control, TOTAL, o.bytes.byteLength);
    if (o.sent >= o.bytes.byteLength) this.#outgoing = null;
    Atomics.store(this.#control, STATE, READY);
    Atomics.notify(this.#control, STATE);
  }

  #die(err: WasmgateError): void {
    if (this.dead) return;
    this.dead = true;
    const s = this.#startup;
    this.#startup = null;
    if (s) {
      clearTimeout(s.timer);
      s.reject(err);
    }
    this.#settle()?.reject(err);
    void this.#worker.terminate().catch(() => {});
  }

  destroy(): Promise<void> {
    this.dead = true;
    this.#settle()?.reject(new WasmgateError('WORKER_FAILED', 'the worker thread was stopped'));
    return this.#worker.terminate().then(() => {});
  }
}

export class WorkerTier {
  readonly #pool: InstancePool<WorkerInstance>;
  readonly #limits: RuntimeLimits;

  constructor(opts: WorkerOptions) {
    this.#limits = opts.limits;
    this.#pool = new InstancePool<WorkerInstance>(
      () => WorkerInstance.start(opts),
      (w) => w.destroy(),
      { max: opts.limits.poolMaxInstances, waitMs: opts.limits.poolWaitMs, maxWaiters: opts.limits.poolMaxWaiters },
    );
  }

  async invoke(exportName: string, input: Uint8Array, opts: CallOptions): Promise<CallOutcome> {
    let w = this.#pool.tryAcquire() ?? (await this.#pool.acquire());
    // A thread that died while idle is not handed a call.
    while (w.dead) {
      this.#pool.release(w, true);
      w = this.#pool.tryAcquire() ?? (await this.#pool.acquire());
    }
    const fuel = opts.fuel ?? this.#limits.fuelPerCall;
    const deadlineMs = this.#limits.workerCallMs + (opts.http?.budgetMs ?? 0);
    try {
      const outcome = await w.call(exportName, input, fuel, opts, deadlineMs);
      this.#pool.release(w);
      return outcome;
    } catch (err) {
      // After a trap the worker has replaced its instance itself; after a deadline or a crash it is gone.
      this.#pool.release(w, w.dead);
      throw err;
    }
  }

  stats(): PoolStats {
    return this.#pool.stats();
  }

  drain(): Promise<void> {
    return this.#pool.drain();
  }
}
