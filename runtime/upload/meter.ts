/**
 * Fuel metering, as a direct rewrite of the module's bytes. Every function
 * entry and every loop header is charged the static size (in wasm
 * instructions) of the straight-line code it starts — the function body or
 * loop body minus the nested loops, which are charged on their own. So one
 * unit of fuel is about one instruction, whatever the shape of the code: a
 * loop with a huge body pays for its body on every iteration, and an
 * infinite loop or recursion ends within its budget. Bulk memory and table
 * operations also pay for their length, which their instruction count does
 * not bound.
 *
 * Small functions that only direct calls can reach (not exported, not the
 * start function, not in an element segment, not named by any `ref.func`,
 * not on a call cycle) are not charged on entry: each charge point that
 * calls them pays their size instead, which removes most charges from
 * kit-heavy code without letting any unbounded work go uncharged.
 *
 * The charge decrements an exported i64 global and traps below zero; the
 * host sets the global before each call, so a loop in tenant code ends on
 * the main thread, where the SDK's worker-only timeouts cannot reach.
 *
 * It rewrites bytes rather than going through an IR (binaryen) because the
 * IR round trip alone cost 340 ms of a 1 MB module's upload (docs/sandbox.md):
 * here two linear passes over the code section decide every charge and
 * splice it in, and nothing else in the module changes — the new global and
 * its export are appended, so no existing index moves.
 */
import { WasmgateError } from '../errors.ts';
import { BULK_BYTES_SHIFT, CHEAP_HOST_CALL_FUEL, EXTISM_ENV, FUEL_EXPORT, HOST_CALL_FUEL } from './names.ts';
import {
  BULK_BYTES,
  BULK_NONE,
  describeOpcode,
  FC_BULK,
  FC_IMMEDIATES,
  FC_LAST,
  isValueType,
  OPCODE_KIND,
  S_BYTES16,
  S_LANE,
  S_MEMARG,
  S_MEMARG_LANE,
  S_NONE,
  SIMD_KIND,
} from './wasm-code.ts';
import { Reader } from './wasm-reader.ts';

export { CHEAP_HOST_CALL_FUEL, FUEL_EXPORT, HOST_CALL_FUEL };

/**
 * A loop that calls nothing counts its cost in a local and pays the global
 * once that count reaches BATCH, so its iterations touch no memory. One
 * counter serves every such loop of a function; what it may hold unpaid
 * when the function returns (less than BATCH) is prepaid at the function's
 * entry, so the bound still holds.
 */
const BATCH = 128;

/**
 * The most instructions a folded call may stand for; bigger callees charge
 * themselves. A charge point pays for every folded call in its straight-line
 * part, taken or not, so a large cap turns a rarely taken call inside a loop
 * into thousands of units per iteration; folding callees bigger than this
 * saves no measurable time (docs/sandbox.md).
 */
const FOLD_CAP = 256;

/** V8's limit on a function's parameters and locals together (kV8MaxWasmFunctionLocals). */
const V8_MAX_LOCALS = 50_000;

/** V8's limit on one function body (kV8MaxWasmFunctionSize). */
const V8_MAX_BODY_BYTES = 7_654_321;

const SECTION_ORDER: Readonly<Record<number, number>> = {
  1: 1,
  2: 2,
  3: 3,
  4: 4,
  5: 5,
  13: 6,
  6: 7,
  7: 8,
  8: 9,
  9: 10,
  12: 11,
  10: 12,
  11: 13,
};
const GLOBAL_SECTION = 6;
const EXPORT_SECTION = 7;
const CODE_SECTION = 10;

interface Section {
  id: number;
  /** Offset of the section id byte. */
  start: number;
  contentStart: number;
  end: number;
}

/** What the meter needs from the sections around the code. */
interface Layout {
  sections: Section[];
  paramCounts: number[];
  importedFunctions: number;
  importedGlobals: number;
  /** Per imported function: what a call to it costs (hostCallCost). */
  hostCallFuel: number[];
  /** Type index of each defined function. */
  functionTypes: number[];
  definedGlobals: number;
  /** Per function index (imports first): entered by something other than a direct call. */
  pinned: Uint8Array;
  /** Per defined function: offsets of its size LEB, locals header, local groups, code and end. */
  bodySizeAt: Int32Array;
  groupsAt: Int32Array;
  groupCount: Int32Array;
  localsEnd: Int32Array;
  bodyEnd: Int32Array;
  declaredLocals: Int32Array;
  codeCountEnd: number;
}

function invalid(what: string): never {
  throw new WasmgateError('INVALID_MODULE', `the fuel meter cannot read this module: ${what}`);
}

function strictValueType(r: Reader): number {
  const t = r.byte();
  if (!isValueType(t)) invalid(`value type 0x${t.toString(16)} at byte ${r.pos - 1} is not supported`);
  return t;
}

