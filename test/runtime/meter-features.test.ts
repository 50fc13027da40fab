/**
 * Every feature the meter reads, in one module assembled byte by byte —
 * SIMD, bulk memory, reference types, multi-value blocks and loops with
 * type indices and parameters, tail calls, non-trapping conversions, sign
 * extension, imported globals, dead code — metered and run next to the
 * original: the same results, the same host-visible globals, a fuel global
 * of its own, and a module V8 accepts.
 */
import { describe, expect, it } from 'vitest';
import { FUEL_EXPORT, HOST_CALL_FUEL, instrumentFuel } from '../../runtime/upload/meter.ts';
import {
  buildModule,
  exportFunc,
  exportMemory,
  F64,
  FUNCREF,
  I32,
  I64,
  name,
  section,
  uleb,
  V128,
} from '../harness/wasm-bytes.ts';

const i32x4 = (...lanes: number[]) => lanes.flatMap((l) => [l & 0xff, (l >> 8) & 0xff, (l >> 16) & 0xff, l >>> 24]);

// Function indices: 0 = the imported `log`, then the bodies below in order.
const F = { simd: 1, bulk: 2, refs: 3, five: 4, multi: 5, pair: 6, tail: 7, countdown: 8, numeric: 9, globals: 10 };
const MORE = { dead: 11, locals: 12 };

