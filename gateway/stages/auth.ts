/**
 * The auth position of the chain: nothing for keyless APIs, the built-in
 * key check, or the custom auth plugin — the only hook that may create the
 * session. What follows authentication (expiry, access rights, rate limit,
 * quota) runs on the session this stage produced.
 */
import type { ApiSpec } from '../config/api-spec.ts';
import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { RequestContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import { applyRequestChanges, type BoundPlugin, buildEnvelope, callPlugin, overridesToOutcome } from './plugin.ts';
import type { LoadedApiInfo } from './types.ts';

export interface AuthDeps {
  normalisePath: (path: string) => string;
}

export function authStage(
  spec: ApiSpec,
  api: LoadedApiInfo,
  plugin: BoundPlugin | null,
  deps: AuthDeps,
): ((ctx: RequestContext) => Promise<Outcome>) | null {
  if (spec.auth.kind === 'keyless') return null;
  if (spec.auth.kind === 'plugin' && plugin) return customAuth(api, plugin, deps);
  return null;
}

function customAuth(api: LoadedApiInfo, plugin: BoundPlugin, deps: AuthDeps) {
  return async (ctx: RequestContext): Promise<Outcome> => {
    const result = await callPlugin(ctx, api, plugin, buildEnvelope(ctx, api, plugin, 'auth'));
    if (!result) throw new HttpError(403, 'plugin_error');
    if (result.request) applyRequestChanges(ctx, result.request, deps.normalisePath);
    if (result.return_overrides) return overridesToOutcome(result.return_overrides);
    if (!result.session) throw new HttpError(403, 'access_denied', {}, { message: 'the auth plugin returned no session' });
    ctx.session = result.session;
    return CONTINUE;
  };
}
