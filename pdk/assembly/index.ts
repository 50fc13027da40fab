// The wasmgate plugin kit for AssemblyScript. A plugin is an exported
// function per hook:
//
//   import { Context } from "../../../pdk/assembly";
//   export function pre_enrich(): i32 {
//     const ctx = Context.read();
//     ctx.request.setHeader("x-request-id", ctx.metadata.requestId);
//     return ctx.done();
//   }
//
// Helpers are shaped by direction and hook; one used in a hook that may
// not use it turns the call into a plugin failure with a message naming
// the helper and the hook (the gateway would refuse the change anyway).
// The kit never traps on purpose: errors travel as `{"error": …}`.

import {
  CallAnswer,
  Envelope,
  HOOK_ANALYTICS,
  HOOK_AUTH,
  HOOK_ENDPOINT,
  HOOK_POST,
  HOOK_POST_AUTH,
  HOOK_PRE,
  HOOK_RESPONSE,
  MapView,
  Metadata,
  Multi,
  Request,
  Response,
  readEnvelope,
  SessionView,
  Spec,
  takePinned,
} from './envelope';
import {
  extism_free,
  extism_var_get,
  extism_var_set,
  fromBlock,
  host_hook,
  host_log,
  input_length,
  input_read,
  output_write,
  toBlock,
} from './host';
import { Value, Writer } from './msgpack';
import {
  Body,
  OutboundCall,
  putValue,
  RecordChanges,
  RequestChanges,
  ResponseChanges,
  ReturnOverrides,
  Session,
} from './result';

export { ABI_VERSION, CallAnswer, Envelope, Metadata, Multi, Request, Response, SessionView, Spec } from './envelope';
export { Kind, Reader, Value, Writer } from './msgpack';
export { Body, OutboundCall, Session } from './result';
export { base64Decode, base64Encode, jsonEscape } from './text';

const PRE = HOOK_PRE;
const AUTH = HOOK_AUTH;
const POST_AUTH = HOOK_POST_AUTH;
const ENDPOINT = HOOK_ENDPOINT;
const POST = HOOK_POST;
const RESPONSE = HOOK_RESPONSE;
const ANALYTICS = HOOK_ANALYTICS;
const REQUEST_HOOKS: i32 = PRE | AUTH | POST_AUTH | ENDPOINT | POST;

/** The hooks in the order of wasmgate:host/v1.hook's answer (docs/abi.md §2): bit i of a hook mask is HOOK_NAMES[i]. */
const HOOK_NAMES: StaticArray<string> = ['pre', 'auth', 'post_auth', 'endpoint', 'post', 'response', 'analytics'];

function hookNames(mask: i32): string {
  const names = new Array<string>();
  for (let i = 0; i < HOOK_NAMES.length; i++) if (mask & (1 << i)) names.push(HOOK_NAMES[i]);
  return names.join(', ');
}

/** The request: what the gateway sent, and the changes this plugin makes. */
export class RequestApi {
  private _view: Request | null;

  constructor(
    private ctx: Context,
    view: Request | null = null,
  ) {
    this._view = view;
  }

  /** What the gateway sent (made on first read: a plugin that only changes the request never decodes it). */
  get view(): Request {
    let v = this._view;
    if (v === null) this._view = v = this.ctx.env.request;
    return v!;
  }

  get method(): string {
    return this.view.method;
  }
  get url(): string {
    return this.view.url;
  }
  get requestUri(): string {
    return this.view.requestUri;
  }
  get scheme(): string {
    return this.view.scheme;
  }
  get host(): string {
    return this.view.host;
  }
  get remoteAddr(): string {
    return this.view.remoteAddr;
  }
  get headers(): Multi {
    return this.view.headers;
  }
  get params(): Multi {
    return this.view.params;
  }
  /** The body, only when the plugin entry declared `needs_body` (else null). */
  get body(): Uint8Array | null {
    return this.view.body;
  }
  header(name: string): string | null {
    return this.view.header(name);
  }
  headerValues(name: string): string[] {
    return this.view.headerValues(name);
  }
  query(name: string): string | null {
    return this.view.query(name);
  }
  bodyText(): string {
    return this.view.bodyText();
  }

