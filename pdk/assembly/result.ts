// The result record a hook returns (docs/abi.md §5), encoded canonically
// (§6): fixed key order, only what the plugin set, shortest forms.

import { Multi } from './envelope';
import { Value, Writer } from './msgpack';

function newMulti(): Multi {
  return new Map<string, string[]>();
}

function putValue(m: Multi, name: string, value: string): void {
  const list = new Array<string>();
  list.push(value);
  m.set(name, list);
}

function addValue(m: Multi, name: string, value: string): void {
  if (m.has(name)) m.get(name).push(value);
  else putValue(m, name, value);
}

/** A body given as text or bytes; written as bin. */
export class Body {
  constructor(public bytes: Uint8Array) {}
  static text(s: string): Body {
    return new Body(Uint8Array.wrap(String.UTF8.encode(s)));
  }
}

export class RequestChanges {
  setHeaders: Multi = newMulti();
  addHeaders: Multi = newMulti();
  deleteHeaders: string[] = [];
  addParams: Multi = newMulti();
  deleteParams: string[] = [];
  body: Body | null = null;
  url: string | null = null;
  upstream: string | null = null;

  setHeader(name: string, value: string): void {
    putValue(this.setHeaders, name, value);
  }
  setHeaderValues(name: string, values: string[]): void {
    this.setHeaders.set(name, values);
  }
  addHeader(name: string, value: string): void {
    addValue(this.addHeaders, name, value);
  }
  deleteHeader(name: string): void {
    this.deleteHeaders.push(name);
  }
  setParam(name: string, value: string): void {
    putValue(this.addParams, name, value);
  }
  deleteParam(name: string): void {
    this.deleteParams.push(name);
  }

  isEmpty(): bool {
    return (
      this.setHeaders.size == 0 &&
      this.addHeaders.size == 0 &&
      this.deleteHeaders.length == 0 &&
      this.addParams.size == 0 &&
      this.deleteParams.length == 0 &&
      this.body === null &&
      this.url === null &&
      this.upstream === null
    );
  }

  write(w: Writer): void {
    let n = 0;
    if (this.setHeaders.size > 0) n++;
    if (this.addHeaders.size > 0) n++;
    if (this.deleteHeaders.length > 0) n++;
    if (this.addParams.size > 0) n++;
    if (this.deleteParams.length > 0) n++;
    if (this.body !== null) n++;
    if (this.url !== null) n++;
    if (this.upstream !== null) n++;
    w.mapHeader(n);
    if (this.setHeaders.size > 0) {
      w.str('set_headers');
      w.multi(this.setHeaders);
    }
    if (this.addHeaders.size > 0) {
      w.str('add_headers');
      w.multi(this.addHeaders);
    }
    if (this.deleteHeaders.length > 0) {
      w.str('delete_headers');
      w.strArray(this.deleteHeaders);
    }
    if (this.addParams.size > 0) {
      w.str('add_params');
      w.multi(this.addParams);
    }
    if (this.deleteParams.length > 0) {
      w.str('delete_params');
      w.strArray(this.deleteParams);
    }
    const body = this.body;
    if (body !== null) {
      w.str('body');
      w.bin(body.bytes);
    }
    const url = this.url;
    if (url !== null) {
      w.str('url');
      w.str(url);
    }
    const upstream = this.upstream;
    if (upstream !== null) {
      w.str('upstream');
      w.str(upstream);
    }
  }
}

/** An outbound call the plugin asks the gateway to make (docs/outbound.md). */
export class OutboundCall {
  headers: Multi = newMulti();
  body: Body | null = null;
  timeoutMs: i32 = 0;

  constructor(
    public id: string,
    public method: string,
    public url: string,
  ) {}

  header(name: string, value: string): OutboundCall {
    addValue(this.headers, name, value);
    return this;
  }
  bodyText(text: string): OutboundCall {
    this.body = Body.text(text);
    return this;
  }
  timeout(ms: i32): OutboundCall {
    this.timeoutMs = ms;
    return this;
  }

  write(w: Writer): void {
    let n = 3;
    if (this.headers.size > 0) n++;
    if (this.body !== null) n++;
    if (this.timeoutMs > 0) n++;
    w.mapHeader(n);
    w.str('id');
    w.str(this.id);
    w.str('method');
    w.str(this.method);
    w.str('url');
    w.str(this.url);
    if (this.headers.size > 0) {
      w.str('headers');
      w.multi(this.headers);
    }
    const body = this.body;
    if (body !== null) {
      w.str('body');
      w.bin(body.bytes);
    }
    if (this.timeoutMs > 0) {
      w.str('timeout_ms');
      w.int(this.timeoutMs);
    }
  }
}

export class ReturnOverrides {
  responseCode: i32 = 200;
  responseError: string | null = null;
  responseBody: Body | null = null;
  headers: Multi = newMulti();
  overrideError: bool = false;
  hasOverrideError: bool = false;

  write(w: Writer): void {
    let n = 1;
    if (this.responseError !== null) n++;
    if (this.responseBody !== null) n++;
    if (this.headers.size > 0) n++;
    if (this.hasOverrideError) n++;
    w.mapHeader(n);
    w.str('response_code');
    w.int(this.responseCode);
    const err = this.responseError;
    if (err !== null) {
      w.str('response_error');
      w.str(err);
    }
    const body = this.responseBody;
    if (body !== null) {
      w.str('response_body');
      w.bin(body.bytes);
    }
    if (this.headers.size > 0) {
      w.str('headers');
      w.multi(this.headers);
    }
    if (this.hasOverrideError) {
      w.str('override_error');
      w.bool(this.overrideError);
    }
  }
}

