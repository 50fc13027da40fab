/**
 * Fuel metering. Every function entry and every loop header is charged the
 * static size (in wasm instructions) of the straight-line code it starts —
 * the function body or loop body minus the nested loops, which are charged
 * on their own. So one unit of fuel is about one instruction, whatever the
 * shape of the code: a loop with a huge body pays for its body on every
 * iteration, and an infinite loop or recursion ends within its budget.
 *
 * Small functions that only direct calls can reach (not exported, not in a
 * table, not on a call cycle) are not charged on entry: each call site pays
 * their size instead, which removes most charges from kit-heavy code
 * without letting any unbounded work go uncharged.
 *
 * The charge decrements an exported i64 global and traps below zero; the
 * host sets the global before each call, so a loop in tenant code ends on
 * the main thread, where the SDK's worker-only timeouts cannot reach. The
 * charge is written inline; nothing else in the module changes.
 */
import binaryen from 'binaryen';
import { WasmgateError } from '../errors.ts';
import { FUEL_EXPORT } from './names.ts';

export { FUEL_EXPORT };

const FUEL_GLOBAL = '__wasmgate_fuel_global';

// What Node 20's V8 runs. Features.All would let binaryen emit encodings
// (compact imports, new EH) that V8 cannot read back.
const FEATURES =
  binaryen.Features.MVP |
  binaryen.Features.MutableGlobals |
  binaryen.Features.NontrappingFPToInt |
  binaryen.Features.SignExt |
  binaryen.Features.SIMD128 |
  binaryen.Features.BulkMemory |
  binaryen.Features.BulkMemoryOpt |
  binaryen.Features.ReferenceTypes |
  binaryen.Features.Multivalue |
  binaryen.Features.TailCall;

type Info = Record<string, unknown> & { id: number };

/** Parts of binaryen.js its type declarations leave out. */
const bx = binaryen as unknown as {
  _BinaryenFunctionAddVar(fn: binaryen.FunctionRef, type: binaryen.Type): number;
  Loop: { getBody(loop: number): number; setBody(loop: number, body: number): void };
  Function: { setBody(fn: binaryen.FunctionRef, body: number): void };
};

/** Child expression fields of each expression kind the enabled features allow. */
const CHILDREN = new Map<number, readonly string[]>([
  [binaryen.BlockId, ['children']],
  [binaryen.IfId, ['condition', 'ifTrue', 'ifFalse']],
  [binaryen.LoopId, ['body']],
  [binaryen.BreakId, ['condition', 'value']],
  [binaryen.SwitchId, ['condition', 'value']],
  [binaryen.CallId, ['operands']],
  [binaryen.CallIndirectId, ['target', 'operands']],
  [binaryen.LocalGetId, []],
  [binaryen.LocalSetId, ['value']],
  [binaryen.GlobalGetId, []],
  [binaryen.GlobalSetId, ['value']],
  [binaryen.LoadId, ['ptr']],
  [binaryen.StoreId, ['ptr', 'value']],
  [binaryen.ConstId, []],
  [binaryen.UnaryId, ['value']],
  [binaryen.BinaryId, ['left', 'right']],
  [binaryen.SelectId, ['ifTrue', 'ifFalse', 'condition']],
  [binaryen.DropId, ['value']],
  [binaryen.ReturnId, ['value']],
  [binaryen.MemorySizeId, []],
  [binaryen.MemoryGrowId, ['delta']],
  [binaryen.NopId, []],
  [binaryen.UnreachableId, []],
  [binaryen.SIMDExtractId, ['vec']],
  [binaryen.SIMDReplaceId, ['vec', 'value']],
  [binaryen.SIMDShuffleId, ['left', 'right']],
  [binaryen.SIMDTernaryId, ['a', 'b', 'c']],
  [binaryen.SIMDShiftId, ['vec', 'shift']],
  [binaryen.SIMDLoadId, ['ptr']],
  [binaryen.SIMDLoadStoreLaneId, ['ptr', 'vec']],
  [binaryen.MemoryInitId, ['dest', 'offset', 'size']],
  [binaryen.DataDropId, []],
  [binaryen.MemoryCopyId, ['dest', 'source', 'size']],
  [binaryen.MemoryFillId, ['dest', 'value', 'size']],
  [binaryen.RefNullId, []],
  [binaryen.RefIsNullId, ['value']],
  [binaryen.RefFuncId, []],
  [binaryen.RefEqId, ['left', 'right']],
  [binaryen.TableGetId, ['index']],
  [binaryen.TableSetId, ['index', 'value']],
  [binaryen.TableSizeId, []],
  [binaryen.TableGrowId, ['value', 'delta']],
  [binaryen.TupleMakeId, ['operands']],
  [binaryen.TupleExtractId, ['tuple']],
  [binaryen.PopId, []],
]);