  /** Replaces every value of a header. Hooks: pre, auth, post_auth, endpoint, post. */
  setHeader(name: string, value: string): void {
    if (this.ctx.allow('request.setHeader', REQUEST_HOOKS)) this.ctx.requestChanges.setHeader(name, value);
  }
  /** Appends a value to a header. Hooks: pre, auth, post_auth, endpoint, post. */
  addHeader(name: string, value: string): void {
    if (this.ctx.allow('request.addHeader', REQUEST_HOOKS)) this.ctx.requestChanges.addHeader(name, value);
  }
  /** Removes a header. Hooks: pre, auth, post_auth, endpoint, post. */
  deleteHeader(name: string): void {
    if (this.ctx.allow('request.deleteHeader', REQUEST_HOOKS)) this.ctx.requestChanges.deleteHeader(name);
  }
  /** Replaces every value of a query parameter. Hooks: pre, auth, post_auth, endpoint, post. */
  setQuery(name: string, value: string): void {
    if (this.ctx.allow('request.setQuery', REQUEST_HOOKS)) this.ctx.requestChanges.setParam(name, value);
  }
  /** Removes a query parameter. Hooks: pre, auth, post_auth, endpoint, post. */
  deleteQuery(name: string): void {
    if (this.ctx.allow('request.deleteQuery', REQUEST_HOOKS)) this.ctx.requestChanges.deleteParam(name);
  }
  /** Replaces the body with UTF-8 text. Hooks: pre, auth, post_auth, endpoint, post. */
  setBody(text: string): void {
    if (this.ctx.allow('request.setBody', REQUEST_HOOKS)) this.ctx.requestChanges.body = Body.text(text);
  }
  /** Replaces the body with bytes. Hooks: pre, auth, post_auth, endpoint, post. */
  setBodyBytes(bytes: Uint8Array): void {
    if (this.ctx.allow('request.setBodyBytes', REQUEST_HOOKS)) this.ctx.requestChanges.body = new Body(bytes);
  }
  /** Replaces the upstream path (must start with "/"). Hooks: pre, auth, post_auth, endpoint, post. */
  /** Routes this request to one of the API's `upstream_targets`, by name (docs/outbound.md). */
  setUpstream(name: string): void {
    if (!this.ctx.allow('request.setUpstream', REQUEST_HOOKS)) return;
    this.ctx.requestChanges.upstream = name;
  }

  setPath(path: string): void {
    if (!this.ctx.allow('request.setPath', REQUEST_HOOKS)) return;
    if (!path.startsWith('/')) {
      this.ctx.fail('request.setPath: the path must start with "/"');
      return;
    }
    this.ctx.requestChanges.url = path;
  }
}

/** The upstream's response and this plugin's changes to it. Hook: response. */
export class ResponseApi {
  private _view: Response | null = null;

  constructor(private ctx: Context) {}

  /** What the upstream answered (made on first read: a plugin that only changes the response never decodes it). */
  get view(): Response {
    let v = this._view;
    if (v === null) {
      const res = this.ctx.env.response;
      this._view = v = res === null ? new Response() : res;
    }
    return v!;
  }

  get statusCode(): i32 {
    return this.view.statusCode;
  }
  get headers(): Multi {
    return this.view.headers;
  }
  /** The body, only when the plugin entry declared `needs_body`. */
  get body(): Uint8Array | null {
    return this.view.body;
  }
  header(name: string): string | null {
    return this.view.header(name);
  }
  headerValues(name: string): string[] {
    return this.view.headerValues(name);
  }

  /** Hook: response. */
  setStatus(code: i32): void {
    if (!this.ctx.allow('response.setStatus', RESPONSE)) return;
    if (code < 100 || code > 599) {
      this.ctx.fail('response.setStatus: the status must be 100..599');
      return;
    }
    this.ctx.responseChanges.statusCode = code;
  }
  /** Replaces every value of a response header. Hook: response. */
  setHeader(name: string, value: string): void {
    if (this.ctx.allow('response.setHeader', RESPONSE)) this.ctx.responseChanges.setHeader(name, value);
  }
  /** Appends a value (call twice for two `Set-Cookie`). Hook: response. */
  addHeader(name: string, value: string): void {
    if (this.ctx.allow('response.addHeader', RESPONSE)) this.ctx.responseChanges.addHeader(name, value);
  }
  /** Hook: response. */
  deleteHeader(name: string): void {
    if (this.ctx.allow('response.deleteHeader', RESPONSE)) this.ctx.responseChanges.deleteHeader(name);
  }
  /** Hook: response. */
  setBody(text: string): void {
    if (this.ctx.allow('response.setBody', RESPONSE)) this.ctx.responseChanges.body = Body.text(text);
  }
  /** Hook: response. */
  setBodyBytes(bytes: Uint8Array): void {
    if (this.ctx.allow('response.setBodyBytes', RESPONSE)) this.ctx.responseChanges.body = new Body(bytes);
  }
}

