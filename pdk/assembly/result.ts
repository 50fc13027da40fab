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

/** Values an Edits list holds as flat pairs before it turns into a Map. */
const SMALL_EDITS = 16;

/**
 * Header or parameter edits: names in the order they were first used, each
 * with its values — what a Map<string, string[]> keeps. A plugin edits a
 * handful of names, so up to SMALL_EDITS values they are (name, value)
 * pairs in one fixed array, searched by scanning: one allocation, where a
 * Map costs three, hashing, and a list per name. Past that, a Map.
 */
export class Edits {
  private pairs: StaticArray<string> = new StaticArray<string>(SMALL_EDITS * 2);
  private used: i32 = 0;
  private big: Multi | null = null;

  /** `appends`: a value is added to the name's others (add_headers); otherwise it replaces them. */
  constructor(private appends: bool) {}

  isEmpty(): bool {
    const big = this.big;
    return big === null ? this.used == 0 : big.size == 0;
  }

  /** Empty again, for reuse (the strings it held are let go as they are overwritten). */
  reset(): void {
    this.used = 0;
    this.big = null;
  }

  get size(): i32 {
    const big = this.big;
    if (big !== null) return big.size;
    if (!this.appends) return this.used >> 1;
    let n = 0;
    for (let i = 0; i < this.used; i += 2) if (this.isFirst(i)) n++;
    return n;
  }

  put(name: string, value: string): void {
    let big = this.big;
    if (big === null) {
      const p = this.pairs;
      const used = this.used;
      if (!this.appends) {
        for (let i = 0; i < used; i += 2) {
          if (unchecked(p[i]) == name) {
            unchecked((p[i + 1] = value));
            return;
          }
        }
      }
      if (used < SMALL_EDITS * 2) {
        unchecked((p[used] = name));
        unchecked((p[used + 1] = value));
        this.used = used + 2;
        return;
      }
      this.big = big = this.toMap();
    }
    if (this.appends) addValue(big!, name, value);
    else putValue(big!, name, value);
  }

  write(w: Writer): void {
    const big = this.big;
    if (big !== null) {
      w.multi(big);
      return;
    }
    const p = this.pairs;
    const used = this.used;
    w.mapHeader(this.size);
    for (let i = 0; i < used; i += 2) {
      if (!this.isFirst(i)) continue;
      const name = unchecked(p[i]);
      w.str(name);
      if (!this.appends) {
        w.arrayHeader(1);
        w.str(unchecked(p[i + 1]));
        continue;
      }
      let count = 0;
      for (let j = i; j < used; j += 2) if (unchecked(p[j]) == name) count++;
      w.arrayHeader(count);
      for (let j = i; j < used; j += 2) if (unchecked(p[j]) == name) w.str(unchecked(p[j + 1]));
    }
  }

  /** True when pair `i` is the first use of its name (a replacing list holds each name once). */
  private isFirst(i: i32): bool {
    if (!this.appends) return true;
    const p = this.pairs;
    const name = unchecked(p[i]);
    for (let j = 0; j < i; j += 2) if (unchecked(p[j]) == name) return false;
    return true;
  }

  private toMap(): Multi {
    const m = newMulti();
    const p = this.pairs;
    for (let i = 0; i < this.used; i += 2) {
      if (this.appends) addValue(m, unchecked(p[i]), unchecked(p[i + 1]));
      else putValue(m, unchecked(p[i]), unchecked(p[i + 1]));
    }
    this.used = 0;
    return m;
  }
}

function hasEdits(e: Edits | null): bool {
  return e !== null && !e.isEmpty();
}

function resetEdits(e: Edits | null): void {
  if (e !== null) e.reset();
}

function resetList(a: string[] | null): void {
  if (a !== null) a.length = 0;
}

/** A body given as text or bytes; written as bin. */
export class Body {
  private _bytes: Uint8Array | null = null;
  // A text body is encoded straight into the result when written (no copy in between).
  private _text: string | null = null;

