/**
 * Fuel is charged by instruction count: big loop bodies and folded callees
 * pay for their size on every iteration, so no code shape gets cheap work;
 * and every way to run without end — a loop, recursion, a cycle through a
 * table, tail calls, a function reached through a reference the module
 * built itself — ends with FUEL_EXHAUSTED within its budget.
 */
import binaryen from 'binaryen';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import { instrumentFuel } from '../../runtime/upload/meter.ts';
import {
  buildModule,
  exportFunc,
  exportMemory,
  FUNCREF,
  I32,
  type ModuleSpec,
  sleb,
  uleb,
} from '../harness/wasm-bytes.ts';

const runtime = new Runtime();
afterAll(() => runtime.close());

/** A loop of `iterations` turns whose body has `width` extra instructions, optionally through a helper function. */
function loopModule(width: number, viaHelper: boolean): Uint8Array {
  const work = Array.from({ length: width }, () => '(drop (i32.const 7))').join(' ');
  const helper = `(func $helper ${work})`;
  const body = viaHelper ? '(call $helper)' : work;
  const text = `(module (memory (export "memory") 1)
    ${helper}
    (func (export "run") (result i32) (local $i i32)
      (loop $again ${body}
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $again (i32.lt_u (local.get $i) (i32.const 1000))))
      (i32.const 0)))`;
  const mod = binaryen.parseText(text);
  try {
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

describe('fuel by instruction count', () => {
  for (const viaHelper of [false, true]) {
    it(`a 1,000-turn loop over 1,000 dropped constants${viaHelper ? ' in a helper function' : ''} costs at least a million fuel`, async () => {
      const binding = runtime.bind(await runtime.prepare(loopModule(1000, viaHelper)), { apiId: `meter-${viaHelper}` });
      const { fuelUsed } = await binding.callRaw('run', new Uint8Array(0));
      expect(fuelUsed).toBeGreaterThanOrEqual(1000 * 1000);
      // A budget below the work stops it.
      await expect(binding.callRaw('run', new Uint8Array(0), { fuel: 500_000 })).rejects.toMatchObject({
        code: 'FUEL_EXHAUSTED',
      });
      // And the same binding runs again with the default budget.
      await expect(binding.callRaw('run', new Uint8Array(0))).resolves.toBeDefined();
    });
  }

  it('a small loop body costs little', async () => {
    const binding = runtime.bind(await runtime.prepare(loopModule(1, false)), { apiId: 'meter-small' });
    const { fuelUsed } = await binding.callRaw('run', new Uint8Array(0));
    expect(fuelUsed).toBeGreaterThanOrEqual(1000 * 5);
    expect(fuelUsed).toBeLessThan(1000 * 40);
  });
});

const RUN_TYPE = { params: [], results: [I32] };

/** A module of `() -> i32` functions; function 0 is exported as "run". */
function program(spec: Partial<ModuleSpec> & Pick<ModuleSpec, 'bodies'>): Uint8Array {
  return buildModule({
    ...spec,
    types: spec.types ?? [RUN_TYPE],
    functions: spec.functions ?? spec.bodies.map(() => 0),
    exports: [exportMemory(), exportFunc('run', 0), ...(spec.exports ?? [])],
  });
}

const pad = (pairs: number) => Array.from({ length: pairs }, () => [0x41, 0x07, 0x1a]).flat(); // (i32.const 7, drop) × pairs
/** local 0 += 1; br_if 0 while local 0 < n: seven instructions. */
const countTo = (n: number) => [0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x41, ...sleb(n), 0x49, 0x0d, 0x00];

async function fuelOf(bytes: Uint8Array, name: string): Promise<number> {
  const binding = runtime.bind(await runtime.prepare(bytes), { apiId: `model-${name}` });
  return (await binding.callRaw('run', new Uint8Array(0))).fuelUsed;
}

describe('the fuel model, exactly', () => {
  const N = 1_000;

  for (const pairs of [0, 5, 100]) {
    it(`a call-free loop of ${N} turns over ${2 * pairs + 7} instructions pays N·k, plus its entry, at most the batch ahead`, async () => {
      const k = 2 * pairs + 7;
      const bytes = program({
        bodies: [{ locals: [[1, I32]], code: [0x03, 0x40, ...pad(pairs), ...countTo(N), 0x0b, 0x41, 0x00, 0x0b] }],
      });
      const used = await fuelOf(bytes, `batched-${pairs}`);
      // Entry: `loop` and `i32.const` (2), plus 128 prepaid for what the loop's counter may hold at return.
      expect(used).toBeGreaterThan(N * k + 2);
      expect(used).toBeLessThanOrEqual(N * k + 2 + 128);
    });
  }

  for (const pairs of [10, 200]) {
    const size = 2 * pairs;
    it(`a loop calling a ${size}-instruction helper ${N} times pays its body and the helper's size per turn (${size <= 256 ? 'folded into the loop' : 'charged by the helper'})`, async () => {
      const bytes = program({
        functions: [0, 1],
        types: [RUN_TYPE, { params: [], results: [] }],
        bodies: [
          { locals: [[1, I32]], code: [0x03, 0x40, 0x10, 0x01, ...countTo(N), 0x0b, 0x41, 0x00, 0x0b] },
          { code: [...pad(pairs), 0x0b] },
        ],
      });
      // Loop: the call and the seven counting instructions; entry: `loop` and `i32.const`.
      expect(await fuelOf(bytes, `helper-${pairs}`)).toBe(2 + N * (8 + size));
    });
  }

  it('bulk memory pays for its length: 1,000 fills of 64 KiB cost at least 64 MiB / 16', async () => {
    const fill = [0x41, 0x00, 0x41, 0x00, 0x41, ...sleb(65_536), 0xfc, 0x0b, 0x00]; // memory.fill(0, 0, 65536)
    const bytes = program({
      bodies: [{ locals: [[1, I32]], code: [0x03, 0x40, ...fill, ...countTo(N), 0x0b, 0x41, 0x00, 0x0b] }],
    });
    const used = await fuelOf(bytes, 'fill');
    expect(used).toBeGreaterThanOrEqual((N * 65_536) / 16);
    expect(used).toBeLessThan((N * 65_536) / 16 + N * 20 + 200);
  });

  it('the start function pays its entry at instantiation', async () => {
    const bytes = buildModule({
      types: [{ params: [], results: [] }],
      functions: [0],
      start: 0,
      bodies: [{ code: [...pad(50), 0x0b] }],
    });
    const { instance } = await WebAssembly.instantiate(instrumentFuel(bytes, 1_000));
    expect((instance.exports.__wasmgate_fuel as WebAssembly.Global).value).toBe(1_000n - 100n);
  });
});

/** The call runs out of fuel (not stack) within its budget: budgets here are a few milliseconds of work. */
async function exhausts(bytes: Uint8Array, name: string, fuel: number): Promise<void> {
  const binding = runtime.bind(await runtime.prepare(bytes), { apiId: `cycle-${name}` });
  await expect(binding.callRaw('run', new Uint8Array(0), { fuel })).rejects.toMatchObject({ code: 'FUEL_EXHAUSTED' });
  // The instance was discarded; the binding serves again.
  await expect(binding.callRaw('run', new Uint8Array(0), { fuel })).rejects.toMatchObject({ code: 'FUEL_EXHAUSTED' });
}

describe('every unbounded execution is charged', () => {
  it('an infinite loop', async () => {
    await exhausts(program({ bodies: [{ code: [0x03, 0x40, 0x0c, 0x00, 0x0b, 0x41, 0x00, 0x0b] }] }), 'loop', 100_000);
  });

  it('infinite direct recursion, before the stack overflows', async () => {
    await exhausts(program({ bodies: [{ code: [0x10, 0x00, 0x0b] }] }), 'recursion', 2_000);
  });

  it('mutual recursion through a table (call_indirect)', async () => {
    const bytes = program({
      tables: [[FUNCREF, 0x00, 0x02]],
      elems: [[0x00, 0x41, 0x00, 0x0b, ...uleb(2), 0x01, 0x00]], // table[0] = 1, table[1] = 0
      bodies: [
        { code: [0x41, 0x00, 0x11, 0x00, 0x00, 0x0b] }, // call_indirect table[0]
        { code: [0x41, 0x01, 0x11, 0x00, 0x00, 0x0b] }, // call_indirect table[1]
      ],
    });
    await exhausts(bytes, 'table', 2_000);
  });

  it('a return_call cycle between two functions, one of them unexported', async () => {
    const bytes = program({
      bodies: [
        { code: [0x12, 0x01, 0x0b] }, // return_call 1
        { code: [0x12, 0x00, 0x0b] }, // return_call 0
      ],
    });
    await exhausts(bytes, 'return-call', 1_000_000);
  });

  it('a return_call_indirect cycle through a table', async () => {
    const bytes = program({
      tables: [[FUNCREF, 0x00, 0x01]],
      elems: [[0x00, 0x41, 0x00, 0x0b, ...uleb(1), 0x01]],
      bodies: [{ code: [0x41, 0x00, 0x13, 0x00, 0x00, 0x0b] }, { code: [0x41, 0x00, 0x13, 0x00, 0x00, 0x0b] }],
    });
    await exhausts(bytes, 'return-call-indirect', 1_000_000);
  });

  it('a function whose only reference is a global initializer, put in a table at run time and tail-called forever', async () => {
    // Nothing but `ref.func` in the global's initializer names function 1: no element segment, no export.
    const bytes = program({
      tables: [[FUNCREF, 0x00, 0x01]],
      globals: [[FUNCREF, 0x00, 0xd2, 0x01, 0x0b]],
      bodies: [
        { code: [0x41, 0x00, 0x23, 0x00, 0x26, 0x00, 0x10, 0x01, 0x0b] }, // table[0] = global 0; call 1
        { code: [0x41, 0x00, 0x13, 0x00, 0x00, 0x0b] }, // return_call_indirect table[0]
      ],
    });
    await exhausts(bytes, 'global-ref', 1_000_000);
  });

  it('a function reached only through an expression-form passive element segment', async () => {
    const bytes = program({
      tables: [[FUNCREF, 0x00, 0x01]],
      elems: [[0x05, FUNCREF, ...uleb(1), 0xd2, 0x01, 0x0b]], // passive, (ref.func 1)
      bodies: [
        // table.init 0 0 (dest 0, src 0, len 1); call 1
        { code: [0x41, 0x00, 0x41, 0x00, 0x41, 0x01, 0xfc, 0x0c, 0x00, 0x00, 0x10, 0x01, 0x0b] },
        { code: [0x41, 0x00, 0x13, 0x00, 0x00, 0x0b] },
      ],
    });
    await exhausts(bytes, 'passive-elem', 1_000_000);
  });

  it('a tail-call cycle through a chain of small unexported helpers', async () => {
    // 0 → 1 → 2 → 3 → 1, all tail calls: no stack grows, and the helpers, being a cycle, are not folded.
    const bytes = program({
      bodies: [
        { code: [0x10, 0x01, 0x0b] },
        { code: [...pad(3), 0x12, 0x02, 0x0b] },
        { code: [...pad(3), 0x12, 0x03, 0x0b] },
        { code: [...pad(3), 0x12, 0x01, 0x0b] },
      ],
    });
    await exhausts(bytes, 'helpers', 1_000_000);
  });
});
