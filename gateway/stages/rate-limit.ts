/**
 * Tyk's per-key rate limit: `rate` requests per `per` seconds, a token
 * bucket kept in the store (atomic, shared by every gateway node). Over the
 * limit → 429 with Retry-After. A session without a rate (or with 0) is
 * not limited.
 */
import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { RequestContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import type { Store } from '../store/store.ts';
import { fromStore } from './auth.ts';

export function rateLimitStage(store: Store) {
  return async (ctx: RequestContext): Promise<Outcome> => {
    const s = ctx.session;
    const key = ctx.sessionKey;
    if (!s || !key || !s.rate || !s.per || s.rate <= 0 || s.per <= 0) return CONTINUE;
    const r = await fromStore(() => store.takeRate(key, s.rate!, s.per!));
    if (!r.allowed)
      throw new HttpError(429, 'rate_limited', { 'retry-after': String(Math.max(1, Math.ceil(s.per! / s.rate!))) });
    return CONTINUE;
  };
}
