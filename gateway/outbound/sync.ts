/**
 * Stock Extism plugins' synchronous `http_request` (docs/outbound.md): the
 * plugin's worker thread waits while the main thread makes the call through
 * the same OutboundClient and the same per-API grant as continuations
 * (allowlist, address checks, own ports, timeouts, response cap), counted
 * against the request's `max_calls` and the hook's `hook_budget_ms`.
 *
 * Refusals of one call come back to the plugin (status 0 and the code);
 * what a continuation would fail for (no grant, too many calls, the budget
 * spent) fails the plugin call the same way.
 */
import {
  type CallResponse,
  checkHeaderName,
  checkHeaderValue,
  newMulti,
  type SyncHttp,
  WasmgateError,
} from '../../runtime/index.ts';
import type { RequestContext } from '../context.ts';
import type { LoadedApiInfo } from '../stages/types.ts';

const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const MAX_URL = 8192;

function badRequest(message: string): CallResponse {
  return { error: 'BAD_REQUEST', message };
}

/** The answerer for one plugin call of one request; its budget starts now. */
export function syncHttpFor(ctx: RequestContext, api: LoadedApiInfo): SyncHttp {
  const spec = api.outbound;
  const budgetMs = spec?.hookBudgetMs ?? 0;
  const deadline = Date.now() + budgetMs;
  return {
    budgetMs,
    request: async (req) => {
      if (!spec) throw new WasmgateError('OUTBOUND_NOT_ALLOWED', 'this API allows its plugins no outbound calls');
      // Counted before it is checked: a plugin looping on requests it knows are refused still stops at max_calls.
      ctx.outboundCalls++;
      if (ctx.outboundCalls > spec.maxCalls) {
        throw new WasmgateError('OUTBOUND_LIMIT', `more than ${spec.maxCalls} outbound calls for one request`);
      }
      if (!METHODS.has(req.method)) return badRequest(`method "${req.method.slice(0, 16)}" is not supported`);
      if (req.url.length > MAX_URL) return badRequest(`the URL is over ${MAX_URL} characters`);
      // `__proto__` is a valid token: the map must not inherit from Object.prototype.
      const headers = newMulti();
      for (const [name, value] of Object.entries(req.headers)) {
        // The same rules as a result's headers (runtime/abi/codec.ts), answered as BAD_REQUEST.
        try {
          const lower = checkHeaderName(name, 'headers');
          (headers[lower] ??= []).push(checkHeaderValue(value, `headers.${lower}`));
        } catch (err) {
          if (!(err instanceof WasmgateError)) throw err;
          return badRequest(err.message);
        }
      }
      const call = {
        id: 'http_request',
        method: req.method,
        url: req.url,
        headers,
        ...(req.body ? { body: req.body } : {}),
      };
      const answers = await api.outboundClient.perform([call], spec, deadline);
      if (Date.now() > deadline) {
        throw new WasmgateError('OUTBOUND_LIMIT', `the outbound calls took longer than ${spec.hookBudgetMs} ms`);
      }
      return answers[call.id]!;
    },
  };
}
