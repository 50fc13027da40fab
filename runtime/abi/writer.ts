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
import type { Envelope, RequestRecord } from './records.ts';

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

/** A short ASCII map key as msgpack bytes (fixstr header and the characters); the common-result decoder matches keys with these too. */
export function keyBytes(k: string): Uint8Array {
  const out = new Uint8Array(1 + k.length);
  out[0] = 0xa0 | k.length;
  for (let i = 0; i < k.length; i++) out[1 + i] = k.charCodeAt(i);
  return out;
}

/** Copies bytes already encoded (a key, a kept piece): short ones byte by byte, longer ones natively. */
function writeChunk(chunk: Uint8Array): void {
  const n = chunk.length;
  room(n);
  if (n <= 16) for (let i = 0; i < n; i++) bytes[pos + i] = chunk[i]!;
  else bytes.set(chunk, pos);
  pos += n;
}

const K = {
  v: keyBytes('v'),
  hook: keyBytes('hook'),
  request: keyBytes('request'),
  session: keyBytes('session'),
  response: keyBytes('response'),
  record: keyBytes('record'),
  spec: keyBytes('spec'),
  metadata: keyBytes('metadata'),
  responses: keyBytes('responses'),
  state: keyBytes('state'),
  method: keyBytes('method'),
  url: keyBytes('url'),
  request_uri: keyBytes('request_uri'),
  scheme: keyBytes('scheme'),
  host: keyBytes('host'),
  remote_addr: keyBytes('remote_addr'),
  params: keyBytes('params'),
  headers: keyBytes('headers'),
  body: keyBytes('body'),
  status_code: keyBytes('status_code'),
  request_id: keyBytes('request_id'),
  plugin: keyBytes('plugin'),
  version: keyBytes('version'),
  time: keyBytes('time'),
};

function writeNullableBytes(b: Uint8Array | null): void {
  if (b === null) {
    room(1);
    bytes[pos++] = 0xc0;
  } else writeBytes(b);
}

/** A header or parameter map: names in insertion order, every value a list of str. */
function writeMulti(m: Record<string, string[]>): void {
  // The count is known only after the walk (no key list is built): one byte is
  // kept for a fixmap header, and the entries move when the map is larger.
  room(1);
  const start = pos++;
  let n = 0;
  for (const name in m) {
    n++;
    writeString(name);
    const values = m[name]!;
    header(values.length, 0x90, 15, 0, 0xdc, 0xdd);
    for (let i = 0; i < values.length; i++) writeString(values[i]!);
  }
  if (n <= 15) {
    bytes[start] = 0x80 | n;
    return;
  }
  const extra = n <= 0xffff ? 2 : 4;
  room(extra);
  bytes.copyWithin(start + 1 + extra, start + 1, pos);
  const end = pos + extra;
  pos = start;
  header(n, 0x80, 15, 0, 0xde, 0xdf);
  pos = end;
}

/**
 * The request's fixed fields (method to remote_addr) as last encoded. A
 * request's hooks run one after another, and these fields change only when a
 * plugin rewrites the URL, so most envelopes copy them instead of encoding
 * twelve small strings again.
 */
let lastScalars: RequestScalars | null = null;
let lastScalarBytes: Uint8Array = new Uint8Array(0);

type RequestScalars = Pick<RequestRecord, 'method' | 'url' | 'request_uri' | 'scheme' | 'host' | 'remote_addr'>;

function sameScalars(a: RequestScalars, b: RequestScalars): boolean {
  return (
    a.method === b.method &&
    a.url === b.url &&
    a.request_uri === b.request_uri &&
    a.scheme === b.scheme &&
    a.host === b.host &&
    a.remote_addr === b.remote_addr
  );
}

function writeRequest(r: RequestRecord): void {
  room(1);
  bytes[pos++] = 0x89;
  if (lastScalars !== null && sameScalars(r, lastScalars)) {
    writeChunk(lastScalarBytes);
  } else {
    const start = pos;
    writeChunk(K.method);
    writeString(r.method);
    writeChunk(K.url);
    writeString(r.url);
    writeChunk(K.request_uri);
    writeString(r.request_uri);
    writeChunk(K.scheme);
    writeString(r.scheme);
    writeChunk(K.host);
    writeString(r.host);
    writeChunk(K.remote_addr);
    writeString(r.remote_addr);
    lastScalarBytes = bytes.slice(start, pos);
    const { method, url, request_uri, scheme, host, remote_addr } = r;
    lastScalars = { method, url, request_uri, scheme, host, remote_addr };
  }
  writeChunk(K.params);
  writeMulti(r.params);
  writeChunk(K.headers);
  writeMulti(r.headers);
  writeChunk(K.body);
  writeNullableBytes(r.body);
}

/** `{"v": 1, "hook": <hook>, "request": ` for each hook, encoded once. */
const openings = new Map<string, Uint8Array>();

