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
import { extractId, hashKey, keyFromRequest, stripBearer } from '../sessions/credentials.ts';
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
    let idHash: string | null = null;
    if (extractor) {
      const id =
        extractor.from === 'header' && extractor.with === 'value'
          ? stripOrNull(ctx.headers[extractor.name.toLowerCase()]?.[0])
          : extractId(ctx, extractor);
      if (id) {
        idHash = hashKey(`${api.id}\0${id}`);
        const cached = await fromStore(() => deps.store.getCachedSession(api.id, idHash!));
        if (cached && (cached.id_extractor_deadline ?? 0) > now) {
          ctx.session = cached;
          ctx.sessionKey = sessionKeyOf(cached, idHash);
          ctx.authCacheHit = true;
          return CONTINUE;
        }
      }
    }
    const result = await callPlugin(ctx, api, plugin, buildEnvelope(ctx, api, plugin, 'auth'));
    if (!result) throw new HttpError(403, 'plugin_error');
    if (result.request) applyRequestChanges(ctx, result.request, deps.normalisePath);
    if (result.return_overrides) return overridesToOutcome(result.return_overrides);
    const session = result.session;
    if (!session) throw new HttpError(403, 'access_denied', {}, { message: 'the auth plugin returned no session' });
    const credential = ctx.headers[auth.headerName]?.[0];
    ctx.session = session;
    ctx.sessionKey = sessionKeyOf(
      session,
      idHash ?? (credential ? hashKey(`${api.id}\0${stripBearer(credential)}`) : null),
    );
    const deadline = session.id_extractor_deadline ?? 0;
    if (idHash && deadline > now) {
      await fromStore(() =>
        deps.store.putCachedSession(api.id, idHash!, session, Math.min(deadline - now, 86_400 * 30)),
      );
    }
    return CONTINUE;
  };
}

function stripOrNull(v: string | undefined): string | null {
  return v ? v : null;
}

/**
 * The key a plugin session's counters live under: Tyk keys sessions by
 * `metadata.token` when the plugin sets it, else by the credential.
 */
function sessionKeyOf(session: SessionRecord, fallback: string | null): string | null {
  const token = session.metadata?.token;
  return typeof token === 'string' && token ? hashKey(token) : fallback;
}
