/**
 * The one place an API's chain is assembled, when the API is loaded (never
 * per request). Tyk's order, which this file keeps:
 *
 *   pre → auth (keyless | built-in key | custom auth plugin, with the ID
 *   extractor in front) → key expiry / access rights → rate limit → quota →
 *   post-auth → per-endpoint post plugins → API-level post → proxy →
 *   response plugins → reply → analytics (off the request path)
 *
 * A stage with nothing to do is absent, not skipped at run time: an API with
 * no plugins has an empty request chain.
 */
import type { Hook, PluginBinding, Runtime } from '../../runtime/index.ts';
import type { ApiSpec, PluginRef } from '../config/api-spec.ts';
import type { RequestContext } from '../context.ts';
import type { OutboundClient } from '../outbound/client.ts';
import type { PluginRegistry, PluginVersion } from '../plugins/registry.ts';
import { type AuthDeps, authStage } from '../stages/auth.ts';
import { endpointStage } from '../stages/endpoint.ts';
import type { BoundPlugin } from '../stages/plugin.ts';
import { pluginListStage } from '../stages/plugin.ts';
import { quotaStage } from '../stages/quota.ts';
import { rateLimitStage } from '../stages/rate-limit.ts';
import { sessionChecksStage } from '../stages/session-checks.ts';
import type { LoadedApiInfo } from '../stages/types.ts';
import type { Stage } from './outcome.ts';

export interface LoadedApi extends LoadedApiInfo {
  readonly spec: ApiSpec;
  /** Request stages in order; empty when the API has none. */
  readonly request: readonly Stage[];
  readonly response: readonly BoundPlugin[];
  readonly analytics: BoundPlugin | null;
  /** Every request-side plugin (pre, auth, post-auth, endpoint, post), for metrics. */
  readonly requestPlugins: readonly BoundPlugin[];
  /** Some request-side plugin declared `needs_body`: buffer the request body. */
  readonly needsRequestBody: boolean;
  /** Some response plugin declared `needs_body`: buffer the upstream body. */
  readonly needsResponseBody: boolean;
  /** Plugin versions this API uses (a version in use cannot be deleted). */
  readonly pluginVersions: readonly PluginVersion[];
  /** Lets requests in flight finish, then frees the API's instances. */
  drain(): Promise<void>;
}

export interface ChainDeps extends AuthDeps {
  runtime: Runtime;
  registry: PluginRegistry;
  /** Anchors relative `.wasm` plugin paths. */
  baseDir: string;
  normalisePath: (path: string) => string;
  onPluginFailure: (ctx: RequestContext, plugin: BoundPlugin, err: unknown) => void;
  /** Performs the outbound calls plugins ask for. */
  outbound: OutboundClient;
}

export class ChainError extends Error {}

export async function loadApi(spec: ApiSpec, deps: ChainDeps): Promise<LoadedApi> {
  const bindings = new Map<string, PluginBinding>();
  const versions = new Map<string, PluginVersion>();

  // One binding (one instance pool) per plugin version per API, shared by its hooks.
  const bind = async (ref: PluginRef, hook: Hook): Promise<BoundPlugin> => {
    const version = await deps.registry.resolve(ref.plugin, deps.baseDir);
    const key = `${version.meta.name}@${version.meta.version}`;
    versions.set(key, version);
    let binding = bindings.get(key);
    if (!binding) {
      binding = deps.runtime.bind(version.prepared, {
        apiId: spec.id,
        config: spec.configData,
        httpResponseBytes: spec.outbound?.maxResponseBytes,
      });
      bindings.set(key, binding);
    }
    if (!binding.hasExport(ref.export)) {
      throw new ChainError(
        `plugin ${key} does not export "${ref.export}" (exports: ${version.meta.exports.join(', ') || 'none'})`,
      );
    }
    return Object.freeze({
      hook,
      exportName: ref.export,
      needsBody: ref.needsBody,
      failOpen: ref.failOpen,
      binding,
      label: key,
    });
  };
  const bindAll = (refs: readonly PluginRef[], hook: Hook) => Promise.all(refs.map((r) => bind(r, hook)));

  const info: LoadedApiInfo = {
    id: spec.id,
    name: spec.name,
    orgId: spec.orgId,
    envelopeSpec: Object.freeze({ api_id: spec.id, org_id: spec.orgId, name: spec.name, config_data: spec.configData }),
    onPluginFailure: deps.onPluginFailure,
    outbound: spec.outbound,
    outboundClient: deps.outbound,
    upstreamTargets: spec.upstreamTargets,
  };

  const pre = await bindAll(spec.plugins.pre, 'pre');
  const authPlugin = spec.auth.kind === 'plugin' ? await bind(spec.auth.plugin, 'auth') : null;
  const postAuth = await bindAll(spec.plugins.postAuth, 'post_auth');
  const endpoints = await Promise.all(
    spec.endpoints.map(async (rule) => ({ rule, plugins: await bindAll(rule.plugins, 'endpoint') })),
  );
  const post = await bindAll(spec.plugins.post, 'post');
  const response = await bindAll(spec.plugins.response, 'response');
  const analytics = spec.plugins.analytics ? await bind(spec.plugins.analytics, 'analytics') : null;

  const request: Stage[] = [];
  if (pre.length) request.push(pluginListStage(info, pre, deps.normalisePath));
  const auth = authStage(spec, info, authPlugin, deps);
  if (auth) {
    // What follows authentication, in Tyk's order: expiry and access rights, rate limit, quota.
    request.push(auth, sessionChecksStage(spec.id, deps.policy), rateLimitStage(deps.store), quotaStage(deps.store));
  }
  if (postAuth.length) request.push(pluginListStage(info, postAuth, deps.normalisePath));
  if (endpoints.some((e) => e.plugins.length)) request.push(endpointStage(info, endpoints, deps.normalisePath));
  if (post.length) request.push(pluginListStage(info, post, deps.normalisePath));

  const requestPlugins = [
    ...pre,
    ...(authPlugin ? [authPlugin] : []),
    ...postAuth,
    ...endpoints.flatMap((e) => e.plugins),
    ...post,
  ];
  return Object.freeze({
    ...info,
    spec,
    requestPlugins: Object.freeze(requestPlugins),
    request: Object.freeze(request),
    response: Object.freeze(response),
    analytics,
    needsRequestBody:
      requestPlugins.some((p) => p.needsBody) ||
      (spec.auth.kind === 'plugin' &&
        spec.auth.idExtractor?.from !== undefined &&
        spec.auth.idExtractor.from !== 'header'),
    needsResponseBody: response.some((p) => p.needsBody),
    pluginVersions: Object.freeze([...versions.values()]),
    drain: async () => {
      await Promise.all([...bindings.values()].map((b) => b.drain()));
    },
  });
}
