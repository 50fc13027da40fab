// Typed views of the envelope a hook receives (docs/abi.md §4).
//
// Each section is located when the envelope is read and decoded only when
// the plugin first uses it; a string field is decoded when it is first
// read. Well-formed input goes through the address-based scans of scan.ts;
// anything they do not handle goes through the Reader, which decides and
// words the error, so both paths accept and refuse the same envelopes.
import { Kind, Reader, Value } from './msgpack';
import {
  ABSENT,
  Ascii,
  asciiName,
  bytesAt,
  FLOAT,
  findKey,
  firstString,
  INTEGER,
  intAt,
  MAX_DEPTH,
  mapAt,
  multiEnd,
  NOT_NUMBER,
  nameBytes,
  numberAt,
  scanned,
  scannedFloat,
  scannedInt,
  scans,
  skipValue,
  strAt,
  UNSURE,
} from './scan';

/** Multivalue headers or query parameters, names as the gateway sent them (headers lower-case). */
export type Multi = Map<string, string[]>;

function first(m: Multi, name: string): string | null {
  if (!m.has(name)) return null;
  const v = m.get(name);
  return v.length > 0 ? v[0] : null;
}

// The views below keep the envelope's bytes and offsets into them; a
// Reader is made only where one decodes a whole map or value.

/** A Reader over `buf` at `pos`. */
function readerAt(buf: Uint8Array, pos: i32): Reader {
  const r = new Reader(buf);
  r.pos = pos;
  return r;
}

/** The str at `pos` of `buf` (already checked by a scan), or "" when `pos` < 0. */
function textAt(buf: Uint8Array | null, pos: i32): string {
  if (pos < 0 || buf === null) return '';
  const at = strAt(buf.dataStart, pos, buf.length);
  return at < 0 ? '' : String.UTF8.decodeUnsafe(buf.dataStart + <usize>at, <usize>scanned);
}

/** A copy of the bin or str at `pos` of `buf` (already checked by a scan), as Reader.readBytes returns it. */
function bytesOf(buf: Uint8Array | null, pos: i32): Uint8Array | null {
  if (pos < 0 || buf === null) return null;
  const at = bytesAt(buf.dataStart, pos, buf.length);
  return at < 0 ? null : buf.slice(at, at + scanned);
}

/**
 * What Request, Response and CallAnswer share: the envelope's bytes, where
 * their header map starts in them (-1: absent), and the map once decoded.
 */
export class HeaderedView {
  bytes: Uint8Array | null = null;
  headersPos: i32 = -1;
  protected _headers: Multi | null = null;

  /** A Reader over the envelope's bytes. */
  get reader(): Reader | null {
    const b = this.bytes;
    return b === null ? null : new Reader(b);
  }
  set reader(r: Reader | null) {
    this.bytes = r === null ? null : r.buf;
  }

  get headers(): Multi {
    let h = this._headers;
    if (h === null) {
      h =
        this.headersPos < 0 || this.bytes === null
          ? new Map<string, string[]>()
          : readerAt(this.bytes!, this.headersPos).readMulti();
      this._headers = h;
    }
    return h!;
  }
  set headers(v: Multi) {
    this._headers = v;
  }
}

export class Request extends HeaderedView {
  // Where each field is in the envelope's bytes (-1: absent); decoded on first read.
  methodPos: i32 = -1;
  urlPos: i32 = -1;
  requestUriPos: i32 = -1;
  schemePos: i32 = -1;
  hostPos: i32 = -1;
  remoteAddrPos: i32 = -1;
  bodyPos: i32 = -1;
  paramsPos: i32 = -1;
  private _method: string | null = null;
  private _url: string | null = null;
  private _requestUri: string | null = null;
  private _scheme: string | null = null;
  private _host: string | null = null;
  private _remoteAddr: string | null = null;
  private _body: Uint8Array | null = null;
  private _bodyRead: bool = false;
  private _params: Multi | null = null;

  get method(): string {
    let v = this._method;
    if (v === null) this._method = v = textAt(this.bytes, this.methodPos);
    return v!;
  }
  set method(v: string) {
    this._method = v;
  }
  /** The upstream path (after listen-path stripping), no query. */
  get url(): string {
    let v = this._url;
    if (v === null) this._url = v = textAt(this.bytes, this.urlPos);
    return v!;
  }
  set url(v: string) {
    this._url = v;
  }
  /** The request target as the client sent it. */
  get requestUri(): string {
    let v = this._requestUri;
    if (v === null) this._requestUri = v = textAt(this.bytes, this.requestUriPos);
    return v!;
  }
  set requestUri(v: string) {
    this._requestUri = v;
  }
  get scheme(): string {
    let v = this._scheme;
    if (v === null) this._scheme = v = textAt(this.bytes, this.schemePos);
    return v!;
  }
  set scheme(v: string) {
    this._scheme = v;
  }
  get host(): string {
    let v = this._host;
    if (v === null) this._host = v = textAt(this.bytes, this.hostPos);
    return v!;
  }
  set host(v: string) {
    this._host = v;
  }
  get remoteAddr(): string {
    let v = this._remoteAddr;
    if (v === null) this._remoteAddr = v = textAt(this.bytes, this.remoteAddrPos);
    return v!;
  }
  set remoteAddr(v: string) {
    this._remoteAddr = v;
  }
  /** The body, only when the plugin entry declared `needs_body`. */
  get body(): Uint8Array | null {
    if (!this._bodyRead) {
      this._bodyRead = true;
      this._body = bytesOf(this.bytes, this.bodyPos);
    }
    return this._body;
  }
  set body(v: Uint8Array | null) {
    this._body = v;
    this._bodyRead = true;
  }

