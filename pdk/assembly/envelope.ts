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
  params: Multi = new Map<string, string[]>();
  headers: Multi = new Map<string, string[]>();
  /** The body, only when the plugin entry declared `needs_body`. */
  body: Uint8Array | null = null;

  /** First value of a header (name in any case), or null. */
  header(name: string): string | null {
    return first(this.headers, name.toLowerCase());
  }
  /** Every value of a header, in order. */
  headerValues(name: string): string[] {
    const n = name.toLowerCase();
    return this.headers.has(n) ? this.headers.get(n) : new Array<string>();
  }
  /** First value of a query parameter, or null. */
  query(name: string): string | null {
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

export class Envelope {
  v: i32 = 0;
  hook: string = '';
  request: Request = new Request();
  session: SessionView | null = null;
  response: Response | null = null;
  record: Value | null = null;
  spec: Spec = new Spec();
  metadata: Metadata = new Metadata();
  error: string | null = null;
}

function readRequest(r: Reader): Request {
  const req = new Request();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    const k = r.readString();
    if (k == 'method') req.method = r.readString();
    else if (k == 'url') req.url = r.readString();
    else if (k == 'request_uri') req.requestUri = r.readString();
    else if (k == 'scheme') req.scheme = r.readString();
    else if (k == 'host') req.host = r.readString();
    else if (k == 'remote_addr') req.remoteAddr = r.readString();
    else if (k == 'params') req.params = r.readMulti();
    else if (k == 'headers') req.headers = r.readMulti();
    else if (k == 'body') req.body = r.readNil() ? null : r.readBytes();
    else r.skip();
  }
  return req;
}

function readResponse(r: Reader): Response {
  const res = new Response();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    const k = r.readString();
    if (k == 'status_code') res.statusCode = <i32>r.readInt();
    else if (k == 'headers') res.headers = r.readMulti();
    else if (k == 'body') res.body = r.readNil() ? null : r.readBytes();
    else r.skip();
  }
  return res;
}

function readSpec(r: Reader): Spec {
  const s = new Spec();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    const k = r.readString();
    if (k == 'api_id') s.apiId = r.readString();
    else if (k == 'org_id') s.orgId = r.readString();
    else if (k == 'name') s.name = r.readString();
    else if (k == 'config_data') {
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
    const k = r.readString();
    if (k == 'request_id') m.requestId = r.readString();
    else if (k == 'plugin') m.plugin = r.readString();
    else if (k == 'version') m.version = r.readString();
    else if (k == 'time') m.time = r.readInt();
    else r.skip();
  }
  return m;
}

export function readEnvelope(buf: Uint8Array): Envelope {
  const r = new Reader(buf);
  const env = new Envelope();
  const n = r.readMapHeader();
  for (let i = 0; i < n && r.error === null; i++) {
    const k = r.readString();
    if (k == 'v') env.v = <i32>r.readInt();
    else if (k == 'hook') env.hook = r.readString();
    else if (k == 'request') env.request = readRequest(r);
    else if (k == 'session') {
      if (r.readNil()) env.session = null;
      else {
        const s = new SessionView();
        s.raw = r.readValue();
        env.session = s;
      }
    } else if (k == 'response') env.response = r.readNil() ? null : readResponse(r);
    else if (k == 'record') env.record = r.readNil() ? null : r.readValue();
    else if (k == 'spec') env.spec = readSpec(r);
    else if (k == 'metadata') env.metadata = readMetadata(r);
    else r.skip();
  }
  if (r.error !== null) env.error = 'the envelope is not valid msgpack: ' + (r.error as string);
  return env;
}
