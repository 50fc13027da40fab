/**
 * Envelope encoding and result decoding. Decoding is the edge where plugin
 * output enters the gateway: length first, then strict msgpack (reader.ts),
 * then the schema, then the hook's capabilities and header rules
 * (headers.ts). A result is returned only when all of it is valid, so
 * changes apply all or nothing. The common results (header edits) take a
 * one-pass path that accepts only what this one would (common-result.ts).
 */
import { WasmgateError } from '../errors.ts';
import { decodeCommonResult } from './common-result.ts';
import { checkHeaderName, checkHeaderValue } from './headers.ts';
import { MsgpackError, readMsgpack } from './reader.ts';
import { type Hook, type HookResult, type Multi, newMulti } from './records.ts';
import { validateResult } from './schema.ts';

export { checkHeaderName, checkHeaderValue, FORBIDDEN_HEADERS } from './headers.ts';
export { encodeEnvelope } from './writer.ts';

const REQUEST_HOOKS: ReadonlySet<Hook> = new Set(['pre', 'auth', 'post_auth', 'endpoint', 'post']);

function badOutput(message: string, cause?: unknown): WasmgateError {
  return new WasmgateError('BAD_OUTPUT', message, cause === undefined ? undefined : { cause });
}

function notAllowed(hook: Hook, field: string): WasmgateError {
  return new WasmgateError('HOOK_NOT_ALLOWED', `a ${hook} plugin may not return "${field}"`);
}

function normaliseHeaders(map: Record<string, string | string[]> | undefined, where: string): Multi | undefined {
  if (!map) return undefined;
  const out: Multi = newMulti();
  const names = Object.keys(map);
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    const lower = checkHeaderName(name, where);
    const value = map[name]!;
    // The decoded arrays are the gateway's own: kept, not copied.
    const values = typeof value === 'string' ? [value] : value;
    for (let j = 0; j < values.length; j++) values[j] = checkHeaderValue(values[j]!, `${where}.${lower}`);
    const seen = out[lower];
    if (seen) for (let j = 0; j < values.length; j++) seen.push(values[j]!);
    else out[lower] = values;
  }
  return out;
}

function normaliseParams(map: Record<string, string | string[]> | undefined): Multi | undefined {
  if (!map) return undefined;
  const out: Multi = newMulti();
  for (const name of Object.keys(map)) {
    const value = map[name]!;
    out[name] = typeof value === 'string' ? [value] : value;
  }
  return out;
}

function checkNames(names: string[] | undefined, where: string): string[] | undefined {
  return names?.map((n) => checkHeaderName(n, where));
}

const encoder = new TextEncoder();
function toBytes(v: Uint8Array | string | undefined): Uint8Array | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'string' ? encoder.encode(v) : v;
}

type RawResult = {
  request?: {
    set_headers?: Record<string, string | string[]>;
    add_headers?: Record<string, string | string[]>;
    delete_headers?: string[];
    add_params?: Record<string, string | string[]>;
    delete_params?: string[];
    body?: Uint8Array | string;
    url?: string;
    upstream?: string;
  };
  calls?: {
    id: string;
    method: string;
    url: string;
    headers?: Record<string, string | string[]>;
    body?: Uint8Array | string;
    timeout_ms?: number;
  }[];
  state?: Uint8Array | string;
  return_overrides?: {
    response_code: number;
    response_error?: string;
    response_body?: Uint8Array | string;
    headers?: Record<string, string | string[]>;
    override_error?: boolean;
  };
  session?: HookResult['session'];
  response?: {
    status_code?: number;
    set_headers?: Record<string, string | string[]>;
    add_headers?: Record<string, string | string[]>;
    delete_headers?: string[];
    body?: Uint8Array | string;
  };
  record?: HookResult['record'];
  error?: string;
};

const EMPTY: HookResult = Object.freeze({});

/**
 * Decodes and validates one plugin output for `hook`. Throws a WasmgateError
 * (BAD_OUTPUT, HOOK_NOT_ALLOWED, FORBIDDEN_HEADER, PLUGIN_ERROR,
 * OUTPUT_TOO_LARGE) or returns the normalised result.
 */