/** A function body measured: straight-line sizes per charge point, and the direct calls each makes. */
interface Measured {
  /** Charge point (0 = function entry, else a loop expression) → instructions it starts. */
  cost: Map<number, number>;
  /** Charge point → functions it calls directly. */
  calls: Map<number, string[]>;
  /** Functions referenced by ref.func (callable indirectly). */
  refs: string[];
  /** Charge points whose straight-line part makes an indirect call. */
  indirect: Set<number>;
}

/** Iterative, so deep nesting cannot overflow the stack. */
function measure(body: number): Measured {
  const cost = new Map<number, number>([[0, 0]]);
  const calls = new Map<number, string[]>([[0, []]]);
  const refs: string[] = [];
  const indirect = new Set<number>();
  const work: [number, number][] = [[body, 0]];
  while (work.length) {
    const [expr, owner] = work.pop()!;
    if (!expr) continue;
    const id = binaryen.getExpressionId(expr);
    const fields = CHILDREN.get(id);
    if (!fields)
      throw new WasmgateError(
        'INVALID_MODULE',
        `the module uses an instruction the fuel meter does not know (expression kind ${id})`,
      );
    cost.set(owner, cost.get(owner)! + 1);
    if (id === binaryen.RefFuncId) refs.push((binaryen.getExpressionInfo(expr) as unknown as { func: string }).func);
    // Leaves need no detail (and binaryen.js cannot describe some of them, e.g. unreachable).
    if (fields.length === 0) continue;
    const info = binaryen.getExpressionInfo(expr) as unknown as Info;
    let childOwner = owner;
    if (id === binaryen.LoopId) {
      cost.set(expr, 0);
      calls.set(expr, []);
      childOwner = expr;
    } else if (id === binaryen.CallId) {
      calls.get(owner)!.push(info.target as string);
    } else if (id === binaryen.CallIndirectId) {
      indirect.add(owner);
    }
    for (const f of fields) {
      const v = info[f];
      if (Array.isArray(v)) for (const c of v as number[]) work.push([c, childOwner]);
      else if (typeof v === 'number' && v !== 0) work.push([v, childOwner]);
    }
  }
  return { cost, calls, refs, indirect };
}

/**
 * A loop that calls nothing counts its cost in a local and pays the global
 * every BATCH instructions, so its iterations touch no memory. What a loop
 * may leave unpaid when its function returns (less than BATCH) is prepaid
 * at the function's entry.
 */
const BATCH = 128;

/** The most instructions a folded call may stand for; bigger callees charge themselves. */
const FOLD_CAP = 16_384;

function isBatched(m: Measured, loop: number): boolean {
  return loop !== 0 && m.calls.get(loop)!.length === 0 && !m.indirect.has(loop);
}

function batchedLoops(m: Measured): number {
  let n = 0;
  for (const loop of m.cost.keys()) if (isBatched(m, loop)) n++;
  return n;
}

/**
 * Which functions need no entry charge because every caller pays for them:
 * not reachable indirectly (table, ref.func) or from the host (exports),
 * not on a call cycle, and small. Returns name → entry cost to fold into
 * call sites (the function's own straight-line size plus what it folds).
 */
function foldable(measured: Map<string, Measured>, pinned: Set<string>): Map<string, number> {
  const folded = new Map<string, number>();
  const state = new Map<string, 1 | 2>(); // 1 visiting, 2 done
  const onCycle = new Set<string>();
  const entry = (name: string): number | null => {
    // Iterative DFS in post-order over direct calls of the entry part and loops (calls anywhere count for cycles).
    const stack: [string, number][] = [[name, 0]];
    while (stack.length) {
      const top = stack[stack.length - 1]!;
      const [fn, i] = top;
      const m = measured.get(fn);
      if (!m) {
        stack.pop();
        state.set(fn, 2);
        continue;
      }
      if (i === 0) state.set(fn, 1);
      const all = [...m.calls.values()].flat();
      if (i < all.length) {
        top[1]++;
        const callee = all[i]!;
        const st = state.get(callee);
        if (st === 1) {
          for (const [f] of stack) onCycle.add(f);
        } else if (st === undefined) {
          stack.push([callee, 0]);
        }
        continue;
      }
      stack.pop();
      state.set(fn, 2);
      if (pinned.has(fn) || onCycle.has(fn)) continue;
      let total = m.cost.get(0)! + BATCH * batchedLoops(m);
      for (const c of m.calls.get(0)!) total += folded.get(c) ?? 0;
      if (total <= FOLD_CAP) folded.set(fn, total);
    }
    return folded.get(name) ?? null;
  };
  for (const name of measured.keys()) if (!state.has(name)) entry(name);
  return folded;
}

