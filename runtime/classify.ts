/**
 * Turns whatever a plugin call threw (a trap, a stack overflow, a limit a
 * host function enforced, Extism's plain errors) into one stable code. Its
 * own module so the worker tier (runtime/tier/worker.ts) classifies the same
 * way without loading the codec and its schema compiler.
 */
import { WasmgateError } from './errors.ts';
import type { CallState } from './host-functions.ts';
import type { LiveInstance } from './instance.ts';
import type { RuntimeLimits } from './limits.ts';

export function classify(err: unknown, state: CallState, inst: LiveInstance, limits: RuntimeLimits): WasmgateError {
  if (state.error) return state.error;
  if (err instanceof WasmgateError) return err;
  if (err instanceof RangeError) return new WasmgateError('STACK_OVERFLOW', undefined, { cause: err });
  if (err instanceof WebAssembly.RuntimeError) {
    if ((inst.fuel.value as bigint) < 0n) return new WasmgateError('FUEL_EXHAUSTED', undefined, { cause: err });
    if (inst.memory.buffer.byteLength >= limits.maxMemoryPages * 65_536) {
      return new WasmgateError('MEMORY_LIMIT', undefined, { cause: err });
    }
    return new WasmgateError('TRAP', undefined, { cause: err });
  }
  const message = err instanceof Error ? err.message : String(err);
  if (message.startsWith('Plugin-originated error')) {
    return new WasmgateError(
      'PLUGIN_ERROR',
      `the plugin reported: ${message.slice('Plugin-originated error: '.length, 240)}`,
      { cause: err },
    );
  }
  return new WasmgateError('TRAP', undefined, { cause: err });
}
