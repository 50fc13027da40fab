/**
 * Tyk's quota: `quota_max` requests per `quota_renewal_rate` seconds,
 * counted atomically in the store; -1 (or absent) = unlimited. Answers
 * carry `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset`
 * (the renewal time, unix seconds) as Tyk sends them; over quota → 403.
 */
import { CONTINUE, type Outcome } from '../chain/outcome.ts';
import type { RequestContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import type { Store } from '../store/store.ts';
import { fromStore } from './auth.ts';

export function quotaStage(store: Store) {
  return async (ctx: RequestContext): Promise<Outcome> => {
    const s = ctx.session;
    const key = ctx.sessionKey;
    const max = s?.quota_max;
    if (!s || !key || max === undefined || max < 0) return CONTINUE;
    const initialUsed = s.quota_remaining !== undefined ? Math.max(0, max - s.quota_remaining) : 0;
    const q = await fromStore(() => store.takeQuota(key, max, s.quota_renewal_rate ?? 0, initialUsed));
    const headers = {
      'x-ratelimit-limit': String(max),
      'x-ratelimit-remaining': String(Math.max(0, q.remaining)),
      'x-ratelimit-reset': String(q.renews),
    };
    if (!q.allowed) throw new HttpError(403, 'quota_exceeded', headers);
    ctx.replyHeaders = headers;
    s.quota_remaining = q.remaining;
    if (q.renews) s.quota_renews = q.renews;
    return CONTINUE;
  };
}
