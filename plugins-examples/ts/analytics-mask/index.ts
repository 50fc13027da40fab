// analytics hook: masks the value of every Authorization header line in the
// recorded raw request (base64) as "****". Nothing to mask → no changes.
import { base64Decode, base64Encode, Context } from '../../../pdk/assembly';

const NAME = 'authorization';

/** True when line[start..] begins with "authorization:" in any case. */
function isAuthorizationLine(raw: Uint8Array, start: i32, end: i32): bool {
  if (end - start < NAME.length + 1) return false;
  for (let i = 0; i < NAME.length; i++) {
    let c = <i32>raw[start + i];
    if (c >= 65 && c <= 90) c += 32;
    if (c != NAME.charCodeAt(i)) return false;
  }
  return raw[start + NAME.length] == 58; // ':'
}

export function analytics_mask(): i32 {
  const ctx = Context.read();
  const encoded = ctx.analytics.getString('raw_request');
  if (encoded.length == 0) return ctx.done();
  const decoded = base64Decode(encoded);
  if (decoded === null) return ctx.done();
  const raw = decoded as Uint8Array;
  // Masking can only grow a line by the length of " ****".
  const out = new Uint8Array(raw.length * 2 + 16);
  let o = 0;
  let changed = false;
  let inHeaders = true;
  let start = 0;
  while (start < raw.length) {
    // One line, up to and including its CRLF (or the end).
    let end = start;
    while (end < raw.length && !(raw[end] == 13 && end + 1 < raw.length && raw[end + 1] == 10)) end++;
    const lineEnd = end;
    const next = end < raw.length ? end + 2 : end;
    if (inHeaders && lineEnd == start) inHeaders = false;
    if (inHeaders && isAuthorizationLine(raw, start, lineEnd)) {
      out.set(raw.subarray(start, start + NAME.length + 1), o);
      o += NAME.length + 1;
      const mask = ' ****';
      for (let i = 0; i < mask.length; i++) out[o++] = <u8>mask.charCodeAt(i);
      changed = true;
    } else {
      out.set(raw.subarray(start, lineEnd), o);
      o += lineEnd - start;
    }
    out.set(raw.subarray(lineEnd, next), o);
    o += next - lineEnd;
    if (!inHeaders) {
      // Past the blank line: the rest is the body, copied as is.
      out.set(raw.subarray(next), o);
      o += raw.length - next;
      break;
    }
    start = next;
  }
  if (!changed) return ctx.done();
  ctx.analytics.setString('raw_request', base64Encode(out.subarray(0, o)));
  return ctx.done();
}