/** The analytics record and this plugin's rewrites. Hook: analytics. */
export class AnalyticsApi {
  private view: MapView;

  constructor(
    private ctx: Context,
    record: Value,
  ) {
    this.view = placeholder(record);
  }

  /** A view of the record read in place (the kit's own constructor). */
  static of(ctx: Context, view: MapView): AnalyticsApi {
    const a = new AnalyticsApi(ctx, EMPTY_RECORD);
    a.view = view;
    return a;
  }

  /** The whole record, decoded. */
  get record(): Value {
    return this.view.value;
  }
  set record(v: Value) {
    this.view = MapView.of(v);
  }

  get(field: string): Value | null {
    return this.view.get(field);
  }
  /** A string field, or "" when absent or not a string. */
  getString(field: string): string {
    const v = this.view.getString(field);
    return v === null ? '' : v;
  }
  /** Rewrites a field. Hook: analytics. */
  set(field: string, value: Value): void {
    if (this.ctx.allow('analytics.set', ANALYTICS)) this.ctx.recordChanges.set.set(field, value);
  }
  /** Rewrites a string field. Hook: analytics. */
  setString(field: string, value: string): void {
    this.set(field, Value.str(value));
  }
  /** Removes a field from the stored record. Hook: analytics. */
  drop(field: string): void {
    if (this.ctx.allow('analytics.drop', ANALYTICS)) this.ctx.recordChanges.dropFields.push(field);
  }
  /** Drops the whole record (nothing is stored). Hook: analytics. */
  dropRecord(): void {
    if (this.ctx.allow('analytics.dropRecord', ANALYTICS)) this.ctx.recordChanges.drop = true;
  }
}

// What the kit's own constructors pass until they set the real view; never handed out.
const EMPTY_RECORD = Value.map();
const EMPTY_VIEW = MapView.of(EMPTY_RECORD);

function placeholder(v: Value): MapView {
  return v === EMPTY_RECORD ? EMPTY_VIEW : MapView.of(v);
}

/**
 * The API's `config_data`. Every hook. Read in place: a lookup decodes only
 * the entry it returns (see MapView).
 */
export class Config {
  private view: MapView;

  constructor(data: Value) {
    this.view = placeholder(data);
  }

  /** A config over a map read in place (the kit's own constructor). */
  static of(view: MapView): Config {
    const c = new Config(EMPTY_RECORD);
    c.view = view;
    return c;
  }

  /** The whole map, decoded. */
  get data(): Value {
    return this.view.value;
  }
  set data(v: Value) {
    this.view = MapView.of(v);
  }

  get(key: string): Value | null {
    return this.view.get(key);
  }
  has(key: string): bool {
    return this.view.has(key);
  }
  getString(key: string, fallback: string = ''): string {
    const v = this.view.getString(key);
    return v === null ? fallback : v;
  }
  getNumber(key: string, fallback: f64 = 0): f64 {
    return this.view.number(key, fallback);
  }
  getInt(key: string, fallback: i64 = 0): i64 {
    return this.view.integer(key, fallback);
  }
  getBool(key: string, fallback: bool = false): bool {
    return this.view.flag(key, fallback);
  }
  /** A nested map (empty when absent). */
  getMap(key: string): Config {
    const v = this.view.child(key);
    return v === null ? new Config(Value.map()) : Config.of(v);
  }
}

/** One hook call: the envelope, typed, and the result being built. */
export class Context {
  private _env: Envelope | null;
  private _hook: string = '';
  private _requestChanges: RequestChanges | null = null;
  private _responseChanges: ResponseChanges | null = null;
  private _recordChanges: RecordChanges | null = null;
  private hookMask: i32 = 0;
  private finished: bool = false;
  overrides: ReturnOverrides | null = null;
  newSession: Session | null = null;
  private _calls: OutboundCall[] | null = null;
  newState: Uint8Array | null = null;
  error: string | null = null;
  // Views are made (and their sections decoded) on first use.
  private _config: Config | null = null;
  private _request: RequestApi | null = null;
  private _response: ResponseApi | null = null;
  private _analytics: AnalyticsApi | null = null;

