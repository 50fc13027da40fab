/**
 * The envelope encoder: msgpack in the canonical form of docs/abi.md §6
 * (shortest int, str, bin, array and map forms; maps in key order; floats as
 * float64), written into one reused scratch buffer and copied out once.
 *
 * It replaces a general-purpose packer on the request path, where every
 * plugin call encodes an envelope: msgpackr writes every map as map16 and
 * takes a slow path for the null-prototype header maps the gateway uses.
 * An object seen frozen is encoded once and its bytes reused (the gateway's
 * `spec` records are deep-frozen when their API loads).
 */

const INITIAL_BYTES = 16 * 1024;
/** A scratch buffer that grew past this for one huge envelope is not kept. */
const KEEP_BYTES = 1024 * 1024;

let buf: Buffer = Buffer.allocUnsafe(INITIAL_BYTES);
let view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
/** The same bytes as a plain Uint8Array: slicing a Buffer builds a Buffer, which costs more. */
let bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
let pos = 0;

/** Encoded frozen objects, by identity. */
const frozen = new WeakMap<object, Uint8Array>();
/** Frozen objects with a mutable part somewhere inside: encoded every time. */
const shallow = new WeakSet<object>();

function room(n: number): void {
  if (pos + n <= buf.length) return;
  let size = buf.length * 2;
  while (size < pos + n) size *= 2;
  const next = Buffer.allocUnsafe(size);
  buf.copy(next, 0, 0, pos);
  use(next);
}

function use(next: Buffer): void {
  buf = next;
  view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A type byte followed by `n` big-endian in 1, 2 or 4 bytes (short, 8-bit, 16-bit or 32-bit forms). */
function header(n: number, fix: number, fixMax: number, c8: number, c16: number, c32: number): void {
  room(5);
  if (n <= fixMax) bytes[pos++] = fix | n;
  else if (c8 !== 0 && n <= 0xff) {
    bytes[pos++] = c8;
    bytes[pos++] = n;
  } else if (n <= 0xffff) {
    bytes[pos++] = c16;
    bytes[pos++] = n >> 8;
    bytes[pos++] = n & 0xff;
  } else {
    bytes[pos++] = c32;
    view.setUint32(pos, n);
    pos += 4;
  }
}

function writeString(s: string): void {
  const n = s.length;
  if (n < 32) {
    // Short ASCII (header names, methods, most values): one pass, no native call.
    room(1 + n);
    const start = pos + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) break;
      bytes[start + i] = c;
    }
    if (i === n) {
      bytes[pos] = 0xa0 | n;
      pos = start + n;
      return;
    }
  }
  // UTF-8 is at most 3 bytes per UTF-16 unit; write after the largest header
  // that length could need, then move the bytes if the real header is shorter.
  const max = n * 3;
  const guess = max < 32 ? 1 : max <= 0xff ? 2 : max <= 0xffff ? 3 : 5;
  room(guess + max);
  const len = buf.write(s, pos + guess, 'utf8');
  const real = len < 32 ? 1 : len <= 0xff ? 2 : len <= 0xffff ? 3 : 5;
  if (real !== guess) bytes.copyWithin(pos + real, pos + guess, pos + guess + len);
  header(len, 0xa0, 31, 0xd9, 0xda, 0xdb);
  pos += len;
}

function writeNumber(v: number): void {
  room(9);
  if (Number.isInteger(v) && v >= -0x8000000000000000 && v < 0x10000000000000000) {
    if (v >= 0) {
      if (v <= 0x7f) bytes[pos++] = v;
      else if (v <= 0xff) {
        bytes[pos++] = 0xcc;
        bytes[pos++] = v;
      } else if (v <= 0xffff) {
        bytes[pos++] = 0xcd;
        view.setUint16(pos, v);
        pos += 2;
      } else if (v <= 0xffffffff) {
        bytes[pos++] = 0xce;
        view.setUint32(pos, v);
        pos += 4;
      } else {
        bytes[pos++] = 0xcf;
        view.setBigUint64(pos, BigInt(v));
        pos += 8;
      }
    } else if (v >= -32) bytes[pos++] = v & 0xff;
    else if (v >= -0x80) {
      bytes[pos++] = 0xd0;
      bytes[pos++] = v & 0xff;
    } else if (v >= -0x8000) {
      bytes[pos++] = 0xd1;
      view.setInt16(pos, v);
      pos += 2;
    } else if (v >= -0x80000000) {
      bytes[pos++] = 0xd2;
      view.setInt32(pos, v);
      pos += 4;
    } else {
      bytes[pos++] = 0xd3;
      view.setBigInt64(pos, BigInt(v));
      pos += 8;
    }
    return;
  }
  // Fractions, NaN, ±Infinity and integers beyond 64 bits.
  bytes[pos++] = 0xcb;
  view.setFloat64(pos, v);
  pos += 8;
}

function writeBytes(b: Uint8Array): void {
  const n = b.byteLength;
  header(n, 0, -1, 0xc4, 0xc5, 0xc6);
  room(n);
  bytes.set(b, pos);
  pos += n;
}

function writeValue(v: unknown): void {
  const type = typeof v;
  if (type === 'string') writeString(v as string);
  else if (type === 'number') writeNumber(v as number);
  else if (v === null || v === undefined) {
    room(1);
    bytes[pos++] = 0xc0;
  } else if (type === 'boolean') {
    room(1);
    bytes[pos++] = v ? 0xc3 : 0xc2;
  } else if (type !== 'object') throw new TypeError(`cannot encode a ${type} in an envelope`);
  else if (v instanceof Uint8Array) writeBytes(v);
  else if (Array.isArray(v)) {
    header(v.length, 0x90, 15, 0, 0xdc, 0xdd);
    for (let i = 0; i < v.length; i++) writeValue(v[i]);
  } else writeObject(v as Record<string, unknown>);
}

function writeObject(o: Record<string, unknown>): void {
  const done = Object.isFrozen(o) ? frozen.get(o) : undefined;
  if (done) {
    room(done.byteLength);
    bytes.set(done, pos);
    pos += done.byteLength;
    return;
  }
  const start = pos;
  const keys = Object.keys(o);
  header(keys.length, 0x80, 15, 0, 0xde, 0xdf);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    writeString(k);
    writeValue(o[k]);
  }
  if (Object.isFrozen(o) && !shallow.has(o)) {
    if (deeplyFrozen(o)) frozen.set(o, bytes.slice(start, pos));
    else shallow.add(o);
  }
}

/** Checked once per object, when it is first cached: a frozen object with a mutable child must not be. */
function deeplyFrozen(v: unknown): boolean {
  if (v === null || typeof v !== 'object') return true;
  // Bytes cannot be frozen, so an object holding any is never cached.
  if (!Object.isFrozen(v)) return false;
  for (const k in v) if (!deeplyFrozen((v as Record<string, unknown>)[k])) return false;
  return true;
}

/** The canonical msgpack bytes of `value` (plain objects, arrays, strings, numbers, booleans, null, bytes). */
export function encodeMsgpack(value: unknown): Uint8Array {
  pos = 0;
  try {
    writeValue(value);
    // A pooled Buffer: a fresh ArrayBuffer per envelope costs twice as much.
    const out = Buffer.allocUnsafe(pos);
    buf.copy(out, 0, 0, pos);
    return out;
  } finally {
    if (buf.length > KEEP_BYTES) use(Buffer.allocUnsafe(INITIAL_BYTES));
  }
}