export function decodeResult(output: Uint8Array | null, hook: Hook, maxOutputBytes: number): HookResult {
  if (!output || output.byteLength === 0) return EMPTY;
  if (output.byteLength > maxOutputBytes) {
    throw new WasmgateError(
      'OUTPUT_TOO_LARGE',
      `the plugin output is ${output.byteLength} bytes; the limit is ${maxOutputBytes}`,
    );
  }
  return decodeCommonResult(output, hook) ?? decodeGeneralResult(output, hook);
}

/** decodeResult's general path alone, for any output within the size limit (tests compare the two paths). */
export function decodeGeneralResult(output: Uint8Array, hook: Hook): HookResult {
  let raw: unknown;
  try {
    raw = readMsgpack(output);
  } catch (cause) {
    if (!(cause instanceof MsgpackError)) throw cause;
    throw badOutput(`the plugin output is not valid msgpack: ${cause.message}`, cause);
  }
  if (!validateResult(raw)) {
    const e = validateResult.errors?.[0];
    const where = e ? `${e.instancePath || '(root)'} ${e.message ?? ''}`.trim() : 'invalid';
    throw badOutput(`the plugin output does not match the ABI schema: ${where}`);
  }
  const r = raw as RawResult;
  if (r.error !== undefined) throw new WasmgateError('PLUGIN_ERROR', `the plugin reported: ${r.error.slice(0, 200)}`);

  const isRequestHook = REQUEST_HOOKS.has(hook);
  if (r.request && !isRequestHook) throw notAllowed(hook, 'request');
  if (r.return_overrides && !isRequestHook) throw notAllowed(hook, 'return_overrides');
  if (r.session && hook !== 'auth') throw notAllowed(hook, 'session');
  if (r.response && hook !== 'response') throw notAllowed(hook, 'response');
  if (r.record && hook !== 'analytics') throw notAllowed(hook, 'record');
  if (r.calls) {
    if (!isRequestHook) throw notAllowed(hook, 'calls');
    // A continuation asks for calls and nothing else; the final result comes after the responses.
    for (const k of ['request', 'return_overrides', 'session', 'response', 'record'] as const) {
      if (r[k] !== undefined) throw badOutput(`a result with "calls" carries only "calls" and "state", not "${k}"`);
    }
    const ids = new Set<string>();
    const calls = r.calls.map((c, i) => {
      if (ids.has(c.id)) throw badOutput(`calls[${i}].id "${c.id.slice(0, 64)}" is used twice`);
      ids.add(c.id);
      return {
        id: c.id,
        method: c.method,
        url: c.url,
        headers: normaliseHeaders(c.headers, `calls[${i}].headers`),
        body: toBytes(c.body),
        timeout_ms: c.timeout_ms,
      };
    });
    return { calls, state: toBytes(r.state) };
  }
  if (r.state !== undefined) throw badOutput('"state" comes only with "calls"');

  const result: HookResult = {};
  if (r.request) {
    const q = r.request;
    result.request = {
      set_headers: normaliseHeaders(q.set_headers, 'request.set_headers'),
      add_headers: normaliseHeaders(q.add_headers, 'request.add_headers'),
      delete_headers: checkNames(q.delete_headers, 'request.delete_headers'),
      add_params: normaliseParams(q.add_params),
      delete_params: q.delete_params,
      body: toBytes(q.body),
      url: q.url,
      upstream: q.upstream,
    };
  }
  if (r.return_overrides) {
    const o = r.return_overrides;
    result.return_overrides = {
      response_code: o.response_code,
      response_error: o.response_error,
      response_body: toBytes(o.response_body),
      headers: normaliseHeaders(o.headers, 'return_overrides.headers'),
      override_error: o.override_error,
    };
  }
  if (r.session) result.session = r.session;
  if (r.response) {
    const p = r.response;
    result.response = {
      status_code: p.status_code,
      set_headers: normaliseHeaders(p.set_headers, 'response.set_headers'),
      add_headers: normaliseHeaders(p.add_headers, 'response.add_headers'),
      delete_headers: checkNames(p.delete_headers, 'response.delete_headers'),
      body: toBytes(p.body),
    };
  }
  if (r.record) result.record = r.record;
  return result;
}