  /** From an envelope already read, or (env null) from the hook alone: the envelope is then read on first use. */
  constructor(env: Envelope | null, hookIndex: i32 = -1) {
    this._env = env;
    if (env !== null) {
      this._hook = env.hook;
      this.hookMask = env.hookBit;
      if (env.error !== null) this.fail(env.error as string);
    } else {
      this._hook = HOOK_NAMES[hookIndex];
      this.hookMask = 1 << hookIndex;
    }
  }

  /**
   * The envelope, read from the gateway on first use. A plugin that reads
   * nothing of it (it only adds a header, say) costs the gateway no
   * encoding and itself no copy or scan.
   */
  get env(): Envelope {
    let e = this._env;
    if (e === null) {
      e = readInput();
      this._env = e;
      if (e.error !== null) this.fail(e.error as string);
    }
    return e!;
  }

  /** The outbound calls asked for so far. */
  get calls(): OutboundCall[] {
    let c = this._calls;
    if (c === null) this._calls = c = new Array<OutboundCall>();
    return c!;
  }
  set calls(v: OutboundCall[]) {
    this._calls = v;
  }

  // The changes a plugin makes, allocated on first use.
  get requestChanges(): RequestChanges {
    let c = this._requestChanges;
    if (c === null) {
      c = spareRequestChanges;
      if (c === null) c = new RequestChanges();
      else spareRequestChanges = null;
      this._requestChanges = c;
    }
    return c!;
  }
  get responseChanges(): ResponseChanges {
    let c = this._responseChanges;
    if (c === null) {
      c = spareResponseChanges;
      if (c === null) c = new ResponseChanges();
      else spareResponseChanges = null;
      this._responseChanges = c;
    }
    return c!;
  }

  /** Hands this finished call's change records to the next call, emptied (see `read`). */
  private recycle(): void {
    const rc = this._requestChanges;
    if (rc !== null) {
      this._requestChanges = null;
      rc.reset();
      spareRequestChanges = rc;
    }
    const sc = this._responseChanges;
    if (sc !== null) {
      this._responseChanges = null;
      sc.reset();
      spareResponseChanges = sc;
    }
  }
  get recordChanges(): RecordChanges {
    let c = this._recordChanges;
    if (c === null) {
      c = new RecordChanges();
      this._recordChanges = c;
    }
    return c!;
  }

  get config(): Config {
    let c = this._config;
    if (c === null) {
      c = Config.of(this.env.spec.configView);
      this._config = c;
    }
    return c!;
  }

  get request(): RequestApi {
    let r = this._request;
    if (r === null) {
      // A request that does not decode fails the call here, as reading it would. (An
      // envelope not read yet is the gateway's own, read when the plugin reads from it.)
      const env = this._env;
      if (env !== null) env.checkRequest();
      r = new RequestApi(this);
      this._request = r;
    }
    return r!;
  }

  get response(): ResponseApi {
    let r = this._response;
    if (r === null) {
      r = new ResponseApi(this);
      this._response = r;
    }
    return r!;
  }

  get analytics(): AnalyticsApi {
    let a = this._analytics;
    if (a === null) {
      a = AnalyticsApi.of(this, this.env.recordView());
      this._analytics = a;
    }
    return a!;
  }

  /** Reads this call's envelope (one host call). */
  static read(): Context {
    // The last call's context is done with once its result was handed over:
    // its change records are reused (a call edits the same few lists).
    const last = lastContext;
    if (last !== null) {
      if (last.finished) last.recycle();
    }
    // A gateway that names the hook writes the envelope only when the plugin first reads from it.
    const hook = host_hook();
    const ctx = hook >= 0 && hook < HOOK_NAMES.length ? new Context(null, hook) : new Context(readInput());
    lastContext = ctx;
    return ctx;
  }

  /** Builds a context from envelope bytes (tests). */
  static fromBytes(buf: Uint8Array): Context {
    return new Context(readEnvelope(buf));
  }

  get hook(): string {
    return this._hook;
  }
  get metadata(): Metadata {
    return this.env.metadata;
  }
  get spec(): Spec {
    return this.env.spec;
  }
  /** The session (post_auth, endpoint, post, response, analytics); null in pre and auth. */
  get session(): SessionView | null {
    return this.env.session;
  }

  /** True when the current hook is in `hooks`; otherwise records an error naming the helper. */
  allow(helper: string, hooks: i32): bool {
    if (this.hookMask & hooks) return true;
    this.fail(helper + ' is allowed in the ' + hookNames(hooks) + ' hook(s), not in ' + this._hook);
    return false;
  }

