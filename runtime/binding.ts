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
import { EXTISM_ENV, type ModuleFacts } from './upload/names.ts';

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

/** The envelope as bytes of its own: as given, or written now. */
function bytesOf(envelope: Envelope | Uint8Array): Uint8Array {
  return envelope instanceof Uint8Array ? envelope : encodeEnvelope(envelope);
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
  /** Calls skip Extism (runtime/binding.ts #invokeDirect): the module imports nothing from extism:host/env. */
  readonly #direct: boolean;

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
    this.#direct =
      !this.#workers && module.facts.fastInput && !module.facts.imports.some((i) => i.startsWith(`${EXTISM_ENV}.`));
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
    return this.callNow(exportName, hook, envelope, opts);
  }

  /**
   * `call` for the request path: the result itself when an idle instance
   * could be called directly (the common case for modules built on
   * wasmgate:host/v1 alone), a promise otherwise. Failures of a direct call
   * are thrown, not rejected.
   */
  callNow(
    exportName: string,
    hook: Hook,
    envelope: Envelope | Uint8Array,
    opts: CallOptions = {},
  ): HookResult | Promise<HookResult> {
    if (!this.#direct) return this.#run(exportName, bytesOf(envelope), opts, hook, (o) => this.#decode(o, hook));
    // A direct call runs to its end before anything else can write an envelope, so its
    // envelope is written only if the plugin asks for it (CallState.input); a call that
    // has to wait for an instance gets a copy of its own now.
    const started = process.hrtime.bigint();
    let fuelUsed = 0;
    try {
      this.#begin(exportName);
      const inst = this.#pool.tryAcquire();
      if (!inst) return this.#run(exportName, bytesOf(envelope), opts, hook, (o) => this.#decode(o, hook));
      const outcome = this.#invokeDirect(inst, exportName, envelope, opts);
      fuelUsed = outcome.fuelUsed;
      const value = this.#decode(outcome, hook);
      this.#succeeded(exportName, hook, started, fuelUsed);
      return value;
    } catch (err) {
      throw this.#failed(err, exportName, hook, started, fuelUsed, opts);
    }
  }

  #decode(outcome: CallOutcome, hook: Hook): HookResult {
    return decodeResult(outcome.output, hook, this.#limits.maxOutputBytes);
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
      this.#begin(exportName);
      const outcome = await this.#invoke(exportName, input, opts);
      fuelUsed = outcome.fuelUsed;
      const value = finish(outcome);
      this.#succeeded(exportName, hook, started, fuelUsed);
      return value;
    } catch (err) {
      throw this.#failed(err, exportName, hook, started, fuelUsed, opts);
    }
  }

  /** Refuses a call before it takes an instance: an unknown export, a quarantined version. */
  #begin(exportName: string): void {
    if (!this.#exports.has(exportName)) {
      throw new WasmgateError('EXPORT_NOT_FOUND', `the plugin does not export a function named "${exportName}"`);
    }
    this.health.check();
  }

  #succeeded(exportName: string, hook: Hook | null, started: bigint, fuelUsed: number): void {
    this.health.success();
    this.#emit(exportName, hook, null, started, fuelUsed);
  }

  #failed(
    err: unknown,
    exportName: string,
    hook: Hook | null,
    started: bigint,
    fuelUsed: number,
    opts: CallOptions,
  ): WasmgateError {
    const e = err instanceof WasmgateError ? err : new WasmgateError('TRAP', 'the plugin call failed', { cause: err });
    if (isPluginFault(e.code)) this.health.failure();
    const used = e.code === 'FUEL_EXHAUSTED' ? (opts.fuel ?? this.#limits.fuelPerCall) : fuelUsed;
    this.#emit(exportName, hook, e, started, used);
    return e;
  }

  async #invoke(exportName: string, input: Uint8Array, opts: CallOptions): Promise<CallOutcome> {
    if (this.#workers) return this.#workers.invoke(exportName, input, opts);
    // Most calls find an idle instance: no promise to wait on.
    const inst = this.#pool.tryAcquire() ?? (await this.#pool.acquire());
    if (this.#direct) return this.#invokeDirect(inst, exportName, input, opts);
    const state = this.#callState(input, opts);
    const budget = opts.fuel ?? this.#limits.fuelPerCall;
    inst.fuel.value = BigInt(budget);
    let extismOutput: Uint8Array | null = null;
    inst.holder.state = state;
    try {
      // Host functions find the state on the instance (holder), not in Extism's host context.
      const out = await inst.plugin.call(exportName, this.module.facts.fastInput ? undefined : input);
      inst.holder.state = null;
      if (state.error) throw state.error;
      if (!state.output && out) extismOutput = out.bytes();
    } catch (err) {
      throw this.#discard(inst, err, state);
    }
    return this.#settle(inst, state, budget, extismOutput);
  }

  /**
   * The export called as a plain function: the module imports nothing from
   * extism:host/env, so Extism's per-call bookkeeping (input and output
   * blocks, host context) has nothing to do, and the call needs no promise.
   */
  #invokeDirect(inst: LiveInstance, exportName: string, input: Uint8Array | Envelope, opts: CallOptions): CallOutcome {
    const fn = inst.exports[exportName];
    if (typeof fn !== 'function') {
      this.#pool.release(inst);
      throw new WasmgateError('EXPORT_NOT_FOUND', `the plugin export "${exportName}" is not a function`);
    }
    const state = this.#callState(input, opts);
    const budget = opts.fuel ?? this.#limits.fuelPerCall;
    inst.fuel.value = BigInt(budget);
    inst.holder.state = state;
    try {
      (fn as () => unknown)();
      inst.holder.state = null;
      if (state.error) throw state.error;
    } catch (err) {
      throw this.#discard(inst, err, state);
    }
    return this.#settle(inst, state, budget, null);
  }

  #callState(input: Uint8Array | Envelope, opts: CallOptions): CallState {
    return new CallState(input, opts.tags ?? (opts.requestId ? { request_id: opts.requestId } : {}));
  }

  /** A call that threw: its instance is destroyed, never reused, and the error gets its stable code. */
  #discard(inst: LiveInstance, err: unknown, state: CallState): WasmgateError {
    inst.holder.state = null;
    inst.broken = true;
    this.#pool.release(inst, true);
    return classify(err, state, inst, this.#limits);
  }

  /** A call that returned: the instance goes back to the pool and the output is measured against its cap. */
  #settle(inst: LiveInstance, state: CallState, budget: number, extismOutput: Uint8Array | null): CallOutcome {
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