// biome-ignore format: one instruction, or a few, per line
const bodies = [
  // simd: store [1,2,3,4] + [10,20,30,40] at 0, load it back, lane 3 (44); plus a shuffled lane and a lane load.
  {
    code: [
      0x41, 0x00,
      0xfd, 0x0c, ...i32x4(1, 2, 3, 4),
      0xfd, 0x0c, ...i32x4(10, 20, 30, 40),
      0xfd, 0xae, 0x01, // i32x4.add
      0xfd, 0x0b, 0x04, 0x00, // v128.store
      0x41, 0x00, 0xfd, 0x00, 0x04, 0x00, // v128.load
      0xfd, 0x1b, 0x03, // i32x4.extract_lane 3
      0x41, 0x00, 0xfd, 0x00, 0x04, 0x00,
      0x41, 0x00, 0xfd, 0x00, 0x04, 0x00,
      0xfd, 0x0d, ...[4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15], // i8x16.shuffle: swap lanes 0 and 1
      0xfd, 0x1b, 0x00, // lane 0 is now 22
      0x6a,
      0x41, 0x00, 0xfd, 0x0c, ...i32x4(0, 0, 0, 0), 0xfd, 0x56, 0x02, 0x04, 0x01, // v128.load32_lane offset 4 into lane 1
      0xfd, 0x1b, 0x01, // 22
      0x6a,
      0x0b,
    ],
  },
  // bulk: fill, copy, init from a passive segment, drop it; bytes 200 (7) + 303 ('d').
  {
    code: [
      0x41, 0xe4, 0x00, 0x41, 0x07, 0x41, 0x10, 0xfc, 0x0b, 0x00, // memory.fill(100, 7, 16)
      0x41, 0xc8, 0x01, 0x41, 0xe4, 0x00, 0x41, 0x10, 0xfc, 0x0a, 0x00, 0x00, // memory.copy(200, 100, 16)
      0x41, 0xac, 0x02, 0x41, 0x00, 0x41, 0x04, 0xfc, 0x08, 0x00, 0x00, // memory.init 0 (300, 0, 4)
      0xfc, 0x09, 0x00, // data.drop 0
      0x41, 0xc8, 0x01, 0x2d, 0x00, 0x00, 0x41, 0xaf, 0x02, 0x2d, 0x00, 0x00, 0x6a,
      0x0b,
    ],
  },
  // refs: table.grow by 3 (old size 2), table.size (5), table[4] = ref.func five and call it (5),
  // is table[3] null (1), table.fill, a typed select (2): 15.
  {
    code: [
      0xd0, FUNCREF, 0x41, 0x03, 0xfc, 0x0f, 0x00, // table.grow 0
      0xfc, 0x10, 0x00, 0x6a, // + table.size 0
      0x41, 0x04, 0xd2, ...uleb(F.five), 0x26, 0x00, // table.set 0 [4] = ref.func five
      0x41, 0x04, 0x11, 0x00, 0x00, 0x6a, // + call_indirect table[4]
      0x41, 0x03, 0x25, 0x00, 0xd1, 0x6a, // + ref.is_null(table.get 3)
      0x41, 0x00, 0xd0, FUNCREF, 0x41, 0x01, 0xfc, 0x11, 0x00, // table.fill 0 (0, null, 1)
      0x41, 0x01, 0x41, 0x02, 0x41, 0x00, 0x1c, 0x01, I32, 0x6a, // + select (result i32) → 2
      0x0b,
    ],
  },
  // five
  { code: [0x41, 0x05, 0x0b] },
  // multi: a block (i32 i32) -> (i32 i32) by type index (70), a loop with a parameter summing 1..10 (55), a pair (5).
  {
    locals: [[1, I32]] as [number, number][],
    code: [
      0x41, 0x03, 0x41, 0x04, 0x02, 0x01, 0x6a, 0x41, 0x0a, 0x0b, 0x6c, // block type 1: add, push 10; mul
      0x41, 0x00, 0x03, 0x02, // loop type 2, the running sum as its parameter
      0x20, 0x00, 0x41, 0x01, 0x6a, 0x22, 0x00, 0x6a, // sum += ++i
      0x20, 0x00, 0x41, 0x0a, 0x49, 0x0d, 0x00, // br_if 0 while i < 10, carrying the sum
      0x0b, 0x6a,
      0x10, ...uleb(F.pair), 0x6b, 0x6a, // + (9 - 4)
      0x0b,
    ],
  },
  // pair: () -> (i32 i32)
  { code: [0x41, 0x09, 0x41, 0x04, 0x0b] },
  // tail: return_call countdown(100000), which ends in 42; and a return_call_indirect
  { code: [0x41, 0xa0, 0x8d, 0x06, 0x12, ...uleb(F.countdown), 0x0b] },
  // countdown (i32) -> i32: 42 at zero, else return_call itself with n - 1, every 1000th step through the table.
  {
    code: [
      0x20, 0x00, 0x45, 0x04, I32, 0x41, 0x2a,
      0x05,
      0x20, 0x00, 0x41, 0xe8, 0x07, 0x70, 0x04, 0x40, // if n % 1000 …
      0x05, // … is 0: return_call_indirect type 2, table[1], with n - 1
      0x20, 0x00, 0x41, 0x01, 0x6b, 0x41, 0x01, 0x13, 0x02, 0x00,
      0x0b,
      0x20, 0x00, 0x41, 0x01, 0x6b, 0x12, ...uleb(F.countdown),
      0x0b,
      0x0b,
    ],
  },
  // numeric: i32.trunc_sat_f32_s(3e9) + i32.extend8_s(255) = 2147483646
  { code: [0x43, 0x28, 0xd7, 0x32, 0x4f, 0xfc, 0x00, 0x41, 0xff, 0x01, 0xc0, 0x6a, 0x0b] },
  // globals: imported base (5) + defined g (set to 7); imported counter := 77; log(3)
  {
    code: [
      0x41, 0x07, 0x24, 0x02, 0x42, 0xcd, 0x00, 0x24, 0x01, 0x41, 0x03, 0x10, 0x00,
      0x23, 0x00, 0x23, 0x02, 0x6a,
      0x0b,
    ],
  },
  // dead: returns 1; after the return, a loop and a bulk fill that never run but must still validate once metered.
  {
    code: [
      0x41, 0x01, 0x0f,
      0x03, 0x40, 0x41, 0x00, 0x1a, 0x0c, 0x00, 0x0b,
      0x41, 0x00, 0x41, 0x00, 0xfc, 0x0b, 0x00,
      0x0b,
    ],
  },
  // locals (i32 i64) -> i32 with several local groups: a loop over them; the meter's own locals come after.
  {
    locals: [
      [2, I32],
      [1, F64],
      [3, V128],
    ] as [number, number][],
    code: [
      0x03, 0x40,
      0x20, 0x02, 0x20, 0x00, 0x6a, 0x21, 0x02, // l2 += p0
      0x20, 0x03, 0x41, 0x01, 0x6a, 0x22, 0x03, 0x20, 0x01, 0xa7, 0x49, 0x0d, 0x00, // while ++l3 < (i32)p1
      0x0b,
      0x20, 0x02,
      0x0b,
    ],
  },
];