function readLayout(bytes: Uint8Array): Layout {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    invalid('not a WebAssembly module');
  }
  if (bytes[4] !== 1 || bytes[5] !== 0 || bytes[6] !== 0 || bytes[7] !== 0) invalid('unsupported binary version');
  const sections: Section[] = [];
  const seen = new Set<number>();
  let paramCounts: number[] = [];
  let importedFunctions = 0;
  let importedGlobals = 0;
  const hostCallFuel: number[] = [];
  let functionTypes: number[] = [];
  let definedGlobals = 0;
  const pins: number[] = [];
  let codeRange: Section | null = null;

  const r = new Reader(bytes, 8);
  let lastOrder = 0;
  while (r.pos < bytes.length) {
    const start = r.pos;
    const id = r.byte();
    const size = r.u32();
    const contentStart = r.pos;
    const end = contentStart + size;
    if (end > bytes.length) invalid(`section ${id} runs past the end of the module`);
    const section: Section = { id, start, contentStart, end };
    sections.push(section);
    r.pos = end;
    if (id === 0) continue;
    const order = SECTION_ORDER[id];
    if (order === undefined) invalid(`unknown section id ${id}`);
    if (seen.has(id) || order < lastOrder) invalid(`section ${id} is duplicated or out of order`);
    seen.add(id);
    lastOrder = order;
    const s = new Reader(bytes, contentStart, end);
    switch (id) {
      case 1: {
        const count = s.u32();
        paramCounts = [];
        for (let i = 0; i < count; i++) {
          const form = s.byte();
          if (form !== 0x60) invalid(`type form 0x${form.toString(16)} (GC types) is not supported`);
          const params = s.u32();
          for (let p = 0; p < params; p++) strictValueType(s);
          const results = s.u32();
          for (let p = 0; p < results; p++) strictValueType(s);
          paramCounts.push(params);
        }
        break;
      }
      case 2: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          const module = s.name();
          const field = s.name();
          const kind = s.byte();
          if (kind === 0) {
            if (s.u32() >= paramCounts.length) invalid('an imported function has an unknown type');
            importedFunctions++;
            hostCallFuel.push(hostCallCost(module, field));
          } else if (kind === 1) {
            s.valType();
            s.limits();
          } else if (kind === 2) {
            s.limits();
          } else if (kind === 3) {
            strictValueType(s);
            s.byte();
            importedGlobals++;
          } else if (kind === 4) {
            s.byte();
            s.u32();
          } else {
            invalid(`unknown import kind ${kind}`);
          }
        }
        break;
      }
      case 3: {
        const count = s.u32();
        functionTypes = [];
        for (let i = 0; i < count; i++) {
          const type = s.u32();
          if (type >= paramCounts.length) invalid(`function ${importedFunctions + i} has an unknown type`);
          functionTypes.push(type);
        }
        break;
      }
      case 4: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          if (bytes[s.pos] === 0x40) {
            s.skip(2);
            s.valType();
            s.limits();
            s.constExpr((f) => pins.push(f));
          } else {
            s.valType();
            s.limits();
          }
        }
        break;
      }
      case 6: {
        definedGlobals = s.u32();
        for (let i = 0; i < definedGlobals; i++) {
          strictValueType(s);
          s.byte();
          s.constExpr((f) => pins.push(f));
        }
        break;
      }
      case 7: {
        const count = s.u32();
        for (let i = 0; i < count; i++) {
          s.skip(s.u32());
          const kind = s.byte();
          const index = s.u32();
          if (kind === 0) pins.push(index);
        }
        break;
      }
      case 8:
        pins.push(s.u32());
        break;
      case 9: {
        const count = s.u32();
        for (let i = 0; i < count; i++) readElementSegment(s, pins);
        break;
      }
      case 10:
        codeRange = section;
        break;
    }
    const readWhole = id <= 4 || (id >= 6 && id <= 9);
    if (readWhole && s.pos !== end) invalid(`section ${id} has ${end - s.pos} bytes after its contents`);
  }

  const defined = functionTypes.length;
  const total = importedFunctions + defined;
  const pinned = new Uint8Array(total);
  for (const f of pins) {
    if (f >= total) invalid(`function index ${f} is out of range`);
    pinned[f] = 1;
  }
  const layout: Layout = {
    sections,
    paramCounts,
    importedFunctions,
    importedGlobals,
    hostCallFuel,
    functionTypes,
    definedGlobals,
    pinned,
    bodySizeAt: new Int32Array(defined),
    groupsAt: new Int32Array(defined),
    groupCount: new Int32Array(defined),
    localsEnd: new Int32Array(defined),
    bodyEnd: new Int32Array(defined),
    declaredLocals: new Int32Array(defined),
    codeCountEnd: 0,
  };
  if (!codeRange) {
    if (defined > 0) invalid('functions are declared but the code section is missing');
    return layout;
  }
  const c = new Reader(bytes, codeRange.contentStart, codeRange.end);
  if (c.u32() !== defined) invalid('the code section and the function section disagree on the number of functions');
  layout.codeCountEnd = c.pos;
  for (let f = 0; f < defined; f++) {
    layout.bodySizeAt[f] = c.pos;
    const size = c.u32();
    const bodyStart = c.pos;
    const bodyEnd = bodyStart + size;
    if (bodyEnd > codeRange.end) invalid(`the body of function ${importedFunctions + f} runs past the code section`);
    const b = new Reader(bytes, bodyStart, bodyEnd);
    const groups = b.u32();
    layout.groupsAt[f] = b.pos;
    layout.groupCount[f] = groups;
    let locals = 0;
    for (let g = 0; g < groups; g++) {
      locals += b.u32();
      strictValueType(b);
    }
    layout.declaredLocals[f] = Math.min(locals, 2 ** 31 - 1);
    layout.localsEnd[f] = b.pos;
    layout.bodyEnd[f] = bodyEnd;
    c.pos = bodyEnd;
  }
  if (c.pos !== codeRange.end) invalid('bytes after the last function body');
  return layout;
}

