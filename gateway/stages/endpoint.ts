/**
 * Per-endpoint post plugins (Tyk's `extended_paths.go_plugin` / OAS
 * `postPlugins`): the plugins of the first rule matching method and path run
 * in definition order, before the API-level post plugins.
 */

import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { EndpointRule } from '../config/api-spec.ts';
import type { RequestContext } from '../context.ts';
import { type BoundPlugin, runRequestPlugins } from './plugin.ts';
import type { LoadedApiInfo } from './types.ts';

export function endpointStage(
  api: LoadedApiInfo,
  endpoints: readonly { rule: EndpointRule; plugins: readonly BoundPlugin[] }[],
  normalisePath: (p: string) => string,
): (ctx: RequestContext) => Outcome | Promise<Outcome> {
  return (ctx) => {
    const hit = endpoints.find((e) => e.rule.matches(ctx.method, ctx.apiPath));
    if (!hit) return CONTINUE;
    return runRequestPlugins(ctx, api, hit.plugins, normalisePath);
  };
}
