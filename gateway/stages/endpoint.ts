/**
 * Per-endpoint post plugins (Tyk's `extended_paths.go_plugin` / OAS
 * `postPlugins`): the plugins of the first rule matching method and path run
 * in definition order, before the API-level post plugins.
 */

import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { EndpointRule } from '../config/api-spec.ts';
import type { RequestContext } from '../context.ts';
import { applyRequestChanges, type BoundPlugin, buildEnvelope, callPlugin, overridesToOutcome } from './plugin.ts';
import type { LoadedApiInfo } from './types.ts';

export function endpointStage(
  api: LoadedApiInfo,
  endpoints: readonly { rule: EndpointRule; plugins: readonly BoundPlugin[] }[],
  normalisePath: (p: string) => string,
): (ctx: RequestContext) => Promise<Outcome> {
  return async (ctx) => {
    const hit = endpoints.find((e) => e.rule.matches(ctx.method, ctx.apiPath));
    if (!hit) return CONTINUE;
    for (const plugin of hit.plugins) {
      const result = await callPlugin(ctx, api, plugin, buildEnvelope(ctx, api, plugin, 'endpoint'));
      if (!result) continue;
      if (result.request) applyRequestChanges(ctx, result.request, normalisePath);
      if (result.return_overrides) return overridesToOutcome(result.return_overrides);
    }
    return CONTINUE;
  };
}