function readElementSegment(s: Reader, pins: number[]): void {
  const flags = s.u32();
  if (flags > 7) invalid(`element segment flags ${flags}`);
  const pin = (f: number) => pins.push(f);
  if (flags & 2 && !(flags & 1)) s.u32(); // explicit table index (flags 2, 6)
  if (!(flags & 1)) s.constExpr(pin); // active: offset
  if (flags & 4) {
    if (flags & 3) s.valType();
    const count = s.u32();
    for (let i = 0; i < count; i++) s.constExpr(pin);
  } else {
    if (flags & 3) {
      const kind = s.byte();
      if (kind !== 0) invalid(`element kind ${kind}`);
    }
    const count = s.u32();
    for (let i = 0; i < count; i++) pins.push(s.u32());
  }
}

/** Growable arrays of small integers, for per-point and per-call facts. */
class IntList {
  data = new Int32Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Int32Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
}

/**
 * What the first pass learns. A charge point is a function entry or a loop
 * header; each function's points, calls and bulk operations are contiguous
 * and in byte order.
 */
interface Measured {
  /** Per defined function: its first point, call and bulk operation (one past the last = the next function's first). */
  firstPoint: Int32Array;
  firstCall: Int32Array;
  firstBulk: Int32Array;
  /** Per point: byte offset where its charge goes, and its straight-line instruction count. */
  pointAt: IntList;
  pointCost: IntList;
  /** Per point: calls of any kind in its straight-line part (a loop with none is batched). */
  pointCalls: IntList;
  /** Per direct call: the point it belongs to and the callee's function index. */
  callPoint: IntList;
  callee: IntList;
  /** Per indirect call: the point it belongs to. */
  indirectPoint: IntList;
  /** Per bulk operation: its byte offset and what its length counts. */
  bulkAt: IntList;
  bulkKind: IntList;
  /** Functions referenced by `ref.func` in code. */
  refs: IntList;
}

let leb = 0;

/** Reads a u32 LEB at `p` into `leb`; returns the position after it. */
function readU32(bytes: Uint8Array, p: number, end: number): number {
  let result = 0;
  for (let i = 0, shift = 0; i < 5; i++, shift += 7) {
    if (p >= end) invalid(`unexpected end of a function body at byte ${p}`);
    const b = bytes[p++]!;
    result += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) {
      if (result > 0xffffffff) invalid(`u32 out of range at byte ${p}`);
      leb = result;
      return p;
    }
  }
  return invalid(`LEB128 too long at byte ${p}`);
}

/** Skips a LEB128 of at most `max` bytes. */
function skipLeb(bytes: Uint8Array, p: number, end: number, max: number): number {
  for (let i = 0; i < max; i++) {
    if (p >= end) invalid(`unexpected end of a function body at byte ${p}`);
    if ((bytes[p++]! & 0x80) === 0) return p;
  }
  return invalid(`LEB128 too long at byte ${p}`);
}

function skipBlockType(bytes: Uint8Array, p: number, end: number): number {
  if (p >= end) invalid(`unexpected end of a function body at byte ${p}`);
  const b = bytes[p]!;
  if (b === 0x40 || isValueType(b)) return p + 1;
  if (b >= 0x40 && b < 0x80) invalid(`block type 0x${b.toString(16)} at byte ${p} is not supported`);
  // A type index (multi-value), as a non-negative s33.
  return skipLeb(bytes, p, end, 5);
}

function skipMemarg(bytes: Uint8Array, p: number, end: number): number {
  const align = bytes[p]!;
  if (align < 0x40) p++;
  else {
    p = readU32(bytes, p, end);
    if (leb & 0x40) invalid(`a memory index at byte ${p} (multi-memory is not supported)`);
  }
  if (bytes[p]! < 0x80) return p + 1;
  return skipLeb(bytes, p, end, 5);
}

const BLOCK = 0;
const IF = 1;
const IF_ELSE = 2;
const LOOP = 3;

function unsupported(fn: number, what: string, at: number): never {
  throw new WasmgateError('INVALID_MODULE', `the fuel meter does not support ${what} (function ${fn}, byte ${at})`);
}