  get params(): Multi {
    let p = this._params;
    if (p === null) {
      p =
        this.paramsPos < 0 || this.bytes === null
          ? new Map<string, string[]>()
          : readerAt(this.bytes!, this.paramsPos).readMulti();
      this._params = p;
    }
    return p!;
  }

  /** First value of a header (name in any case), or null. */
  header(name: string): string | null {
    // Before the whole map is decoded, look the one name up in place.
    if (this._headers === null && this.headersPos >= 0 && this.bytes !== null) {
      const n = asciiName(name, true);
      if (n >= 0) {
        const found = readerAt(this.bytes!, this.headersPos).findFirstFast(n);
        if (found != UNSURE) return found == ABSENT ? null : textOfScan(this.bytes, found);
      }
      return readerAt(this.bytes!, this.headersPos).findFirst(name.toLowerCase());
    }
    return first(this.headers, name.toLowerCase());
  }
  /** Every value of a header, in order. */
  headerValues(name: string): string[] {
    const n = name.toLowerCase();
    const h = this.headers;
    return h.has(n) ? h.get(n) : new Array<string>();
  }
  /** First value of a query parameter, or null. */
  query(name: string): string | null {
    if (this._params === null && this.paramsPos >= 0 && this.bytes !== null)
      return readerAt(this.bytes!, this.paramsPos).findFirst(name);
    return first(this.params, name);
  }
  bodyText(): string {
    const b = this.body;
    return b === null ? '' : String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }
}

/** The string a scan just found at `at` of `buf` (its length in `scanned`). */
function textOfScan(buf: Uint8Array | null, at: i32): string {
  return String.UTF8.decodeUnsafe(buf!.dataStart + <usize>at, <usize>scanned);
}

export class Response extends HeaderedView {
  statusCode: i32 = 0;
  // Headers and body are located when the response is read and decoded on first use.
  bodyPos: i32 = -1;
  private _body: Uint8Array | null = null;
  private _bodyRead: bool = false;

  get body(): Uint8Array | null {
    if (!this._bodyRead) {
      this._bodyRead = true;
      this._body = bytesOf(this.bytes, this.bodyPos);
    }
    return this._body;
  }
  set body(v: Uint8Array | null) {
    this._body = v;
    this._bodyRead = true;
  }

  header(name: string): string | null {
    // In place while the map is not decoded; as in the decoded map, the last of duplicate names wins.
    if (this._headers === null && this.headersPos >= 0 && this.bytes !== null && scans()) {
      const n = asciiName(name, true);
      if (n >= 0) {
        const buf = this.bytes!;
        const v = findKey(buf.dataStart, this.headersPos, buf.length, nameBytes(), n, true, true);
        if (v == ABSENT) return null;
        if (v != UNSURE) {
          const s = firstString(buf.dataStart, v, buf.length);
          if (s == ABSENT) return null;
          if (s != UNSURE) return textOfScan(this.bytes, s);
        }
      }
    }
    return first(this.headers, name.toLowerCase());
  }
  headerValues(name: string): string[] {
    const n = name.toLowerCase();
    return this.headers.has(n) ? this.headers.get(n) : new Array<string>();
  }
}

// Set when a view that reads the envelope's bytes in place and that a
// plugin may sensibly keep across calls is made, so the next call reads
// its envelope into a new buffer instead of over these bytes.
let pinned: bool = false;

/** True (once) when the last envelope's bytes must be kept: see `pinned`. */
export function takePinned(): bool {
  const p = pinned;
  pinned = false;
  return p;
}

/**
 * A msgpack map in the envelope (config_data, the session, the analytics
 * record), read in place until something needs it whole — then decoded
 * once into a Value. Looking up a string, number or flag decodes only that
 * entry; `get`, which hands out a Value the plugin may change, decodes the
 * whole map first, so every Value it returns is the one in `value`. Maps
 * with keys that are not strings, and names that are not ASCII, are looked
 * up in the decoded Value (where non-string keys become strings).
 */
export class MapView {
  private decoded: Value | null = null;

  /** A view of the value at `pos` of `bytes` (`pos` < 0: an empty map). */
  constructor(
    public bytes: Uint8Array | null,
    public pos: i32,
  ) {
    if (bytes !== null) pinned = true;
  }

  static of(v: Value): MapView {
    const m = new MapView(null, -1);
    m.decoded = v;
    return m;
  }

  get isDecoded(): bool {
    return this.decoded !== null;
  }

  /** The whole map, decoded (the Reader's Value: a non-map value stays what it is). */
  get value(): Value {
    let v = this.decoded;
    if (v === null) {
      v = this.pos < 0 || this.bytes === null ? Value.map() : readerAt(this.bytes!, this.pos).readValue();
      this.decoded = v;
    }
    return v!;
  }

  /** Where the value under `key` is (an offset), ABSENT, or UNSURE when only the decoded map can tell. */
  private find(key: string): i32 {
    if (this.decoded !== null || !scans()) return UNSURE;
    if (this.pos < 0 || this.bytes === null) return ABSENT;
    const n = asciiName(key, false);
    if (n < 0) return UNSURE;
    const buf = this.bytes!;
    return findKey(buf.dataStart, this.pos, buf.length, nameBytes(), n, false, true);
  }

  /** The entry, decoded alone (a fresh Value: for reading only). */
  private entry(key: string): Value | null {
    const at = this.find(key);
    if (at == UNSURE) return this.value.get(key);
    return at == ABSENT ? null : readerAt(this.bytes!, at).readValue();
  }

  /** The entry, from the decoded map: the Value stays the map's. */
  get(key: string): Value | null {
    return this.value.get(key);
  }

  has(key: string): bool {
    const at = this.find(key);
    if (at == UNSURE) return this.value.get(key) !== null;
    return at != ABSENT;
  }

