/**
 * Writing answers on the raw Node response, in one place: plugin and chain
 * outcomes, upstream responses, and errors (JSON with the request id, never
 * the cause).
 */
import type { ServerResponse } from 'node:http';
import type { Multi } from '../runtime/index.ts';
import { HttpError } from './http-error.ts';
import type { UpstreamBody } from './proxy/upstream-body.ts';

export const REQUEST_ID_HEADER = 'x-request-id';

/** Flattens multivalue headers into Node's array form so every value is written. */
export function flatHeaders(headers: Multi, requestId: string, extra?: Record<string, string>): string[] {
  const flat: string[] = [];
  for (const name in headers) {
    const values = headers[name]!;
    for (let i = 0; i < values.length; i++) flat.push(name, values[i]!);
  }
  if (extra) for (const name in extra) flat.push(name, extra[name]!);
  flat.push(REQUEST_ID_HEADER, requestId);
  return flat;
}

export function sendBytes(
  res: ServerResponse,
  status: number,
  headers: Multi,
  body: Uint8Array,
  requestId: string,
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const flat = flatHeaders(headers, requestId);
  flat.push('content-length', String(body.byteLength));
  res.writeHead(status, flat);
  res.end(body);
}

export function sendStream(
  res: ServerResponse,
  status: number,
  headers: Multi,
  body: UpstreamBody,
  requestId: string,
): Promise<void> {
  res.writeHead(status, flatHeaders(headers, requestId));
  return body.pipeTo(res);
}

const encoder = new TextEncoder();

export function sendError(res: ServerResponse, err: HttpError, requestId: string): void {
  const body = encoder.encode(JSON.stringify({ error: err.publicError, request_id: requestId }));
  const headers: Multi = { 'content-type': ['application/json'] };
  for (const [k, v] of Object.entries(err.headers)) headers[k] = [v];
  // A body still arriving (refused as too large, or the request failed before reading it) is not
  // drained for keep-alive: the connection closes once the answer is written.
  if (res.req && !res.req.complete) headers.connection = ['close'];
  sendBytes(res, err.status, headers, body, requestId);
}

export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  const e = err as { status?: unknown; code?: unknown };
  if (typeof e?.status === 'number' && typeof e.code === 'string' && e.status >= 400 && e.status < 600) {
    return new HttpError(e.status, e.code.toLowerCase(), {}, { cause: err });
  }
  return new HttpError(500, 'internal_error', {}, { cause: err });
}