/** Pass 1: every function body instruction by instruction; iterative, so deep nesting cannot overflow the stack. */
function measure(bytes: Uint8Array, layout: Layout): Measured {
  const defined = layout.functionTypes.length;
  const totalFunctions = layout.importedFunctions + defined;
  const m: Measured = {
    firstPoint: new Int32Array(defined + 1),
    firstCall: new Int32Array(defined + 1),
    firstBulk: new Int32Array(defined + 1),
    pointAt: new IntList(),
    pointCost: new IntList(),
    pointCalls: new IntList(),
    callPoint: new IntList(),
    callee: new IntList(),
    indirectPoint: new IntList(),
    bulkAt: new IntList(),
    bulkKind: new IntList(),
    refs: new IntList(),
  };
  let savedOwner = new Int32Array(256);
  let frameKind = new Uint8Array(256);
  const cost = m.pointCost;
  const calls = m.pointCalls;

  for (let f = 0; f < defined; f++) {
    m.firstPoint[f] = m.pointAt.length;
    m.firstCall[f] = m.callPoint.length;
    m.firstBulk[f] = m.bulkAt.length;
    const end = layout.bodyEnd[f]!;
    let p = layout.localsEnd[f]!;
    let owner = m.pointAt.length;
    m.pointAt.push(p);
    cost.push(0);
    calls.push(0);
    let c = 0; // instructions of `owner` so far (flushed into cost when the owner changes)
    let depth = 0;

    body: for (;;) {
      if (p >= end) invalid(`the body of function ${layout.importedFunctions + f} ends inside a block`);
      const at = p;
      const op = bytes[p++]!;
      // Literal labels (the K_* values of wasm-code.ts) give V8 a jump table; meter-opcodes.test.ts
      // drives every opcode through this switch, so a renumbered table cannot go unnoticed.
      switch (OPCODE_KIND[op]) {
        case 0: // K_NONE
          c++;
          break;
        case 6: // K_U32
          c++;
          // Nearly every index fits one byte; the bound check at the loop's top covers it.
          if (bytes[p]! < 0x80) p++;
          else p = skipLeb(bytes, p, end, 5);
          break;
        case 10: // K_MEMARG
          c++;
          p = skipMemarg(bytes, p, end);
          break;
        case 11: // K_I32_CONST
          c++;
          if (bytes[p]! < 0x80) p++;
          else p = skipLeb(bytes, p, end, 5);
          break;
        case 12: // K_I64_CONST
          c++;
          p = skipLeb(bytes, p, end, 10);
          break;
        case 13: // K_F32_CONST
          c++;
          p += 4;
          break;
        case 14: // K_F64_CONST
          c++;
          p += 8;
          break;
        // K_BLOCK, K_IF, K_LOOP
        case 1:
        case 2:
        case 3: {
          c++;
          p = skipBlockType(bytes, p, end);
          if (depth === savedOwner.length) {
            const o = new Int32Array(depth * 2);
            o.set(savedOwner);
            savedOwner = o;
            const k = new Uint8Array(depth * 2);
            k.set(frameKind);
            frameKind = k;
          }
          savedOwner[depth] = owner;
          const kind = op === 0x03 ? LOOP : op === 0x04 ? IF : BLOCK;
          frameKind[depth++] = kind;
          if (kind === LOOP) {
            cost.data[owner] = c;
            owner = m.pointAt.length;
            m.pointAt.push(p);
            cost.push(0);
            calls.push(0);
            c = 0;
          }
          break;
        }
        case 4: // K_ELSE
          if (depth === 0 || frameKind[depth - 1] !== IF) invalid(`else outside an if at byte ${at}`);
          frameKind[depth - 1] = IF_ELSE;
          break;
        case 5: // K_END
          if (depth === 0) {
            if (p !== end) invalid(`code after the end of function ${layout.importedFunctions + f}`);
            cost.data[owner] = c;
            break body;
          }
          depth--;
          if (frameKind[depth] === LOOP) {
            cost.data[owner] = c;
            owner = savedOwner[depth]!;
            c = cost.data[owner]!;
          }
          break;
        // K_BR_TABLE
        case 7: {
          c++;
          p = readU32(bytes, p, end);
          const targets = leb;
          for (let i = 0; i <= targets; i++) p = skipLeb(bytes, p, end, 5);
          break;
        }
        case 8: // K_CALL
          c++;
          p = readU32(bytes, p, end);
          if (leb >= totalFunctions) invalid(`call to unknown function ${leb} at byte ${at}`);
          m.callPoint.push(owner);
          m.callee.push(leb);
          calls.data[owner]!++;
          break;
        case 9: // K_CALL_INDIRECT
          c++;
          p = skipLeb(bytes, p, end, 5);
          p = skipLeb(bytes, p, end, 5);
          m.indirectPoint.push(owner);
          calls.data[owner]!++;
          break;
        // K_SELECT_T
        case 15: {
          c++;
          p = readU32(bytes, p, end);
          const n = leb;
          for (let i = 0; i < n; i++) {
            if (p >= end || !isValueType(bytes[p]!)) invalid(`bad select type at byte ${p}`);
            p++;
          }
          break;
        }
        // K_REF_NULL
        case 16: {
          c++;
          const t = bytes[p++];
          if (t !== 0x70 && t !== 0x6f) unsupported(layout.importedFunctions + f, 'a typed ref.null', at);
          break;
        }
        case 17: // K_REF_FUNC
          c++;
          p = readU32(bytes, p, end);
          if (leb >= totalFunctions) invalid(`ref.func of unknown function ${leb} at byte ${at}`);
          m.refs.push(leb);
          break;
        // K_PREFIX_FC
        case 18: {
          c++;
          p = readU32(bytes, p, end);
          const sub = leb;
          if (sub > FC_LAST) unsupported(layout.importedFunctions + f, describeOpcode(op, sub), at);
          for (let i = FC_IMMEDIATES[sub]!; i > 0; i--) p = skipLeb(bytes, p, end, 5);
          const bulk = FC_BULK[sub]!;
          if (bulk !== BULK_NONE) {
            m.bulkAt.push(at);
            m.bulkKind.push(bulk);
          }
          break;
        }
        // K_PREFIX_FD
        case 19: {
          c++;
          p = readU32(bytes, p, end);
          const sub = leb;
          const kind = sub < 256 ? SIMD_KIND[sub]! : -1;
          if (kind === S_NONE) break;
          if (kind === S_MEMARG) p = skipMemarg(bytes, p, end);
          else if (kind === S_BYTES16) p += 16;
          else if (kind === S_LANE) p += 1;
          else if (kind === S_MEMARG_LANE) p = skipMemarg(bytes, p, end) + 1;
          else unsupported(layout.importedFunctions + f, describeOpcode(op, sub), at);
          break;
        }
        default:
          unsupported(layout.importedFunctions + f, describeOpcode(op), at);
      }
    }
  }
  m.firstPoint[defined] = m.pointAt.length;
  m.firstCall[defined] = m.callPoint.length;
  m.firstBulk[defined] = m.bulkAt.length;
  return m;
}

