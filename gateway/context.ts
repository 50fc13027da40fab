/**
 * Everything one request carries through the chain. Built once per request
 * from the raw Node request; plugins change it only through validated
 * results (runtime/abi/codec.ts).
 */
import type { IncomingMessage } from 'node:http';
import { type Multi, newMulti, type SessionRecord } from '../runtime/index.ts';

export class RequestContext {
  /** Plugin results may rewrite the path (`request.url`). */
  path: string;
  params: Multi;
  paramsChanged = false;
  headers: Multi;
  /** The buffered body when a stage on this API needs it; else null and `raw` streams. */
  body: Uint8Array | null = null;
  bodyChanged = false;
  session: SessionRecord | null = null;
  /** The credential the session was found under (hashed before storage or analytics). */
  sessionKey: string | null = null;
  /** The custom auth plugin was skipped: the ID extractor cache had the session. */
  authCacheHit = false;
  /** Headers added to whatever answer this request gets (quota headers). */
  replyHeaders: Record<string, string> | null = null;
  upstreamMs = 0;
  /** The upstream a plugin routed this request to (`request.upstream`); null: the API's target. */
  upstreamTarget: URL | null = null;
  /** Outbound calls plugins made for this request (capped by the API's `max_calls`). */
  outboundCalls = 0;
  /** What the client was answered (set as the answer is written; analytics reads it). */
  reply: { status: number; headers: Multi; body: Uint8Array | null } | null = null;

  constructor(
    readonly id: string,
    readonly raw: IncomingMessage,
    readonly method: string,
    readonly requestUri: string,
    path: string,
    /** The path relative to the listen path at routing time (endpoint rules match it). */
    readonly apiPath: string,
    query: string,
    readonly clientIp: string,
    readonly scheme: 'http' | 'https',
    readonly host: string,
    readonly startedAt: bigint,
    readonly time: number,
  ) {
    this.path = path;
    this.params = parseQuery(query);
    this.headers = headersOf(raw);
  }

  /** The query string to forward: the client's own bytes unless a plugin changed a parameter. */
  queryString(original: string): string {
    if (!this.paramsChanged) return original;
    const parts: string[] = [];
    for (const [k, values] of Object.entries(this.params)) {
      for (const v of values) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
    }
    return parts.length ? `?${parts.join('&')}` : '';
  }
}

export function parseQuery(query: string): Multi {
  const out: Multi = newMulti();
  if (query.length <= 1) return out;
  for (const [k, v] of new URLSearchParams(query.slice(1))) (out[k] ??= []).push(v);
  return out;
}

/** Request headers with every value kept (Node joins some; rawHeaders does not). */
export function headersOf(req: IncomingMessage): Multi {
  const out: Multi = newMulti();
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!.toLowerCase();
    const list = out[name];
    if (list) list.push(raw[i + 1]!);
    else out[name] = [raw[i + 1]!];
  }
  return out;
}
