// Fast scans over msgpack bytes, by address.
//
// The incremental runtime keeps every managed value (object, string, array)
// a function touches on its shadow stack, and a function that does so gets a
// prologue that stops the optimiser from inlining it: the Reader's
// one-call-per-byte style cost ~100 ns per value skipped. These functions
// take and return plain integers — a buffer's base address, an offset and
// the buffer's length — so they compile to tight loops.
//
// They accept exactly what the Reader accepts and give up (return -1) on
// anything else: truncation, an unknown type, nesting past the Reader's
// limit, a 32-bit count longer than its input, or a shape they do not
// handle. The caller then runs the Reader's careful path on the same bytes,
// which words the error, so errors and their messages stay the Reader's.

// Off only in the kit's own tests (test/fixtures/plugins/kit-paths), which
// run every input both ways and require the same answers.
let fastPaths: bool = true;

/** Whether the scans may answer (false: every decision goes to the Reader). */
export function scans(): bool {
  return fastPaths;
}

/** For tests: turns the scans off (or back on). */
export function useScans(on: bool): void {
  fastPaths = on;
}

/** Deepest nesting the Reader accepts: a value at depth 65 is an error. */
export const MAX_DEPTH: i32 = 64;

/** Remaining element counts of the containers skipValue is inside (one per level). */
const LEVELS: usize = memory.data((MAX_DEPTH + 2) * 4);

/** Length or count the last successful strAt / binAt / mapAt / arrayAt read. */
export let scanned: i32 = 0;

function be16(p: usize): u32 {
  return <u32>bswap<u16>(load<u16>(p));
}

function be32(p: usize): u32 {
  return bswap<u32>(load<u32>(p));
}

// What each first byte of a msgpack value is, for skipValue: a class in
// the low nibble and, for fixed-size scalars, the payload size in the high
// nibble. Built once, when the module starts.
const FIXED = 0; // a scalar: (tag >> 4) bytes follow
const FIXSTR = 1; // str with its length in the byte
const LEN8 = 2; // str8 / bin8: a 1-byte length, then the bytes
const LEN16 = 3;
const LEN32 = 4;
const FIXARRAY = 5;
const FIXMAP = 6;
const ARRAY16 = 7;
const ARRAY32 = 8;
const MAP16 = 9;
const MAP32 = 10;
const INVALID = 15; // 0xc1 and the ext types, which the Reader refuses

const TAGS: usize = memory.data(256);

function tagOf(b: u32): u32 {
  if (b <= 0x7f || b >= 0xe0) return FIXED;
  if (b <= 0x8f) return FIXMAP;
  if (b <= 0x9f) return FIXARRAY;
  if (b <= 0xbf) return FIXSTR;
  switch (b) {
    case 0xc0:
    case 0xc2:
    case 0xc3:
      return FIXED;
    case 0xcc:
    case 0xd0:
      return FIXED | (1 << 4);
    case 0xcd:
    case 0xd1:
      return FIXED | (2 << 4);
    case 0xca:
    case 0xce:
    case 0xd2:
      return FIXED | (4 << 4);
    case 0xcb:
    case 0xcf:
    case 0xd3:
      return FIXED | (8 << 4);
    case 0xc4:
    case 0xd9:
      return LEN8;
    case 0xc5:
    case 0xda:
      return LEN16;
    case 0xc6:
    case 0xdb:
      return LEN32;
    case 0xdc:
      return ARRAY16;
    case 0xdd:
      return ARRAY32;
    case 0xde:
      return MAP16;
    case 0xdf:
      return MAP32;
  }
  return INVALID;
}

for (let b: u32 = 0; b < 256; b++) store<u8>(TAGS + <usize>b, <u8>tagOf(b));

/**
 * The offset after the one value at `pos`, or -1. Values nested deeper than
 * `maxLevel` levels below this one are refused (the Reader's depth rule:
 * `skip(depth)` scans with `maxLevel = MAX_DEPTH - depth`).
 */