function featureModule(): Uint8Array<ArrayBuffer> {
  return buildModule({
    types: [
      { params: [], results: [I32] },
      { params: [I32, I32], results: [I32, I32] },
      { params: [I32], results: [I32] },
      { params: [I32], results: [] },
      { params: [], results: [I32, I32] },
      { params: [I32, I64], results: [I32] },
    ],
    imports: [
      [...name('env'), ...name('log'), 0x00, 0x03],
      [...name('env'), ...name('base'), 0x03, I32, 0x00],
      [...name('env'), ...name('counter'), 0x03, I64, 0x01],
    ],
    functions: [0, 0, 0, 0, 0, 4, 0, 2, 0, 0, 0, 5],
    tables: [[FUNCREF, 0x00, 0x02]],
    memory: [0x00, 1],
    globals: [[I32, 0x01, 0x41, 0x00, 0x0b]],
    exports: [
      exportMemory(),
      ...Object.entries(F).map(([n, i]) => exportFunc(n, i)),
      exportFunc('dead', MORE.dead),
      exportFunc('locals', MORE.locals),
    ],
    elems: [[0x00, 0x41, 0x00, 0x0b, ...uleb(2), ...uleb(F.five), ...uleb(F.countdown)]],
    dataCount: 1,
    bodies,
    data: [[0x01, ...uleb(4), ...Buffer.from('abcd')]],
  });
}

async function instantiate(bytes: Uint8Array<ArrayBuffer>) {
  const logged: number[] = [];
  const counter = new WebAssembly.Global({ value: 'i64', mutable: true }, 0n);
  const { instance } = await WebAssembly.instantiate(bytes, {
    env: { log: (x: number) => logged.push(x), base: new WebAssembly.Global({ value: 'i32' }, 5), counter },
  });
  return { exports: instance.exports as Record<string, unknown>, logged, counter };
}

const EXPECTED: Record<string, number> = {
  simd: 44 + 22 + 22,
  bulk: 107,
  refs: 15,
  five: 5,
  multi: 130,
  tail: 42,
  countdown: 42,
  numeric: 2147483646,
  globals: 12,
  dead: 1,
};