function writeOpening(v: number, hook: string): void {
  const chunk = v === 1 ? openings.get(hook) : undefined;
  if (chunk === undefined) {
    const start = pos;
    writeChunk(K.v);
    writeNumber(v);
    writeChunk(K.hook);
    writeString(hook);
    writeChunk(K.request);
    // Hooks are a handful of names; anything else is written but not kept.
    if (v === 1 && openings.size < 16) openings.set(hook, bytes.slice(start, pos));
    return;
  }
  writeChunk(chunk);
}

/** The two halves of `metadata` last written: one is the request's, the other the plugin's. */
let lastRequestId: string | null = null;
let requestIdChunk: Uint8Array = new Uint8Array(0);
let lastPlugin: string | null = null;
let lastVersion: string | null = null;
let pluginChunk: Uint8Array = new Uint8Array(0);

function writeMetadata(m: Envelope['metadata']): void {
  if (m.request_id === lastRequestId) writeChunk(requestIdChunk);
  else {
    const start = pos;
    writeChunk(K.metadata);
    room(1);
    bytes[pos++] = 0x84;
    writeChunk(K.request_id);
    writeString(m.request_id);
    requestIdChunk = bytes.slice(start, pos);
    lastRequestId = m.request_id;
  }
  if (m.plugin === lastPlugin && m.version === lastVersion) writeChunk(pluginChunk);
  else {
    const start = pos;
    writeChunk(K.plugin);
    writeString(m.plugin);
    writeChunk(K.version);
    writeString(m.version);
    writeChunk(K.time);
    pluginChunk = bytes.slice(start, pos);
    lastPlugin = m.plugin;
    lastVersion = m.version;
  }
  writeNumber(m.time);
}

/**
 * An envelope in the canonical encoding (docs/abi.md §6), as plugins
 * receive it, written field by field rather than walked: the same bytes
 * encodeMsgpack gives an envelope whose keys are in the order of records.ts
 * `Envelope` (an absent or undefined field is left out), at a fraction of
 * the cost. The gateway builds its envelopes in that order.
 */
export function encodeEnvelope(e: Envelope): Uint8Array {
  try {
    writeEnvelope(e);
    return copyOut();
  } finally {
    letGrownBufferGo();
  }
}

/**
 * encodeEnvelope's bytes as a view of the writer's scratch buffer, not
 * a copy: valid only until the next envelope is written. For a call that
 * reads its input before anything else can encode (a direct call,
 * runtime/binding.ts), it saves an allocation and a copy per call.
 */
export function encodeEnvelopeView(e: Envelope): Uint8Array {
  try {
    writeEnvelope(e);
    return bytes.subarray(0, pos);
  } finally {
    // The view keeps a grown buffer alive for as long as it is held; the writer lets it go.
    letGrownBufferGo();
  }
}

function writeEnvelope(e: Envelope): void {
  pos = 0;
  const n =
    5 +
    (e.session !== undefined ? 1 : 0) +
    (e.response !== undefined ? 1 : 0) +
    (e.record !== undefined ? 1 : 0) +
    (e.responses !== undefined ? 1 : 0) +
    (e.state !== undefined ? 1 : 0);
  room(1);
  bytes[pos++] = 0x80 | n;
  writeOpening(e.v, e.hook);
  writeRequest(e.request);
  if (e.session !== undefined) {
    writeChunk(K.session);
    writeValue(e.session);
  }
  if (e.response !== undefined) {
    const r = e.response;
    writeChunk(K.response);
    room(1);
    bytes[pos++] = 0x83;
    writeChunk(K.status_code);
    writeNumber(r.status_code);
    writeChunk(K.headers);
    writeMulti(r.headers);
    writeChunk(K.body);
    writeNullableBytes(r.body);
  }
  if (e.record !== undefined) {
    writeChunk(K.record);
    writeValue(e.record);
  }
  writeChunk(K.spec);
  writeValue(e.spec);
  writeMetadata(e.metadata);
  if (e.responses !== undefined) {
    writeChunk(K.responses);
    writeValue(e.responses);
  }
  if (e.state !== undefined) {
    writeChunk(K.state);
    writeBytes(e.state);
  }
}

/** The canonical msgpack bytes of `value` (plain objects, arrays, strings, numbers, booleans, null, bytes). */
export function encodeMsgpack(value: unknown): Uint8Array {
  pos = 0;
  try {
    writeValue(value);
    return copyOut();
  } finally {
    letGrownBufferGo();
  }
}

/** The bytes written, copied out of the scratch buffer into a pooled Buffer (a fresh ArrayBuffer per envelope costs twice as much). */
function copyOut(): Uint8Array {
  const out = Buffer.allocUnsafe(pos);
  buf.copy(out, 0, 0, pos);
  return out;
}

/** A scratch buffer that grew for one huge value is not kept. */
function letGrownBufferGo(): void {
  if (buf.length > KEEP_BYTES) use(Buffer.allocUnsafe(INITIAL_BYTES));
}
