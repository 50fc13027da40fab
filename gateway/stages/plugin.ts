/**
 * Calling one bound plugin at one hook: build the envelope from the request,
 * call through the runtime, and turn the validated result into changes to
 * the request or an answer. Used by every plugin stage (pre, auth,
 * post-auth, endpoint, post); the response and analytics hooks have their
 * own appliers.
 */
import {
  ABI_VERSION,
  type CallOptions,
  type Envelope,
  type Hook,
  type HookResult,
  type Multi,
  type PluginBinding,
  type RequestChanges,
  type RequestRecord,
  type ReturnOverrides,
  WasmgateError,
} from '../../runtime/index.ts';
import { CONTINUE, type Outcome, respond } from '../chain/outcome.ts';
import type { RequestContext } from '../context.ts';
import { HttpError, pluginFailureToHttp } from '../http-error.ts';
import { syncHttpFor } from '../outbound/sync.ts';
import type { LoadedApiInfo } from './types.ts';

/** A plugin entry of an API definition, resolved to a version and bound to the API. */
export interface BoundPlugin {
  readonly hook: Hook;
  readonly exportName: string;
  readonly needsBody: boolean;
  readonly failOpen: boolean;
  readonly binding: PluginBinding;
  /** `name@version`, for logs and metrics. */
  readonly label: string;
}

/** The envelope's `request` record for this request; `body` only for plugins that declared `needs_body`. */
export function requestRecord(ctx: RequestContext, body: Uint8Array | null): RequestRecord {
  return {
    method: ctx.method,
    url: ctx.path,
    request_uri: ctx.requestUri,
    scheme: ctx.scheme,
    host: ctx.host,
    remote_addr: ctx.clientIp,
    params: ctx.params,
    headers: ctx.headers,
    body,
  };
}

export function buildEnvelope(ctx: RequestContext, api: LoadedApiInfo, plugin: BoundPlugin, hook: Hook): Envelope {
  const request = requestRecord(ctx, plugin.needsBody ? ctx.body : null);
  const metadata = { request_id: ctx.id, plugin: plugin.label, version: '1', time: ctx.time };
  // Pre and auth see no session.
  return hook === 'pre' || hook === 'auth'
    ? { v: ABI_VERSION, hook, request, spec: api.envelopeSpec, metadata }
    : { v: ABI_VERSION, hook, request, session: ctx.session, spec: api.envelopeSpec, metadata };
}

/**
 * Calls the plugin — and, while it answers with `calls`, performs them and
 * calls it again with their responses (docs/outbound.md) — then checks what
 * only the API can allow (a named upstream). A failure becomes an HttpError
 * (fail closed) or, where the entry allows it, null (fail open). A plugin
 * that could run at once gives its result at once: no promise is made.
 */
export function callPlugin(
  ctx: RequestContext,
  api: LoadedApiInfo,
  plugin: BoundPlugin,
  envelope: Envelope,
): HookResult | null | Promise<HookResult | null> {
  try {
    const opts: CallOptions = { requestId: ctx.id, tags: { request_id: ctx.id, plugin: plugin.label, api_id: api.id } };
    // A stock plugin's synchronous http_request: the same grant, and the same hooks, as continuations.
    if (plugin.binding.tier === 'worker' && plugin.hook !== 'response') opts.http = syncHttpFor(ctx, api);
    const result = plugin.binding.callNow(plugin.exportName, plugin.hook, envelope, opts);
    if (result instanceof Promise || result.calls) return finishLater(ctx, api, plugin, envelope, result, opts);
    return checked(ctx, api, result);
  } catch (err) {
    return failed(ctx, api, plugin, err);
  }
}

async function finishLater(
  ctx: RequestContext,
  api: LoadedApiInfo,
  plugin: BoundPlugin,
  envelope: Envelope,
  pending: HookResult | Promise<HookResult>,
  opts: CallOptions,
): Promise<HookResult | null> {
  try {
    let result = await pending;
    if (result.calls) result = await continuation(ctx, api, plugin, envelope, result, opts);
    return checked(ctx, api, result);
  } catch (err) {
    return failed(ctx, api, plugin, err);
  }
}

/** A named upstream must be one of the API's `upstream_targets`. */
function checked(ctx: RequestContext, api: LoadedApiInfo, result: HookResult): HookResult {
  const upstream = result.request?.upstream;
  if (upstream !== undefined) {
    const target = api.upstreamTargets.get(upstream);
    if (!target) {
      throw new WasmgateError(
        'UPSTREAM_NOT_ALLOWED',
        `"${upstream.slice(0, 64)}" is not one of this API's upstream_targets`,
      );
    }
    ctx.upstreamTarget = target;
  }
  return result;
}

function failed(ctx: RequestContext, api: LoadedApiInfo, plugin: BoundPlugin, err: unknown): null {
  api.onPluginFailure(ctx, plugin, err);
  if (plugin.failOpen) return null;
  throw pluginFailureToHttp(err, plugin.hook);
}