  constructor(bytes: Uint8Array) {
    this._bytes = bytes;
  }
  static text(s: string): Body {
    const b = new Body(NO_BYTES);
    b._bytes = null;
    b._text = s;
    return b;
  }

  get bytes(): Uint8Array {
    let b = this._bytes;
    if (b === null) this._bytes = b = Uint8Array.wrap(String.UTF8.encode(this._text!));
    return b!;
  }
  set bytes(v: Uint8Array) {
    this._bytes = v;
  }

  write(w: Writer): void {
    const b = this._bytes;
    if (b === null) w.binUtf8(this._text!);
    else w.bin(b);
  }
}

const NO_BYTES = new Uint8Array(0);

function hasItems(a: string[] | null): bool {
  return a !== null && a.length > 0;
}

// The change records start empty and allocate each list or map on first use:
// most plugins touch one or two of them.
export class RequestChanges {
  setHeaders: Edits | null = null;
  addHeaders: Edits | null = null;
  deleteHeaders: string[] | null = null;
  addParams: Edits | null = null;
  deleteParams: string[] | null = null;
  body: Body | null = null;
  url: string | null = null;
  upstream: string | null = null;

  setHeader(name: string, value: string): void {
    let e = this.setHeaders;
    if (e === null) this.setHeaders = e = new Edits(false);
    e!.put(name, value);
  }
  addHeader(name: string, value: string): void {
    let e = this.addHeaders;
    if (e === null) this.addHeaders = e = new Edits(true);
    e!.put(name, value);
  }
  deleteHeader(name: string): void {
    let a = this.deleteHeaders;
    if (a === null) this.deleteHeaders = a = new Array<string>();
    a!.push(name);
  }
  setParam(name: string, value: string): void {
    let e = this.addParams;
    if (e === null) this.addParams = e = new Edits(false);
    e!.put(name, value);
  }
  deleteParam(name: string): void {
    let a = this.deleteParams;
    if (a === null) this.deleteParams = a = new Array<string>();
    a!.push(name);
  }

  /** Empty again, for reuse by a later call (see Context.read): keeps its lists, emptied. */
  reset(): void {
    resetEdits(this.setHeaders);
    resetEdits(this.addHeaders);
    resetList(this.deleteHeaders);
    resetEdits(this.addParams);
    resetList(this.deleteParams);
    this.body = null;
    this.url = null;
    this.upstream = null;
  }

  isEmpty(): bool {
    return (
      !hasEdits(this.setHeaders) &&
      !hasEdits(this.addHeaders) &&
      !hasItems(this.deleteHeaders) &&
      !hasEdits(this.addParams) &&
      !hasItems(this.deleteParams) &&
      this.body === null &&
      this.url === null &&
      this.upstream === null
    );
  }

