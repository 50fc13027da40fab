/**
 * What Tyk checks on a session after authentication: key expiry and access
 * rights (per API, per version and per path). `allowed_urls` entries use
 * the endpoint pattern syntax (`/users/{id}`, a trailing `*` for a prefix),
 * not regular expressions: sessions may come from untrusted plugins, and a
 * pattern must never be able to stall the event loop.
 */
import type { SessionRecord } from '../../runtime/index.ts';
import { compilePattern } from './pattern.ts';

export type Denial = 'expired' | 'no_access';

const compiled = new Map<string, (path: string) => boolean>();

function urlMatcher(url: string): (path: string) => boolean {
  let m = compiled.get(url);
  if (!m) {
    m = compilePattern(url);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(url, m);
  }
  return m;
}

/** Null when the session may call this API, method and path now; else why not. */
export function checkAccess(
  session: SessionRecord,
  apiId: string,
  method: string,
  path: string,
  nowSeconds: number,
): Denial | null {
  if (session.expires !== undefined && session.expires > 0 && session.expires <= nowSeconds) return 'expired';
  const rights = session.access_rights;
  if (!rights || Object.keys(rights).length === 0) return null;
  const mine = Object.hasOwn(rights, apiId) ? rights[apiId] : undefined;
  if (!mine) return 'no_access';
  const urls = mine.allowed_urls;
  if (!urls?.length) return null;
  for (const entry of urls) {
    if (!urlMatcher(entry.url)(path)) continue;
    if (!entry.methods?.length || entry.methods.some((m) => m === method || m === '*' || m.toUpperCase() === 'ANY'))
      return null;
  }
  return 'no_access';
}