/** True when `point` (not a function entry) is a loop that calls nothing, so it counts in the shared local. */
function isBatched(m: Measured, point: number, entry: number): boolean {
  return point !== entry && m.pointCalls.data[point] === 0 && m.pointCost.data[point]! > 0;
}

function hasBatchedLoop(m: Measured, f: number): boolean {
  const entry = m.firstPoint[f]!;
  for (let p = entry + 1; p < m.firstPoint[f + 1]!; p++) if (isBatched(m, p, entry)) return true;
  return false;
}

/**
 * Which functions need no entry charge because every caller pays for them:
 * not pinned (exports, start, tables, ref.func), not in a strongly
 * connected component of the direct-call graph with a cycle, and small.
 * Returns the entry cost folded into each call (-1: charges itself). Tarjan's
 * algorithm, iterative, finishes callees' components before their callers',
 * so a callee's folded cost is known when its caller is decided.
 */
function foldable(layout: Layout, m: Measured): Float64Array {
  const n = layout.functionTypes.length;
  const imported = layout.importedFunctions;
  const folded = new Float64Array(n).fill(-1);
  const index = new Int32Array(n).fill(-1);
  const low = new Int32Array(n);
  const onStack = new Uint8Array(n);
  const selfCall = new Uint8Array(n);
  const sccStack = new Int32Array(n);
  const dfsNode = new Int32Array(n);
  const dfsEdge = new Int32Array(n);
  let sp = 0;
  let dp = 0;
  let counter = 0;

  const decide = (v: number) => {
    if (layout.pinned[imported + v] || selfCall[v]) return;
    const entry = m.firstPoint[v]!;
    let total = m.pointCost.data[entry]! + (hasBatchedLoop(m, v) ? BATCH : 0);
    for (let i = m.firstCall[v]!; i < m.firstCall[v + 1]!; i++) {
      if (m.callPoint.data[i] !== entry) continue;
      const callee = m.callee.data[i]! - imported;
      if (callee >= 0 && folded[callee]! >= 0) total += folded[callee]!;
    }
    if (total <= FOLD_CAP) folded[v] = total;
  };

  for (let root = 0; root < n; root++) {
    if (index[root] !== -1) continue;
    index[root] = low[root] = counter++;
    sccStack[sp++] = root;
    onStack[root] = 1;
    dfsNode[dp] = root;
    dfsEdge[dp++] = m.firstCall[root]!;
    while (dp > 0) {
      const v = dfsNode[dp - 1]!;
      const e = dfsEdge[dp - 1]!;
      if (e < m.firstCall[v + 1]!) {
        dfsEdge[dp - 1] = e + 1;
        const w = m.callee.data[e]! - imported;
        if (w < 0) continue;
        if (w === v) selfCall[v] = 1;
        if (index[w] === -1) {
          index[w] = low[w] = counter++;
          sccStack[sp++] = w;
          onStack[w] = 1;
          dfsNode[dp] = w;
          dfsEdge[dp++] = m.firstCall[w]!;
        } else if (onStack[w] && index[w]! < low[v]!) {
          low[v] = index[w]!;
        }
        continue;
      }
      dp--;
      if (dp > 0) {
        const u = dfsNode[dp - 1]!;
        if (low[v]! < low[u]!) low[u] = low[v]!;
      }
      if (low[v] !== index[v]) continue;
      const top = sccStack[sp - 1]!;
      if (top === v) {
        sp--;
        onStack[v] = 0;
        decide(v);
      } else {
        // A component of two or more functions is a call cycle: all of them charge themselves.
        let w: number;
        do {
          w = sccStack[--sp]!;
          onStack[w] = 0;
        } while (w !== v);
      }
    }
  }
  return folded;
}