export function instrumentFuel(bytes: Uint8Array, initialFuel: number): Uint8Array {
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(FEATURES);
    mod.addGlobal(FUEL_GLOBAL, binaryen.i64, true, mod.i64.const(BigInt(initialFuel)));
    mod.addGlobalExport(FUEL_GLOBAL, FUEL_EXPORT);
    const fuel = () => mod.global.get(FUEL_GLOBAL, binaryen.i64);
    // fuel' = fuel - n; trap when fuel' < 0 (leaving the negative value for the host to see); else store it.
    // Written inline at each charge point, with one scratch local per function.
    const chargeWith = (tmp: number, amount: number /* i64 expression */) =>
      mod.block(null, [
        mod.if(
          mod.i64.lt_s(mod.local.tee(tmp, mod.i64.sub(fuel(), amount), binaryen.i64), mod.i64.const(0n)),
          mod.block(null, [mod.global.set(FUEL_GLOBAL, mod.local.get(tmp, binaryen.i64)), mod.unreachable()]),
        ),
        mod.global.set(FUEL_GLOBAL, mod.local.get(tmp, binaryen.i64)),
      ]);

    const defined = new Map<string, binaryen.FunctionRef>();
    for (let i = 0; i < mod.getNumFunctions(); i++) {
      const fn = mod.getFunctionByIndex(i);
      const info = binaryen.getFunctionInfo(fn);
      if (info.body) defined.set(info.name, fn);
    }
    const measured = new Map<string, Measured>();
    for (const [name, fn] of defined) measured.set(name, measure(binaryen.getFunctionInfo(fn).body));

    // Functions something other than a direct call can enter charge themselves.
    const pinned = new Set<string>();
    for (let i = 0; i < mod.getNumExports(); i++) {
      const e = binaryen.getExportInfo(mod.getExportByIndex(i));
      if (e.kind === binaryen.ExternalFunction) pinned.add(e.value);
    }
    for (let i = 0; i < mod.getNumElementSegments(); i++) {
      for (const name of binaryen.getElementSegmentInfo(mod.getElementSegmentByIndex(i)).data) pinned.add(name);
    }
    for (const m of measured.values()) for (const r of m.refs) pinned.add(r);
    const folded = foldable(measured, pinned);

    for (const [name, fn] of defined) {
      const m = measured.get(name)!;
      const total = (point: number) =>
        m.cost.get(point)! + m.calls.get(point)!.reduce((n, c) => n + (folded.get(c) ?? 0), 0);
      const tmp = bx._BinaryenFunctionAddVar(fn, binaryen.i64) as number;
      const charge = (n: number) => chargeWith(tmp, mod.i64.const(BigInt(n)));
      for (const loop of m.cost.keys()) {
        if (loop === 0) continue;
        const loopBody = bx.Loop.getBody(loop);
        let pay: number;
        if (isBatched(m, loop)) {
          const acc = bx._BinaryenFunctionAddVar(fn, binaryen.i64) as number;
          const get = () => mod.local.get(acc, binaryen.i64);
          pay = mod.block(null, [
            mod.local.set(acc, mod.i64.add(get(), mod.i64.const(BigInt(total(loop))))),
            mod.if(
              mod.i64.ge_u(get(), mod.i64.const(BigInt(BATCH))),
              mod.block(null, [chargeWith(tmp, get()), mod.local.set(acc, mod.i64.const(0n))]),
            ),
          ]);
        } else {
          pay = charge(total(loop));
        }
        bx.Loop.setBody(loop, mod.block(null, [pay, loopBody], binaryen.getExpressionType(loopBody)));
      }
      if (folded.has(name)) continue; // its callers pay for its entry (and its loops' leftovers)
      const body = binaryen.getFunctionInfo(fn).body;
      bx.Function.setBody(
        fn,
        mod.block(null, [charge(total(0) + BATCH * batchedLoops(m)), body], binaryen.getExpressionType(body)),
      );
    }

    if (!mod.validate()) throw new WasmgateError('INVALID_MODULE', 'the module failed validation after fuel metering');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}