/** Rounds of calls until the plugin gives its final result, within the API's caps and time budget. */
async function continuation(
  ctx: RequestContext,
  api: LoadedApiInfo,
  plugin: BoundPlugin,
  first: Envelope,
  asked: HookResult,
  opts: CallOptions,
): Promise<HookResult> {
  const spec = api.outbound;
  if (!spec) throw new WasmgateError('OUTBOUND_NOT_ALLOWED', 'this API allows its plugins no outbound calls');
  const deadline = Date.now() + spec.hookBudgetMs;
  let result = asked;
  for (let round = 1; result.calls; round++) {
    if (round > spec.maxRounds) {
      throw new WasmgateError('OUTBOUND_LIMIT', `more than ${spec.maxRounds} rounds of calls in one plugin call`);
    }
    ctx.outboundCalls += result.calls.length;
    if (ctx.outboundCalls > spec.maxCalls) {
      throw new WasmgateError('OUTBOUND_LIMIT', `more than ${spec.maxCalls} outbound calls for one request`);
    }
    const responses = await api.outboundClient.perform(result.calls, spec, deadline);
    if (Date.now() > deadline) {
      throw new WasmgateError('OUTBOUND_LIMIT', `the outbound calls took longer than ${spec.hookBudgetMs} ms`);
    }
    const again: Envelope = { ...first, responses };
    if (result.state) again.state = result.state;
    result = await plugin.binding.callNow(plugin.exportName, plugin.hook, again, opts);
  }
  return result;
}

// Changes are the gateway's own decoded maps (no prototype): `for…in` walks their names without
// building the entry arrays Object.entries would.
export function setAll(target: Multi, changes: Multi | undefined): void {
  if (changes) for (const k in changes) target[k] = changes[k]!;
}

export function addAll(target: Multi, changes: Multi | undefined): void {
  if (!changes) return;
  for (const k in changes) {
    const values = changes[k]!;
    const seen = target[k];
    if (seen === undefined) target[k] = values.slice();
    else for (let i = 0; i < values.length; i++) seen.push(values[i]!);
  }
}

/** Applies request changes in a fixed order: delete, set, add (docs/abi.md §5). */
export function applyRequestChanges(
  ctx: RequestContext,
  c: RequestChanges,
  normalisePath: (p: string) => string,
): void {
  if (c.delete_headers) for (const name of c.delete_headers) delete ctx.headers[name];
  setAll(ctx.headers, c.set_headers);
  addAll(ctx.headers, c.add_headers);
  if (c.delete_params || c.add_params) {
    if (c.delete_params) for (const name of c.delete_params) delete ctx.params[name];
    setAll(ctx.params, c.add_params);
    ctx.paramsChanged = true;
  }
  if (c.body) {
    ctx.body = c.body;
    ctx.bodyChanged = true;
  }
  if (c.url !== undefined) ctx.path = normalisePath(c.url);
}

const encoder = new TextEncoder();

/**
 * Tyk's ReturnOverrides: `response_body` wins; else a code ≥ 400 without
 * `override_error` gets `{"error": response_error}`; else `response_error`
 * is the body as is.
 */
export function overridesToOutcome(o: ReturnOverrides): Outcome {
  const headers: Multi = { ...(o.headers ?? {}) };
  let body: Uint8Array;
  if (o.response_body !== undefined) {
    body = o.response_body;
  } else if (o.response_code >= 400 && o.override_error !== true) {
    body = encoder.encode(JSON.stringify({ error: o.response_error ?? '' }));
    if (!headers['content-type']) headers['content-type'] = ['application/json'];
  } else {
    body = encoder.encode(o.response_error ?? '');
  }
  return respond(o.response_code, headers, body);
}

/** What a request hook's result does to the request: null to go on, or the answer it ends with. */
function applyResult(
  ctx: RequestContext,
  result: HookResult | null,
  normalisePath: (p: string) => string,
): Outcome | null {
  if (!result) return null;
  if (result.request) applyRequestChanges(ctx, result.request, normalisePath);
  return result.return_overrides ? overridesToOutcome(result.return_overrides) : null;
}

/**
 * Runs request-hook plugins in order from `from`, applying each result
 * before the next call. It stays synchronous while the plugins answer at
 * once, and continues on a promise from the first one that does not.
 */
export function runRequestPlugins(
  ctx: RequestContext,
  api: LoadedApiInfo,
  plugins: readonly BoundPlugin[],
  normalisePath: (p: string) => string,
  from = 0,
): Outcome | Promise<Outcome> {
  for (let i = from; i < plugins.length; i++) {
    const plugin = plugins[i]!;
    const result = callPlugin(ctx, api, plugin, buildEnvelope(ctx, api, plugin, plugin.hook));
    if (result instanceof Promise) {
      return result.then(
        (r) => applyResult(ctx, r, normalisePath) ?? runRequestPlugins(ctx, api, plugins, normalisePath, i + 1),
      );
    }
    const outcome = applyResult(ctx, result, normalisePath);
    if (outcome) return outcome;
  }
  return CONTINUE;
}

/** A stage running request-hook plugins in definition order. */
export function pluginListStage(
  api: LoadedApiInfo,
  plugins: readonly BoundPlugin[],
  normalisePath: (p: string) => string,
): (ctx: RequestContext) => Outcome | Promise<Outcome> {
  return (ctx) => runRequestPlugins(ctx, api, plugins, normalisePath);
}

export { HttpError };