/** Session field names in the canonical order (docs/abi.md §4). */
const SESSION_ORDER: string[] = [
  'rate',
  'per',
  'allowance',
  'quota_max',
  'quota_remaining',
  'quota_renews',
  'quota_renewal_rate',
  'access_rights',
  'apply_policies',
  'metadata',
  'tags',
  'expires',
  'id_extractor_deadline',
  'last_updated',
  'alias',
  'org_id',
];

/**
 * A session for the auth hook to return. Setters may be called in any
 * order; fields are written in the canonical order. `rate`, `per` and
 * `allowance` are floats, the rest integers or strings.
 */
export class Session {
  fields: Value = Value.map();

  rate(v: f64): Session {
    this.fields.set('rate', Value.float(v));
    return this;
  }
  per(v: f64): Session {
    this.fields.set('per', Value.float(v));
    return this;
  }
  allowance(v: f64): Session {
    this.fields.set('allowance', Value.float(v));
    return this;
  }
  quotaMax(v: i64): Session {
    this.fields.set('quota_max', Value.int(v));
    return this;
  }
  quotaRemaining(v: i64): Session {
    this.fields.set('quota_remaining', Value.int(v));
    return this;
  }
  quotaRenews(v: i64): Session {
    this.fields.set('quota_renews', Value.int(v));
    return this;
  }
  quotaRenewalRate(v: i64): Session {
    this.fields.set('quota_renewal_rate', Value.int(v));
    return this;
  }
  /** Access to one API (all versions and paths). */
  allowApi(apiId: string, apiName: string = ''): Session {
    let rights = this.fields.get('access_rights');
    if (rights === null) {
      rights = Value.map();
      this.fields.set('access_rights', rights);
    }
    const def = Value.map();
    def.set('api_id', Value.str(apiId));
    if (apiName.length > 0) def.set('api_name', Value.str(apiName));
    rights.set(apiId, def);
    return this;
  }
  applyPolicy(id: string): Session {
    let list = this.fields.get('apply_policies');
    if (list === null) {
      list = Value.array([]);
      this.fields.set('apply_policies', list);
    }
    list.items.push(Value.str(id));
    return this;
  }
  metadata(key: string, value: string): Session {
    let m = this.fields.get('metadata');
    if (m === null) {
      m = Value.map();
      this.fields.set('metadata', m);
    }
    m.set(key, Value.str(value));
    return this;
  }
  tag(t: string): Session {
    let list = this.fields.get('tags');
    if (list === null) {
      list = Value.array([]);
      this.fields.set('tags', list);
    }
    list.items.push(Value.str(t));
    return this;
  }
  expires(unixSeconds: i64): Session {
    this.fields.set('expires', Value.int(unixSeconds));
    return this;
  }
  /** Until this time (unix seconds) the gateway reuses the session without calling the plugin. */
  idExtractorDeadline(unixSeconds: i64): Session {
    this.fields.set('id_extractor_deadline', Value.int(unixSeconds));
    return this;
  }
  lastUpdated(v: string): Session {
    this.fields.set('last_updated', Value.str(v));
    return this;
  }
  alias(v: string): Session {
    this.fields.set('alias', Value.str(v));
    return this;
  }
  orgId(v: string): Session {
    this.fields.set('org_id', Value.str(v));
    return this;
  }

  write(w: Writer): void {
    w.mapHeader(this.fields.keys.length);
    for (let i = 0; i < SESSION_ORDER.length; i++) {
      const v = this.fields.get(SESSION_ORDER[i]);
      if (v === null) continue;
      w.str(SESSION_ORDER[i]);
      w.value(v);
    }
  }
}

export class ResponseChanges {
  statusCode: i32 = 0;
  setHeaders: Multi = newMulti();
  addHeaders: Multi = newMulti();
  deleteHeaders: string[] = [];
  body: Body | null = null;

  isEmpty(): bool {
    return (
      this.statusCode == 0 &&
      this.setHeaders.size == 0 &&
      this.addHeaders.size == 0 &&
      this.deleteHeaders.length == 0 &&
      this.body === null
    );
  }

  write(w: Writer): void {
    let n = 0;
    if (this.statusCode != 0) n++;
    if (this.setHeaders.size > 0) n++;
    if (this.addHeaders.size > 0) n++;
    if (this.deleteHeaders.length > 0) n++;
    if (this.body !== null) n++;
    w.mapHeader(n);
    if (this.statusCode != 0) {
      w.str('status_code');
      w.int(this.statusCode);
    }
    if (this.setHeaders.size > 0) {
      w.str('set_headers');
      w.multi(this.setHeaders);
    }
    if (this.addHeaders.size > 0) {
      w.str('add_headers');
      w.multi(this.addHeaders);
    }
    if (this.deleteHeaders.length > 0) {
      w.str('delete_headers');
      w.strArray(this.deleteHeaders);
    }
    const body = this.body;
    if (body !== null) {
      w.str('body');
      w.bin(body.bytes);
    }
  }
}

export class RecordChanges {
  set: Value = Value.map();
  dropFields: string[] = [];
  drop: bool = false;

  isEmpty(): bool {
    return this.set.keys.length == 0 && this.dropFields.length == 0 && !this.drop;
  }

  write(w: Writer): void {
    let n = 0;
    if (this.set.keys.length > 0) n++;
    if (this.dropFields.length > 0) n++;
    if (this.drop) n++;
    w.mapHeader(n);
    if (this.set.keys.length > 0) {
      w.str('set');
      w.value(this.set);
    }
    if (this.dropFields.length > 0) {
      w.str('drop_fields');
      w.strArray(this.dropFields);
    }
    if (this.drop) {
      w.str('drop');
      w.bool(true);
    }
  }
}

export { addValue, putValue };
