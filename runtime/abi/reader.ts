/**
 * The plugin-output decoder: strict msgpack into plain values, in one pass.
 * Plugin output is hostile input, so the reader accepts exactly one value
 * and nothing after it; refuses extension types and the never-used byte
 * 0xc1; takes only string map keys, each once; bounds nesting; and checks
 * every length against the bytes that are left before it allocates.
 *
 * Maps become objects with fast properties and no prototype (like the
 * gateway's header maps), so a key named `__proto__` is only a key. Binaries
 * become views into the output, which the caller owns. Integers beyond 2^53
 * lose precision (as JavaScript numbers do); the schema decides what is
 * allowed where.
 */
import { newMulti } from './records.ts';

/** Deeper nesting than any result record needs; a bomb of nested arrays stops here. */
export const MAX_DEPTH = 32;

export class MsgpackError extends Error {}

const utf8 = new TextDecoder('utf-8', { fatal: false });

// `var`, not `let`: module-level `let`s are checked on every access, and the
// reader reads these once per byte (a 52-byte result: 440 ns with `let`, 360 with `var`).
var src: Uint8Array = new Uint8Array(0);
var pos = 0;

function fail(message: string): never {
  throw new MsgpackError(`${message} at byte ${pos}`);
}

function need(n: number): void {
  if (pos + n > src.length) fail('the data ends early');
}

function u8(): number {
  need(1);
  return src[pos++]!;
}

function u16(): number {
  need(2);
  const v = (src[pos]! << 8) | src[pos + 1]!;
  pos += 2;
  return v;
}

function u32(): number {
  need(4);
  const v = ((src[pos]! << 24) >>> 0) + ((src[pos + 1]! << 16) | (src[pos + 2]! << 8) | src[pos + 3]!);
  pos += 4;
  return v;
}

/** Floats and 64-bit integers are rare in results: a DataView only for them. */
function wide(n: number): DataView {
  need(n);
  const v = new DataView(src.buffer, src.byteOffset + pos, n);
  pos += n;
  return v;
}

/**
 * Short ASCII strings (map keys, header names, methods) repeat from call to
 * call: they are kept by their bytes in a small table, so a known one costs
 * a hash and a compare rather than a new string. Null when the bytes are
 * not all ASCII. Shared with the common-result decoder (common-result.ts).
 */
export const SHORT_ASCII = 16;
const SLOTS = 4096;
const slotBytes: (Uint8Array | undefined)[] = new Array(SLOTS);
const slotStrings: string[] = new Array(SLOTS);

function shortAscii(b: Uint8Array, start: number, n: number): string | null {
  let h = n;
  for (let i = start; i < start + n; i++) {
    const c = b[i]!;
    if (c >= 0x80) return null;
    h = (Math.imul(h, 31) + c) | 0;
  }
  return cachedAscii(b, start, n, h);
}

/** The string of ASCII bytes whose hash (as shortAscii computes it) the caller already has. */
export function cachedAscii(b: Uint8Array, start: number, n: number, h: number): string {
  const slot = h & (SLOTS - 1);
  const known = slotBytes[slot];
  if (known !== undefined && known.length === n) {
    let i = 0;
    while (i < n && known[i] === b[start + i]) i++;
    if (i === n) return slotStrings[slot]!;
  }
  const bytes = b.slice(start, start + n);
  const s = String.fromCharCode.apply(null, bytes as unknown as number[]);
  slotBytes[slot] = bytes;
  slotStrings[slot] = s;
  return s;
}

function str(n: number): string {
  need(n);
  const start = pos;
  pos += n;
  if (n <= SHORT_ASCII) {
    const s = shortAscii(src, start, n);
    if (s !== null) return s;
  }
  return utf8.decode(src.subarray(start, pos));
}

function bin(n: number): Uint8Array {
  need(n);
  const b = src.subarray(pos, pos + n);
  pos += n;
  return b;
}

function array(n: number, depth: number): unknown[] {
  if (depth > MAX_DEPTH) fail(`values are nested deeper than ${MAX_DEPTH}`);
  // Every element takes at least one byte: a count beyond what is left is a lie.
  if (n > src.length - pos) fail(`an array of ${n} items does not fit`);
  const out = new Array<unknown>(n);
  for (let i = 0; i < n; i++) out[i] = value(depth);
  return out;
}

function map(n: number, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) fail(`values are nested deeper than ${MAX_DEPTH}`);
  if (n * 2 > src.length - pos) fail(`a map of ${n} entries does not fit`);
  const out = newMulti() as unknown as Record<string, unknown>;
  for (let i = 0; i < n; i++) {
    const at = pos;
    const key = value(depth);
    if (typeof key !== 'string') {
      pos = at;
      fail('a map key is not a string');
    }
    if (key in out) {
      pos = at;
      fail(`the map key "${key.slice(0, 64)}" appears twice`);
    }
    out[key] = value(depth);
  }
  return out;
}

function value(parentDepth: number): unknown {
  const depth = parentDepth + 1;
  const b = u8();
  if (b <= 0x7f) return b;
  if (b >= 0xe0) return b - 0x100;
  if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
  if (b <= 0x9f) return b <= 0x8f ? map(b & 0x0f, depth) : array(b & 0x0f, depth);
  switch (b) {
    case 0xc0:
      return null;
    case 0xc2:
      return false;
    case 0xc3:
      return true;
    case 0xc4:
      return bin(u8());
    case 0xc5:
      return bin(u16());
    case 0xc6:
      return bin(u32());
    case 0xca:
      return wide(4).getFloat32(0);
    case 0xcb:
      return wide(8).getFloat64(0);
    case 0xcc:
      return u8();
    case 0xcd:
      return u16();
    case 0xce:
      return u32();
    case 0xcf:
      return Number(wide(8).getBigUint64(0));
    case 0xd0:
      return (u8() << 24) >> 24;
    case 0xd1:
      return (u16() << 16) >> 16;
    case 0xd2:
      return u32() | 0;
    case 0xd3:
      return Number(wide(8).getBigInt64(0));
    case 0xd9:
      return str(u8());
    case 0xda:
      return str(u16());
    case 0xdb:
      return str(u32());
    case 0xdc:
    case 0xdd:
    case 0xde:
    case 0xdf: {
      const n = b === 0xdc || b === 0xde ? u16() : u32();
      return b <= 0xdd ? array(n, depth) : map(n, depth);
    }
  }
  pos--;
  // 0xc1 is never used; 0xc7–0xc9 and 0xd4–0xd8 are extension types.
  return fail(b === 0xc1 ? 'the byte 0xc1 is not msgpack' : `extension types (0x${b.toString(16)}) are not allowed`);
}

/** The one msgpack value `bytes` holds; throws MsgpackError naming the byte where it went wrong. */
export function readMsgpack(bytes: Uint8Array): unknown {
  src = bytes;
  pos = 0;
  try {
    const v = value(0);
    if (pos !== bytes.length) fail(`${bytes.length - pos} bytes follow the value`);
    return v;
  } finally {
    // Not kept alive by the reader between calls.
    src = EMPTY;
  }
}

const EMPTY = new Uint8Array(0);
