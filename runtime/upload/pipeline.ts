/**
 * The upload pipeline's pure part: size cap → WebAssembly.validate → import
 * allowlist → static caps → fuel metering → memory cap. It runs in the
 * pipeline worker (runtime/upload/worker.ts), so a hostile module costs that
 * thread's time, never the gateway's event loop.
 */
import { WasmgateError } from '../errors.ts';
import type { RuntimeLimits } from '../limits.ts';
import { instrumentFuel } from './meter.ts';
import {
  EXTISM_ENV,
  EXTISM_ENV_FUNCTIONS,
  FUEL_EXPORT,
  type ModuleFacts,
  type PipelineOptions,
  sha256,
  WASI_MODULE,
  WASMGATE_HOST,
  WASMGATE_HOST_FUNCTIONS,
} from './names.ts';
import { capMemory, readWasm, type WasmImport } from './wasm-reader.ts';

export {
  EXTISM_ENV,
  EXTISM_ENV_FUNCTIONS,
  type ModuleFacts,
  type PipelineOptions,
  sha256,
  WASI_MODULE,
  WASMGATE_HOST,
  WASMGATE_HOST_FUNCTIONS,
};

export function checkImports(imports: WasmImport[], opts: PipelineOptions): void {
  for (const imp of imports) {
    const label = `"${imp.module}" "${imp.name}"`;
    if (imp.kind !== 'function') {
      throw new WasmgateError('IMPORT_NOT_ALLOWED', `import ${label} is a ${imp.kind}; only functions may be imported`);
    }
    if (imp.module === EXTISM_ENV && EXTISM_ENV_FUNCTIONS.has(imp.name)) continue;
    if (imp.module === WASMGATE_HOST && WASMGATE_HOST_FUNCTIONS.has(imp.name)) continue;
    if (imp.module === WASI_MODULE) {
      if (opts.wasi) continue;
      throw new WasmgateError('IMPORT_NOT_ALLOWED', `import ${label} needs WASI; upload the plugin with wasi enabled`);
    }
    throw new WasmgateError('IMPORT_NOT_ALLOWED', `import ${label} is not provided by the host`);
  }
}

/**
 * Checks and transforms the module. Returns the bytes to compile and the
 * facts recorded for the plugin version.
 */
export function transformModule(
  source: Uint8Array,
  opts: PipelineOptions,
  limits: RuntimeLimits,
): { bytes: Uint8Array; facts: ModuleFacts } {
  if (source.byteLength > limits.maxModuleBytes) {
    throw new WasmgateError(
      'MODULE_TOO_LARGE',
      `the module is ${source.byteLength} bytes; the limit is ${limits.maxModuleBytes}`,
    );
  }
  const summary = readWasm(source);
  // Static caps before the full validation: V8 validating a compile bomb is the cost we avoid.
  if (summary.functionCount > limits.maxFunctions) {
    throw new WasmgateError(
      'MODULE_LIMIT_EXCEEDED',
      `the module declares ${summary.functionCount} functions; the limit is ${limits.maxFunctions}`,
    );
  }
  if (summary.maxLocalsInOneFunction > limits.maxLocalsPerFunction) {
    throw new WasmgateError(
      'MODULE_LIMIT_EXCEEDED',
      `a function declares ${summary.maxLocalsInOneFunction} locals; the limit is ${limits.maxLocalsPerFunction}`,
    );
  }
  if (summary.dataBytes > limits.maxDataBytes) {
    throw new WasmgateError(
      'MODULE_LIMIT_EXCEEDED',
      `the data segments hold ${summary.dataBytes} bytes; the limit is ${limits.maxDataBytes}`,
    );
  }
  if (summary.tableMaxElements > limits.maxTableElements) {
    throw new WasmgateError(
      'MODULE_LIMIT_EXCEEDED',
      `a table holds up to ${summary.tableMaxElements} elements; the limit is ${limits.maxTableElements}`,
    );
  }
  if (!WebAssembly.validate(source as Uint8Array<ArrayBuffer>)) {
    throw new WasmgateError('INVALID_MODULE', 'the module failed WebAssembly validation');
  }
  checkImports(summary.imports, opts);
  const exportNames = summary.exports.map((e) => e.name);
  if (!summary.exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new WasmgateError('INVALID_MODULE', 'the module must export its linear memory as "memory"');
  }
  if (exportNames.includes(FUEL_EXPORT)) {
    throw new WasmgateError('INVALID_MODULE', `the export name "${FUEL_EXPORT}" is reserved`);
  }
  if (summary.memories.length !== 1) {
    throw new WasmgateError(
      'MODULE_LIMIT_EXCEEDED',
      `the module defines ${summary.memories.length} memories; exactly one is supported`,
    );
  }

  const metered = instrumentFuel(source, limits.fuelForInit);
  const bytes = capMemory(metered, limits.maxMemoryPages);
  const facts: ModuleFacts = {
    sha256: sha256(bytes),
    sourceSha256: sha256(source),
    sourceBytes: source.byteLength,
    bytes: bytes.byteLength,
    exports: summary.exports.filter((e) => e.kind === 'function').map((e) => e.name),
    imports: summary.imports.map((i) => `${i.module}.${i.name}`),
    wasi: opts.wasi && summary.imports.some((i) => i.module === WASI_MODULE),
    fastInput: summary.imports.some((i) => i.module === WASMGATE_HOST && i.name === 'input_read'),
  };
  return { bytes, facts };
}
