/**
 * A plugin version bound to one API: its own instance pool (instances are
 * never shared across APIs), its config, and the call path — fuel set,
 * envelope in through the fast path or the Extism input, output out, errors
 * classified into stable codes.
 */
import { decodeResult, encodeEnvelope } from './abi/codec.ts';
import type { Envelope, Hook, HookResult } from './abi/records.ts';
import { classify } from './classify.ts';
import { isPluginFault, WasmgateError } from './errors.ts';
import { CallState, type PluginLogSink } from './host-functions.ts';
import { createInstance, type LiveInstance } from './instance.ts';
import type { RuntimeLimits } from './limits.ts';
import { InstancePool, type PoolStats } from './pool.ts';
import { FailureTracker } from './quarantine.ts';
import type { SyncHttp } from './tier/protocol.ts';
import { needsWorkerTier, WorkerTier } from './tier/worker-tier.ts';
import type { ModuleFacts } from './upload/names.ts';

export interface PreparedModule {
  readonly facts: ModuleFacts;
  readonly module: WebAssembly.Module;
  /** The metered, memory-capped bytes that were compiled. */
  readonly bytes: Uint8Array;
}

export interface CallOptions {
  requestId?: string;
  /** Tags attached to this call's plugin log lines. */
  tags?: Record<string, string>;
  /** Overrides the fuel budget for this call. */
  fuel?: number;
  /** Answers a worker-tier plugin's `http_request` (none: the plugin call fails if it makes one). */
  http?: SyncHttp;
}

export interface CallOutcome {
  output: Uint8Array | null;
  fuelUsed: number;
  logDropped: number;
}

export interface CallEvent {
  /** The binding that made the call (one plugin version on one API), for per-binding caches. */
  binding: PluginBinding;
  sha256: string;
  apiId: string;
  exportName: string;
  hook: Hook | null;
  ok: boolean;
  code: WasmgateError['code'] | null;
  seconds: number;
  fuelUsed: number;
}

export interface BindingOptions {
  apiId: string;
  /** The API's config_data, offered to stock Extism plugins through config_get. */
  config?: Record<string, unknown>;
  limits: RuntimeLimits;
  logSink: PluginLogSink;
  onCall?: ((event: CallEvent) => void) | undefined;
  /** The largest `http_request` answer body the API allows (worker tier). */
  httpResponseBytes?: number | undefined;
}

function toExtismConfig(config: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(config ?? {})) out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}

export class PluginBinding {
  readonly module: PreparedModule;
  readonly apiId: string;
  readonly #pool: InstancePool<LiveInstance>;
  readonly #limits: RuntimeLimits;
  readonly #exports: ReadonlySet<string>;
  readonly #onCall: BindingOptions['onCall'];
  /** Quarantine state of this plugin version on this API (one API's failures never block another's). */
  readonly health: FailureTracker;
  /** `worker`: the module imports Extism's `http_request`; its instances live in worker threads (runtime/tier/). */
  readonly tier: 'main' | 'worker';
  readonly #workers: WorkerTier | null;