  /** The entry when it is a string, else null. */
  getString(key: string): string | null {
    const at = this.find(key);
    if (at == UNSURE) {
      const v = this.value.get(key);
      return v === null || v.kind != Kind.Str ? null : v.s;
    }
    if (at == ABSENT) return null;
    const buf = this.bytes!;
    const s = strAt(buf.dataStart, at, buf.length);
    return s < 0 ? null : String.UTF8.decodeUnsafe(buf.dataStart + <usize>s, <usize>scanned);
  }

  /** The entry as a number (Value.asF64), or `fallback` when absent or not a number. */
  number(key: string, fallback: f64): f64 {
    const at = this.find(key);
    if (at == ABSENT) return fallback;
    if (at != UNSURE) {
      const buf = this.bytes!;
      const kind = numberAt(buf.dataStart, at, buf.length);
      if (kind == NOT_NUMBER) return fallback;
      if (kind == INTEGER) return <f64>scannedInt;
      if (kind == FLOAT) return scannedFloat;
    }
    const v = this.entry(key);
    return v === null || !v.isNumber() ? fallback : v.asF64();
  }

  /** The entry as an integer (Value.asI64: floats truncate), or `fallback` when absent or not a number. */
  integer(key: string, fallback: i64): i64 {
    const at = this.find(key);
    if (at == ABSENT) return fallback;
    if (at != UNSURE) {
      const buf = this.bytes!;
      const kind = numberAt(buf.dataStart, at, buf.length);
      if (kind == NOT_NUMBER) return fallback;
      if (kind == INTEGER) return scannedInt;
      if (kind == FLOAT) return <i64>scannedFloat;
    }
    const v = this.entry(key);
    return v === null || !v.isNumber() ? fallback : v.asI64();
  }

  /** The entry when it is a bool, else `fallback`. */
  flag(key: string, fallback: bool): bool {
    const at = this.find(key);
    if (at == ABSENT) return fallback;
    if (at != UNSURE) {
      const b = this.bytes![at];
      return b == 0xc3 ? true : b == 0xc2 ? false : fallback;
    }
    const v = this.entry(key);
    return v === null || v.kind != Kind.Bool ? fallback : v.b;
  }

  /** The entry as a view when it is a map (null when absent or not a map). */
  child(key: string): MapView | null {
    const at = this.find(key);
    if (at == UNSURE) {
      const v = this.value.get(key);
      return v === null || v.kind != Kind.Map ? null : MapView.of(v);
    }
    if (at == ABSENT) return null;
    const buf = this.bytes!;
    return mapAt(buf.dataStart, at, buf.length) < 0 ? null : new MapView(this.bytes, at);
  }
}

/** Session fields (Tyk's SessionState). `has(...)` tells which were present. */
export class SessionView {
  private _view: MapView | null = null;

  /** The session's map, read in place until `raw` is used. */
  get view(): MapView {
    let v = this._view;
    if (v === null) this._view = v = MapView.of(Value.map());
    return v!;
  }
  set view(v: MapView) {
    this._view = v;
  }

  /** The whole session, decoded. */
  get raw(): Value {
    return this.view.value;
  }
  set raw(v: Value) {
    this.view = MapView.of(v);
  }

  has(field: string): bool {
    return this.view.has(field);
  }
  num(field: string): f64 {
    return this.view.number(field, 0);
  }
  int(field: string): i64 {
    return this.view.integer(field, 0);
  }
  str(field: string): string {
    const v = this.view.getString(field);
    return v === null ? '' : v;
  }
  /** A `metadata` entry, or null. */
  metadata(key: string): string | null {
    const m = this.view.child('metadata');
    return m === null ? null : m.getString(key);
  }
}

/** The answer to one outbound call (docs/outbound.md): a response, or an error code and message. */
export class CallAnswer extends HeaderedView {
  status: i32 = 0;
  // Where each field is in the envelope's bytes (-1: absent); decoded on first use.
  bodyPos: i32 = -1;
  errorPos: i32 = -1;
  messagePos: i32 = -1;
  private _body: Uint8Array | null = null;
  private _error: string | null = null;
  private _errorRead: bool = false;
  private _message: string | null = null;

  get body(): Uint8Array {
    let b = this._body;
    if (b === null) {
      b = bytesOf(this.bytes, this.bodyPos);
      if (b === null) b = new Uint8Array(0);
      this._body = b;
    }
    return b!;
  }
  set body(v: Uint8Array) {
    this._body = v;
  }
  /** ORIGIN_NOT_ALLOWED, ADDRESS_REFUSED, TIMEOUT, TOO_LARGE, BAD_URL or FAILED; null when there is a response. */
  get error(): string | null {
    if (!this._errorRead) {
      this._errorRead = true;
      if (this.errorPos >= 0) this._error = textAt(this.bytes, this.errorPos);
    }
    return this._error;
  }
  set error(v: string | null) {
    this._error = v;
    this._errorRead = true;
  }
  get message(): string {
    let v = this._message;
    if (v === null) this._message = v = textAt(this.bytes, this.messagePos);
    return v!;
  }
  set message(v: string) {
    this._message = v;
  }

  get ok(): bool {
    return this.error === null;
  }
  bodyText(): string {
    // Straight from the envelope's bytes while the body has not been copied out.
    if (this._body === null && this.bodyPos >= 0 && this.bytes !== null) {
      const buf = this.bytes!;
      const at = bytesAt(buf.dataStart, this.bodyPos, buf.length);
      if (at >= 0) return String.UTF8.decodeUnsafe(buf.dataStart + <usize>at, <usize>scanned);
    }
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }
  header(name: string): string | null {
    // In place while the map is not decoded; as in the decoded map, the last of duplicate names wins.
    if (this._headers === null && this.headersPos >= 0 && this.bytes !== null && scans()) {
      const n = asciiName(name, false);
      if (n >= 0) {
        const buf = this.bytes!;
        const v = findKey(buf.dataStart, this.headersPos, buf.length, nameBytes(), n, true, true);
        if (v == ABSENT) return null;
        if (v != UNSURE) {
          const s = firstString(buf.dataStart, v, buf.length);
          if (s == ABSENT) return null;
          if (s != UNSURE) return textOfScan(this.bytes, s);
        }
      }
    }
    if (!this.headers.has(name)) return null;
    const v = this.headers.get(name);
    return v.length > 0 ? v[0] : null;
  }
}

