// Typed views of the envelope a hook receives (docs/abi.md §4).
import { Kind, Reader, Value } from './msgpack';

/** Multivalue headers or query parameters, names as the gateway sent them (headers lower-case). */
export type Multi = Map<string, string[]>;

function first(m: Multi, name: string): string | null {
  if (!m.has(name)) return null;
  const v = m.get(name);
  return v.length > 0 ? v[0] : null;
}

export class Request {
  method: string = '';
  /** The upstream path (after listen-path stripping), no query. */
  url: string = '';
  /** The request target as the client sent it. */
  requestUri: string = '';
  scheme: string = '';
  host: string = '';
  remoteAddr: string = '';
  /** The body, only when the plugin entry declared `needs_body`. */
  body: Uint8Array | null = null;
  // Headers and query parameters are decoded on first use.
  reader: Reader | null = null;
  headersPos: i32 = -1;
  paramsPos: i32 = -1;
  private _headers: Multi | null = null;
  private _params: Multi | null = null;

  get headers(): Multi {
    let h = this._headers;
    if (h === null) {
      h =
        this.headersPos < 0 || this.reader === null
          ? new Map<string, string[]>()
          : (this.reader as Reader).at(this.headersPos).readMulti();
      this._headers = h;
    }
    return h!;
  }
  get params(): Multi {
    let p = this._params;
    if (p === null) {
      p =
        this.paramsPos < 0 || this.reader === null
          ? new Map<string, string[]>()
          : (this.reader as Reader).at(this.paramsPos).readMulti();
      this._params = p;
    }
    return p!;
  }

  /** First value of a header (name in any case), or null. */
  header(name: string): string | null {
    const n = name.toLowerCase();
    // Before the whole map is decoded, look the one name up in place.
    if (this._headers === null && this.headersPos >= 0 && this.reader !== null)
      return (this.reader as Reader).at(this.headersPos).findFirst(n);
    return first(this.headers, n);
  }
  /** Every value of a header, in order. */
  headerValues(name: string): string[] {
    const n = name.toLowerCase();
    const h = this.headers;
    return h.has(n) ? h.get(n) : new Array<string>();
  }
  /** First value of a query parameter, or null. */
  query(name: string): string | null {
    if (this._params === null && this.paramsPos >= 0 && this.reader !== null)
      return (this.reader as Reader).at(this.paramsPos).findFirst(name);
    return first(this.params, name);
  }
  bodyText(): string {
    const b = this.body;
    return b === null ? '' : String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }
}

export class Response {
  statusCode: i32 = 0;
  headers: Multi = new Map<string, string[]>();
  body: Uint8Array | null = null;

  header(name: string): string | null {
    return first(this.headers, name.toLowerCase());
  }
  headerValues(name: string): string[] {
    const n = name.toLowerCase();
    return this.headers.has(n) ? this.headers.get(n) : new Array<string>();
  }
}

/** Session fields (Tyk's SessionState). `has(...)` tells which were present. */
export class SessionView {
  raw: Value = Value.map();

  has(field: string): bool {
    return this.raw.get(field) !== null;
  }
  num(field: string): f64 {
    const v = this.raw.get(field);
    return v === null ? 0 : v.asF64();
  }
  int(field: string): i64 {
    const v = this.raw.get(field);
    return v === null ? 0 : v.asI64();
  }
  str(field: string): string {
    const v = this.raw.get(field);
    return v === null || v.kind != Kind.Str ? '' : v.s;
  }
  /** A `metadata` entry, or null. */
  metadata(key: string): string | null {
    const m = this.raw.get('metadata');
    if (m === null) return null;
    const v = m.get(key);
    return v === null || v.kind != Kind.Str ? null : v.s;
  }
}

/** The answer to one outbound call (docs/outbound.md): a response, or an error code and message. */
export class CallAnswer {
  status: i32 = 0;
  headers: Multi = new Map<string, string[]>();
  body: Uint8Array = new Uint8Array(0);
  /** ORIGIN_NOT_ALLOWED, ADDRESS_REFUSED, TIMEOUT, TOO_LARGE, BAD_URL or FAILED; null when there is a response. */
  error: string | null = null;
  message: string = '';

  get ok(): bool {
    return this.error === null;
  }
  bodyText(): string {
    return String.UTF8.decodeUnsafe(this.body.dataStart, <usize>this.body.length);
  }
  header(name: string): string | null {
    if (!this.headers.has(name)) return null;
    const v = this.headers.get(name);
    return v.length > 0 ? v[0] : null;
  }
}

export class Spec {
  apiId: string = '';
  orgId: string = '';
  name: string = '';
  configData: Value = Value.map();
}

export class Metadata {
  requestId: string = '';
  plugin: string = '';
  version: string = '';
  /** The gateway's clock at the start of the request, unix seconds. */
  time: i64 = 0;
}

/**
 * The envelope. `v` and `hook` are read at once; every other section is
 * located but decoded only when first used, so a plugin pays only for what
 * it reads. A section that fails to decode sets `error`.
 */
export class Envelope {
  v: i32 = 0;
  hook: string = '';
  error: string | null = null;
  reader: Reader = new Reader(new Uint8Array(0));
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
  private _request: Request | null = null;
  private _session: SessionView | null = null;
  private _sessionRead: bool = false;
  private _response: Response | null = null;
  private _responseRead: bool = false;
  private _record: Value | null = null;
  private _recordRead: bool = false;
  private _spec: Spec | null = null;
  private _metadata: Metadata | null = null;

  private section(pos: i32): Reader | null {
    if (pos < 0) return null;
    return this.reader.at(pos);
  }

  private check(r: Reader | null, what: string): void {
    if (r !== null && r.error !== null && this.error === null)
      this.error = "the envelope's " + what + ' is not valid msgpack: ' + (r.error as string);
  }

  get request(): Request {
    let q = this._request;
    if (q === null) {
      const r = this.section(this.requestPos);
      q = r === null ? new Request() : readRequest(r);
      this.check(r, 'request');
      this._request = q;
    }
    return q!;
  }

  get session(): SessionView | null {
    if (!this._sessionRead) {
      this._sessionRead = true;
      const r = this.section(this.sessionPos);
      if (r !== null && !r.readNil()) {
        const s = new SessionView();
        s.raw = r.readValue();
        this._session = s;
      }
      this.check(r, 'session');
    }
    return this._session;
  }

  get response(): Response | null {
    if (!this._responseRead) {
      this._responseRead = true;
      const r = this.section(this.responsePos);
      if (r !== null && !r.readNil()) this._response = readResponse(r);
      this.check(r, 'response');
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

  get spec(): Spec {
    let s = this._spec;
    if (s === null) {
      const r = this.section(this.specPos);
      s = r === null ? new Spec() : readSpec(r);
      this.check(r, 'spec');
      this._spec = s;
    }
    return s!;
  }

  /** The answers to the calls the plugin asked for, by id; null on a first call (no continuation). */
  get responses(): Map<string, CallAnswer> | null {
    if (this._responses === null && this.responsesPos >= 0) {
      const r = this.section(this.responsesPos)!;
      this._responses = readResponses(r);
      this.check(r, 'responses');
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
      const r = this.section(this.metadataPos);
      m = r === null ? new Metadata() : readMetadata(r);
      this.check(r, 'metadata');
      this._metadata = m;
    }
    return m!;
  }
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

export function readEnvelope(buf: Uint8Array): Envelope {
  const r = new Reader(buf);
  const env = new Envelope();
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
