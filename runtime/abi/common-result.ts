/**
 * The results nearly every call returns, decoded straight into the
 * normalised HookResult: header edits (set, add, delete) on the request in a
 * request hook, and header edits and a status on the response in the
 * response hook. One pass over the bytes, with no intermediate values and no
 * schema run: on the request path the general reader and the schema cost
 * more than a small plugin's own work.
 *
 * It accepts a strict subset of what the general path (codec.ts
 * decodeResult) accepts and returns what that path would: fix-size maps and
 * arrays; header names that are short tokens, not forbidden, each once;
 * values of printable ASCII. For anything else it answers `undefined`, and
 * decodeResult takes the general path, which then accepts or refuses the
 * bytes with its own error. test/runtime/common-result.test.ts checks that
 * both paths agree.
 */
import { FORBIDDEN_HEADERS } from './headers.ts';
import { cachedAscii, SHORT_ASCII } from './reader.ts';
import type { Hook, HookResult, Multi, RequestChanges, ResponseChanges } from './records.ts';
import { newMulti } from './records.ts';
import { keyBytes } from './writer.ts';

/** 1 for the bytes of an HTTP token (RFC 9110 tchar), 2 for the upper-case letters among them. */
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz") TCHAR[c.charCodeAt(0)] = 1;
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZ') TCHAR[c.charCodeAt(0)] = 2;

const K_REQUEST = keyBytes('request');
const K_RESPONSE = keyBytes('response');
const K_SET = keyBytes('set_headers');
const K_ADD = keyBytes('add_headers');
const K_DELETE = keyBytes('delete_headers');
const K_STATUS = keyBytes('status_code');

// The bytes being read and the cursor (`var`: see reader.ts).
var src: Uint8Array = new Uint8Array(0);
var pos = 0;

/** The result, or undefined when the bytes are not of the common shapes (the general path decides). */
export function decodeCommonResult(output: Uint8Array, hook: Hook): HookResult | undefined {
  src = output;
  pos = 1;
  if (output[0] !== 0x81) return undefined;
  let result: HookResult;
  if (hook === 'response') {
    if (!isKey(K_RESPONSE)) return undefined;
    const response = responseChanges();
    if (response === undefined) return undefined;
    result = { response };
  } else if (hook !== 'analytics') {
    if (!isKey(K_REQUEST)) return undefined;
    const request = requestChanges();
    if (request === undefined) return undefined;
    result = { request };
  } else return undefined;
  return pos === output.length ? result : undefined;
}

/** Steps over `k` (a fixstr key) when it is next. */
function isKey(k: Uint8Array): boolean {
  const n = k.length;
  if (pos + n > src.length) return false;
  for (let i = 0; i < n; i++) if (src[pos + i] !== k[i]) return false;
  pos += n;
  return true;
}

// The fields of the edit map being read (module state, like the cursor: no object per call).
var setHeaders: Multi | undefined;
var addHeaders: Multi | undefined;
var deleteHeaders: string[] | undefined;
var status: number | undefined;

/** A fixmap of header-edit fields (set, add, delete, and the status when `withStatus`), each once. */
function edits(withStatus: boolean): boolean {
  setHeaders = addHeaders = deleteHeaders = status = undefined;
  const b = src[pos++];
  if (b === undefined || b < 0x80 || b > (withStatus ? 0x84 : 0x83)) return false;
  for (let i = b & 0x0f; i > 0; i--) {
    if (isKey(K_SET)) {
      if (setHeaders !== undefined || (setHeaders = headerMap()) === undefined) return false;
    } else if (isKey(K_ADD)) {
      if (addHeaders !== undefined || (addHeaders = headerMap()) === undefined) return false;
    } else if (isKey(K_DELETE)) {
      if (deleteHeaders !== undefined || (deleteHeaders = nameList()) === undefined) return false;
    } else if (withStatus && isKey(K_STATUS)) {
      if (status !== undefined || (status = statusCode()) === undefined) return false;
    } else return false;
  }
  return true;
}