export class Spec {
  // Where each field is in the envelope's bytes (-1: absent); decoded on first read.
  bytes: Uint8Array | null = null;
  apiIdPos: i32 = -1;
  orgIdPos: i32 = -1;
  namePos: i32 = -1;
  private _apiId: string | null = null;
  private _orgId: string | null = null;
  private _name: string | null = null;
  private _config: MapView | null = null;

  get apiId(): string {
    let v = this._apiId;
    if (v === null) this._apiId = v = textAt(this.bytes, this.apiIdPos);
    return v!;
  }
  set apiId(v: string) {
    this._apiId = v;
  }
  get orgId(): string {
    let v = this._orgId;
    if (v === null) this._orgId = v = textAt(this.bytes, this.orgIdPos);
    return v!;
  }
  set orgId(v: string) {
    this._orgId = v;
  }
  get name(): string {
    let v = this._name;
    if (v === null) this._name = v = textAt(this.bytes, this.namePos);
    return v!;
  }
  set name(v: string) {
    this._name = v;
  }
  /** config_data, decoded. */
  get configData(): Value {
    return this.configView.value;
  }
  set configData(v: Value) {
    this._config = MapView.of(v);
  }
  /** config_data, read in place until configData is used. */
  get configView(): MapView {
    let c = this._config;
    if (c === null) this._config = c = MapView.of(Value.map());
    return c!;
  }
  set configView(c: MapView) {
    this._config = c;
  }
}

export class Metadata {
  bytes: Uint8Array | null = null;
  requestIdPos: i32 = -1;
  pluginPos: i32 = -1;
  versionPos: i32 = -1;
  private _requestId: string | null = null;
  private _plugin: string | null = null;
  private _version: string | null = null;
  /** The gateway's clock at the start of the request, unix seconds. */
  time: i64 = 0;

  get requestId(): string {
    let v = this._requestId;
    if (v === null) this._requestId = v = textAt(this.bytes, this.requestIdPos);
    return v!;
  }
  set requestId(v: string) {
    this._requestId = v;
  }
  get plugin(): string {
    let v = this._plugin;
    if (v === null) this._plugin = v = textAt(this.bytes, this.pluginPos);
    return v!;
  }
  set plugin(v: string) {
    this._plugin = v;
  }
  get version(): string {
    let v = this._version;
    if (v === null) this._version = v = textAt(this.bytes, this.versionPos);
    return v!;
  }
  set version(v: string) {
    this._version = v;
  }
}

/**
 * The envelope. `v` and `hook` are read at once; every other section is
 * located but decoded only when first used, so a plugin pays only for what
 * it reads. A section that fails to decode sets `error`.
 */
export class Envelope {
  v: i32 = 0;
  private _hook: string = '';
  private _hookBit: i32 = 0;
  error: string | null = null;
  requestPos: i32 = -1;
  sessionPos: i32 = -1;
  responsePos: i32 = -1;
  recordPos: i32 = -1;
  specPos: i32 = -1;
  metadataPos: i32 = -1;
  responsesPos: i32 = -1;
  statePos: i32 = -1;
  private _responses: Map<string, CallAnswer> | null = null;
  private _state: Uint8Array | null = null;
  private _stateRead: bool = false;
  // The request's fields as the scan found them (see scanRequest): offsets, -1 when absent.
  requestScanned: bool = false;
  rqMethod: i32 = -1;
  rqUrl: i32 = -1;
  rqRequestUri: i32 = -1;
  rqScheme: i32 = -1;
  rqHost: i32 = -1;
  rqRemoteAddr: i32 = -1;
  rqBody: i32 = -1;
  rqHeaders: i32 = -1;
  rqParams: i32 = -1;
  private _request: Request | null = null;
  private _session: SessionView | null = null;
  private _sessionRead: bool = false;
  private _response: Response | null = null;
  private _responseRead: bool = false;
  private _record: Value | null = null;
  private _recordRead: bool = false;
  private _spec: Spec | null = null;
  private _metadata: Metadata | null = null;

  /** `pre`, `auth`, `post_auth`, `endpoint`, `post`, `response` or `analytics`. */
  get hook(): string {
    return this._hook;
  }
  set hook(v: string) {
    this._hook = v;
    this._hookBit = hookBit(v);
  }
  /** The hook as one of the HOOK_* bits (0 for a name the ABI does not know). */
  get hookBit(): i32 {
    return this._hookBit;
  }
  /** Sets the hook when its bit is already known (the scan's way). */
  setHook(name: string, bit: i32): void {
    this._hook = name;
    this._hookBit = bit;
  }

  /** The envelope's bytes. */
  bytes: Uint8Array;
  private _reader: Reader | null = null;

  constructor(bytes: Uint8Array | null = null) {
    this.bytes = bytes === null ? new Uint8Array(0) : bytes;
  }

  /** A Reader over the envelope's bytes (made on first use). */
  get reader(): Reader {
    let r = this._reader;
    if (r === null) this._reader = r = new Reader(this.bytes);
    return r!;
  }
  set reader(r: Reader) {
    this._reader = r;
    this.bytes = r.buf;
  }

  private section(pos: i32): Reader | null {
    if (pos < 0) return null;
    return readerAt(this.bytes, pos);
  }

