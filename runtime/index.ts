/**
 * The sandboxed plugin runtime: the public surface. Nothing here imports
 * from gateway/.
 *
 *   const rt = new Runtime();
 *   const mod = await rt.prepare(bytes, { wasi: false });   // upload pipeline
 *   const plugin = rt.bind(mod, { apiId: 'my-api', config }); // per-API pool
 *   const result = await plugin.call('pre_enrich', 'pre', envelope);
 */
import { type CallEvent, PluginBinding, type PreparedModule } from './binding.ts';
import type { PluginLogSink } from './host-functions.ts';
import { type RuntimeLimits, resolveLimits } from './limits.ts';
import { type PipelineOptions, sha256 } from './upload/names.ts';
import { PipelineWorker } from './upload/pipeline-worker.ts';

export { checkHeaderName, checkHeaderValue, decodeResult, encodeEnvelope, FORBIDDEN_HEADERS } from './abi/codec.ts';
export * from './abi/records.ts';
export type { CallEvent, CallOptions, CallOutcome, PreparedModule } from './binding.ts';
export { PluginBinding } from './binding.ts';
export { ERROR_CODES, type ErrorCode, isWasmgateError, WasmgateError } from './errors.ts';
export type { LogLevel, PluginLogLine, PluginLogSink } from './host-functions.ts';
export { DEFAULT_LIMITS, type RuntimeLimits, resolveLimits } from './limits.ts';
export type { PoolStats } from './pool.ts';
export type { SyncHttp, SyncHttpRequest } from './tier/protocol.ts';
export type { ModuleFacts, PipelineOptions } from './upload/names.ts';

export interface RuntimeOptions {
  limits?: Partial<RuntimeLimits>;
  /** Where plugin log lines go (already capped and escaped). Default: dropped. */
  logSink?: PluginLogSink;
  /** Observes every call (metrics). */
  onCall?: (event: CallEvent) => void;
}

export class Runtime {
  readonly limits: Readonly<RuntimeLimits>;
  readonly #worker: PipelineWorker;
  /** Compiled modules by sha256 of the uploaded bytes and the WASI flag. */
  readonly #cache = new Map<string, Promise<PreparedModule>>();
  #logSink: PluginLogSink;
  #onCall: RuntimeOptions['onCall'];

  constructor(opts: RuntimeOptions = {}) {
    this.limits = resolveLimits(opts.limits);
    this.#worker = new PipelineWorker(this.limits.pipelineIdleMs);
    this.#logSink = opts.logSink ?? (() => {});
    this.#onCall = opts.onCall;
    this.#worker.warm();
  }

  set logSink(sink: PluginLogSink) {
    this.#logSink = sink;
  }

  set onCall(fn: RuntimeOptions['onCall']) {
    this.#onCall = fn;
  }

  /**
   * Runs the upload pipeline (off the main thread) and returns an immutable,
   * content-addressed module. The same bytes are processed once.
   */
  prepare(source: Uint8Array, options: Partial<PipelineOptions> = {}): Promise<PreparedModule> {
    const opts: PipelineOptions = { wasi: options.wasi ?? false };
    const key = `${sha256(source)}:${opts.wasi ? 'wasi' : 'plain'}`;
    let entry = this.#cache.get(key);
    if (!entry) {
      entry = this.#worker.run(source, opts, this.limits).then(({ bytes, module, facts }) =>
        Object.freeze({
          facts: Object.freeze(facts),
          module,
          bytes,
        }),
      );
      this.#cache.set(key, entry);
      entry.catch(() => this.#cache.delete(key));
    }
    return entry;
  }

  /** A plugin version bound to one API, with its own instance pool. */
  bind(
    module: PreparedModule,
    opts: { apiId: string; config?: Record<string, unknown>; httpResponseBytes?: number | undefined },
  ): PluginBinding {
    return new PluginBinding(module, {
      apiId: opts.apiId,
      config: opts.config,
      httpResponseBytes: opts.httpResponseBytes,
      limits: this.limits,
      logSink: (line, tags) => this.#logSink(line, tags),
      onCall: (event) => this.#onCall?.(event),
    });
  }

  /** Forgets a cached module (after its version is deleted). */
  forget(module: PreparedModule): void {
    for (const [key, entry] of this.#cache) {
      void entry.then(
        (m) => {
          if (m === module) this.#cache.delete(key);
        },
        () => {},
      );
    }
  }

  async close(): Promise<void> {
    await this.#worker.close();
  }
}