/**
 * Adds the cost of a host call to the straight-line cost of every point
 * that calls an imported function: directly, or through a table when any
 * import can be reached that way (named by an element segment or `ref.func`). So a
 * loop of host calls pays for the host's work, not only for the guest's
 * few instructions around each call.
 */
function chargeHostCalls(layout: Layout, m: Measured): void {
  const imported = layout.importedFunctions;
  for (let i = 0; i < m.callPoint.length; i++) {
    const callee = m.callee.data[i]!;
    if (callee < imported) m.pointCost.data[m.callPoint.data[i]!]! += layout.hostCallFuel[callee]!;
  }
  // An indirect call may reach any import in a table: it pays the dearest.
  let indirect = 0;
  for (let f = 0; f < imported; f++) {
    if (layout.pinned[f] === 1) indirect = Math.max(indirect, layout.hostCallFuel[f]!);
  }
  if (indirect === 0) return;
  for (let i = 0; i < m.indirectPoint.length; i++) m.pointCost.data[m.indirectPoint.data[i]!]! += indirect;
}

/** The Extism kernel's one-word accessors, which copy at most 8 bytes and allocate nothing. */
const CHEAP_HOST_CALLS: ReadonlySet<string> = new Set([
  `${EXTISM_ENV}.load_u8`,
  `${EXTISM_ENV}.load_u64`,
  `${EXTISM_ENV}.store_u8`,
  `${EXTISM_ENV}.store_u64`,
  `${EXTISM_ENV}.input_load_u8`,
  `${EXTISM_ENV}.input_load_u64`,
  `${EXTISM_ENV}.input_length`,
  `${EXTISM_ENV}.input_offset`,
  `${EXTISM_ENV}.length`,
  `${EXTISM_ENV}.length_unsafe`,
]);

function hostCallCost(module: string, field: string): number {
  return CHEAP_HOST_CALLS.has(`${module}.${field}`) ? CHEAP_HOST_CALL_FUEL : HOST_CALL_FUEL;
}

/** A byte buffer that grows. */
class Writer {
  buf: Uint8Array<ArrayBuffer>;
  len = 0;
  constructor(capacity: number) {
    this.buf = new Uint8Array(capacity);
  }
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    if (this.len === this.buf.length) this.ensure(1);
    this.buf[this.len++] = b;
  }
  copy(src: Uint8Array, from: number, to: number): void {
    const n = to - from;
    this.ensure(n);
    // Most spans between two charges are a few bytes: a loop beats allocating a subarray for them.
    if (n < 64) {
      const buf = this.buf;
      let at = this.len;
      for (let i = from; i < to; i++) buf[at++] = src[i]!;
    } else {
      this.buf.set(src.subarray(from, to), this.len);
    }
    this.len += n;
  }
  uleb(n: number): void {
    do {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (n !== 0) b |= 0x80;
      this.byte(b);
    } while (n !== 0);
  }
  /** A non-negative integer as a signed LEB128 (an i64.const immediate). */
  sleb(n: number): void {
    for (;;) {
      const b = n % 128;
      n = Math.floor(n / 128);
      if (n === 0 && (b & 0x40) === 0) {
        this.byte(b);
        return;
      }
      this.byte(b | 0x80);
    }
  }
  /** Reserves room for a u32 LEB written later by `patchSize`. */
  reserveSize(): number {
    this.ensure(5);
    this.len += 5;
    return this.len - 5;
  }
  /** Writes the size of what follows the reserved slot, minimally encoded, and closes the gap. */
  patchSize(at: number): void {
    const size = this.len - at - 5;
    let width = 1;
    while (size >= 128 ** width) width++;
    this.buf.copyWithin(at + width, at + 5, this.len);
    this.len -= 5 - width;
    let n = size;
    for (let i = 0; i < width; i++) {
      let b = n % 128;
      n = Math.floor(n / 128);
      if (i < width - 1) b |= 0x80;
      this.buf[at + i] = b;
    }
  }
}