  private check(r: Reader | null, what: string): void {
    if (r !== null && r.error !== null && this.error === null)
      this.error = "the envelope's " + what + ' is not valid msgpack: ' + (r.error as string);
  }

  get request(): Request {
    let q = this._request;
    if (q === null) {
      if (this.requestPos < 0) q = new Request();
      else {
        if (!this.requestScanned && scans()) this.requestScanned = scanRequest(this, this.requestPos) >= 0;
        if (this.requestScanned) q = this.scannedRequest();
      }
      if (q === null) {
        const r = this.section(this.requestPos)!;
        q = readRequest(r);
        this.check(r, 'request');
      }
      this._request = q;
    }
    return q!;
  }

  /**
   * Decides now whether the request decodes, as reading it would (a request
   * the scan could not vouch for goes through the Reader, which records any
   * error), without making its view.
   */
  checkRequest(): void {
    if (this.requestPos >= 0 && !this.requestScanned && this._request === null) this._request = this.request;
  }

  private scannedRequest(): Request {
    const q = new Request();
    q.bytes = this.bytes;
    q.methodPos = this.rqMethod;
    q.urlPos = this.rqUrl;
    q.requestUriPos = this.rqRequestUri;
    q.schemePos = this.rqScheme;
    q.hostPos = this.rqHost;
    q.remoteAddrPos = this.rqRemoteAddr;
    q.bodyPos = this.rqBody;
    q.headersPos = this.rqHeaders;
    q.paramsPos = this.rqParams;
    return q;
  }

  get session(): SessionView | null {
    if (!this._sessionRead) {
      this._sessionRead = true;
      // Read in place: the scan that located the session checked it, so decoding it cannot fail.
      const pos = this.sessionPos;
      if (pos >= 0 && this.bytes[pos] != 0xc0) {
        const s = new SessionView();
        s.view = new MapView(this.bytes, pos);
        this._session = s;
      }
    }
    return this._session;
  }

  get response(): Response | null {
    if (!this._responseRead) {
      this._responseRead = true;
      if (this.responsePos >= 0) {
        const buf = this.bytes;
        const nil = this.responsePos < buf.length && buf[this.responsePos] == 0xc0;
        if (!nil && scans()) this._response = scanResponse(buf, this.responsePos);
        if (!nil && this._response === null) {
          const r = this.section(this.responsePos)!;
          this._response = readResponse(r);
          this.check(r, 'response');
        }
      }
    }
    return this._response;
  }

  get record(): Value | null {
    if (!this._recordRead) {
      this._recordRead = true;
      const r = this.section(this.recordPos);
      if (r !== null && !r.readNil()) this._record = r.readValue();
      this.check(r, 'record');
    }
    return this._record;
  }

  /** The record as a map read in place (an empty map when absent or nil). */
  recordView(): MapView {
    if (this._recordRead) return MapView.of(this._record === null ? Value.map() : this._record!);
    const pos = this.recordPos;
    if (pos < 0 || this.bytes[pos] == 0xc0) return MapView.of(Value.map());
    // The scan that located the record checked it: decoding it later cannot fail.
    return new MapView(this.bytes, pos);
  }

  get spec(): Spec {
    let s = this._spec;
    if (s === null) {
      s = this.specPos < 0 ? new Spec() : scans() ? scanSpec(this.bytes, this.specPos) : null;
      if (s === null) {
        const r = this.section(this.specPos)!;
        s = readSpec(r);
        this.check(r, 'spec');
      }
      this._spec = s;
    }
    return s!;
  }

  /** The answers to the calls the plugin asked for, by id; null on a first call (no continuation). */
  get responses(): Map<string, CallAnswer> | null {
    if (this._responses === null && this.responsesPos >= 0) {
      let all = scans() ? scanResponses(this.bytes, this.responsesPos) : null;
      if (all === null) {
        const r = this.section(this.responsesPos)!;
        all = readResponses(r);
        this.check(r, 'responses');
      }
      this._responses = all;
    }
    return this._responses;
  }

  /** The state the plugin returned with its calls; null on a first call. */
  get state(): Uint8Array | null {
    if (!this._stateRead) {
      this._stateRead = true;
      const r = this.section(this.statePos);
      if (r !== null && !r.readNil()) this._state = r.readBytes();
      this.check(r, 'state');
    }
    return this._state;
  }

  get metadata(): Metadata {
    let m = this._metadata;
    if (m === null) {
      m = this.metadataPos < 0 ? new Metadata() : scans() ? scanMetadata(this.bytes, this.metadataPos) : null;
      if (m === null) {
        const r = this.section(this.metadataPos)!;
        m = readMetadata(r);
        this.check(r, 'metadata');
      }
      this._metadata = m;
    }
    return m!;
  }
}

/**
 * Locates the request record at `pos` — its fields checked as readRequest
 * would but not decoded — into the envelope's rq* offsets; returns the
 * offset after the record, or -1 when the Reader must decide.
 */
