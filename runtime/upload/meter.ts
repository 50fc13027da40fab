/**
 * Fuel metering: binaryen's `log-execution` pass already places a call at
 * every function entry and loop header; we turn that call into a tiny
 * function that decrements an exported i64 global and traps below zero, then
 * let binaryen inline it. The host sets the global before each call, so a
 * loop in tenant code ends within its budget on the main thread, where the
 * SDK's worker-only timeouts cannot reach.
 */
import binaryen from 'binaryen';
import { WasmgateError } from '../errors.ts';

export const FUEL_EXPORT = '__wasmgate_fuel';
const FUEL_GLOBAL = '__wasmgate_fuel_global';

// What Node 20's V8 runs. Features.All would let binaryen emit encodings
// (compact imports, new EH) that V8 cannot read back.
const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SignExt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.Multivalue |
  binaryen.Features.TailCall;

export function instrumentFuel(bytes: Uint8Array, initialFuel: number): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(FEATURES);
    const before = new Set<string>();
    for (let i = 0; i < mod.getNumFunctions(); i++) before.add(binaryen.getFunctionInfo(mod.getFunctionByIndex(i)).name);
    mod.runPasses(['log-execution']);
    // The pass imports its logger under the module's first import namespace; find it as the one new function.
    let hookName: string | null = null;
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const info = binaryen.getFunctionInfo(mod.getFunctionByIndex(i));
      if (!before.has(info.name) && info.base === 'log_execution') hookName = info.name;
    }
    if (hookName === null) {
      // No function bodies at all: nothing can run, nothing to meter.
      mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(BigInt(initialFuel)));
      mod.addGlobalExport(FUEL_GLOBAL, FUEL_EXPORT);
      return mod.emitBinary();
    }
    mod.removeFunction(hookName);
    mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(BigInt(initialFuel)));
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_EXPORT);
    const fuel = () => mod.global.get(FUEL_GLOBAL, binaryen.i64);
    mod.addFunction(
      hookName,
      binaryen.createType([binaryen.i32]),
      binaryen.none,
      [],
      mod.block(null, [
        mod.global.set(FUEL_GLOBAL, mod.i64.sub(fuel(), mod.i64.const(1n))),
        mod.if(mod.i64.lt_s(fuel(), mod.i64.const(0n)), mod.unreachable()),
      ]),
    );
    // Inline only functions as small as the fuel charge, so tenant code keeps its shape.
    binaryen.setAlwaysInlineMaxSize(16);
    mod.runPasses(['inlining']);
    if (!mod.validate()) throw new WasmgateError('INVALID_MODULE', 'the module failed validation after fuel metering');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
