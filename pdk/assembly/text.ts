// Small text helpers plugins need and AssemblyScript's standard library
// lacks: base64 (standard alphabet, padded) and JSON string escaping.
//
// The loops read and write memory by address (load/store), not through
// charCodeAt and typed-array indexing: those are calls with GC bookkeeping
// per character (see scan.ts).

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** A new string of `n` UTF-16 units, to be filled by the caller. */
function newString(n: i32): string {
  return changetype<string>(__new((<usize>n) << 1, idof<string>()));
}

export function base64Encode(data: Uint8Array): string {
  const n = data.length;
  const out = newString(((n + 2) / 3) * 4);
  const src = data.dataStart;
  const abc = changetype<usize>(ALPHABET);
  let o = changetype<usize>(out);
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const p = src + <usize>i;
    const v = ((<u32>load<u8>(p)) << 16) | ((<u32>load<u8>(p, 1)) << 8) | <u32>load<u8>(p, 2);
    const a = <u64>load<u16>(abc + ((<usize>((v >> 18) & 63)) << 1));
    const b = <u64>load<u16>(abc + ((<usize>((v >> 12) & 63)) << 1));
    const c = <u64>load<u16>(abc + ((<usize>((v >> 6) & 63)) << 1));
    const d = <u64>load<u16>(abc + ((<usize>(v & 63)) << 1));
    store<u64>(o, a | (b << 16) | (c << 32) | (d << 48));
    o += 8;
  }
  const rest = n - i;
  if (rest > 0) {
    const p = src + <usize>i;
    const v = ((<u32>load<u8>(p)) << 16) | (rest == 2 ? (<u32>load<u8>(p, 1)) << 8 : 0);
    store<u16>(o, load<u16>(abc + ((<usize>((v >> 18) & 63)) << 1)));
    store<u16>(o, load<u16>(abc + ((<usize>((v >> 12) & 63)) << 1)), 2);
    store<u16>(o, rest == 2 ? load<u16>(abc + ((<usize>((v >> 6) & 63)) << 1)) : 61, 4);
    store<u16>(o, 61, 6);
  }
  return out;
}

function sextet(c: u32): i32 {
  if (c >= 65 && c <= 90) return <i32>c - 65;
  if (c >= 97 && c <= 122) return <i32>c - 71;
  if (c >= 48 && c <= 57) return <i32>c + 4;
  if (c == 43) return 62;
  if (c == 47) return 63;
  return -1;
}

/** Decodes standard base64 (padding optional); null when the text is not base64. */
export function base64Decode(text: string): Uint8Array | null {
  const chars = changetype<usize>(text);
  let len = text.length;
  while (len > 0 && load<u16>(chars + ((<usize>(len - 1)) << 1)) == 61) len--;
  if (len % 4 == 1) return null;
  const out = new Uint8Array(<i32>((<i64>len * 3) >> 2));
  const dst = out.dataStart;
  let acc: u32 = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const v = sextet(<u32>load<u16>(chars + ((<usize>i) << 1)));
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      store<u8>(dst + <usize>o, <u8>((acc >> bits) & 0xff));
      o++;
    }
  }
  return out;
}

const HEX = '0123456789abcdef';

/** Escapes text for a JSON string: `"` and `\` with a backslash, control characters as \u00xx. */
export function jsonEscape(s: string): string {
  const chars = changetype<usize>(s);
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = <u32>load<u16>(chars + ((<usize>i) << 1));
    if (c == 34 || c == 92 || c < 0x20) break;
    i++;
  }
  if (i == n) return s; // nothing to escape (the common case): no copy
  let out = s.substring(0, i);
  let start = i;
  for (; i < n; i++) {
    const c = <u32>load<u16>(chars + ((<usize>i) << 1));
    if (c == 34 || c == 92 || c < 0x20) {
      out += s.substring(start, i);
      if (c == 34) out += '\\"';
      else if (c == 92) out += '\\\\';
      else out += '\\u00' + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
      start = i + 1;
    }
  }
  return out + s.substring(start);
}