  /** Ends the request with this answer (Tyk's ReturnOverrides). Hooks: pre, auth, post_auth, endpoint, post. */
  respond(status: i32, body: string, headers: Multi | null = null): void {
    if (!this.allow('respond', REQUEST_HOOKS)) return;
    const o = new ReturnOverrides();
    o.responseCode = status;
    o.responseBody = Body.text(body);
    if (headers !== null) o.headers = headers;
    this.overrides = o;
  }

  /** Ends the request with bytes as the body. Hooks: pre, auth, post_auth, endpoint, post. */
  respondBytes(status: i32, body: Uint8Array, headers: Multi | null = null): void {
    if (!this.allow('respondBytes', REQUEST_HOOKS)) return;
    const o = new ReturnOverrides();
    o.responseCode = status;
    o.responseBody = new Body(body);
    if (headers !== null) o.headers = headers;
    this.overrides = o;
  }

  /**
   * Ends the request Tyk's way: for a status ≥ 400 the body is
   * `{"error": message}` as JSON (unless `overrideError`, then the message
   * as is). Hooks: pre, auth, post_auth, endpoint, post.
   */
  respondError(status: i32, message: string, overrideError: bool = false): void {
    if (!this.allow('respondError', REQUEST_HOOKS)) return;
    const o = new ReturnOverrides();
    o.responseCode = status;
    o.responseError = message;
    if (overrideError) {
      o.overrideError = true;
      o.hasOverrideError = true;
    }
    this.overrides = o;
  }

  /**
   * Asks the gateway to make an HTTP call (docs/outbound.md): the calls of
   * one result run in parallel, then the same export is called again with
   * their answers in `answer(id)`. A result with calls carries nothing else.
   * Hooks: pre, auth, post_auth, endpoint, post.
   */
  call(id: string, method: string, url: string): OutboundCall {
    const c = new OutboundCall(id, method, url);
    if (this.allow('call', REQUEST_HOOKS)) this.calls.push(c);
    return c;
  }

  /** True when this call carries the answers to calls the plugin asked for. */
  get isContinuation(): bool {
    return this.env.responses !== null;
  }

  /** The answer to the call with this id; null on a first call or for an unknown id. */
  answer(id: string): CallAnswer | null {
    const all = this.env.responses;
    if (all === null || !all.has(id)) return null;
    return all.get(id);
  }

  /** Bytes handed back to the plugin with the answers (at most 64 KiB). */
  setState(bytes: Uint8Array): void {
    this.newState = bytes;
  }

  /** The state returned with the calls; null on a first call. */
  get state(): Uint8Array | null {
    return this.env.state;
  }

  /** Authenticates the request with this session. Hook: auth. */
  setSession(session: Session): void {
    if (this.allow('setSession', AUTH)) this.newSession = session;
  }

  /** Fails the call on purpose (a plugin failure); nothing else is applied. Every hook. */
  fail(message: string): void {
    if (this.error === null) this.error = message;
  }

  /** Encodes the result and hands it to the gateway (one host call). Returns 0. */
  done(): i32 {
    this.finished = true;
    // A section that failed to decode on first use fails the call.
    const env = this._env;
    if (env !== null && env.error !== null) this.fail(env.error as string);
    const err = this.error;
    const calls = this._calls;
    const w = resultWriter();
    if (err !== null) {
      w.mapHeader(1);
      w.str('error');
      w.str(err);
    } else if (calls !== null && calls.length > 0) {
      const state = this.newState;
      w.mapHeader(state !== null ? 2 : 1);
      w.str('calls');
      w.arrayHeader(calls.length);
      for (let i = 0; i < calls.length; i++) calls[i].write(w);
      if (state !== null) {
        w.str('state');
        w.bin(state);
      }
    } else {
      // At most five records: a fixmap, whose one-byte header is filled in once the count is known.
      const header = w.len;
      w.mapHeader(0);
      let n = 0;
      const rc = this._requestChanges;
      if (rc !== null) {
        const mark = w.len;
        w.str('request');
        if (rc.write(w)) n++;
        else w.len = mark;
      }
      const overrides = this.overrides;
      if (overrides !== null) {
        w.str('return_overrides');
        overrides.write(w);
        n++;
      }
      const session = this.newSession;
      if (session !== null) {
        w.str('session');
        session.write(w);
        n++;
      }
      const sc = this._responseChanges;
      if (sc !== null) {
        const mark = w.len;
        w.str('response');
        if (sc.write(w)) n++;
        else w.len = mark;
      }
      const dc = this._recordChanges;
      if (dc !== null) {
        const mark = w.len;
        w.str('record');
        if (dc.write(w)) n++;
        else w.len = mark;
      }
      if (n == 0) return 0; // zero bytes: continue, change nothing
      w.buf[header] = <u8>(0x80 | n);
    }
    output_write(w.buf.dataStart, w.len);
    return 0;
  }
}

