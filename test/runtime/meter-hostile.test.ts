/**
 * Hostile bytes at the meter itself (the pipeline validates first, but the
 * meter must not depend on it): truncations, garbage and mutated code
 * sections give INVALID_MODULE — never another exception, never a hang —
 * and whatever V8 accepts, the meter meters into something V8 accepts.
 * Deep nesting is read iteratively; growth past V8's limits is refused. No
 * timing is asserted: a hang would show as the test's timeout.
 */

import { readFile } from 'node:fs/promises';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWasmgateError, Runtime } from '../../runtime/index.ts';
import { instrumentFuel } from '../../runtime/upload/meter.ts';
import { buildTsExamples } from '../harness/examples.ts';
import { buildModule, encodeBody, exportFunc, exportMemory, I32, section, uleb, vec } from '../harness/wasm-bytes.ts';

function repeat(pattern: number[], n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) for (const b of pattern) out.push(b);
  return out;
}

type Outcome = { ok: true; bytes: Uint8Array<ArrayBuffer> } | { ok: false; code: string };

/** The meter's answer; anything but a typed error fails the test. */
function meter(bytes: Uint8Array): Outcome {
  try {
    return { ok: true, bytes: instrumentFuel(bytes, 1_000) };
  } catch (err) {
    if (!isWasmgateError(err)) throw err;
    return { ok: false, code: err.code };
  }
}

/** A module with one exported function `() -> i32` around `code` (which must end with its own `end`). */
function withBody(code: number[], locals: [number, number][] = []): Uint8Array<ArrayBuffer> {
  return buildModule({
    types: [{ params: [], results: [I32] }],
    functions: [0],
    exports: [exportMemory(), exportFunc('run', 0)],
    bodies: [{ locals, code }],
  });
}

/** Offset of the code section's id byte (sizes here fit one LEB byte or more; walk them). */
function codeSectionAt(bytes: Uint8Array): number {
  let p = 8;
  while (p < bytes.length) {
    if (bytes[p] === 10) return p;
    let size = 0;
    let shift = 0;
    let b: number;
    p++;
    do {
      b = bytes[p++]!;
      size += (b & 0x7f) * 2 ** shift;
      shift += 7;
    } while (b & 0x80);
    p += size;
  }
  throw new Error('no code section');
}

/** The same module with its code section replaced by raw body bytes (framed correctly). */
function withRawBodies(bodies: number[][]): Uint8Array<ArrayBuffer> {
  const base = withBody([0x41, 0x00, 0x0b]);
  const head = [...base.subarray(0, codeSectionAt(base))];
  const code = section(10, vec(bodies.map((b) => [...uleb(b.length), ...b])));
  return Uint8Array.from([...head, ...code]);
}

function sample(): Uint8Array<ArrayBuffer> {
  // A small program with loops, calls, ifs and a bulk operation.
  return buildModule({
    types: [{ params: [], results: [I32] }],
    functions: [0, 0],
    exports: [exportMemory(), exportFunc('run', 0)],
    bodies: [
      {
        locals: [[1, I32]],
        code: [
          0x03, 0x40, 0x10, 0x01, 0x1a, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, 0x0a, 0x49, 0x0d, 0x00, 0x0b,
          0x41, 0x00, 0x41, 0x00, 0x41, 0x08, 0xfc, 0x0b, 0x00, 0x20, 0x00, 0x04, 0x7f, 0x41, 0x01, 0x05, 0x41, 0x02,
          0x0b, 0x0b,
        ],
      },
      { code: [0x02, 0x40, 0x03, 0x40, 0x41, 0x00, 0x0d, 0x00, 0x0b, 0x0b, 0x41, 0x05, 0x0b] },
    ],
  });
}

