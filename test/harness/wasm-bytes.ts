/**
 * WebAssembly modules assembled byte by byte, for the meter's tests: shapes
 * binaryen's text parser would normalise (unreachable code, every opcode on
 * its own, hostile framing) and generated programs whose cost is known.
 */

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  let v = BigInt(n);
  for (;;) {
    const b = Number(v & 0x7fn);
    v >>= 7n;
    if ((v === 0n && (b & 0x40) === 0) || (v === -1n && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

export function name(s: string): number[] {
  const b = [...Buffer.from(s)];
  return [...uleb(b.length), ...b];
}

export function vec(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

export function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export const FUNCREF = 0x70;
export const EXTERNREF = 0x6f;

export interface FuncType {
  params: number[];
  results: number[];
}

export interface Body {
  /** Groups of locals: [count, type]. */
  locals?: [number, number][];
  code: number[];
}

export interface ModuleSpec {
  types: FuncType[];
  /** Raw import entries (module, name, kind, description). */
  imports?: number[][];
  /** Type index of each defined function. */
  functions: number[];
  tables?: number[][];
  /** Memory limits, e.g. [0x00, 1]. */
  memory?: number[] | null;
  tags?: number[][];
  /** Raw global entries (type, mutability, init expression). */
  globals?: number[][];
  /** Raw export entries. */
  exports?: number[][];
  start?: number;
  elems?: number[][];
  dataCount?: number;
  bodies: Body[];
  data?: number[][];
}

export function exportFunc(n: string, index: number): number[] {
  return [...name(n), 0x00, ...uleb(index)];
}

export function exportMemory(n = 'memory'): number[] {
  return [...name(n), 0x02, 0];
}

export function encodeBody(b: Body): number[] {
  const locals = vec((b.locals ?? []).map(([count, type]) => [...uleb(count), type]));
  const body = [...locals, ...b.code];
  return [...uleb(body.length), ...body];
}

export function buildModule(m: ModuleSpec): Uint8Array<ArrayBuffer> {
  const parts: number[][] = [[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]];
  const types = m.types.map((t) => [0x60, ...vec(t.params.map((p) => [p])), ...vec(t.results.map((r) => [r]))]);
  parts.push(section(1, vec(types)));
  if (m.imports?.length) parts.push(section(2, vec(m.imports)));
  parts.push(section(3, vec(m.functions.map((t) => uleb(t)))));
  if (m.tables?.length) parts.push(section(4, vec(m.tables)));
  if (m.memory !== null) parts.push(section(5, vec([m.memory ?? [0x00, 1]])));
  if (m.tags?.length) parts.push(section(13, vec(m.tags)));
  if (m.globals?.length) parts.push(section(6, vec(m.globals)));
  if (m.exports?.length) parts.push(section(7, vec(m.exports)));
  if (m.start !== undefined) parts.push(section(8, uleb(m.start)));
  if (m.elems?.length) parts.push(section(9, vec(m.elems)));
  if (m.dataCount !== undefined) parts.push(section(12, uleb(m.dataCount)));
  parts.push(section(10, vec(m.bodies.map(encodeBody))));
  if (m.data?.length) parts.push(section(11, vec(m.data)));
  // Loops, not spreads into push: generated bodies run to millions of bytes.
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