describe('a module using every supported feature', () => {
  it('is valid before and after metering', () => {
    const bytes = featureModule();
    expect(WebAssembly.validate(bytes)).toBe(true);
    expect(WebAssembly.validate(instrumentFuel(bytes, 1_000))).toBe(true);
  });

  it('computes the same results metered, and pays for them', async () => {
    const bytes = featureModule();
    const plain = await instantiate(bytes);
    const metered = await instantiate(instrumentFuel(bytes, 0));
    const fuel = metered.exports[FUEL_EXPORT] as WebAssembly.Global;
    expect(fuel).toBeInstanceOf(WebAssembly.Global);
    for (const [exportName, expected] of Object.entries(EXPECTED)) {
      const args = exportName === 'countdown' ? [10] : [];
      const want = (plain.exports[exportName] as (...a: number[]) => number)(...args);
      expect(want, exportName).toBe(expected);
      fuel.value = 1_000_000_000n;
      const got = (metered.exports[exportName] as (...a: number[]) => number)(...args);
      expect(got, exportName).toBe(want);
      expect(fuel.value, `${exportName} paid fuel`).toBeLessThan(1_000_000_000n);
    }
    const locals = [plain, metered].map((i) => (i.exports.locals as (a: number, b: bigint) => number)(3, 5n));
    expect(locals[1]).toBe(locals[0]);
    expect(locals[0]).toBe(15);
  });

  it('leaves imported globals where they were: the fuel global comes after every other global', async () => {
    const bytes = featureModule();
    const metered = await instantiate(instrumentFuel(bytes, 0));
    const fuel = metered.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = 1_000_000n;
    expect((metered.exports.globals as () => number)()).toBe(12);
    expect(metered.counter.value).toBe(77n);
    expect(metered.logged).toEqual([3]);
    // A few instructions and one host call (the imported log).
    expect(fuel.value).toBeGreaterThan(999_900n - BigInt(HOST_CALL_FUEL));
    expect(fuel.value).toBeLessThanOrEqual(1_000_000n - BigInt(HOST_CALL_FUEL));
    const exports = WebAssembly.Module.exports(new WebAssembly.Module(instrumentFuel(bytes, 0)));
    expect(exports.find((e) => e.name === FUEL_EXPORT)?.kind).toBe('global');
  });

  it('traps on fuel in a tail-call loop, leaving the global negative for the host to see', async () => {
    const metered = await instantiate(instrumentFuel(featureModule(), 0));
    const fuel = metered.exports[FUEL_EXPORT] as WebAssembly.Global;
    fuel.value = 10_000n;
    expect(() => (metered.exports.tail as () => number)()).toThrow(WebAssembly.RuntimeError);
    expect(fuel.value).toBeLessThan(0n);
  });
});

describe('module shapes around the code', () => {
  it('adds the global and export sections when the module has none, in order, keeping custom sections', async () => {
    // type, function, code, then a custom section: no memory, no globals, no exports.
    const custom = section(0, [...name('keep-me'), 1, 2, 3]);
    const base = buildModule({
      types: [{ params: [], results: [I32] }],
      functions: [0],
      memory: null,
      bodies: [{ code: [0x41, 0x2a, 0x0b] }],
    });
    const bytes = new Uint8Array([...base, ...custom]);
    const out = instrumentFuel(bytes, 123);
    const mod = new WebAssembly.Module(out);
    expect(WebAssembly.Module.exports(mod)).toEqual([{ name: FUEL_EXPORT, kind: 'global' }]);
    expect(WebAssembly.Module.customSections(mod, 'keep-me').map((b) => [...new Uint8Array(b)])).toEqual([[1, 2, 3]]);
    const { exports } = await WebAssembly.instantiate(mod);
    expect((exports[FUEL_EXPORT] as WebAssembly.Global).value).toBe(123n);
  });

  it('stores the initial fuel exactly, up to the largest i64', async () => {
    for (const fuel of [0, 63, 64, 2 ** 31, 2 ** 53, 2 ** 70]) {
      const out = instrumentFuel(buildModule({ types: [], functions: [], bodies: [] }), fuel);
      const { exports } = await WebAssembly.instantiate(new WebAssembly.Module(out));
      const want = BigInt(Math.min(fuel, 2 ** 63)) >= 2n ** 63n ? 2n ** 63n - 1n : BigInt(fuel);
      expect((exports[FUEL_EXPORT] as WebAssembly.Global).value).toBe(want);
    }
  });

  it('leaves functions that need no charge byte for byte as they were', () => {
    // An exported function is charged; an unexported leaf called only directly is folded into its caller.
    const bytes = buildModule({
      types: [{ params: [], results: [I32] }],
      functions: [0, 0],
      exports: [exportFunc('run', 0)],
      bodies: [{ code: [0x10, 0x01, 0x0b] }, { code: [0x41, 0x07, 0x0b] }],
    });
    const out = instrumentFuel(bytes, 0);
    const leaf = [4, 0, 0x41, 0x07, 0x0b];
    const at = (b: Uint8Array) => Buffer.from(b).indexOf(Buffer.from(leaf));
    expect(at(bytes)).toBeGreaterThan(0);
    expect(at(out)).toBeGreaterThan(0);
  });
});