function scanRequest(env: Envelope, pos: i32): i32 {
  const buf = env.bytes;
  const base = buf.dataStart;
  const len = buf.length;
  let at = mapAt(base, pos, len);
  if (at < 0) return -1;
  let method = -1;
  let url = -1;
  let requestUri = -1;
  let scheme = -1;
  let host = -1;
  let remoteAddr = -1;
  let body = -1;
  let headers = -1;
  let params = -1;
  const n = scanned;
  for (let i = 0; i < n; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return -1;
    const kp = base + <usize>k;
    const kn = scanned;
    const v = k + kn;
    if (kn == 7 && Ascii.is(kp, kn, 'headers')) {
      headers = v;
      at = skipValue(base, v, len, MAX_DEPTH);
    } else if (kn == 6 && Ascii.is(kp, kn, 'params')) {
      params = v;
      at = skipValue(base, v, len, MAX_DEPTH);
    } else if (kn == 4 && Ascii.is(kp, kn, 'body')) {
      if (v < len && load<u8>(base + <usize>v) == 0xc0) {
        body = -1;
        at = v + 1;
      } else {
        body = v;
        at = bytesAt(base, v, len);
        if (at >= 0) at += scanned;
      }
    } else {
      // The string fields; anything else is stepped over.
      let field = 0;
      if (kn == 6 && Ascii.is(kp, kn, 'method')) field = 1;
      else if (kn == 3 && Ascii.is(kp, kn, 'url')) field = 2;
      else if (kn == 11 && Ascii.is(kp, kn, 'request_uri')) field = 3;
      else if (kn == 6 && Ascii.is(kp, kn, 'scheme')) field = 4;
      else if (kn == 4 && Ascii.is(kp, kn, 'host')) field = 5;
      else if (kn == 11 && Ascii.is(kp, kn, 'remote_addr')) field = 6;
      if (field == 0) at = skipValue(base, v, len, MAX_DEPTH);
      else {
        at = strAt(base, v, len);
        if (at >= 0) at += scanned;
        if (field == 1) method = v;
        else if (field == 2) url = v;
        else if (field == 3) requestUri = v;
        else if (field == 4) scheme = v;
        else if (field == 5) host = v;
        else remoteAddr = v;
      }
    }
    if (at < 0) return -1;
  }
  env.rqMethod = method;
  env.rqUrl = url;
  env.rqRequestUri = requestUri;
  env.rqScheme = scheme;
  env.rqHost = host;
  env.rqRemoteAddr = remoteAddr;
  env.rqBody = body;
  env.rqHeaders = headers;
  env.rqParams = params;
  return at;
}

/** The response record at `pos` (not nil), checked as readResponse would and located; null when the Reader must decide. */
function scanResponse(buf: Uint8Array, pos: i32): Response | null {
  const base = buf.dataStart;
  const len = buf.length;
  let at = mapAt(base, pos, len);
  if (at < 0) return null;
  const res = new Response();
  res.bytes = buf;
  const n = scanned;
  for (let i = 0; i < n; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return null;
    const kp = base + <usize>k;
    const kn = scanned;
    const v = k + kn;
    if (kn == 11 && Ascii.is(kp, kn, 'status_code')) {
      // Small non-negative integers here; any other form goes through Reader.readInt.
      if (v >= len) return null;
      const b = <u32>load<u8>(base + <usize>v);
      if (b <= 0x7f) {
        res.statusCode = <i32>b;
        at = v + 1;
      } else if (b == 0xcc && len - v >= 2) {
        res.statusCode = <i32>load<u8>(base + <usize>v, 1);
        at = v + 2;
      } else if (b == 0xcd && len - v >= 3) {
        res.statusCode = <i32>bswap<u16>(load<u16>(base + <usize>v, 1));
        at = v + 3;
      } else return null;
    } else if (kn == 7 && Ascii.is(kp, kn, 'headers')) {
      res.headersPos = v;
      at = multiEnd(base, v, len);
    } else if (kn == 4 && Ascii.is(kp, kn, 'body')) {
      if (v < len && load<u8>(base + <usize>v) == 0xc0) {
        res.bodyPos = -1;
        at = v + 1;
      } else {
        res.bodyPos = v;
        at = bytesAt(base, v, len);
        if (at >= 0) at += scanned;
      }
    } else at = skipValue(base, v, len, MAX_DEPTH);
    if (at < 0) return null;
  }
  return res;
}

function readRequest(r: Reader): Request {
  const req = new Request();
  req.reader = r;
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    r.readKey();
    if (r.keyIs('method')) req.method = r.readString();
    else if (r.keyIs('url')) req.url = r.readString();
    else if (r.keyIs('request_uri')) req.requestUri = r.readString();
    else if (r.keyIs('scheme')) req.scheme = r.readString();
    else if (r.keyIs('host')) req.host = r.readString();
    else if (r.keyIs('remote_addr')) req.remoteAddr = r.readString();
    else if (r.keyIs('params')) {
      req.paramsPos = r.pos;
      r.skip();
    } else if (r.keyIs('headers')) {
      req.headersPos = r.pos;
      r.skip();
    } else if (r.keyIs('body')) req.body = r.readNil() ? null : r.readBytes();
    else r.skip();
  }
  return req;
}

function readResponse(r: Reader): Response {
  const res = new Response();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    r.readKey();
    if (r.keyIs('status_code')) res.statusCode = <i32>r.readInt();
    else if (r.keyIs('headers')) res.headers = r.readMulti();
    else if (r.keyIs('body')) res.body = r.readNil() ? null : r.readBytes();
    else r.skip();
  }
  return res;
}

