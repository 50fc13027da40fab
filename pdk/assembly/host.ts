// Host imports: the wasmgate fast path (one call moves the whole input or
// output) and the few Extism kernel functions the kit needs for vars.

@external("wasmgate:host/v1", "input_length")
export declare function input_length(): i32;

@external("wasmgate:host/v1", "input_read")
export declare function input_read(dst: usize): void;

@external("wasmgate:host/v1", "output_write")
export declare function output_write(src: usize, len: i32): void;

/** This call's hook as an index into HOOK_NAMES, or -1 when only the envelope says. */
@external("wasmgate:host/v1", "hook")
export declare function host_hook(): i32;

@external("wasmgate:host/v1", "log")
export declare function host_log(level: i32, src: usize, len: i32): void;

@external("extism:host/env", "alloc")
export declare function extism_alloc(n: u64): u64;

@external("extism:host/env", "free")
export declare function extism_free(offset: u64): void;

@external("extism:host/env", "length")
export declare function extism_length(offset: u64): u64;

@external("extism:host/env", "load_u8")
export declare function extism_load_u8(offset: u64): u8;

@external("extism:host/env", "store_u8")
export declare function extism_store_u8(offset: u64, v: u8): void;

@external("extism:host/env", "var_get")
export declare function extism_var_get(key: u64): u64;

@external("extism:host/env", "var_set")
export declare function extism_var_set(key: u64, value: u64): void;

/** Copies guest bytes into a new Extism block. */
export function toBlock(bytes: Uint8Array): u64 {
  const off = extism_alloc(<u64>bytes.length);
  for (let i = 0; i < bytes.length; i++) extism_store_u8(off + <u64>i, unchecked(bytes[i]));
  return off;
}

/** Copies an Extism block into guest memory. */
export function fromBlock(off: u64): Uint8Array {
  const n = <i32>extism_length(off);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) unchecked((out[i] = extism_load_u8(off + <u64>i)));
  return out;
}
