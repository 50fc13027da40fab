/**
 * What the main thread needs to know about the upload pipeline — import
 * namespaces, the fuel export, module facts — without loading it: the
 * pipeline lives only in its worker thread (runtime/upload/pipeline-worker.ts),
 * which comes and goes with uploads.
 */
import { createHash } from 'node:crypto';

/** The exported i64 global fuel is charged from (runtime/upload/meter.ts). */
export const FUEL_EXPORT = '__wasmgate_fuel';

export const EXTISM_ENV = 'extism:host/env';
export const WASMGATE_HOST = 'wasmgate:host/v1';
export const WASI_MODULE = 'wasi_snapshot_preview1';

/** The Extism kernel functions the host provides (the SDK's env object). */
export const EXTISM_ENV_FUNCTIONS: ReadonlySet<string> = new Set([
  'alloc',
  'free',
  'load_u8',
  'load_u64',
  'store_u8',
  'store_u64',
  'input_offset',
  'input_length',
  'input_load_u8',
  'input_load_u64',
  'output_set',
  'error_set',
  'error_get',
  'config_get',
  'var_get',
  'var_set',
  'http_request',
  'http_status_code',
  'http_headers',
  'length',
  'length_unsafe',
  'log_warn',
  'log_info',
  'log_debug',
  'log_error',
  'log_trace',
  'get_log_level',
]);

export const WASMGATE_HOST_FUNCTIONS: ReadonlySet<string> = new Set([
  'input_length',
  'input_read',
  'output_write',
  'log',
  'hook',
]);

export interface PipelineOptions {
  /** Allow `wasi_snapshot_preview1` imports (Go plugins need it). */
  wasi: boolean;
}

export interface ModuleFacts {
  sha256: string;
  /** sha256 of the bytes as uploaded (before metering). */
  sourceSha256: string;
  sourceBytes: number;
  bytes: number;
  exports: string[];
  imports: string[];
  wasi: boolean;
  /** The module reads its input through `wasmgate:host/v1.input_read`. */
  fastInput: boolean;
}

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Bulk memory operations pay one unit of fuel per 2^4 bytes (memset and
 * memcpy move about that in the time of one simple instruction), and so do
 * host functions for what they copy.
 */
export const BULK_BYTES_SHIFT = 4;

/**
 * What a call to an imported (host) function costs, whatever the host does:
 * a host call takes a few hundred nanoseconds, about as long as that many
 * guest instructions. Host functions that copy more than the bytes that
 * pays for (at the bulk rate) pay the rest themselves (runtime/host-functions.ts).
 */
export const HOST_CALL_FUEL = 256;

/**
 * What a call to one of the Extism kernel's one-word accessors costs
 * (`load_u64`, `store_u8`, `input_load_u64`, `length`, …): stock PDKs move
 * every input and output through them 8 bytes a call, at some 50 ns each.
 */
export const CHEAP_HOST_CALL_FUEL = 64;
