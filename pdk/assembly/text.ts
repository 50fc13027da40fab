// Small text helpers plugins need and AssemblyScript's standard library
// lacks: base64 (standard alphabet, padded) and JSON string escaping.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

export function base64Encode(data: Uint8Array): string {
  const n = data.length;
  const out = new Uint8Array(((n + 2) / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < n; i += 3) {
    const v = ((<u32>unchecked(data[i])) << 16) | ((<u32>unchecked(data[i + 1])) << 8) | <u32>unchecked(data[i + 2]);
    unchecked((out[o] = <u8>ALPHABET.charCodeAt((v >> 18) & 63)));
    unchecked((out[o + 1] = <u8>ALPHABET.charCodeAt((v >> 12) & 63)));
    unchecked((out[o + 2] = <u8>ALPHABET.charCodeAt((v >> 6) & 63)));
    unchecked((out[o + 3] = <u8>ALPHABET.charCodeAt(v & 63)));
    o += 4;
  }
  const rest = n - i;
  if (rest > 0) {
    const v = ((<u32>data[i]) << 16) | (rest == 2 ? (<u32>data[i + 1]) << 8 : 0);
    out[o] = <u8>ALPHABET.charCodeAt((v >> 18) & 63);
    out[o + 1] = <u8>ALPHABET.charCodeAt((v >> 12) & 63);
    out[o + 2] = rest == 2 ? <u8>ALPHABET.charCodeAt((v >> 6) & 63) : 61;
    out[o + 3] = 61;
  }
  return String.UTF8.decodeUnsafe(out.dataStart, <usize>out.length);
}

function sextet(c: i32): i32 {
  if (c >= 65 && c <= 90) return c - 65;
  if (c >= 97 && c <= 122) return c - 71;
  if (c >= 48 && c <= 57) return c + 4;
  if (c == 43) return 62;
  if (c == 47) return 63;
  return -1;
}

/** Decodes standard base64 (padding optional); null when the text is not base64. */
export function base64Decode(text: string): Uint8Array | null {
  let len = text.length;
  while (len > 0 && text.charCodeAt(len - 1) == 61) len--;
  if (len % 4 == 1) return null;
  const out = new Uint8Array(<i32>((<i64>len * 3) >> 2));
  let acc: u32 = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < len; i++) {
    const v = sextet(text.charCodeAt(i));
    if (v < 0) return null;
    acc = (acc << 6) | <u32>v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = <u8>((acc >> bits) & 0xff);
    }
  }
  return out;
}

const HEX = '0123456789abcdef';

/** Escapes text for a JSON string: `"` and `\` with a backslash, control characters as \u00xx. */
export function jsonEscape(s: string): string {
  let out = '';
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 34 || c == 92 || c < 0x20) {
      out += s.substring(start, i);
      if (c == 34) out += '\\"';
      else if (c == 92) out += '\\\\';
      else out += '\\u00' + HEX.charAt(c >> 4) + HEX.charAt(c & 15);
      start = i + 1;
    }
  }
  return start == 0 ? s : out + s.substring(start);
}
