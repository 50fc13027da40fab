// auth hook: validates a bearer token against config_data.tokens and
// returns a session with rate, quota, metadata.token and an
// id_extractor_deadline, so the gateway caches it (Tyk's ID extractor).
import { Context, Session } from '../../../pdk/assembly';

export function auth_token(): i32 {
  const ctx = Context.read();
  const header = ctx.request.header('authorization');
  let token = header === null ? '' : (header as string);
  if (token.startsWith('Bearer ')) token = token.substring(7);
  if (token.length == 0) {
    ctx.respondError(401, 'missing credential');
    return ctx.done();
  }
  const tokens = ctx.config.getMap('tokens');
  if (!tokens.has(token)) {
    ctx.respondError(403, 'invalid token');
    return ctx.done();
  }
  const quotaMax = ctx.config.getInt('quota_max', -1);
  ctx.request.addHeader('x-wasmgate-trace', 'auth');
  ctx.setSession(
    new Session()
      .rate(ctx.config.getNumber('rate', 100))
      .per(ctx.config.getNumber('per', 60))
      .quotaMax(quotaMax)
      .quotaRemaining(quotaMax)
      .quotaRenewalRate(3600)
      .metadata('token', token)
      .metadata('user', tokens.getString(token))
      .idExtractorDeadline(ctx.metadata.time + ctx.config.getInt('cache_seconds', 60)),
  );
  return ctx.done();
}
