/**
 * Fuel accounting against an independent count. Random structured programs
 * (straight-line work, ifs, blocks with early exits, counted loops, early
 * returns, direct and indirect calls down a call DAG, bulk fills) are
 * assembled to bytes here and run by a small interpreter of their own
 * syntax tree, which counts the instructions executed and, separately,
 * what the documented fuel model charges. The metered module, run in V8,
 * must compute the same result as the original, use at least as much fuel
 * as instructions executed, and exactly the model's charges less what the
 * call-free loops' counters still hold at return (under 128 per call).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FUEL_EXPORT, instrumentFuel } from '../../runtime/upload/meter.ts';
import { buildModule, exportFunc, exportMemory, FUNCREF, I32, name, sleb, uleb } from '../harness/wasm-bytes.ts';

type Stmt =
  | { k: 'work'; n: number }
  | { k: 'if'; cond: boolean; yes: Stmt[]; no: Stmt[] | null }
  | { k: 'block'; exit: boolean; body: Stmt[] }
  | { k: 'loop'; trips: number; body: Stmt[]; local: number }
  | { k: 'return'; when: boolean }
  | { k: 'call'; target: number }
  | { k: 'indirect'; slot: number }
  | { k: 'fill'; bytes: number };

interface Fn {
  body: Stmt[];
  exported: boolean;
  locals: number;
}

interface Program {
  fns: Fn[];
  /** Function index of each table slot. */
  table: number[];
}

