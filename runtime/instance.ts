/**
 * One live plugin instance: an Extism plugin on the main thread plus direct
 * handles on its memory and fuel global (the fast path and metering need
 * them on every call).
 */
import createPlugin, { type Plugin } from '@extism/extism';
import { WasmgateError } from './errors.ts';
import { type HostFunction, type MemoryHolder, makeHostFunctions, type PluginLogSink } from './host-functions.ts';
import type { RuntimeLimits } from './limits.ts';
import { EXTISM_ENV, FUEL_EXPORT } from './upload/names.ts';

export interface LiveInstance {
  plugin: Plugin;
  memory: WebAssembly.Memory;
  fuel: WebAssembly.Global;
  /** The instance's exports, for calls that need nothing of Extism's (runtime/binding.ts). */
  exports: WebAssembly.Exports;
  /** What the host functions read: the memory and the running call's state. */
  holder: MemoryHolder;
  /** Set once the instance trapped; it is then discarded, never reused. */
  broken: boolean;
}

export interface InstanceOptions {
  wasi: boolean;
  /** Extism config (`config_get`), from the API's config_data. */
  config: Record<string, string>;
  limits: RuntimeLimits;
  logSink: PluginLogSink;
  /** More `extism:host/env` functions, over the SDK's and ours (the worker tier's `http_request`). */
  env?: Record<string, HostFunction>;
}

export async function createInstance(module: WebAssembly.Module, opts: InstanceOptions): Promise<LiveInstance> {
  const holder: MemoryHolder = { memory: null, fuel: null, state: null };
  const functions = makeHostFunctions(holder, opts.limits, opts.logSink, opts.config);
  if (opts.env) Object.assign(functions[EXTISM_ENV]!, opts.env);
  let plugin: Plugin;
  try {
    plugin = await createPlugin(module, {
      useWasi: opts.wasi,
      enableWasiOutput: false,
      functions: functions as never,
      config: opts.config,
      memory: { maxVarBytes: opts.limits.maxVarBytes },
      logLevel: 'silent',
    });
  } catch (cause) {
    throw classifyStartError(cause);
  }
  const instance = await plugin.getInstance();
  const memory = instance.exports.memory;
  const fuel = instance.exports[FUEL_EXPORT];
  if (!(memory instanceof WebAssembly.Memory) || !(fuel instanceof WebAssembly.Global)) {
    await plugin.close();
    throw new WasmgateError(
      'INVALID_MODULE',
      'the module lacks its memory or fuel export; was it uploaded through the pipeline?',
    );
  }
  holder.memory = memory;
  holder.fuel = fuel;
  return { plugin, memory, fuel, exports: instance.exports, holder, broken: false };
}

function classifyStartError(cause: unknown): WasmgateError {
  if (cause instanceof WasmgateError) return cause;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof RangeError)
    return new WasmgateError('START_FAILED', 'the module overflowed its stack while initialising', { cause });
  if (cause instanceof WebAssembly.RuntimeError) {
    return new WasmgateError('START_FAILED', 'the module trapped while initialising (fuel or trap)', { cause });
  }
  if (/cannot resolve import|not enabled|WASI/i.test(message)) {
    return new WasmgateError('IMPORT_NOT_ALLOWED', 'the module imports something the host does not provide here', {
      cause,
    });
  }
  return new WasmgateError('START_FAILED', 'the module could not be instantiated', { cause });
}