export function skipValue(base: usize, pos: i32, len: i32, maxLevel: i32): i32 {
  if (maxLevel < 0 || pos < 0 || pos > len) return -1;
  let p = base + <usize>pos;
  const end = base + <usize>len;
  let level: i32 = 0;
  let todo: u32 = 1; // values still to step over at this level
  while (true) {
    if (todo == 0) {
      if (level == 0) return <i32>(p - base);
      level--;
      todo = load<u32>(LEVELS + ((<usize>level) << 2));
      continue;
    }
    todo--;
    if (p >= end) return -1;
    const b = <u32>load<u8>(p);
    p++;
    const tag = <u32>load<u8>(TAGS + <usize>b);
    let payload: usize = 0; // bytes to step over
    let children: u32 = 0; // values to step over one level down
    switch (tag & 15) {
      case FIXED:
        payload = <usize>(tag >> 4);
        break;
      case FIXSTR:
        payload = <usize>(b & 0x1f);
        break;
      case LEN8:
        if (end - p < 1) return -1;
        payload = <usize>load<u8>(p);
        p += 1;
        break;
      case LEN16:
        if (end - p < 2) return -1;
        payload = <usize>be16(p);
        p += 2;
        break;
      case LEN32:
        if (end - p < 4) return -1;
        payload = <usize>be32(p);
        p += 4;
        break;
      case FIXARRAY:
        children = b & 0x0f;
        break;
      case FIXMAP:
        children = (b & 0x0f) << 1;
        break;
      case ARRAY16:
      case MAP16:
        if (end - p < 2) return -1;
        children = be16(p) << (tag == MAP16 ? 1 : 0);
        p += 2;
        break;
      case ARRAY32:
      case MAP32:
        if (end - p < 4) return -1;
        children = be32(p);
        p += 4;
        // Every element takes at least one byte (the Reader's checkedCount).
        if (<usize>children > end - p) return -1;
        if (tag == MAP32) children <<= 1;
        break;
      default:
        return -1;
    }
    if (payload > end - p) return -1;
    p += payload;
    if (children > 0) {
      if (level >= maxLevel) return -1; // its elements would be too deep
      store<u32>(LEVELS + ((<usize>level) << 2), todo);
      level++;
      todo = children;
    }
  }
}

/** A complete str at `pos`: the offset of its bytes (their length in `scanned`), or -1. */
export function strAt(base: usize, pos: i32, len: i32): i32 {
  if (pos < 0 || pos >= len) return -1;
  const p = base + <usize>pos;
  const b = <u32>load<u8>(p);
  let n: u32;
  let at = pos + 1;
  if ((b & 0xe0) == 0xa0) n = b & 0x1f;
  else if (b == 0xd9) {
    if (len - at < 1) return -1;
    n = <u32>load<u8>(p, 1);
    at += 1;
  } else if (b == 0xda) {
    if (len - at < 2) return -1;
    n = be16(p + 1);
    at += 2;
  } else if (b == 0xdb) {
    if (len - at < 4) return -1;
    n = be32(p + 1);
    at += 4;
  } else return -1;
  if (<u64>n > <u64>(len - at)) return -1;
  scanned = <i32>n;
  return at;
}

/** A complete bin or str at `pos` (what Reader.readBytes accepts): the offset of its bytes, or -1. */
export function bytesAt(base: usize, pos: i32, len: i32): i32 {
  if (pos < 0 || pos >= len) return -1;
  const p = base + <usize>pos;
  const b = <u32>load<u8>(p);
  let n: u32;
  let at = pos + 1;
  if (b == 0xc4) {
    if (len - at < 1) return -1;
    n = <u32>load<u8>(p, 1);
    at += 1;
  } else if (b == 0xc5) {
    if (len - at < 2) return -1;
    n = be16(p + 1);
    at += 2;
  } else if (b == 0xc6) {
    if (len - at < 4) return -1;
    n = be32(p + 1);
    at += 4;
  } else return strAt(base, pos, len);
  if (<u64>n > <u64>(len - at)) return -1;
  scanned = <i32>n;
  return at;
}

/** The integer the last successful intAt read. */
export let scannedInt: i64 = 0;

/** An integer at `pos` (any msgpack int form; floats are left to the Reader): the offset after it, or -1. */
export function intAt(base: usize, pos: i32, len: i32): i32 {
  if (pos < 0 || pos >= len) return -1;
  const p = base + <usize>pos;
  const b = <u32>load<u8>(p);
  if (b <= 0x7f || b >= 0xe0) {
    scannedInt = <i64>(<i8>b);
    if (b <= 0x7f) scannedInt = <i64>b;
    return pos + 1;
  }
  let size = 0;
  if (b == 0xcc || b == 0xd0) size = 1;
  else if (b == 0xcd || b == 0xd1) size = 2;
  else if (b == 0xce || b == 0xd2) size = 4;
  else if (b == 0xcf || b == 0xd3) size = 8;
  else return -1;
  if (len - pos - 1 < size) return -1;
  const signed = b >= 0xd0;
  if (size == 1) scannedInt = signed ? <i64>load<i8>(p, 1) : <i64>load<u8>(p, 1);
  else if (size == 2) {
    const v = bswap<u16>(load<u16>(p, 1));
    scannedInt = signed ? <i64>(<i16>v) : <i64>v;
  } else if (size == 4) {
    const v = bswap<u32>(load<u32>(p, 1));
    scannedInt = signed ? <i64>(<i32>v) : <i64>v;
  } else scannedInt = <i64>bswap<u64>(load<u64>(p, 1));
  return pos + 1 + size;
}

