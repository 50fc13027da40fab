/**
 * The ABI's records as TypeScript types (docs/abi.md §4–5). The JSON Schema
 * in schema.ts is the authority for plugin output; these types mirror it.
 */
export const HOOKS = ['pre', 'auth', 'post_auth', 'endpoint', 'post', 'response', 'analytics'] as const;
export type Hook = (typeof HOOKS)[number];

export const ABI_VERSION = 1;

export type Multi = Record<string, string[]>;

/**
 * A prototype with nothing on it and nothing to add: maps made by
 * `newMulti` inherit from it, so a header or parameter named `__proto__`,
 * `constructor` or `toString` is just a key.
 */
const EMPTY_PROTOTYPE = Object.freeze(Object.create(null));
function MultiMap(): void {}
MultiMap.prototype = EMPTY_PROTOTYPE;

/**
 * An empty header or parameter map. Unlike `Object.create(null)`, which V8
 * keeps as a hash table, it has fast properties: reading, writing and listing
 * its keys on the request path costs a quarter as much.
 */
export function newMulti(): Multi {
  return new (MultiMap as unknown as new () => Multi)();
}

export interface RequestRecord {
  method: string;
  url: string;
  request_uri: string;
  scheme: string;
  host: string;
  remote_addr: string;
  params: Multi;
  headers: Multi;
  body: Uint8Array | null;
}

export interface AccessDefinition {
  api_id?: string;
  api_name?: string;
  versions?: string[];
  allowed_urls?: { url: string; methods: string[] }[];
}

export interface SessionRecord {
  rate?: number;
  per?: number;
  allowance?: number;
  quota_max?: number;
  quota_remaining?: number;
  quota_renews?: number;
  quota_renewal_rate?: number;
  access_rights?: Record<string, AccessDefinition>;
  apply_policies?: string[];
  metadata?: Record<string, string>;
  tags?: string[];
  expires?: number;
  id_extractor_deadline?: number;
  last_updated?: string;
  alias?: string;
  org_id?: string;
}

export interface ResponseRecord {
  status_code: number;
  headers: Multi;
  body: Uint8Array | null;
}

export interface AnalyticsRecord {
  method: string;
  host: string;
  path: string;
  raw_path: string;
  content_length: number;
  user_agent: string;
  day: number;
  month: number;
  year: number;
  hour: number;
  response_code: number;
  api_key: string;
  timestamp: string;
  api_name: string;
  api_id: string;
  org_id: string;
  request_time: number;
  raw_request: string;
  raw_response: string;
  ip_address: string;
  latency: { total: number; upstream: number };
  tags: string[];
  alias: string;
  track_path: boolean;
  expire_at: string;
}

export interface Envelope {
  v: number;
  hook: Hook;
  request: RequestRecord;
  session?: SessionRecord | null;
  response?: ResponseRecord;
  record?: Partial<AnalyticsRecord>;
  spec: { api_id: string; org_id: string; name: string; config_data: Record<string, unknown> };
  metadata: { request_id: string; plugin: string; version: string; time: number };
  /** A continuation (docs/outbound.md): the answers to the calls the plugin asked for, by call id. */
  responses?: Record<string, CallResponse>;
  /** A continuation: the `state` the plugin returned with its calls, as it returned it. */
  state?: Uint8Array;
}

/** An outbound HTTP call a plugin asks the gateway to make (docs/outbound.md). */
export interface OutboundCall {
  id: string;
  method: string;
  url: string;
  headers?: Multi;
  body?: Uint8Array;
  timeout_ms?: number;
}

/** What came back for one call: the answer, or why there is none (ORIGIN_NOT_ALLOWED, ADDRESS_REFUSED, TIMEOUT, TOO_LARGE, FAILED). */
export type CallResponse = { status: number; headers: Multi; body: Uint8Array } | { error: string; message: string };

/** Header and parameter edits, normalised to arrays. */
export interface RequestChanges {
  set_headers?: Multi;
  add_headers?: Multi;
  delete_headers?: string[];
  add_params?: Multi;
  delete_params?: string[];
  body?: Uint8Array;
  url?: string;
  /** Route this request to one of the API's `upstream_targets`, by name. */
  upstream?: string;
}

export interface ReturnOverrides {
  response_code: number;
  response_error?: string;
  response_body?: Uint8Array;
  headers?: Multi;
  override_error?: boolean;
}

export interface ResponseChanges {
  status_code?: number;
  set_headers?: Multi;
  add_headers?: Multi;
  delete_headers?: string[];
  body?: Uint8Array;
}

export interface RecordChanges {
  set?: Partial<AnalyticsRecord>;
  drop_fields?: string[];
  drop?: boolean;
}

/** A validated, normalised plugin result. Empty object = continue unchanged. */
export interface HookResult {
  request?: RequestChanges;
  return_overrides?: ReturnOverrides;
  session?: SessionRecord;
  response?: ResponseChanges;
  record?: RecordChanges;
  /** A continuation: make these calls, then call the same export again with their responses. */
  calls?: OutboundCall[];
  state?: Uint8Array;
}