/** The answers at `pos`, checked as readResponses would and located; null when the Reader must decide. */
function scanResponses(buf: Uint8Array, pos: i32): Map<string, CallAnswer> | null {
  const base = buf.dataStart;
  const len = buf.length;
  let at = mapAt(base, pos, len);
  if (at < 0) return null;
  const out = new Map<string, CallAnswer>();
  const n = scanned;
  for (let i = 0; i < n; i++) {
    const idAt = strAt(base, at, len);
    if (idAt < 0) return null;
    const id = String.UTF8.decodeUnsafe(base + <usize>idAt, <usize>scanned);
    at = mapAt(base, idAt + scanned, len);
    if (at < 0) return null;
    const a = new CallAnswer();
    a.bytes = buf;
    const m = scanned;
    for (let j = 0; j < m; j++) {
      const k = strAt(base, at, len);
      if (k < 0) return null;
      const kp = base + <usize>k;
      const kn = scanned;
      const v = k + kn;
      if (kn == 6 && Ascii.is(kp, kn, 'status')) {
        at = intAt(base, v, len);
        if (at >= 0) a.status = <i32>scannedInt;
      } else if (kn == 7 && Ascii.is(kp, kn, 'headers')) {
        a.headersPos = v;
        at = multiEnd(base, v, len);
      } else if (kn == 4 && Ascii.is(kp, kn, 'body')) {
        if (v < len && load<u8>(base + <usize>v) == 0xc0) {
          a.bodyPos = -1;
          at = v + 1;
        } else {
          a.bodyPos = v;
          at = bytesAt(base, v, len);
          if (at >= 0) at += scanned;
        }
      } else if ((kn == 5 && Ascii.is(kp, kn, 'error')) || (kn == 7 && Ascii.is(kp, kn, 'message'))) {
        at = strAt(base, v, len);
        if (at >= 0) at += scanned;
        if (kn == 5) a.errorPos = v;
        else a.messagePos = v;
      } else at = skipValue(base, v, len, MAX_DEPTH);
      if (at < 0) return null;
    }
    out.set(id, a);
  }
  return out;
}

function readResponses(r: Reader): Map<string, CallAnswer> {
  const out = new Map<string, CallAnswer>();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    const id = r.readString();
    const a = new CallAnswer();
    const m = r.readMapHeader();
    for (let j = 0; j < m && r.error === null; j++) {
      r.readKey();
      if (r.keyIs('status')) a.status = <i32>r.readInt();
      else if (r.keyIs('headers')) a.headers = r.readMulti();
      else if (r.keyIs('body')) a.body = r.readNil() ? new Uint8Array(0) : r.readBytes();
      else if (r.keyIs('error')) a.error = r.readString();
      else if (r.keyIs('message')) a.message = r.readString();
      else r.skip();
    }
    out.set(id, a);
  }
  return out;
}

/** The spec record at `pos`, checked as readSpec would and located; null when the Reader must decide. */
function scanSpec(buf: Uint8Array, pos: i32): Spec | null {
  const base = buf.dataStart;
  const len = buf.length;
  let at = mapAt(base, pos, len);
  if (at < 0) return null;
  const spec = new Spec();
  spec.bytes = buf;
  pinned = true;
  const n = scanned;
  for (let i = 0; i < n; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return null;
    const kp = base + <usize>k;
    const kn = scanned;
    const v = k + kn;
    let field = 0;
    if (kn == 6 && Ascii.is(kp, kn, 'api_id')) field = 1;
    else if (kn == 6 && Ascii.is(kp, kn, 'org_id')) field = 2;
    else if (kn == 4 && Ascii.is(kp, kn, 'name')) field = 3;
    if (field != 0) {
      at = strAt(base, v, len);
      if (at < 0) return null;
      at += scanned;
      if (field == 1) spec.apiIdPos = v;
      else if (field == 2) spec.orgIdPos = v;
      else spec.namePos = v;
      continue;
    }
    // config_data counts only when it is a map (readSpec keeps the last one that is).
    if (kn == 11 && Ascii.is(kp, kn, 'config_data') && mapAt(base, v, len) >= 0) spec.configView = new MapView(buf, v);
    at = skipValue(base, v, len, MAX_DEPTH);
    if (at < 0) return null;
  }
  return spec;
}

/** The metadata record at `pos`, checked as readMetadata would and located; null when the Reader must decide. */
function scanMetadata(buf: Uint8Array, pos: i32): Metadata | null {
  const base = buf.dataStart;
  const len = buf.length;
  let at = mapAt(base, pos, len);
  if (at < 0) return null;
  const m = new Metadata();
  m.bytes = buf;
  const n = scanned;
  for (let i = 0; i < n; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return null;
    const kp = base + <usize>k;
    const kn = scanned;
    const v = k + kn;
    if (kn == 4 && Ascii.is(kp, kn, 'time')) {
      at = intAt(base, v, len);
      if (at < 0) return null;
      m.time = scannedInt;
      continue;
    }
    let field = 0;
    if (kn == 10 && Ascii.is(kp, kn, 'request_id')) field = 1;
    else if (kn == 6 && Ascii.is(kp, kn, 'plugin')) field = 2;
    else if (kn == 7 && Ascii.is(kp, kn, 'version')) field = 3;
    if (field == 0) at = skipValue(base, v, len, MAX_DEPTH);
    else {
      at = strAt(base, v, len);
      if (at >= 0) at += scanned;
      if (field == 1) m.requestIdPos = v;
      else if (field == 2) m.pluginPos = v;
      else m.versionPos = v;
    }
    if (at < 0) return null;
  }
  return m;
}

function readSpec(r: Reader): Spec {
  const s = new Spec();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    r.readKey();
    if (r.keyIs('api_id')) s.apiId = r.readString();
    else if (r.keyIs('org_id')) s.orgId = r.readString();
    else if (r.keyIs('name')) s.name = r.readString();
    else if (r.keyIs('config_data')) {
      const v = r.readValue();
      if (v.kind == Kind.Map) s.configData = v;
    } else r.skip();
  }
  return s;
}

function readMetadata(r: Reader): Metadata {
  const m = new Metadata();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    r.readKey();
    if (r.keyIs('request_id')) m.requestId = r.readString();
    else if (r.keyIs('plugin')) m.plugin = r.readString();
    else if (r.keyIs('version')) m.version = r.readString();
    else if (r.keyIs('time')) m.time = r.readInt();
    else r.skip();
  }
  return m;
}

/** The envelope version this kit reads. */
export const ABI_VERSION: i32 = 1;

