/**
 * The meter's opcode table (runtime/upload/wasm-code.ts) against V8 itself:
 * every instruction the meter reads, V8 accepts with exactly the immediates
 * the meter skips (so the rewriter stays in step with the byte stream); and
 * every instruction V8 accepts that the meter refuses belongs to a feature
 * wasmgate deliberately leaves out, and is refused by name.
 */
import { describe, expect, it } from 'vitest';
import { instrumentFuel } from '../../runtime/upload/meter.ts';
import {
  FC_IMMEDIATES,
  FC_LAST,
  K_BLOCK,
  K_BR_TABLE,
  K_CALL,
  K_CALL_INDIRECT,
  K_ELSE,
  K_END,
  K_F32_CONST,
  K_F64_CONST,
  K_I32_CONST,
  K_I64_CONST,
  K_IF,
  K_LOOP,
  K_MEMARG,
  K_NONE,
  K_REF_FUNC,
  K_REF_NULL,
  K_SELECT_T,
  K_U32,
  K_UNSUPPORTED,
  OPCODE_KIND,
  S_BYTES16,
  S_LANE,
  S_MEMARG,
  S_MEMARG_LANE,
  S_NONE,
  SIMD_KIND,
} from '../../runtime/upload/wasm-code.ts';
import { buildModule, I32, uleb } from '../harness/wasm-bytes.ts';

/** One function `() -> ()` with an i32 local, a table, a memory, a tag, a global, element and data segments. */
function probe(instr: number[]): Uint8Array<ArrayBuffer> {
  return buildModule({
    types: [{ params: [], results: [] }],
    functions: [0],
    tables: [[0x70, 0x00, 0x01]],
    memory: [0x00, 1],
    tags: [[0x00, 0x00]],
    globals: [[I32, 0x01, 0x41, 0x00, 0x0b]],
    elems: [[0x03, 0x00, 0x01, 0x00]],
    dataCount: 1,
    // Unreachable first: any instruction then validates against the polymorphic stack.
    bodies: [{ locals: [[1, I32]], code: [0x00, ...instr, 0x1a, 0x0b] }],
    data: [[0x01, 0x00]],
  });
}

/** The instruction as the meter's table says it is encoded, with zero immediates. */
function canonical(op: number): number[] | null {
  const zeros = (n: number) => new Array(n).fill(0);
  switch (OPCODE_KIND[op]) {
    case K_NONE:
      return [op];
    case K_BLOCK:
    case K_IF:
    case K_LOOP:
      return [op, 0x40, 0x0b];
    case K_ELSE:
      return [0x04, 0x40, op, 0x0b];
    case K_END:
      return [0x02, 0x40, op];
    case K_U32:
    case K_CALL:
    case K_REF_FUNC:
    case K_I32_CONST:
    case K_I64_CONST:
      return [op, 0];
    case K_BR_TABLE:
    case K_CALL_INDIRECT:
    case K_MEMARG:
      return [op, 0, 0];
    case K_F32_CONST:
      return [op, ...zeros(4)];
    case K_F64_CONST:
      return [op, ...zeros(8)];
    case K_SELECT_T:
      return [op, 1, I32];
    case K_REF_NULL:
      return [op, 0x70];
    default:
      return null;
  }
}

function simd(sub: number): number[] | null {
  const op = [0xfd, ...uleb(sub)];
  switch (SIMD_KIND[sub]) {
    case S_NONE:
      return op;
    case S_MEMARG:
      return [...op, 0, 0];
    case S_BYTES16:
      return [...op, ...new Array(16).fill(0)];
    case S_LANE:
      return [...op, 0];
    case S_MEMARG_LANE:
      return [...op, 0, 0, 0];
    default:
      return null;
  }
}

/** Immediate shapes to try on opcodes the meter refuses, to learn whether V8 accepts them at all. */
const SHAPES: number[][] = [[], [0], [0, 0], [0, 0, 0], [0x40, 0x0b], [0x70], new Array(16).fill(0)];

function v8Accepts(prefix: number[]): boolean {
  return SHAPES.some((imm) => WebAssembly.validate(probe([...prefix, ...imm])));
}

function meters(instr: number[]): void {
  const bytes = probe(instr);
  expect(WebAssembly.validate(bytes), `V8 accepts ${hex(instr)}`).toBe(true);
  const out = instrumentFuel(bytes, 1_000);
  expect(WebAssembly.validate(out), `the metered ${hex(instr)} validates`).toBe(true);
}

const hex = (b: number[]) => b.map((x) => x.toString(16).padStart(2, '0')).join(' ');

/** What V8 in Node 20 accepts and wasmgate leaves out (the binaryen meter's feature set did not include them either). */
const LEFT_OUT = [
  { what: 'exception handling', single: [0x06, 0x07, 0x08, 0x09, 0x18, 0x19] },
  { what: 'threads', prefix: 0xfe },
];

describe('the opcode table against V8', () => {
  it('every single-byte instruction the meter reads validates in V8 with the immediates the meter skips', () => {
    let read = 0;
    for (let op = 0; op < 256; op++) {
      const instr = canonical(op);
      if (!instr) continue;
      meters(instr);
      read++;
    }
    // MVP, sign extension, reference types, tail calls: the number is a tripwire for table edits.
    expect(read).toBe(185);
  });

  it('every 0xFC and SIMD instruction the meter reads validates in V8 likewise', () => {
    for (let sub = 0; sub <= FC_LAST; sub++) meters([0xfc, ...uleb(sub), ...new Array(FC_IMMEDIATES[sub]!).fill(0)]);
    let simdOps = 0;
    for (let sub = 0; sub < 256; sub++) {
      const instr = simd(sub);
      if (!instr) continue;
      meters(instr);
      simdOps++;
    }
    expect(simdOps).toBe(236);
  });

  it('what V8 accepts and the meter refuses is only exception handling and threads, refused by name', () => {
    const refusedByV8Accepted: string[] = [];
    const check = (prefix: number[], feature: string | undefined) => {
      if (!v8Accepts(prefix)) return;
      refusedByV8Accepted.push(hex(prefix));
      expect(feature, `V8 accepts ${hex(prefix)}, which the meter refuses`).toBeDefined();
      const bytes = SHAPES.map((imm) => probe([...prefix, ...imm])).find((b) => WebAssembly.validate(b))!;
      let error: unknown;
      try {
        instrumentFuel(bytes, 1_000);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'INVALID_MODULE' });
      expect((error as Error).message).toContain(`opcode 0x${prefix[0]!.toString(16).padStart(2, '0')}`);
      expect((error as Error).message).toContain(feature!);
    };
    for (let op = 0; op < 256; op++) {
      if (op === 0xfc || op === 0xfd || op === 0xfe || op === 0xfb) continue;
      if (OPCODE_KIND[op] !== K_UNSUPPORTED) continue;
      check([op], LEFT_OUT.find((f) => f.single?.includes(op))?.what);
    }
    for (let sub = FC_LAST + 1; sub < 0x40; sub++) check([0xfc, ...uleb(sub)], undefined);
    for (let sub = 0; sub < 0x200; sub++) if (sub >= 256 || !simd(sub)) check([0xfd, ...uleb(sub)], undefined);
    for (let sub = 0; sub < 0x80; sub++) check([0xfe, ...uleb(sub)], 'threads');
    for (let sub = 0; sub < 0x40; sub++) check([0xfb, ...uleb(sub)], undefined);
    // Sanity: the probe does reach V8's exception handling and atomics.
    expect(refusedByV8Accepted).toContain('06');
    expect(refusedByV8Accepted).toContain('fe 00');
  });
});