/** The float the last numberAt that found one read. */
export let scannedFloat: f64 = 0;

export const NOT_NUMBER: i32 = 0;
export const INTEGER: i32 = 1;
export const FLOAT: i32 = 2;

/**
 * What the value at `pos` is as a number: INTEGER (in scannedInt), FLOAT
 * (in scannedFloat), NOT_NUMBER, or UNSURE (a uint64, which the Reader
 * keeps unsigned, or a value cut short).
 */
export function numberAt(base: usize, pos: i32, len: i32): i32 {
  if (pos < 0 || pos >= len) return UNSURE;
  const p = base + <usize>pos;
  const b = <u32>load<u8>(p);
  if (b == 0xcf) return UNSURE;
  if (b == 0xcb) {
    if (len - pos < 9) return UNSURE;
    scannedFloat = reinterpret<f64>(bswap<u64>(load<u64>(p, 1)));
    return FLOAT;
  }
  if (b == 0xca) {
    if (len - pos < 5) return UNSURE;
    scannedFloat = <f64>reinterpret<f32>(bswap<u32>(load<u32>(p, 1)));
    return FLOAT;
  }
  if (b <= 0x7f || b >= 0xe0 || (b >= 0xcc && b <= 0xd3)) return intAt(base, pos, len) < 0 ? UNSURE : INTEGER;
  return NOT_NUMBER;
}

/** A map header at `pos`: the offset after it (the entry count in `scanned`), or -1. */
export function mapAt(base: usize, pos: i32, len: i32): i32 {
  if (pos < 0 || pos >= len) return -1;
  const p = base + <usize>pos;
  const b = <u32>load<u8>(p);
  if ((b & 0xf0) == 0x80) {
    scanned = <i32>(b & 0x0f);
    return pos + 1;
  }
  return bigHeader(p, pos, len, b, 0xde, 0xdf);
}

/** An array header at `pos`: the offset after it (the element count in `scanned`), or -1. */
export function arrayAt(base: usize, pos: i32, len: i32): i32 {
  if (pos < 0 || pos >= len) return -1;
  const p = base + <usize>pos;
  const b = <u32>load<u8>(p);
  if ((b & 0xf0) == 0x90) {
    scanned = <i32>(b & 0x0f);
    return pos + 1;
  }
  return bigHeader(p, pos, len, b, 0xdc, 0xdd);
}

function bigHeader(p: usize, pos: i32, len: i32, b: u32, tag16: u32, tag32: u32): i32 {
  if (b == tag16) {
    if (len - pos < 3) return -1;
    scanned = <i32>be16(p + 1);
    return pos + 3;
  }
  if (b == tag32) {
    if (len - pos < 5) return -1;
    const n = be32(p + 1);
    if (<u64>n > <u64>(len - pos - 5)) return -1;
    scanned = <i32>n;
    return pos + 5;
  }
  return -1;
}

/** Comparisons with string literals. */
// biome-ignore lint/complexity/noStaticOnlyClass: a static method can carry AssemblyScript's @inline; a function cannot pass biome's parser
export class Ascii {
  /** True when the `n` bytes at `p` spell `literal`, an ASCII string literal. */
  @inline
  static is(p: usize, n: i32, literal: string): bool {
    // By address, so the comparison is a leaf function without GC bookkeeping.
    return n == literal.length && sameChars(p, changetype<usize>(literal), n);
  }
}

function sameChars(p: usize, chars: usize, n: i32): bool {
  let i = 0;
  // Four at a time: the low bytes of four UTF-16 units against four bytes.
  for (; i + 4 <= n; i += 4) {
    const c = load<u64>(chars + ((<usize>i) << 1));
    const four = <u32>((c & 0xff) | ((c >> 8) & 0xff00) | ((c >> 16) & 0xff0000) | ((c >> 24) & 0xff000000));
    if (load<u32>(p + <usize>i) != four) return false;
  }
  for (; i < n; i++) {
    if (<u32>load<u8>(p + <usize>i) != <u32>load<u16>(chars + ((<usize>i) << 1))) return false;
  }
  return true;
}

// A name to look up, as UTF-8, in memory reused from one lookup to the next.
let nameBuf: usize = 0;
let nameCap: i32 = 0;

