/**
 * The one path normalisation, used by routing, endpoint matching, access
 * rights and forwarding alike, so what is matched is exactly what is sent.
 *
 * - percent-escapes of unreserved characters are decoded (`%7E` → `~`,
 *   `%2E` → `.`), every other escape is kept (upper-cased) — `%2F` stays data,
 *   never a separator;
 * - `//` collapses to `/`; `.` and `..` segments are resolved, never above
 *   the root;
 * - a trailing slash is kept as given (`/a/b/..` → `/a/`);
 * - NUL, backslashes (raw or escaped), malformed escapes and paths that do
 *   not start with `/` are refused with BadPathError (400).
 */
export class BadPathError extends Error {
  readonly status = 400;
  readonly code = 'BAD_REQUEST';
}

const HEX = /^[0-9A-Fa-f]{2}$/;

function isUnreserved(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) ||
    (c >= 0x41 && c <= 0x5a) ||
    (c >= 0x61 && c <= 0x7a) ||
    c === 0x2d ||
    c === 0x2e ||
    c === 0x5f ||
    c === 0x7e
  );
}

/** Fast check: nothing to do for the common clean path. */
const CLEAN = /^(?:\/|(?:\/[A-Za-z0-9\-_~!$&'()*+,;=:@]+(?:\.[A-Za-z0-9\-_~!$&'()*+,;=:@]+)*)+\/?)$/;

export function normalisePath(raw: string): string {
  if (CLEAN.test(raw)) return raw;
  if (raw.length === 0 || raw.charCodeAt(0) !== 0x2f) throw new BadPathError('the request path must start with "/"');
  let decoded = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i]!;
    if (ch === '\0' || ch === '\\') throw new BadPathError('the request path contains a NUL or backslash');
    if (ch !== '%') {
      decoded += ch;
      continue;
    }
    const hex = raw.slice(i + 1, i + 3);
    if (!HEX.test(hex)) throw new BadPathError('the request path has a malformed percent-escape');
    const code = Number.parseInt(hex, 16);
    if (code === 0 || code === 0x5c) throw new BadPathError('the request path contains an escaped NUL or backslash');
    decoded += isUnreserved(code) ? String.fromCharCode(code) : `%${hex.toUpperCase()}`;
    i += 2;
  }
  const trailing = decoded.endsWith('/') || /\/\.\.?$/.test(decoded);
  const out: string[] = [];
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  if (out.length === 0) return '/';
  return `/${out.join('/')}${trailing ? '/' : ''}`;
}

/** A listen path as stored: normalised, with a trailing `/`. */
export function normaliseListenPath(path: string): string {
  const p = normalisePath(path.startsWith('/') ? path : `/${path}`);
  return p.endsWith('/') ? p : `${p}/`;
}

/**
 * An endpoint pattern (`/users/{id}`, `/anything`) compiled once: literal
 * segments compare exactly, `{name}` matches one non-empty segment; a
 * trailing slash on either side is ignored.
 */
export function compileEndpointPattern(pattern: string): (path: string) => boolean {
  const segs = normalisePath(pattern.startsWith('/') ? pattern : `/${pattern}`)
    .split('/')
    .filter((s) => s !== '');
  const param = segs.map((s) => /^\{[^/{}]*\}$/.test(s));
  return (path: string) => {
    if (path.length <= 1) return segs.length === 0;
    let idx = 0;
    let start = 1;
    const len = path.endsWith('/') && path.length > 1 ? path.length - 1 : path.length;
    while (start <= len) {
      let end = path.indexOf('/', start);
      if (end === -1 || end > len) end = len;
      if (idx >= segs.length) return false;
      const seg = path.slice(start, end);
      if (param[idx] ? seg.length === 0 : seg !== segs[idx]) return false;
      idx++;
      start = end + 1;
    }
    return idx === segs.length;
  };
}