  /** Writes the record; false (and nothing written) when it holds no change. */
  write(w: Writer): bool {
    const setHeaders = hasEdits(this.setHeaders);
    const addHeaders = hasEdits(this.addHeaders);
    const deleteHeaders = hasItems(this.deleteHeaders);
    const addParams = hasEdits(this.addParams);
    const deleteParams = hasItems(this.deleteParams);
    const body = this.body;
    const url = this.url;
    const upstream = this.upstream;
    let n = 0;
    if (setHeaders) n++;
    if (addHeaders) n++;
    if (deleteHeaders) n++;
    if (addParams) n++;
    if (deleteParams) n++;
    if (body !== null) n++;
    if (url !== null) n++;
    if (upstream !== null) n++;
    if (n == 0) return false;
    w.mapHeader(n);
    if (setHeaders) {
      w.str('set_headers');
      this.setHeaders!.write(w);
    }
    if (addHeaders) {
      w.str('add_headers');
      this.addHeaders!.write(w);
    }
    if (deleteHeaders) {
      w.str('delete_headers');
      w.strArray(this.deleteHeaders!);
    }
    if (addParams) {
      w.str('add_params');
      this.addParams!.write(w);
    }
    if (deleteParams) {
      w.str('delete_params');
      w.strArray(this.deleteParams!);
    }
    if (body !== null) {
      w.str('body');
      body.write(w);
    }
    if (url !== null) {
      w.str('url');
      w.str(url);
    }
    if (upstream !== null) {
      w.str('upstream');
      w.str(upstream);
    }
    return true;
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
      body.write(w);
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
      body.write(w);
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

// Slots of SESSION_ORDER, by name.
const RATE = 0;
const PER = 1;
const ALLOWANCE = 2;
const QUOTA_MAX = 3;
const QUOTA_REMAINING = 4;
const QUOTA_RENEWS = 5;
const QUOTA_RENEWAL_RATE = 6;
const ACCESS_RIGHTS = 7;
const APPLY_POLICIES = 8;
const METADATA = 9;
const TAGS = 10;
const EXPIRES = 11;
const ID_EXTRACTOR_DEADLINE = 12;
const LAST_UPDATED = 13;
const ALIAS = 14;
const ORG_ID = 15;

/**
 * A session for the auth hook to return. Setters may be called in any
 * order; fields are written in the canonical order. `rate`, `per` and
 * `allowance` are floats, the rest integers or strings.
 */
export class Session {
  // One slot per field, in the canonical order: setting and writing need no lookups.
  private slots: StaticArray<Value | null> = new StaticArray<Value | null>(16);

  /** The fields set so far, as a map in the canonical order (a copy: changing it changes nothing). */
  get fields(): Value {
    const m = Value.map();
    for (let i = 0; i < 16; i++) {
      const v = unchecked(this.slots[i]);
      if (v !== null) m.set(unchecked(SESSION_ORDER[i]), v);
    }
    return m;
  }

  private put(slot: i32, v: Value): Session {
    unchecked((this.slots[slot] = v));
    return this;
  }
  /** The map or array in `slot`, created on first use. */
  private container(slot: i32, map: bool): Value {
    let v = unchecked(this.slots[slot]);
    if (v === null) {
      v = map ? Value.map() : Value.array([]);
      unchecked((this.slots[slot] = v));
    }
    return v!;
  }

  rate(v: f64): Session {
    return this.put(RATE, Value.float(v));
  }
  per(v: f64): Session {
    return this.put(PER, Value.float(v));
  }
  allowance(v: f64): Session {
    return this.put(ALLOWANCE, Value.float(v));
  }
  quotaMax(v: i64): Session {
    return this.put(QUOTA_MAX, Value.int(v));
  }
  quotaRemaining(v: i64): Session {
    return this.put(QUOTA_REMAINING, Value.int(v));
  }
  quotaRenews(v: i64): Session {
    return this.put(QUOTA_RENEWS, Value.int(v));
  }
  quotaRenewalRate(v: i64): Session {
    return this.put(QUOTA_RENEWAL_RATE, Value.int(v));
  }
  /** Access to one API (all versions and paths). */
  allowApi(apiId: string, apiName: string = ''): Session {
    const def = Value.map();
    def.set('api_id', Value.str(apiId));
    if (apiName.length > 0) def.set('api_name', Value.str(apiName));
    this.container(ACCESS_RIGHTS, true).set(apiId, def);
    return this;
  }
  applyPolicy(id: string): Session {
    this.container(APPLY_POLICIES, false).items.push(Value.str(id));
    return this;
  }
  metadata(key: string, value: string): Session {
    this.container(METADATA, true).set(key, Value.str(value));
    return this;
  }
  tag(t: string): Session {
    this.container(TAGS, false).items.push(Value.str(t));
    return this;
  }
  expires(unixSeconds: i64): Session {
    return this.put(EXPIRES, Value.int(unixSeconds));
  }
  /** Until this time (unix seconds) the gateway reuses the session without calling the plugin. */
  idExtractorDeadline(unixSeconds: i64): Session {
    return this.put(ID_EXTRACTOR_DEADLINE, Value.int(unixSeconds));
  }
  lastUpdated(v: string): Session {
    return this.put(LAST_UPDATED, Value.str(v));
  }
  alias(v: string): Session {
    return this.put(ALIAS, Value.str(v));
  }
  orgId(v: string): Session {
    return this.put(ORG_ID, Value.str(v));
  }

  write(w: Writer): void {
    let n = 0;
    for (let i = 0; i < 16; i++) if (unchecked(this.slots[i]) !== null) n++;
    w.mapHeader(n);
    for (let i = 0; i < 16; i++) {
      const v = unchecked(this.slots[i]);
      if (v === null) continue;
      w.str(unchecked(SESSION_ORDER[i]));
      w.value(v);
    }
  }
}

export class ResponseChanges {
  statusCode: i32 = 0;
  setHeaders: Edits | null = null;
  addHeaders: Edits | null = null;
  deleteHeaders: string[] | null = null;
  body: Body | null = null;

  setHeader(name: string, value: string): void {
    let e = this.setHeaders;
    if (e === null) this.setHeaders = e = new Edits(false);
    e!.put(name, value);
  }
  addHeader(name: string, value: string): void {
    let e = this.addHeaders;
    if (e === null) this.addHeaders = e = new Edits(true);
    e!.put(name, value);
  }
  deleteHeader(name: string): void {
    let a = this.deleteHeaders;
    if (a === null) this.deleteHeaders = a = new Array<string>();
    a!.push(name);
  }

  /** Empty again, for reuse by a later call (see Context.read): keeps its lists, emptied. */
  reset(): void {
    this.statusCode = 0;
    resetEdits(this.setHeaders);
    resetEdits(this.addHeaders);
    resetList(this.deleteHeaders);
    this.body = null;
  }

  isEmpty(): bool {
    return (
      this.statusCode == 0 &&
      !hasEdits(this.setHeaders) &&
      !hasEdits(this.addHeaders) &&
      !hasItems(this.deleteHeaders) &&
      this.body === null
    );
  }

  /** Writes the record; false (and nothing written) when it holds no change. */
  write(w: Writer): bool {
    const status = this.statusCode;
    const setHeaders = hasEdits(this.setHeaders);
    const addHeaders = hasEdits(this.addHeaders);
    const deleteHeaders = hasItems(this.deleteHeaders);
    const body = this.body;
    let n = 0;
    if (status != 0) n++;
    if (setHeaders) n++;
    if (addHeaders) n++;
    if (deleteHeaders) n++;
    if (body !== null) n++;
    if (n == 0) return false;
    w.mapHeader(n);
    if (status != 0) {
      w.str('status_code');
      w.int(status);
    }
    if (setHeaders) {
      w.str('set_headers');
      this.setHeaders!.write(w);
    }
    if (addHeaders) {
      w.str('add_headers');
      this.addHeaders!.write(w);
    }
    if (deleteHeaders) {
      w.str('delete_headers');
      w.strArray(this.deleteHeaders!);
    }
    if (body !== null) {
      w.str('body');
      body.write(w);
    }
    return true;
  }
}

export class RecordChanges {
  set: Value = Value.map();
  private _dropFields: string[] | null = null;
  drop: bool = false;

  get dropFields(): string[] {
    let a = this._dropFields;
    if (a === null) this._dropFields = a = new Array<string>();
    return a!;
  }

  private get setCount(): i32 {
    const keys = this.set._keys;
    return keys === null ? 0 : keys.length;
  }

  isEmpty(): bool {
    return this.setCount == 0 && !hasItems(this._dropFields) && !this.drop;
  }

  /** Writes the record; false (and nothing written) when it holds no change. */
  write(w: Writer): bool {
    const dropFields = hasItems(this._dropFields);
    const setCount = this.setCount;
    let n = 0;
    if (setCount > 0) n++;
    if (dropFields) n++;
    if (this.drop) n++;
    if (n == 0) return false;
    w.mapHeader(n);
    if (setCount > 0) {
      w.str('set');
      w.value(this.set);
    }
    if (dropFields) {
      w.str('drop_fields');
      w.strArray(this._dropFields!);
    }
    if (this.drop) {
      w.str('drop');
      w.bool(true);
    }
    return true;
  }
}

export { addValue, putValue };
