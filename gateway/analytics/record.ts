/**
 * One analytics record per request, with Tyk's fields. `api_key` is the
 * hash the session was found under (never the key); latency is split into
 * total and upstream. Detailed recording adds the raw request and response
 * (HTTP/1.1 text, base64), each capped.
 */
import type { AnalyticsRecord, Multi } from '../../runtime/index.ts';
import type { LoadedApi } from '../chain/build.ts';
import type { RequestContext } from '../context.ts';

/** Largest raw request or response kept by detailed recording. */
export const RAW_CAP_BYTES = 64 * 1024;

function headLines(first: string, headers: Multi): string {
  let text = `${first}\r\n`;
  for (const name in headers) for (const v of headers[name]!) text += `${name}: ${v}\r\n`;
  return `${text}\r\n`;
}

function capped(head: string, body: Uint8Array | null): string {
  const headBytes = Buffer.from(head, 'latin1');
  const room = Math.max(0, RAW_CAP_BYTES - headBytes.length);
  const parts: Buffer[] = [headBytes.subarray(0, RAW_CAP_BYTES)];
  if (body && room > 0) parts.push(Buffer.from(body.subarray(0, Math.min(room, body.byteLength))));
  return Buffer.concat(parts).toString('base64');
}

export interface ReplyFacts {
  status: number;
  headers: Multi;
  /** The response body when the gateway held it (plugin-made or buffered), else null. */
  body: Uint8Array | null;
}

/** Calendar fields of the current second, computed once per second rather than per record. */
let clock: {
  second: number;
  day: number;
  month: number;
  year: number;
  hour: number;
  timestamp: string;
  expireAt: string;
} | null = null;

function calendar(ms: number) {
  const second = Math.floor(ms / 1000);
  if (clock?.second !== second) {
    const now = new Date(second * 1000);
    clock = {
      second,
      day: now.getUTCDate(),
      month: now.getUTCMonth() + 1,
      year: now.getUTCFullYear(),
      hour: now.getUTCHours(),
      timestamp: now.toISOString(),
      expireAt: new Date(now.getTime() + 7 * 24 * 3600 * 1000).toISOString(),
    };
  }
  return clock;
}

export function buildRecord(
  ctx: RequestContext,
  api: LoadedApi,
  reply: ReplyFacts,
  nowMs = Date.now(),
): AnalyticsRecord {
  const totalMs = Number(process.hrtime.bigint() - ctx.startedAt) / 1e6;
  const q = ctx.requestUri.indexOf('?');
  const rawPath = q === -1 ? ctx.requestUri : ctx.requestUri.slice(0, q);
  const cal = calendar(nowMs);
  const detailed = api.spec.detailedRecording;
  return {
    method: ctx.method,
    host: ctx.host,
    path: ctx.apiPath,
    raw_path: rawPath,
    content_length: Number(ctx.raw.headers['content-length'] ?? 0) || 0,
    user_agent: ctx.headers['user-agent']?.[0] ?? '',
    day: cal.day,
    month: cal.month,
    year: cal.year,
    hour: cal.hour,
    response_code: reply.status,
    api_key: ctx.sessionKey ?? '',
    timestamp: cal.timestamp,
    api_name: api.name,
    api_id: api.id,
    org_id: api.orgId,
    request_time: Math.round(totalMs),
    raw_request: detailed ? capped(headLines(`${ctx.method} ${ctx.requestUri} HTTP/1.1`, ctx.headers), ctx.body) : '',
    raw_response: detailed ? capped(headLines(`HTTP/1.1 ${reply.status}`, reply.headers), reply.body) : '',
    ip_address: ctx.clientIp,
    latency: { total: Math.round(totalMs * 1000) / 1000, upstream: Math.round(ctx.upstreamMs * 1000) / 1000 },
    tags: api.spec.tags as string[],
    alias: ctx.session?.alias ?? '',
    track_path: false,
    expire_at: cal.expireAt,
  };
}

/** Applies an analytics plugin's changes; returns null when it dropped the record. */
export function applyRecordChanges(
  record: AnalyticsRecord,
  changes: { set?: Partial<AnalyticsRecord>; drop_fields?: string[]; drop?: boolean },
): AnalyticsRecord | null {
  if (changes.drop) return null;
  const out = { ...record, ...(changes.set ?? {}) } as Record<string, unknown>;
  for (const f of changes.drop_fields ?? []) delete out[f];
  return out as unknown as AnalyticsRecord;
}
