/**
 * The canonical msgpack encoder of docs/abi.md §6, used to turn the JSON
 * vectors into bytes. JSON cannot say "float" or "bytes", so values may be
 * tagged: `{"$f64": 100}` is a float64 (untagged non-integers are float64 too), `{"$bin": "<base64>"}` and
 * `{"$text": "…"}` (UTF-8) are bin. Everything else maps directly: integers
 * in their shortest form, strings as str, objects as maps in key order.
 */
export type Tagged = null | boolean | number | string | Tagged[] | { [k: string]: Tagged };

class Out {
  bytes: number[] = [];
  u8(v: number) {
    this.bytes.push(v & 0xff);
  }
  be(v: bigint, n: number) {
    for (let i = n - 1; i >= 0; i--) this.u8(Number((v >> BigInt(8 * i)) & 0xffn));
  }
  /** A type byte, then `v` big-endian in `n` bytes. */
  tagged(tag: number, v: bigint, n: number) {
    this.u8(tag);
    this.be(v, n);
  }
}

function header(o: Out, n: number, fix: number, fixMax: number, c8: number | null, c16: number, c32: number) {
  if (n <= fixMax) o.u8(fix | n);
  else if (c8 !== null && n <= 0xff) {
    o.u8(c8);
    o.u8(n);
  } else if (n <= 0xffff) {
    o.u8(c16);
    o.be(BigInt(n), 2);
  } else {
    o.u8(c32);
    o.be(BigInt(n), 4);
  }
}

function int(o: Out, v: bigint) {
  if (v >= 0n) {
    if (v <= 0x7fn) o.u8(Number(v));
    else if (v <= 0xffn) o.tagged(0xcc, v, 1);
    else if (v <= 0xffffn) o.tagged(0xcd, v, 2);
    else if (v <= 0xffffffffn) o.tagged(0xce, v, 4);
    else o.tagged(0xcf, v, 8);
  } else {
    const u = (bits: number) => BigInt.asUintN(bits, v);
    if (v >= -32n) o.u8(Number(u(8)));
    else if (v >= -128n) o.tagged(0xd0, u(8), 1);
    else if (v >= -32768n) o.tagged(0xd1, u(16), 2);
    else if (v >= -2147483648n) o.tagged(0xd2, u(32), 4);
    else o.tagged(0xd3, u(64), 8);
  }
}

function bin(o: Out, b: Uint8Array) {
  if (b.length <= 0xff) o.tagged(0xc4, BigInt(b.length), 1);
  else if (b.length <= 0xffff) o.tagged(0xc5, BigInt(b.length), 2);
  else o.tagged(0xc6, BigInt(b.length), 4);
  for (const x of b) o.u8(x);
}

function str(o: Out, s: string) {
  const b = Buffer.from(s, 'utf8');
  header(o, b.length, 0xa0, 31, 0xd9, 0xda, 0xdb);
  for (const x of b) o.u8(x);
}

function value(o: Out, v: Tagged) {
  if (v === null) return o.u8(0xc0);
  if (typeof v === 'boolean') return o.u8(v ? 0xc3 : 0xc2);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return value(o, { $f64: v });
    return int(o, BigInt(v));
  }
  if (typeof v === 'string') return str(o, v);
  if (Array.isArray(v)) {
    header(o, v.length, 0x90, 15, null, 0xdc, 0xdd);
    for (const x of v) value(o, x);
    return;
  }
  const keys = Object.keys(v);
  if (keys.length === 1 && keys[0] === '$f64') {
    o.u8(0xcb);
    const dv = new DataView(new ArrayBuffer(8));
    dv.setFloat64(0, v.$f64 as number);
    for (let i = 0; i < 8; i++) o.u8(dv.getUint8(i));
    return;
  }
  if (keys.length === 1 && keys[0] === '$bin') return bin(o, Buffer.from(v.$bin as string, 'base64'));
  if (keys.length === 1 && keys[0] === '$text') return bin(o, Buffer.from(v.$text as string, 'utf8'));
  header(o, keys.length, 0x80, 15, null, 0xde, 0xdf);
  for (const k of keys) {
    str(o, k);
    value(o, v[k]!);
  }
}

export function encodeCanonical(v: Tagged): Uint8Array {
  const o = new Out();
  value(o, v);
  return Uint8Array.from(o.bytes);
}
