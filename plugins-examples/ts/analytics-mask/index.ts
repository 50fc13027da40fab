// analytics hook: masks the value of every Authorization header line in the
// recorded raw request (base64) as "****". Nothing to mask → no changes.
import { base64Decode, base64Encode, Context } from "../../../pdk/assembly";

const NAME = "authorization";

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
  const encoded = ctx.analytics.getString("raw_request");
  if (encoded.length == 0) return ctx.done();
  const decoded = base64Decode(encoded);
  if (decoded === null) return ctx.done();
  const raw = decoded as Uint8Array;
  const out = new Array<u8>();
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
      for (let i = start; i <= start + NAME.length; i++) out.push(raw[i]);
      const mask = " ****";
      for (let i = 0; i < mask.length; i++) out.push(<u8>mask.charCodeAt(i));
      changed = true;
    } else {
      for (let i = start; i < lineEnd; i++) out.push(raw[i]);
    }
    for (let i = lineEnd; i < next; i++) out.push(raw[i]);
    if (!inHeaders && lineEnd != start) {
      // The rest is the body: copy as is.
      for (let i = next; i < raw.length; i++) out.push(raw[i]);
      break;
    }
    start = next;
  }
  if (!changed) return ctx.done();
  const bytes = new Uint8Array(out.length);
  for (let i = 0; i < out.length; i++) bytes[i] = out[i];
  ctx.analytics.setString("raw_request", base64Encode(bytes));
  return ctx.done();
}
