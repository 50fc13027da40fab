/**
 * Where credentials come from: the built-in key (header, optionally a query
 * parameter or cookie) and Tyk's ID extractor for custom auth plugins
 * (header / form field / body, taken as is or through a regex). Keys and
 * extracted ids are only ever stored and logged as sha256 hashes.
 */
import { createHash } from 'node:crypto';
import type { IdExtractorSpec } from '../config/api-spec.ts';
import type { RequestContext } from '../context.ts';

export function hashKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** `Bearer abc` → `abc` (Tyk strips the scheme word from the auth header). */
export function stripBearer(value: string): string {
  return /^bearer\s+/i.test(value) ? value.replace(/^bearer\s+/i, '') : value;
}

export function keyFromRequest(
  ctx: RequestContext,
  auth: { headerName: string; paramName: string | null; cookieName: string | null },
): string | null {
  const header = ctx.headers[auth.headerName]?.[0];
  if (header) return stripBearer(header.trim()) || null;
  if (auth.paramName) {
    const p = ctx.params[auth.paramName]?.[0];
    if (p) return p;
  }
  if (auth.cookieName) {
    for (const cookie of ctx.headers.cookie ?? []) {
      for (const part of cookie.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0 && part.slice(0, eq).trim() === auth.cookieName) {
          const v = part.slice(eq + 1).trim();
          if (v) return v;
        }
      }
    }
  }
  return null;
}

const regexCache = new Map<string, RegExp>();

function regexFor(source: string): RegExp {
  let re = regexCache.get(source);
  if (!re) {
    re = new RegExp(source);
    regexCache.set(source, re);
  }
  return re;
}

/**
 * What the extractor finds in this request: the full source value (the
 * cache key covers all of it, never just a regex sub-match, so one
 * credential can never stand in for another) and the extracted id; null
 * when the request carries no credential there.
 */
export function extractCredential(ctx: RequestContext, spec: IdExtractorSpec): { source: string; id: string } | null {
  let raw: string | null = null;
  if (spec.from === 'header') {
    raw = ctx.headers[spec.name.toLowerCase()]?.[0] ?? null;
  } else if (spec.from === 'form') {
    if (!ctx.body) return null;
    const type = ctx.headers['content-type']?.[0] ?? '';
    if (!type.startsWith('application/x-www-form-urlencoded')) return null;
    raw = new URLSearchParams(Buffer.from(ctx.body).toString('utf8')).get(spec.name);
  } else {
    raw = ctx.body ? Buffer.from(ctx.body).toString('utf8') : null;
  }
  if (!raw) return null;
  if (spec.with === 'regex' && spec.regex) {
    const m = regexFor(spec.regex).exec(raw);
    const id = m?.[spec.regexMatchIndex ?? 0];
    return id ? { source: raw, id } : null;
  }
  return { source: raw, id: raw };
}
