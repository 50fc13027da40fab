/**
 * The auth position of the chain: nothing for keyless APIs, the built-in
 * key check, or the custom auth plugin — the only hook that may create the
 * session — with Tyk's ID extractor in front of it: a session the plugin
 * returned with `id_extractor_deadline` is cached under the extracted id
 * and reused until the deadline, so the plugin does not run again. An
 * expired deadline always runs the plugin (never a stale session).
 *
 * Unknown and expired keys get the same answer. A store that does not
 * answer is a 503, never a 401/403.
 */
import type { SessionRecord } from '../../runtime/index.ts';
import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { ApiSpec, AuthSpec } from '../config/api-spec.ts';
import type { RequestContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import { extractCredential, hashKey, keyFromRequest } from '../sessions/credentials.ts';
import type { Policy } from '../sessions/policies.ts';
import { type Store, StoreUnavailableError } from '../store/store.ts';
import { applyRequestChanges, type BoundPlugin, buildEnvelope, callPlugin, overridesToOutcome } from './plugin.ts';
import type { LoadedApiInfo } from './types.ts';

export interface AuthDeps {
  normalisePath: (path: string) => string;
  store: Store;
  policy: (id: string) => Policy | undefined;
}

export const ACCESS_DENIED = () => new HttpError(403, 'access_denied');

/** Runs a store operation; an unreachable store becomes 503. */
export async function fromStore<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof StoreUnavailableError)
      throw new HttpError(503, 'store_unavailable', { 'retry-after': '1' }, { cause: err });
    throw err;
  }
}

export function authStage(
  spec: ApiSpec,
  api: LoadedApiInfo,
  plugin: BoundPlugin | null,
  deps: AuthDeps,
): ((ctx: RequestContext) => Promise<Outcome>) | null {
  const auth = spec.auth;
  if (auth.kind === 'keyless') return null;
  if (auth.kind === 'key') return builtInKey(auth, deps);
  if (!plugin) throw new Error(`API ${spec.id}: custom auth without a bound plugin`);
  return customAuth(api, plugin, auth, deps);
}

function builtInKey(auth: Extract<AuthSpec, { kind: 'key' }>, deps: AuthDeps) {
  return async (ctx: RequestContext): Promise<Outcome> => {
    const key = keyFromRequest(ctx, auth);
    if (!key) throw new HttpError(401, 'auth_missing');
    const hash = hashKey(key);
    const session = await fromStore(() => deps.store.getSession(hash));
    if (!session) throw ACCESS_DENIED();
    ctx.session = session;
    ctx.sessionKey = hash;
    return CONTINUE;
  };
}

function customAuth(
  api: LoadedApiInfo,
  plugin: BoundPlugin,
  auth: Extract<AuthSpec, { kind: 'plugin' }>,
  deps: AuthDeps,
) {
  const extractor = auth.idExtractor;
  return async (ctx: RequestContext): Promise<Outcome> => {
    const now = Math.floor(Date.now() / 1000);
    let cacheKey: string | null = null;
    if (extractor) {
      const credential = extractCredential(ctx, extractor);
      if (!credential) {
        throw new HttpError(
          401,
          'auth_missing',
          {},
          { message: `no credential in the ${extractor.from} ${extractor.name}` },
        );
      }
      // The whole source value and the API: a sub-match alone never keys the cache.
      cacheKey = hashKey(`${api.id}\0${credential.source}`);
      const key = cacheKey;
      const cached = await fromStore(() => deps.store.getCachedSession(api.id, key));
      if (cached && (cached.id_extractor_deadline ?? 0) > now) {
        ctx.session = cached;
        ctx.sessionKey = tokenKey(cached);
        ctx.authCacheHit = true;
        return CONTINUE;
      }
    }
    const result = await callPlugin(ctx, api, plugin, buildEnvelope(ctx, api, plugin, 'auth'));
    if (!result) throw new HttpError(403, 'plugin_error');
    if (result.request) applyRequestChanges(ctx, result.request, deps.normalisePath);
    if (result.return_overrides) return overridesToOutcome(result.return_overrides);
    const session = result.session;
    if (!session) throw new HttpError(403, 'access_denied', {}, { message: 'the auth plugin returned no session' });
    const key = tokenKey(session);
    // Tyk keys a plugin's session by metadata.token: without one, nothing can track its limits.
    if (!key)
      throw new HttpError(
        403,
        'session_without_token',
        {},
        { message: 'the auth plugin returned a session without metadata.token' },
      );
    ctx.session = session;
    ctx.sessionKey = key;
    // The session is kept under its token; a different `last_updated` (or none stored yet) replaces it.
    const stored = await fromStore(() => deps.store.getSession(key));
    if (!stored || stored.last_updated !== session.last_updated) {
      const ttl = session.expires && session.expires > now ? session.expires - now : 0;
      await fromStore(() => deps.store.putSession(key, session, ttl));
    }
    const deadline = session.id_extractor_deadline ?? 0;
    if (cacheKey && deadline > now) {
      const k = cacheKey;
      await fromStore(() => deps.store.putCachedSession(api.id, k, session, Math.min(deadline - now, 86_400 * 30)));
    }
    return CONTINUE;
  };
}

/** The key a plugin session's counters and copy live under: its metadata.token, hashed. */
function tokenKey(session: SessionRecord): string | null {
  const token = session.metadata?.token;
  return typeof token === 'string' && token ? hashKey(`token\0${token}`) : null;
}