/** Charge sequences; each leaves the operand stack as it found it, so they fit anywhere, even in unreachable code. */
class Charges {
  constructor(
    readonly w: Writer,
    readonly fuel: number,
  ) {}
  /** fuel' = fuel - (amount on the stack); trap when fuel' < 0, leaving the negative value for the host to see. */
  #payFromStack(tmp: number): void {
    const w = this.w;
    w.byte(0x7d); // i64.sub
    w.byte(0x22); // local.tee tmp
    w.uleb(tmp);
    w.byte(0x24); // global.set fuel
    w.uleb(this.fuel);
    w.byte(0x20); // local.get tmp
    w.uleb(tmp);
    w.byte(0x42); // i64.const 0
    w.byte(0x00);
    w.byte(0x53); // i64.lt_s
    w.byte(0x04); // if
    w.byte(0x40);
    w.byte(0x00); // unreachable
    w.byte(0x0b);
  }
  fixed(tmp: number, amount: number): void {
    const w = this.w;
    w.byte(0x23); // global.get fuel
    w.uleb(this.fuel);
    w.byte(0x42); // i64.const amount
    w.sleb(amount);
    this.#payFromStack(tmp);
  }
  /** acc += amount; once acc reaches BATCH, pay it and start again. */
  batched(tmp: number, acc: number, amount: number): void {
    const w = this.w;
    w.byte(0x20); // local.get acc
    w.uleb(acc);
    w.byte(0x42); // i64.const amount
    w.sleb(amount);
    w.byte(0x7c); // i64.add
    w.byte(0x22); // local.tee acc
    w.uleb(acc);
    w.byte(0x42); // i64.const BATCH
    w.sleb(BATCH);
    w.byte(0x5a); // i64.ge_u
    w.byte(0x04); // if
    w.byte(0x40);
    w.byte(0x23); // global.get fuel
    w.uleb(this.fuel);
    w.byte(0x20); // local.get acc
    w.uleb(acc);
    this.#payFromStack(tmp);
    w.byte(0x42); // i64.const 0
    w.byte(0x00);
    w.byte(0x21); // local.set acc
    w.uleb(acc);
    w.byte(0x0b);
  }
  /** Before a bulk operation: its i32 length is on top of the stack. */
  bulk(tmp: number, len: number, kind: number): void {
    const w = this.w;
    w.byte(0x22); // local.tee len
    w.uleb(len);
    w.byte(0x23); // global.get fuel
    w.uleb(this.fuel);
    w.byte(0x20); // local.get len
    w.uleb(len);
    w.byte(0xad); // i64.extend_i32_u
    if (kind === BULK_BYTES) {
      w.byte(0x42); // i64.const shift
      w.byte(BULK_BYTES_SHIFT);
      w.byte(0x88); // i64.shr_u
    }
    this.#payFromStack(tmp);
  }
}

function tooLarge(layout: Layout, f: number): never {
  throw new WasmgateError(
    'MODULE_LIMIT_EXCEEDED',
    `function ${layout.importedFunctions + f} is over V8's ${V8_MAX_BODY_BYTES}-byte limit once metered`,
  );
}

/** Pass 2: one function body, with its charges spliced in and its scratch locals declared. */
function emitBody(
  bytes: Uint8Array,
  layout: Layout,
  m: Measured,
  folded: Float64Array,
  amount: Float64Array,
  f: number,
  charges: Charges,
): void {
  const w = charges.w;
  const entry = m.firstPoint[f]!;
  const lastPoint = m.firstPoint[f + 1]!;
  const bulkFrom = m.firstBulk[f]!;
  const bulkTo = m.firstBulk[f + 1]!;
  const batched = hasBatchedLoop(m, f);
  const entryAmount = folded[f]! >= 0 ? 0 : amount[entry]! + (batched ? BATCH : 0);
  let loopCharges = false;
  for (let p = entry + 1; p < lastPoint && !loopCharges; p++) loopCharges = amount[p]! > 0;
  if (entryAmount === 0 && !loopCharges && bulkFrom === bulkTo) {
    w.copy(bytes, layout.bodySizeAt[f]!, layout.bodyEnd[f]!);
    return;
  }

  const base = layout.paramCounts[layout.functionTypes[f]!]! + layout.declaredLocals[f]!;
  const tmp = base;
  const acc = batched ? base + 1 : -1;
  const len = bulkFrom < bulkTo ? base + (batched ? 2 : 1) : -1;
  if (Math.max(tmp, acc, len) >= V8_MAX_LOCALS) {
    throw new WasmgateError(
      'MODULE_LIMIT_EXCEEDED',
      `function ${layout.importedFunctions + f} has too many locals to add the fuel meter's`,
    );
  }

  const sizeAt = w.reserveSize();
  w.uleb(layout.groupCount[f]! + (len >= 0 ? 2 : 1));
  w.copy(bytes, layout.groupsAt[f]!, layout.localsEnd[f]!);
  w.uleb(batched ? 2 : 1);
  w.byte(0x7e);
  if (len >= 0) {
    w.byte(1);
    w.byte(0x7f);
  }
  let cursor = layout.localsEnd[f]!;
  if (entryAmount > 0) charges.fixed(tmp, entryAmount);
  let b = bulkFrom;
  for (let p = entry + 1; p <= lastPoint; p++) {
    const at = p < lastPoint ? m.pointAt.data[p]! : layout.bodyEnd[f]!;
    // Bulk operations come before the loop header at `at` (offsets of distinct instructions never tie).
    for (; b < bulkTo && m.bulkAt.data[b]! < at; b++) {
      w.copy(bytes, cursor, m.bulkAt.data[b]!);
      cursor = m.bulkAt.data[b]!;
      charges.bulk(tmp, len, m.bulkKind.data[b]!);
    }
    if (p === lastPoint) break;
    const pay = amount[p]!;
    if (pay === 0) continue;
    w.copy(bytes, cursor, at);
    cursor = at;
    if (isBatched(m, p, entry)) charges.batched(tmp, acc, pay);
    else charges.fixed(tmp, pay);
    // Checked as it grows, so a body of nothing but loops cannot make the writer grow tenfold first.
    if (w.len - sizeAt > V8_MAX_BODY_BYTES) tooLarge(layout, f);
  }
  w.copy(bytes, cursor, layout.bodyEnd[f]!);
  if (w.len - sizeAt - 5 > V8_MAX_BODY_BYTES) tooLarge(layout, f);
  w.patchSize(sizeAt);
}