describe('truncated and garbage bytes', () => {
  it('every truncation of a module is INVALID_MODULE or a module; inside the code section, always INVALID_MODULE', () => {
    const bytes = sample();
    expect(WebAssembly.validate(bytes)).toBe(true);
    const codeStart = codeSectionAt(bytes);
    for (let n = 0; n < bytes.length; n++) {
      const out = meter(bytes.subarray(0, n));
      if (n > codeStart) expect(out, `cut at ${n}`).toEqual({ ok: false, code: 'INVALID_MODULE' });
      else if (!out.ok) expect(out.code).toBe('INVALID_MODULE');
    }
    expect(meter(bytes).ok).toBe(true);
  });

  it('every truncation of a function body, framed as complete, is INVALID_MODULE', () => {
    const body = encodeBody({
      locals: [[1, I32]],
      code: [0x03, 0x40, 0x02, 0x40, 0x41, 0x00, 0x0d, 0x01, 0x0b, 0x0b, 0x41, 0x2a, 0x0b],
    });
    const content = body.slice(uleb(body.length - 1).length);
    for (let n = 0; n < content.length; n++) {
      expect(meter(withRawBodies([content.slice(0, n)])), `body cut at ${n}`).toEqual({
        ok: false,
        code: 'INVALID_MODULE',
      });
    }
    expect(meter(withRawBodies([content])).ok).toBe(true);
  });

  it('garbage function bodies: a typed refusal, or (when V8 accepts them) a module V8 accepts', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 64 }), { minLength: 1, maxLength: 1 }),
        (bodies) => {
          const bytes = withRawBodies(bodies.map((b) => [...b]));
          const out = meter(bytes);
          if (WebAssembly.validate(bytes)) expect(out.ok && WebAssembly.validate(out.bytes)).toBe(true);
          else if (!out.ok) expect(out.code).toMatch(/^(INVALID_MODULE|MODULE_LIMIT_EXCEEDED)$/);
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('plausible bodies (valid opcodes, random immediates and structure) likewise', () => {
    const ops = [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x1a, 0x1b];
    const tail = [0x20, 0x21, 0x22, 0x28, 0x36, 0x41, 0x42, 0x43, 0x44, 0x45, 0x6a, 0xfc, 0xfd, 0xd0, 0xd2, 0x40];
    const byte = fc.oneof(fc.constantFrom(...ops, ...tail), fc.integer({ min: 0, max: 255 }), fc.constant(0x40));
    fc.assert(
      fc.property(fc.array(byte, { minLength: 1, maxLength: 80 }), (code) => {
        const bytes = withRawBodies([[0x00, ...code, 0x0b]]);
        const out = meter(bytes);
        if (WebAssembly.validate(bytes)) expect(out.ok && WebAssembly.validate(out.bytes)).toBe(true);
        else if (!out.ok) expect(out.code).toMatch(/^(INVALID_MODULE|MODULE_LIMIT_EXCEEDED)$/);
      }),
      { numRuns: 5_000 },
    );
  });

  it('bytes of a real plugin, mutated: a typed refusal, or a module V8 accepts whenever the mutant is valid', async () => {
    const examples = await buildTsExamples();
    const original = new Uint8Array(await readFile(examples.get('auth-token')!.wasm));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(original.length - 1), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (edits) => {
          const bytes = new Uint8Array(original);
          for (const [at, value] of edits) bytes[at] = value;
          const out = meter(bytes);
          if (WebAssembly.validate(bytes)) expect(out.ok && WebAssembly.validate(out.bytes)).toBe(true);
          else if (!out.ok) expect(out.code).toMatch(/^(INVALID_MODULE|MODULE_LIMIT_EXCEEDED)$/);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('size and depth', () => {
  it('100,000 nested loops are read without recursion, meter into a valid module, and run', async () => {
    const depth = 100_000;
    const code = [...repeat([0x03, 0x40], depth), 0x01, ...repeat([0x0b], depth), 0x41, 0x00, 0x0b];
    const out = meter(withBody(code));
    expect(out.ok).toBe(true);
    if (!out.ok) return;
    const { instance } = await WebAssembly.instantiate(out.bytes);
    (instance.exports.__wasmgate_fuel as WebAssembly.Global).value = 1_000_000n;
    expect((instance.exports.run as () => number)()).toBe(0);
    // Every loop header runs once: each pays at least its own nested `loop`.
    expect((instance.exports.__wasmgate_fuel as WebAssembly.Global).value).toBeLessThan(1_000_000n - BigInt(depth));
  });

  it('a function that metering would take past V8 size limit is refused with MODULE_LIMIT_EXCEEDED', () => {
    const loops = 250_000; // 4 bytes each; every one gets a batched charge of about 30 bytes
    const code = [...repeat([0x03, 0x40, 0x01, 0x0b], loops), 0x41, 0x00, 0x0b];
    expect(meter(withBody(code))).toEqual({ ok: false, code: 'MODULE_LIMIT_EXCEEDED' });
  });

  it('a function with locals up to V8 limit is refused, not miscompiled', () => {
    expect(meter(withBody([0x41, 0x00, 0x0b], [[50_000, I32]]))).toEqual({ ok: false, code: 'MODULE_LIMIT_EXCEEDED' });
    expect(meter(withBody([0x41, 0x00, 0x0b], [[49_000, I32]])).ok).toBe(true);
  });

  it('megabytes of one opcode are read in one pass, without a hang', () => {
    for (const [open, n] of [
      [[0x01], 3_000_000],
      [[0x02, 0x40], 500_000],
      [[0x03, 0x40], 500_000],
    ] as const) {
      const code = repeat([...open], n);
      for (let i = open.length > 1 ? n : 0; i > 0; i--) code.push(0x0b);
      code.push(0x41, 0x00, 0x0b);
      const out = meter(withBody(code));
      expect(out.ok || out.code === 'MODULE_LIMIT_EXCEEDED').toBe(true);
    }
  });
});

describe('through the upload pipeline', () => {
  const runtime = new Runtime();

  it('deeply nested code is accepted and serves', async () => {
    const depth = 20_000;
    const code = [...repeat([0x02, 0x40], depth), ...repeat([0x0b], depth), 0x41, 0x00, 0x0b];
    const binding = runtime.bind(await runtime.prepare(withBody(code)), { apiId: 'deep' });
    await expect(binding.callRaw('run', new Uint8Array(0))).resolves.toMatchObject({ output: null });
    await runtime.close();
  });
});