/**
 * Encodes an ASCII name for lookup (lower-cased when `lower`) and returns its
 * byte length, or -1 when the name is not ASCII (the caller then takes the
 * Reader's path, which lower-cases with full Unicode rules).
 */
export function asciiName(name: string, lower: bool): i32 {
  const n = name.length;
  if (n > nameCap) {
    if (nameBuf != 0) heap.free(nameBuf);
    nameCap = n < 64 ? 64 : n;
    nameBuf = heap.alloc(<usize>nameCap);
  }
  const s = changetype<usize>(name);
  for (let i = 0; i < n; i++) {
    let c = <u32>load<u16>(s + ((<usize>i) << 1));
    if (c >= 0x80) return -1;
    if (lower && c >= 65 && c <= 90) c += 32;
    store<u8>(nameBuf + <usize>i, <u8>c);
  }
  return n;
}

/** Where asciiName put the name. */
export function nameBytes(): usize {
  return nameBuf;
}

/** Lookup outcomes besides an offset. */
export const ABSENT: i32 = -2;
export const UNSURE: i32 = -1;

/**
 * In a map with str keys at `pos`: the offset of the value under the first
 * (or, with `last`, the last) key equal to the `n` bytes at `name`, ABSENT
 * when no key is, or UNSURE when the map is nil or not one this scan
 * handles (the caller then takes the Reader's path, which answers for
 * those cases).
 */
export function findKey(
  base: usize,
  pos: i32,
  len: i32,
  name: usize,
  n: i32,
  last: bool = false,
  decodedKeys: bool = false,
): i32 {
  let at = mapAt(base, pos, len);
  if (at < 0) return UNSURE;
  const count = scanned;
  let found = ABSENT;
  for (let i = 0; i < count; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return UNSURE;
    // Where keys count as the strings they decode to (Value and Map lookups), a non-ASCII key
    // might decode to the name (overlong UTF-8): only the decoded map can tell.
    if (decodedKeys && !isAscii(base + <usize>k, scanned)) return UNSURE;
    at = k + scanned;
    if (scanned == n && memory.compare(base + <usize>k, name, <usize>n) == 0) {
      if (!last) return at;
      found = at;
    }
    at = skipValue(base, at, len, MAX_DEPTH);
    if (at < 0) return UNSURE;
  }
  return found;
}

function isAscii(p: usize, n: i32): bool {
  let any: u32 = 0;
  for (let i = 0; i < n; i++) any |= <u32>load<u8>(p + <usize>i);
  return (any & 0x80) == 0;
}

/**
 * The offset after a map of str → [str] at `pos` that Reader.readMulti
 * decodes without error (nil, or str keys with str, nil or array-of-str
 * values), or -1.
 */
export function multiEnd(base: usize, pos: i32, len: i32): i32 {
  if (pos >= 0 && pos < len && load<u8>(base + <usize>pos) == 0xc0) return pos + 1;
  let at = mapAt(base, pos, len);
  if (at < 0) return -1;
  const count = scanned;
  for (let i = 0; i < count; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return -1;
    at = k + scanned;
    const s = strAt(base, at, len);
    if (s >= 0) {
      at = s + scanned;
      continue;
    }
    if (at < len && load<u8>(base + <usize>at) == 0xc0) {
      at++;
      continue;
    }
    at = arrayAt(base, at, len);
    if (at < 0) return -1;
    const m = scanned;
    for (let j = 0; j < m; j++) {
      const e = strAt(base, at, len);
      if (e < 0) return -1;
      at = e + scanned;
    }
  }
  return at;
}

/**
 * The first string of a header or parameter value at `pos` as
 * Reader.readStringArray sees it (a str, or an array of str): the offset of
 * its bytes (length in `scanned`), ABSENT for an empty array, or UNSURE for
 * anything else (nil, other types, an incomplete element).
 */
export function firstString(base: usize, pos: i32, len: i32): i32 {
  const s = strAt(base, pos, len);
  if (s >= 0) return s;
  let at = arrayAt(base, pos, len);
  if (at < 0) return UNSURE;
  const count = scanned;
  if (count == 0) return ABSENT;
  // readStringArray reads every element: one that is not a complete str is an error.
  let first = -1;
  let firstLen = 0;
  for (let i = 0; i < count; i++) {
    const e = strAt(base, at, len);
    if (e < 0) return UNSURE;
    if (i == 0) {
      first = e;
      firstLen = scanned;
    }
    at = e + scanned;
  }
  scanned = firstLen;
  return first;
}