export function instrumentFuel(bytes: Uint8Array, initialFuel: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(initialFuel) || initialFuel < 0)
    throw new RangeError('the initial fuel must be a non-negative integer');
  const layout = readLayout(bytes);
  const m = measure(bytes, layout);
  for (let i = 0; i < m.refs.length; i++) layout.pinned[m.refs.data[i]!] = 1;
  chargeHostCalls(layout, m);
  const folded = foldable(layout, m);

  // What each charge point pays: its own instructions and those of the folded functions it calls.
  const amount = new Float64Array(m.pointAt.length);
  for (let p = 0; p < amount.length; p++) amount[p] = m.pointCost.data[p]!;
  for (let i = 0; i < m.callPoint.length; i++) {
    const callee = m.callee.data[i]! - layout.importedFunctions;
    if (callee >= 0 && folded[callee]! >= 0) amount[m.callPoint.data[i]!]! += folded[callee]!;
  }

  const fuelGlobal = layout.importedGlobals + layout.definedGlobals;
  const w = new Writer(Math.ceil(bytes.length * 1.25) + 256);
  const charges = new Charges(w, fuelGlobal);
  const name = new TextEncoder().encode(FUEL_EXPORT);
  const writeGlobal = () => {
    w.byte(0x7e); // i64
    w.byte(0x01); // mutable
    w.byte(0x42); // i64.const initialFuel, at most i64's maximum
    let n = BigInt(initialFuel) < 2n ** 63n ? BigInt(initialFuel) : 2n ** 63n - 1n;
    for (;;) {
      const b = Number(n & 0x7fn);
      n >>= 7n;
      if (n === 0n && (b & 0x40) === 0) {
        w.byte(b);
        break;
      }
      w.byte(b | 0x80);
    }
    w.byte(0x0b);
  };
  const writeExport = () => {
    w.uleb(name.length);
    w.copy(name, 0, name.length);
    w.byte(0x03);
    w.uleb(fuelGlobal);
  };
  const hasGlobals = layout.sections.some((s) => s.id === GLOBAL_SECTION);
  const hasExports = layout.sections.some((s) => s.id === EXPORT_SECTION);
  let globalsDone = hasGlobals;
  let exportsDone = hasExports;
  const insertMissing = (beforeOrder: number) => {
    if (!globalsDone && beforeOrder > SECTION_ORDER[GLOBAL_SECTION]!) {
      globalsDone = true;
      w.byte(GLOBAL_SECTION);
      const at = w.reserveSize();
      w.uleb(1);
      writeGlobal();
      w.patchSize(at);
    }
    if (!exportsDone && beforeOrder > SECTION_ORDER[EXPORT_SECTION]!) {
      exportsDone = true;
      w.byte(EXPORT_SECTION);
      const at = w.reserveSize();
      w.uleb(1);
      writeExport();
      w.patchSize(at);
    }
  };

  w.copy(bytes, 0, 8);
  for (const s of layout.sections) {
    if (s.id !== 0) insertMissing(SECTION_ORDER[s.id]!);
    if (s.id === GLOBAL_SECTION || s.id === EXPORT_SECTION) {
      const r = new Reader(bytes, s.contentStart, s.end);
      const count = r.u32();
      w.byte(s.id);
      const at = w.reserveSize();
      w.uleb(count + 1);
      w.copy(bytes, r.pos, s.end);
      if (s.id === GLOBAL_SECTION) writeGlobal();
      else writeExport();
      w.patchSize(at);
    } else if (s.id === CODE_SECTION) {
      w.byte(CODE_SECTION);
      const at = w.reserveSize();
      w.copy(bytes, s.contentStart, layout.codeCountEnd);
      for (let f = 0; f < layout.functionTypes.length; f++) emitBody(bytes, layout, m, folded, amount, f, charges);
      w.patchSize(at);
    } else {
      w.copy(bytes, s.start, s.end);
    }
  }
  insertMissing(Number.POSITIVE_INFINITY);
  return w.buf.slice(0, w.len);
}
