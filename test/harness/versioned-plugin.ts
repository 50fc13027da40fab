/**
 * A pre plugin whose fixed result sets x-plugin-version, optionally padded
 * with generated exported functions (arithmetic, ~350 bytes each) to a
 * size: the hot-swap test swaps its versions, bench/upload.ts uploads and
 * bench/meter.ts meters the padded ones. Each version string gives
 * distinct bytes.
 */
import binaryen from 'binaryen';

const str = (s: string) => [0xa0 | s.length, ...Buffer.from(s)];

/** A pre plugin (export `run`) setting x-plugin-version, with generated functions up to about `bytes` (0: none). */
export function pluginModule(version: string, bytes = 0): Uint8Array {
  // msgpack {"request": {"set_headers": {"x-plugin-version": [version]}}}
  const result = Buffer.from([
    0x81,
    ...str('request'),
    0x81,
    ...str('set_headers'),
    0x81,
    ...str('x-plugin-version'),
    0x91,
    ...str(version),
  ]);
  const data = [...result].map((b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  const step = (k: number) =>
    `(local.set $a (i32.add (i32.mul (local.get $a) (i32.const ${k})) (i32.xor (local.get $p) (i32.const ${k * 7}))))`;
  const body = Array.from({ length: 24 }, (_, k) => step(k + 3)).join('\n');
  const count = bytes > 0 ? Math.max(1, Math.round(bytes / 352)) : 0;
  const funcs = Array.from(
    { length: count },
    (_, i) =>
      `(func $f${i} (export "f${i}") (param $p i32) (result i32) (local $a i32) (local.set $a (i32.const ${i}))\n${body}\n(local.get $a))`,
  ).join('\n');
  const mod = binaryen.parseText(`(module
  (import "wasmgate:host/v1" "input_length" (func $input_length (result i32)))
  (import "wasmgate:host/v1" "input_read" (func $input_read (param i32)))
  (import "wasmgate:host/v1" "output_write" (func $output_write (param i32 i32)))
  (memory (export "memory") 2)
  (data (i32.const 0) "${data}")
  (func (export "run") (result i32)
    (drop (call $input_length))
    (call $input_read (i32.const 1024))
    (call $output_write (i32.const 0) (i32.const ${result.length}))
    (i32.const 0))
  ${funcs})`);
  try {
    if (!mod.validate()) throw new Error('generated module does not validate');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