function requestChanges(): RequestChanges | undefined {
  if (!edits(false)) return undefined;
  // The same fields, in the same order, as decodeResult builds.
  return {
    set_headers: setHeaders,
    add_headers: addHeaders,
    delete_headers: deleteHeaders,
    add_params: undefined,
    delete_params: undefined,
    body: undefined,
    url: undefined,
    upstream: undefined,
  };
}

function responseChanges(): ResponseChanges | undefined {
  if (!edits(true)) return undefined;
  return {
    status_code: status,
    set_headers: setHeaders,
    add_headers: addHeaders,
    delete_headers: deleteHeaders,
    body: undefined,
  };
}

/** A fixmap of header names to a value or a fixarray of values, names once each after lower-casing. */
function headerMap(): Multi | undefined {
  const b = src[pos++];
  if (b === undefined || b < 0x80 || b > 0x8f) return undefined;
  const out = newMulti();
  for (let i = b & 0x0f; i > 0; i--) {
    const name = headerName();
    if (name === undefined || name in out) return undefined;
    const v = src[pos];
    if (v === undefined) return undefined;
    let values: string[];
    if (v >= 0x90 && v <= 0x9f) {
      pos++;
      const n = v & 0x0f;
      values = new Array<string>(n);
      for (let j = 0; j < n; j++) {
        const s = headerValue();
        if (s === undefined) return undefined;
        values[j] = s;
      }
    } else {
      const s = headerValue();
      if (s === undefined) return undefined;
      values = [s];
    }
    out[name] = values;
  }
  return out;
}

/** A fixarray of header names. */
function nameList(): string[] | undefined {
  const b = src[pos++];
  if (b === undefined || b < 0x90 || b > 0x9f) return undefined;
  const n = b & 0x0f;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const name = headerName();
    if (name === undefined) return undefined;
    out[i] = name;
  }
  return out;
}

/** A fixstr token, lower-cased, that a plugin may change. */
function headerName(): string | undefined {
  const b = src;
  const head = b[pos];
  if (head === undefined || head < 0xa1 || head > 0xbf) return undefined;
  const n = head & 0x1f;
  const start = pos + 1;
  const end = start + n;
  if (end > b.length) return undefined;
  let upper = false;
  let h = n;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    const t = c < 0x80 ? TCHAR[c]! : 0;
    if (t === 0) return undefined;
    if (t === 2) upper = true;
    h = (Math.imul(h, 31) + c) | 0;
  }
  pos = end;
  let name = n <= SHORT_ASCII ? cachedAscii(b, start, n, h) : latin1(start, n);
  if (upper) name = name.toLowerCase();
  return FORBIDDEN_HEADERS.has(name) ? undefined : name;
}

/** A fixstr or str8 of tab and printable ASCII. */
function headerValue(): string | undefined {
  const b = src;
  const head = b[pos];
  let n: number;
  let start: number;
  if (head !== undefined && head >= 0xa0 && head <= 0xbf) {
    n = head & 0x1f;
    start = pos + 1;
  } else if (head === 0xd9 && pos + 1 < b.length) {
    n = b[pos + 1]!;
    start = pos + 2;
  } else return undefined;
  const end = start + n;
  if (end > b.length) return undefined;
  let h = n;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if ((c < 0x20 && c !== 0x09) || c > 0x7e) return undefined;
    h = (Math.imul(h, 31) + c) | 0;
  }
  pos = end;
  return n <= SHORT_ASCII ? cachedAscii(b, start, n, h) : latin1(start, n);
}

function latin1(start: number, n: number): string {
  return String.fromCharCode.apply(null, src.subarray(start, start + n) as unknown as number[]);
}

/** A status as uint8 or uint16, 100–599. */
function statusCode(): number | undefined {
  const b = src[pos];
  let v: number;
  if (b === 0xcc && pos + 1 < src.length) {
    v = src[pos + 1]!;
    pos += 2;
  } else if (b === 0xcd && pos + 2 < src.length) {
    v = (src[pos + 1]! << 8) | src[pos + 2]!;
    pos += 3;
  } else return undefined;
  return v >= 100 && v <= 599 ? v : undefined;
}