  constructor(module: PreparedModule, opts: BindingOptions) {
    this.module = module;
    this.health = new FailureTracker(opts.limits.quarantineAfterFailures, opts.limits.quarantineMs);
    this.apiId = opts.apiId;
    this.#limits = opts.limits;
    this.#exports = new Set(module.facts.exports);
    this.#onCall = opts.onCall;
    const config = toExtismConfig(opts.config);
    this.#pool = new InstancePool<LiveInstance>(
      () =>
        createInstance(module.module, { wasi: module.facts.wasi, config, limits: opts.limits, logSink: opts.logSink }),
      (inst) => inst.plugin.close(),
      { max: opts.limits.poolMaxInstances, waitMs: opts.limits.poolWaitMs, maxWaiters: opts.limits.poolMaxWaiters },
    );
    this.#workers = needsWorkerTier(module.facts)
      ? new WorkerTier({
          ...module,
          config,
          limits: opts.limits,
          logSink: opts.logSink,
          httpResponseBytes: opts.httpResponseBytes ?? 0,
        })
      : null;
    this.tier = this.#workers ? 'worker' : 'main';
  }

  hasExport(name: string): boolean {
    return this.#exports.has(name);
  }

  /** One call with raw bytes in and out (no schema): the vectors and `plugin run` use it. */
  async callRaw(
    exportName: string,
    input: Uint8Array,
    opts: CallOptions = {},
    hook: Hook | null = null,
  ): Promise<CallOutcome> {
    return this.#run(exportName, input, opts, hook, (outcome) => outcome);
  }

  /** One hook call: encode the envelope, call, decode and validate the result. */
  async call(
    exportName: string,
    hook: Hook,
    envelope: Envelope | Uint8Array,
    opts: CallOptions = {},
  ): Promise<HookResult> {
    const input = envelope instanceof Uint8Array ? envelope : encodeEnvelope(envelope);
    return this.#run(exportName, input, opts, hook, (outcome) =>
      decodeResult(outcome.output, hook, this.#limits.maxOutputBytes),
    );
  }

  /**
   * One call, `finish`ed (decoded) before it counts: a call whose result is
   * refused is a failure for quarantine, and every call reports one event.
   */
  async #run<T>(
    exportName: string,
    input: Uint8Array,
    opts: CallOptions,
    hook: Hook | null,
    finish: (outcome: CallOutcome) => T,
  ): Promise<T> {
    const started = process.hrtime.bigint();
    let fuelUsed = 0;
    try {
      if (!this.#exports.has(exportName)) {
        throw new WasmgateError('EXPORT_NOT_FOUND', `the plugin does not export a function named "${exportName}"`);
      }
      this.health.check();
      const outcome = await this.#invoke(exportName, input, opts);
      fuelUsed = outcome.fuelUsed;
      const value = finish(outcome);
      this.health.success();
      this.#emit(exportName, hook, null, started, fuelUsed);
      return value;
    } catch (err) {
      const e =
        err instanceof WasmgateError ? err : new WasmgateError('TRAP', 'the plugin call failed', { cause: err });
      if (isPluginFault(e.code)) this.health.failure();
      if (e.code === 'FUEL_EXHAUSTED') fuelUsed = opts.fuel ?? this.#limits.fuelPerCall;
      this.#emit(exportName, hook, e, started, fuelUsed);
      throw e;
    }
  }

  async #invoke(exportName: string, input: Uint8Array, opts: CallOptions): Promise<CallOutcome> {
    if (this.#workers) return this.#workers.invoke(exportName, input, opts);
    // Most calls find an idle instance: no promise to wait on.
    const inst = this.#pool.tryAcquire() ?? (await this.#pool.acquire());
    const state = new CallState(input, opts.tags ?? (opts.requestId ? { request_id: opts.requestId } : {}));
    const budget = opts.fuel ?? this.#limits.fuelPerCall;
    inst.fuel.value = BigInt(budget);
    let extismOutput: Uint8Array | null = null;
    try {
      const out = await inst.plugin.call(exportName, this.module.facts.fastInput ? undefined : input, state);
      if (state.error) throw state.error;
      if (!state.output && out) extismOutput = out.bytes();
    } catch (err) {
      inst.broken = true;
      this.#pool.release(inst, true);
      throw classify(err, state, inst, this.#limits);
    }
    const fuelUsed = budget - Number(inst.fuel.value);
    this.#pool.release(inst);
    const output = state.output ?? extismOutput;
    if (output && output.byteLength > this.#limits.maxOutputBytes) {
      throw new WasmgateError(
        'OUTPUT_TOO_LARGE',
        `the plugin output is ${output.byteLength} bytes; the limit is ${this.#limits.maxOutputBytes}`,
      );
    }
    return { output, fuelUsed, logDropped: state.logDropped };
  }

  #emit(exportName: string, hook: Hook | null, err: WasmgateError | null, started: bigint, fuelUsed: number): void {
    if (!this.#onCall) return;
    this.#onCall({
      binding: this,
      sha256: this.module.facts.sha256,
      apiId: this.apiId,
      exportName,
      hook,
      ok: err === null,
      code: err?.code ?? null,
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
      fuelUsed,
    });
  }

  stats(): PoolStats {
    return this.#workers?.stats() ?? this.#pool.stats();
  }

  /** Lets calls in flight finish on this version, then frees its instances. */
  drain(): Promise<void> {
    return this.#workers?.drain() ?? this.#pool.drain();
  }
}