// Hooks as bits, so checking where a helper is allowed costs one AND.
export const HOOK_PRE: i32 = 1;
export const HOOK_AUTH: i32 = 2;
export const HOOK_POST_AUTH: i32 = 4;
export const HOOK_ENDPOINT: i32 = 8;
export const HOOK_POST: i32 = 16;
export const HOOK_RESPONSE: i32 = 32;
export const HOOK_ANALYTICS: i32 = 64;

export function hookBit(hook: string): i32 {
  if (hook == 'pre') return HOOK_PRE;
  if (hook == 'auth') return HOOK_AUTH;
  if (hook == 'post_auth') return HOOK_POST_AUTH;
  if (hook == 'endpoint') return HOOK_ENDPOINT;
  if (hook == 'post') return HOOK_POST;
  if (hook == 'response') return HOOK_RESPONSE;
  if (hook == 'analytics') return HOOK_ANALYTICS;
  return 0;
}

/** Sets the envelope's hook from its bytes: the names the gateway sends are constants, so this allocates nothing. */
function setHookFrom(env: Envelope, p: usize, n: i32): void {
  if (Ascii.is(p, n, 'pre')) env.setHook('pre', HOOK_PRE);
  else if (Ascii.is(p, n, 'auth')) env.setHook('auth', HOOK_AUTH);
  else if (Ascii.is(p, n, 'post_auth')) env.setHook('post_auth', HOOK_POST_AUTH);
  else if (Ascii.is(p, n, 'endpoint')) env.setHook('endpoint', HOOK_ENDPOINT);
  else if (Ascii.is(p, n, 'post')) env.setHook('post', HOOK_POST);
  else if (Ascii.is(p, n, 'response')) env.setHook('response', HOOK_RESPONSE);
  else if (Ascii.is(p, n, 'analytics')) env.setHook('analytics', HOOK_ANALYTICS);
  else env.hook = String.UTF8.decodeUnsafe(p, <usize>n); // (bytes that decode to a known name still count as it)
}

export function readEnvelope(buf: Uint8Array): Envelope {
  if (!scans()) return readEnvelopeCarefully(buf);
  const env = new Envelope(buf);
  return scanEnvelope(env) ? env : readEnvelopeCarefully(buf);
}

/** Locates every section of a well-formed envelope; false when the Reader must decide. */
function scanEnvelope(env: Envelope): bool {
  const buf = env.bytes;
  const base = buf.dataStart;
  const len = buf.length;
  let at = mapAt(base, 0, len);
  if (at < 0) return false;
  const n = scanned;
  for (let i = 0; i < n; i++) {
    const k = strAt(base, at, len);
    if (k < 0) return false;
    const kp = base + <usize>k;
    const kn = scanned;
    const v = k + kn;
    if (kn == 1 && load<u8>(kp) == 0x76) {
      // "v": a positive fixint here; any other form goes through Reader.readInt.
      if (v >= len) return false;
      const b = <i32>load<u8>(base + <usize>v);
      if (b > 0x7f) return false;
      env.v = b;
      at = v + 1;
      continue;
    }
    if (kn == 4 && Ascii.is(kp, kn, 'hook')) {
      const h = strAt(base, v, len);
      if (h < 0) return false;
      setHookFrom(env, base + <usize>h, scanned);
      at = h + scanned;
      continue;
    }
    if (kn == 7 && Ascii.is(kp, kn, 'request')) {
      env.requestPos = v;
      // A request hook reads its request: locate it now, in the one pass that stepping over it takes anyway.
      if ((env.hookBit & (HOOK_RESPONSE | HOOK_ANALYTICS)) == 0) {
        const end = scanRequest(env, v);
        env.requestScanned = end >= 0;
        if (end >= 0) {
          at = end;
          continue;
        }
      }
    } else if (kn == 7 && Ascii.is(kp, kn, 'session')) env.sessionPos = v;
    else if (kn == 8 && Ascii.is(kp, kn, 'response')) env.responsePos = v;
    else if (kn == 6 && Ascii.is(kp, kn, 'record')) env.recordPos = v;
    else if (kn == 4 && Ascii.is(kp, kn, 'spec')) env.specPos = v;
    else if (kn == 8 && Ascii.is(kp, kn, 'metadata')) env.metadataPos = v;
    else if (kn == 9 && Ascii.is(kp, kn, 'responses')) env.responsesPos = v;
    else if (kn == 5 && Ascii.is(kp, kn, 'state')) env.statePos = v;
    at = skipValue(base, v, len, MAX_DEPTH);
    if (at < 0) return false;
  }
  // docs/abi.md §7: a version this kit does not know is refused, with this exact text.
  if (env.v != ABI_VERSION) env.error = 'unsupported ABI version';
  return true;
}

function readEnvelopeCarefully(buf: Uint8Array): Envelope {
  const r = new Reader(buf);
  const env = new Envelope(buf);
  env.reader = r;
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    r.readKey();
    if (r.keyIs('v')) env.v = <i32>r.readInt();
    else if (r.keyIs('hook')) env.hook = r.readString();
    else {
      const pos = r.pos;
      if (r.keyIs('request')) env.requestPos = pos;
      else if (r.keyIs('session')) env.sessionPos = pos;
      else if (r.keyIs('response')) env.responsePos = pos;
      else if (r.keyIs('record')) env.recordPos = pos;
      else if (r.keyIs('spec')) env.specPos = pos;
      else if (r.keyIs('metadata')) env.metadataPos = pos;
      else if (r.keyIs('responses')) env.responsesPos = pos;
      else if (r.keyIs('state')) env.statePos = pos;
      r.skip();
    }
  }
  if (r.error !== null) env.error = 'the envelope is not valid msgpack: ' + (r.error as string);
  // docs/abi.md §7: a version this kit does not know is refused, with this exact text.
  else if (env.v != ABI_VERSION) env.error = 'unsupported ABI version';
  return env;
}