/** The model's constants (docs/sandbox.md). */
const BATCH = 128;
const FOLD_CAP = 256;
const BULK_BYTES_PER_UNIT = 16;

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function generate(seed: number): Program {
  const rnd = mulberry32(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  const count = int(1, 6);
  const table: number[] = [];
  for (let i = 0; i < count - 1; i++) if (rnd() < 0.3) table.push(i);
  const fns: Fn[] = [];
  for (let f = 0; f < count; f++) {
    const fn: Fn = { body: [], exported: f === count - 1 || rnd() < 0.15, locals: 0 };
    const stmts = (depth: number): Stmt[] => {
      const out: Stmt[] = [];
      for (let n = int(0, 4); n > 0; n--) {
        const r = rnd();
        if (r < 0.3) out.push({ k: 'work', n: int(0, 6) });
        else if (r < 0.42 && depth < 3)
          out.push({ k: 'if', cond: rnd() < 0.5, yes: stmts(depth + 1), no: rnd() < 0.5 ? stmts(depth + 1) : null });
        else if (r < 0.52 && depth < 3) out.push({ k: 'block', exit: rnd() < 0.3, body: stmts(depth + 1) });
        else if (r < 0.68 && depth < 3)
          out.push({ k: 'loop', trips: int(0, 3), body: stmts(depth + 1), local: fn.locals++ });
        else if (r < 0.72) out.push({ k: 'return', when: rnd() < 0.2 });
        else if (r < 0.84 && f > 0) out.push({ k: 'call', target: int(0, f - 1) });
        else if (r < 0.92 && table.some((t) => t < f)) {
          const slots = table.map((t, i) => [t, i] as const).filter(([t]) => t < f);
          out.push({ k: 'indirect', slot: slots[int(0, slots.length - 1)]![1] });
        } else if (r < 0.97) out.push({ k: 'fill', bytes: int(0, 4096) });
        else out.push({ k: 'work', n: 1 });
      }
      return out;
    };
    fn.body = stmts(0);
    fns.push(fn);
  }
  return { fns, table };
}

const WORK = [0x23, 0x00, 0x41, 0x01, 0x6a, 0x24, 0x00]; // global 0 += 1: four instructions

function encode(stmts: Stmt[], out: number[]): void {
  for (const s of stmts) {
    switch (s.k) {
      case 'work':
        for (let i = 0; i < s.n; i++) out.push(...WORK);
        break;
      case 'if':
        out.push(0x41, s.cond ? 1 : 0, 0x04, 0x40);
        encode(s.yes, out);
        if (s.no) {
          out.push(0x05);
          encode(s.no, out);
        }
        out.push(0x0b);
        break;
      case 'block':
        out.push(0x02, 0x40, 0x41, s.exit ? 1 : 0, 0x0d, 0x00);
        encode(s.body, out);
        out.push(0x0b);
        break;
      case 'loop': {
        const c = uleb(s.local);
        out.push(0x41, ...sleb(s.trips), 0x21, ...c, 0x02, 0x40, 0x03, 0x40);
        out.push(0x20, ...c, 0x45, 0x0d, 0x01, 0x20, ...c, 0x41, 0x01, 0x6b, 0x21, ...c);
        encode(s.body, out);
        out.push(0x0c, 0x00, 0x0b, 0x0b);
        break;
      }
      case 'return':
        out.push(0x41, s.when ? 1 : 0, 0x04, 0x40, 0x0f, 0x0b);
        break;
      case 'call':
        out.push(0x10, ...uleb(s.target));
        break;
      case 'indirect':
        out.push(0x41, ...sleb(s.slot), 0x11, 0x00, 0x00);
        break;
      case 'fill':
        out.push(0x41, 0x00, 0x41, 0x00, 0x41, ...sleb(s.bytes), 0xfc, 0x0b, 0x00);
        break;
    }
  }
}

function assemble(p: Program): Uint8Array<ArrayBuffer> {
  return buildModule({
    types: [{ params: [], results: [] }],
    functions: p.fns.map(() => 0),
    tables: p.table.length ? [[FUNCREF, 0x00, ...uleb(p.table.length)]] : [],
    globals: [[I32, 0x01, 0x41, 0x00, 0x0b]],
    exports: [
      exportMemory(),
      [...name('acc'), 0x03, 0x00],
      ...p.fns.flatMap((fn, i) => (fn.exported ? [exportFunc(i === p.fns.length - 1 ? 'run' : `f${i}`, i)] : [])),
    ],
    elems: p.table.length
      ? [[0x00, 0x41, 0x00, 0x0b, ...uleb(p.table.length), ...p.table.flatMap((t) => uleb(t))]]
      : [],
    bodies: p.fns.map((fn) => {
      const code: number[] = [];
      encode(fn.body, code);
      code.push(0x0b);
      return { locals: fn.locals ? [[fn.locals, I32]] : [], code };
    }),
  });
}

/** A function's straight-line regions: its entry and each loop, with their sizes and what they call. */
interface Region {
  size: number;
  calls: number[];
  anyCall: boolean;
  loop: boolean;
}

function regions(fn: Fn): { entry: Region; loops: Map<Stmt, Region> } {
  const entry: Region = { size: 0, calls: [], anyCall: false, loop: false };
  const loops = new Map<Stmt, Region>();
  const walk = (stmts: Stmt[], r: Region) => {
    for (const s of stmts) {
      switch (s.k) {
        case 'work':
          r.size += 4 * s.n;
          break;
        case 'if':
          r.size += 2;
          walk(s.yes, r);
          if (s.no) walk(s.no, r);
          break;
        case 'block':
          r.size += 3;
          walk(s.body, r);
          break;
        case 'loop': {
          r.size += 4;
          const own: Region = { size: 8, calls: [], anyCall: false, loop: true };
          loops.set(s, own);
          walk(s.body, own);
          break;
        }
        case 'return':
          r.size += 3;
          break;
        case 'call':
          r.size += 1;
          r.calls.push(s.target);
          r.anyCall = true;
          break;
        case 'indirect':
          r.size += 2;
          r.anyCall = true;
          break;
        case 'fill':
          r.size += 4;
          break;
      }
    }
  };
  walk(fn.body, entry);
  return { entry, loops };
}

class Returned {}

/** Runs the program's syntax tree: the instructions executed, and the fuel the model charges. */
function interpret(p: Program) {
  const info = p.fns.map(regions);
  const batched = (r: Region) => r.loop && !r.anyCall && r.size > 0;
  const hasBatched = info.map((i) => [...i.loops.values()].some(batched));
  const folded: (number | null)[] = [];
  const pinned = p.fns.map((fn, i) => fn.exported || p.table.includes(i));
  const foldedCost = (r: Region) => r.calls.reduce((n, c) => n + (folded[c] ?? 0), 0);
  for (let f = 0; f < p.fns.length; f++) {
    const total = info[f]!.entry.size + (hasBatched[f] ? BATCH : 0) + foldedCost(info[f]!.entry);
    folded.push(!pinned[f] && total <= FOLD_CAP ? total : null);
  }
  let executed = 0;
  let charged = 0;
  let batchedActivations = 0;
  let acc = 0;
  const exec = (f: number) => {
    if (hasBatched[f]) batchedActivations++;
    if (folded[f] === null) charged += info[f]!.entry.size + foldedCost(info[f]!.entry) + (hasBatched[f] ? BATCH : 0);
    const run = (stmts: Stmt[]) => {
      for (const s of stmts) {
        switch (s.k) {
          case 'work':
            executed += 4 * s.n;
            acc += s.n;
            break;
          case 'if':
            executed += 2;
            if (s.cond) run(s.yes);
            else if (s.no) run(s.no);
            break;
          case 'block':
            executed += 3;
            if (!s.exit) run(s.body);
            break;
          case 'loop': {
            executed += 4;
            const r = info[f]!.loops.get(s)!;
            for (let i = 0; i < s.trips; i++) {
              charged += r.size + foldedCost(r);
              executed += 8;
              run(s.body);
            }
            charged += r.size + foldedCost(r);
            executed += 3;
            break;
          }
          case 'return':
            executed += 2;
            if (s.when) {
              executed += 1;
              throw new Returned();
            }
            break;
          case 'call':
            executed += 1;
            exec(s.target);
            break;
          case 'indirect':
            executed += 2;
            exec(p.table[s.slot]!);
            break;
          case 'fill':
            executed += 4;
            charged += Math.floor(s.bytes / BULK_BYTES_PER_UNIT);
            break;
        }
      }
    };
    try {
      run(p.fns[f]!.body);
    } catch (e) {
      if (!(e instanceof Returned)) throw e;
    }
  };
  exec(p.fns.length - 1);
  return { executed, charged, batchedActivations, acc };
}

async function runIn(bytes: Uint8Array<ArrayBuffer>, fuel: bigint | null) {
  const { instance } = await WebAssembly.instantiate(bytes);
  const global = instance.exports[FUEL_EXPORT] as WebAssembly.Global | undefined;
  if (fuel !== null) global!.value = fuel;
  (instance.exports.run as () => void)();
  return {
    acc: (instance.exports.acc as WebAssembly.Global).value as number,
    fuelLeft: fuel === null ? 0n : (global!.value as bigint),
  };
}

describe('fuel against an independent count', () => {
  it('random programs: same result, fuel ≥ instructions executed, fuel = the model less the loop counters left', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 31 - 1 }), async (seed) => {
        const program = generate(seed);
        const bytes = assemble(program);
        expect(WebAssembly.validate(bytes)).toBe(true);
        const metered = instrumentFuel(bytes, 0);
        expect(WebAssembly.validate(metered)).toBe(true);
        const model = interpret(program);
        const budget = 10n ** 12n;
        const plain = await runIn(bytes, null);
        const run = await runIn(metered, budget);
        expect(plain.acc).toBe(model.acc);
        expect(run.acc).toBe(model.acc);
        const used = Number(budget - run.fuelLeft);
        expect(used).toBeGreaterThanOrEqual(model.executed);
        expect(used).toBeLessThanOrEqual(model.charged);
        // Each call with call-free loops may return with up to BATCH - 1 counted but not yet paid (it prepaid BATCH).
        expect(used).toBeGreaterThanOrEqual(model.charged - (BATCH - 1) * model.batchedActivations);
      }),
      { numRuns: 400 },
    );
  });
});
