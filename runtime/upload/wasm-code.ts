/**
 * The instruction set the fuel meter reads (runtime/upload/meter.ts): for
 * every opcode Node 20's V8 accepts in the features wasmgate supports — MVP,
 * mutable globals, non-trapping float-to-int, sign extension, SIMD128, bulk
 * memory, reference types, multi-value, tail calls — the shape of its
 * immediates, so a function body can be walked instruction by instruction
 * without building any IR. Everything else (exception handling, threads,
 * GC, typed function references, relaxed SIMD, memory64, multi-memory) is
 * refused by name: code the meter cannot read is code it cannot charge.
 *
 * test/runtime/meter-opcodes.test.ts checks these tables against V8 itself.
 */

/** Instruction classes of single-byte opcodes. */
export const K_NONE = 0;
export const K_BLOCK = 1;
export const K_IF = 2;
export const K_LOOP = 3;
export const K_ELSE = 4;
export const K_END = 5;
/** One u32 LEB immediate (an index, a label, a memory index). */
export const K_U32 = 6;
export const K_BR_TABLE = 7;
/** `call` and `return_call`: a function index. */
export const K_CALL = 8;
/** `call_indirect` and `return_call_indirect`: a type index and a table index. */
export const K_CALL_INDIRECT = 9;
export const K_MEMARG = 10;
export const K_I32_CONST = 11;
export const K_I64_CONST = 12;
export const K_F32_CONST = 13;
export const K_F64_CONST = 14;
/** `select` with a vector of value types. */
export const K_SELECT_T = 15;
export const K_REF_NULL = 16;
export const K_REF_FUNC = 17;
export const K_PREFIX_FC = 18;
export const K_PREFIX_FD = 19;
export const K_UNSUPPORTED = 255;

export const OPCODE_KIND: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(K_UNSUPPORTED);
  const set = (kind: number, ...ops: number[]) => {
    for (const op of ops) t[op] = kind;
  };
  const range = (kind: number, from: number, to: number) => {
    for (let op = from; op <= to; op++) t[op] = kind;
  };
  set(K_NONE, 0x00, 0x01, 0x0f, 0x1a, 0x1b, 0xd1);
  set(K_BLOCK, 0x02);
  set(K_LOOP, 0x03);
  set(K_IF, 0x04);
  set(K_ELSE, 0x05);
  set(K_END, 0x0b);
  set(K_U32, 0x0c, 0x0d, 0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x3f, 0x40);
  set(K_BR_TABLE, 0x0e);
  set(K_CALL, 0x10, 0x12);
  set(K_CALL_INDIRECT, 0x11, 0x13);
  set(K_SELECT_T, 0x1c);
  range(K_MEMARG, 0x28, 0x3e);
  set(K_I32_CONST, 0x41);
  set(K_I64_CONST, 0x42);
  set(K_F32_CONST, 0x43);
  set(K_F64_CONST, 0x44);
  // Numeric MVP instructions, then the sign-extension operators.
  range(K_NONE, 0x45, 0xc4);
  set(K_REF_NULL, 0xd0);
  set(K_REF_FUNC, 0xd2);
  set(K_PREFIX_FC, 0xfc);
  set(K_PREFIX_FD, 0xfd);
  return t;
})();

/** The last 0xFC sub-opcode supported (table.fill). */
export const FC_LAST = 17;
/** u32 immediates of each 0xFC sub-opcode: saturating truncations, then bulk memory and table operations. */
export const FC_IMMEDIATES: readonly number[] = [0, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 1, 2, 1, 2, 1, 1, 1];

/** What a 0xFC instruction's length operand (always on top of the stack) counts, for its dynamic charge. */
export const BULK_NONE = 0;
export const BULK_BYTES = 1;
export const BULK_ELEMENTS = 2;
export const FC_BULK: readonly number[] = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  BULK_BYTES, // memory.init
  0,
  BULK_BYTES, // memory.copy
  BULK_BYTES, // memory.fill
  BULK_ELEMENTS, // table.init
  0,
  BULK_ELEMENTS, // table.copy
  BULK_ELEMENTS, // table.grow
  0,
  BULK_ELEMENTS, // table.fill
];

/** Immediate shapes of SIMD (0xFD) sub-opcodes 0–255; relaxed SIMD (0x100+) is not in Node 20. */
export const S_NONE = 0;
export const S_MEMARG = 1;
/** v128.const and i8x16.shuffle: 16 bytes. */
export const S_BYTES16 = 2;
export const S_LANE = 3;
export const S_MEMARG_LANE = 4;
export const S_UNSUPPORTED = 255;

export const SIMD_KIND: Uint8Array = (() => {
  const t = new Uint8Array(256).fill(S_NONE);
  for (let op = 0x00; op <= 0x0b; op++) t[op] = S_MEMARG;
  t[0x0c] = S_BYTES16;
  t[0x0d] = S_BYTES16;
  for (let op = 0x15; op <= 0x22; op++) t[op] = S_LANE;
  for (let op = 0x54; op <= 0x5b; op++) t[op] = S_MEMARG_LANE;
  t[0x5c] = S_MEMARG;
  t[0x5d] = S_MEMARG;
  // Holes the final SIMD opcode map leaves unassigned.
  for (const op of [
    0x9a, 0xa2, 0xa5, 0xa6, 0xaf, 0xb0, 0xb2, 0xb3, 0xb4, 0xbb, 0xc2, 0xc5, 0xc6, 0xcf, 0xd0, 0xd2, 0xd3, 0xd4, 0xe2,
    0xee,
  ]) {
    t[op] = S_UNSUPPORTED;
  }
  return t;
})();

/** Value types a local, a parameter or a `select` may have here. */
export function isValueType(b: number): boolean {
  return (b >= 0x7b && b <= 0x7f) || b === 0x70 || b === 0x6f;
}

const hex = (n: number) => `0x${n.toString(16).padStart(2, '0')}`;

const FEATURE_OF: ReadonlyMap<number, string> = new Map([
  [0x06, 'exception handling (try)'],
  [0x07, 'exception handling (catch)'],
  [0x08, 'exception handling (throw)'],
  [0x09, 'exception handling (rethrow)'],
  [0x0a, 'exception handling (throw_ref)'],
  [0x18, 'exception handling (delegate)'],
  [0x19, 'exception handling (catch_all)'],
  [0x1f, 'exception handling (try_table)'],
  [0x14, 'typed function references (call_ref)'],
  [0x15, 'typed function references (return_call_ref)'],
  [0xd3, 'GC (ref.eq)'],
  [0xd4, 'typed function references (ref.as_non_null)'],
  [0xd5, 'typed function references (br_on_null)'],
  [0xd6, 'typed function references (br_on_non_null)'],
  [0xfb, 'GC'],
  [0xfe, 'threads (atomics)'],
]);

/** A readable name for an opcode the meter refuses, for the error message. */
export function describeOpcode(op: number, sub?: number): string {
  if (sub === undefined) {
    const feature = FEATURE_OF.get(op);
    return feature ? `opcode ${hex(op)}, ${feature}` : `opcode ${hex(op)}`;
  }
  const name = `opcode ${hex(op)} ${hex(sub)}`;
  if (op === 0xfd && sub >= 0x100) return `${name}, relaxed SIMD`;
  const feature = FEATURE_OF.get(op);
  return feature ? `${name}, ${feature}` : name;
}