/** This call's envelope, copied in from the gateway (two host calls) and scanned. */
function readInput(): Envelope {
  const n = input_length();
  const buf = inputBuffer(n);
  if (n > 0) input_read(buf.dataStart);
  return readEnvelope(buf);
}

let lastContext: Context | null = null;
let spareRequestChanges: RequestChanges | null = null;
let spareResponseChanges: ResponseChanges | null = null;

// The envelope's bytes go into one buffer kept from call to call, unless
// the last call made a view that a plugin may keep across calls (config,
// spec, session, analytics record: see envelope.ts takePinned), which reads
// its bytes in place. The views of one call's request, response and
// metadata belong to that call. A buffer that grew past INPUT_KEEP bytes is
// let go.
const INPUT_KEEP = 64 * 1024;
let input: ArrayBuffer | null = null;

function inputBuffer(n: i32): Uint8Array {
  let b = input;
  if (takePinned() || b === null || b.byteLength < n) {
    b = new ArrayBuffer(n < 4096 ? 4096 : n);
    input = n > INPUT_KEEP ? null : b;
  }
  return Uint8Array.wrap(b!, 0, n);
}

// One writer for every call's result: the host copies the bytes out at
// output_write, so the buffer is free again when done() returns. One that
// grew past RESULT_KEEP bytes (a large body) is let go rather than held
// for the instance's lifetime.
const RESULT_KEEP = 16 * 1024;
let result: Writer | null = null;

function resultWriter(): Writer {
  let w = result;
  if (w === null || w.buf.length > RESULT_KEEP) result = w = new Writer(1024);
  w!.len = 0;
  return w!;
}

/** Multivalue header map helper: `headers("content-type", "application/json")`. */
export function headers(name: string, value: string): Multi {
  const m = new Map<string, string[]>();
  putValue(m, name, value);
  return m;
}

function writeLog(level: i32, message: string): void {
  const bytes = String.UTF8.encode(message);
  host_log(level, changetype<usize>(bytes), bytes.byteLength);
}

/** Log lines (capped per call by the gateway; control characters escaped). Every hook. */
export namespace log {
  export function trace(message: string): void {
    writeLog(0, message);
  }
  export function debug(message: string): void {
    writeLog(1, message);
  }
  export function info(message: string): void {
    writeLog(2, message);
  }
  export function warn(message: string): void {
    writeLog(3, message);
  }
  export function error(message: string): void {
    writeLog(4, message);
  }
}

/**
 * Per-instance variables (Extism vars). An instance serves one call at a
 * time and the gateway keeps several: treat vars as a cache, never as
 * shared state. Every hook; the gateway caps their total size.
 */
export namespace vars {
  export function get(key: string): Uint8Array | null {
    const k = toBlock(Uint8Array.wrap(String.UTF8.encode(key)));
    const off = extism_var_get(k);
    extism_free(k);
    if (off == 0) return null;
    const out = fromBlock(off);
    extism_free(off);
    return out;
  }
  export function set(key: string, value: Uint8Array): void {
    const k = toBlock(Uint8Array.wrap(String.UTF8.encode(key)));
    const v = toBlock(value);
    extism_var_set(k, v);
    extism_free(k);
    extism_free(v);
  }
  export function getString(key: string): string | null {
    const b = get(key);
    return b === null ? null : String.UTF8.decodeUnsafe(b.dataStart, <usize>b.length);
  }
  export function setString(key: string, value: string): void {
    set(key, Uint8Array.wrap(String.UTF8.encode(value)));
  }
}

/**
 * The kit's `abort` (compiled in with `--use abort=…`): reports the
 * failure as an error result, then stops the call.
 */
export function wasmgateAbort(message: string | null, fileName: string | null, line: u32, column: u32): void {
  const w = new Writer(128);
  w.mapHeader(1);
  w.str('error');
  let text = 'abort';
  if (message !== null) text += ': ' + (message as string);
  if (fileName !== null) text += ' (' + (fileName as string) + ':' + line.toString() + ':' + column.toString() + ')';
  w.str(text);
  output_write(w.buf.dataStart, w.len);
  unreachable();
}
