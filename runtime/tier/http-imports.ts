/**
 * Extism's synchronous HTTP functions for an instance in a worker-tier
 * thread: `http_request`, `http_status_code`, `http_headers`, with rc13's
 * ABI (the request a JSON block `{url, method, headers}`, an optional body
 * block, the response body returned as a block, the status and headers
 * asked for afterwards). The request is handed to `exchange`, which blocks
 * this thread until the main thread has answered.
 *
 * A refusal (the gateway would not or could not make the call) reaches the
 * plugin as status 0 with `{"error": CODE, "message": …}` as the returned
 * block, the same codes a continuation's `responses` carry.
 */
import type { CallContext } from '@extism/extism';
import { WasmgateError } from '../errors.ts';
import { CallState, type HostFunction } from '../host-functions.ts';
import type { DecodedAnswer, SyncHttpRequest } from './protocol.ts';

/** A request record larger than this is refused before it is parsed. */
export const MAX_REQUEST_RECORD_BYTES = 64 * 1024;

const encoder = new TextEncoder();

export interface HttpImports {
  functions: Record<string, HostFunction>;
  /** Forgets the last answer's status and headers (a new call begins). */
  reset(): void;
}

function refusal(ctx: CallContext, error: string, message: string): bigint {
  return ctx.store(encoder.encode(JSON.stringify({ error, message })));
}

function stateOf(ctx: CallContext): CallState | null {
  const s = ctx.hostContext<unknown>();
  return s instanceof CallState ? s : null;
}

/** The request record, or why it is refused. */
export function parseRequestRecord(text: string): Omit<SyncHttpRequest, 'body'> | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return 'the request record is not JSON';
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'the request record is not an object';
  const r = raw as Record<string, unknown>;
  if (typeof r.url !== 'string') return 'the request record has no "url" string';
  if (r.method !== undefined && typeof r.method !== 'string') return '"method" must be a string';
  // rc13 reads `headers`, or `header` as older PDKs spell it.
  const rawHeaders = r.headers ?? r.header ?? {};
  if (typeof rawHeaders !== 'object' || rawHeaders === null || Array.isArray(rawHeaders)) {
    return '"headers" must be an object of strings';
  }
  // A header named `__proto__` stays a header.
  const headers: Record<string, string> = Object.create(null);
  for (const [name, value] of Object.entries(rawHeaders)) {
    if (typeof value !== 'string') return `header "${name.slice(0, 64)}" must be a string`;
    headers[name] = value;
  }
  return { url: r.url, method: ((r.method as string | undefined) ?? 'GET').toUpperCase(), headers };
}

export function makeHttpImports(exchange: (req: SyncHttpRequest) => DecodedAnswer): HttpImports {
  let status = 0;
  let headers: Uint8Array | null = null;
  const http_request = (ctx: CallContext, requestAddr: bigint, bodyAddr: bigint): bigint => {
    status = 0;
    headers = null;
    const state = stateOf(ctx);
    const record = ctx.read(requestAddr);
    if (!record) return 0n;
    if (!state) return refusal(ctx, 'NOT_IN_A_CALL', 'no outbound calls while the module initialises');
    if (record.bytes().byteLength > MAX_REQUEST_RECORD_BYTES) {
      return refusal(ctx, 'BAD_REQUEST', `the request record is over ${MAX_REQUEST_RECORD_BYTES} bytes`);
    }
    const parsed = parseRequestRecord(record.string());
    if (typeof parsed === 'string') return refusal(ctx, 'BAD_REQUEST', parsed);
    let body: Uint8Array | null = null;
    // As rc13: a GET or HEAD carries no body even when one is passed.
    if (bodyAddr !== 0n && parsed.method !== 'GET' && parsed.method !== 'HEAD') {
      body = ctx.read(bodyAddr)?.bytes().slice() ?? null;
    }
    const answer = exchange({ ...parsed, body });
    if (answer.kind === 'failure') return state.fail(new WasmgateError(answer.code, answer.message));
    if (answer.kind === 'refusal') return ctx.store(answer.record.slice());
    status = answer.status;
    headers = answer.headers.slice();
    return ctx.store(answer.body.slice());
  };
  return {
    functions: {
      http_request: http_request as HostFunction,
      http_status_code: () => status,
      http_headers: (ctx: CallContext) => (headers ? ctx.store(headers) : 0n),
    },
    reset: () => {
      status = 0;
      headers = null;
    },
  };
}
