/**
 * The proxy listener: fastify for the HTTP server and its limits, one
 * catch-all route, and the request path written against the raw Node
 * request and response (the hot path allocates only what it must).
 */

import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Multi } from '../runtime/index.ts';
import type { LoadedApi } from './chain/build.ts';
import { RequestContext } from './context.ts';
import { HttpError } from './http-error.ts';
import { sendBytes, sendError, sendStream, toHttpError } from './reply.ts';
import type { Settings } from './settings.ts';
import { runResponsePlugins, type UpstreamAnswer } from './stages/response.ts';

export interface RouteMatch {
  api: LoadedApi;
  /** The upstream path after listen-path stripping, normalised. */
  upstreamPath: string;
  /** The path relative to the listen path (what endpoint patterns match), normalised. */
  apiPath: string;
}

export interface RequestPath {
  /** Normalises a request path; throws HttpError(400) on paths it refuses. */
  normalisePath(path: string): string;
  route(path: string): RouteMatch | null;
  forward(ctx: RequestContext, api: LoadedApi, query: string): Promise<UpstreamAnswer>;
  clientIp(req: IncomingMessage): string;
  /** Called once the reply is written (analytics, metrics). */
  finished?(ctx: RequestContext, api: LoadedApi | null, status: number): void;
}

const idPrefix = randomUUID().slice(0, 8);
let idCounter = 0;
function nextRequestId(): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${idPrefix}-${idCounter.toString(36)}`;
}

async function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw new HttpError(413, 'payload_too_large');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new HttpError(413, 'payload_too_large');
    chunks.push(chunk);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

function withReplyHeaders(headers: Multi, ctx: RequestContext): Multi {
  if (!ctx.replyHeaders) return headers;
  const out: Multi = { ...headers };
  for (const [k, v] of Object.entries(ctx.replyHeaders)) out[k] = [v];
  return out;
}

export async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  path: RequestPath,
  settings: Pick<Settings, 'maxBodyBytes' | 'maxResponseBodyBytes'>,
): Promise<void> {
  const id = nextRequestId();
  const started = process.hrtime.bigint();
  const rawUrl = req.url ?? '/';
  const q = rawUrl.indexOf('?');
  const rawPath = q === -1 ? rawUrl : rawUrl.slice(0, q);
  const query = q === -1 ? '' : rawUrl.slice(q);
  let api: LoadedApi | null = null;
  let status = 500;
  let ctx: RequestContext | null = null;
  let answer: UpstreamAnswer | null = null;
  try {
    const match = path.route(path.normalisePath(rawPath));
    if (!match) throw new HttpError(404, 'not_found');
    api = match.api;
    ctx = new RequestContext(
      id,
      req,
      req.method ?? 'GET',
      rawUrl,
      match.upstreamPath,
      match.apiPath,
      query,
      path.clientIp(req),
      (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http',
      req.headers.host ?? '',
      started,
      Math.floor(Date.now() / 1000),
    );
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > settings.maxBodyBytes)
      throw new HttpError(413, 'payload_too_large');
    if (api.needsRequestBody) ctx.body = await readBody(req, settings.maxBodyBytes);
    for (const stage of api.request) {
      let outcome = stage(ctx);
      if (outcome instanceof Promise) outcome = await outcome;
      if (outcome.action === 'respond') {
        status = outcome.status;
        const headers = withReplyHeaders(outcome.headers, ctx);
        ctx.reply = { status, headers, body: outcome.body };
        sendBytes(res, outcome.status, headers, outcome.body, id);
        return;
      }
    }
    answer = await path.forward(ctx, api, query);
    if (api.response.length) {
      if (api.needsResponseBody && !(answer.body instanceof Uint8Array)) {
        answer.body = await answer.body.collect(settings.maxResponseBodyBytes);
      }
      const done = runResponsePlugins(ctx, api, api.response, answer);
      if (done) await done;
    }
    status = answer.status;
    if (ctx.replyHeaders) answer.headers = withReplyHeaders(answer.headers, ctx);
    ctx.reply = { status, headers: answer.headers, body: answer.body instanceof Uint8Array ? answer.body : null };
    if (answer.body instanceof Uint8Array) {
      delete answer.headers['content-length'];
      sendBytes(res, answer.status, answer.headers, answer.body, id);
    } else {
      await sendStream(res, answer.status, answer.headers, answer.body, id);
    }
  } catch (err) {
    // An answer that will not be sent still holds an upstream connection until its body is read off.
    if (answer && !(answer.body instanceof Uint8Array)) answer.body.drop();
    const httpErr = toHttpError(err);
    status = httpErr.status;
    if (ctx && !res.headersSent) ctx.reply = { status, headers: { 'content-type': ['application/json'] }, body: null };
    if (!res.headersSent) sendError(res, httpErr, id);
    else res.destroy();
  } finally {
    if (ctx) path.finished?.(ctx, api, status);
  }
}

export function createProxyServer(path: RequestPath, settings: Settings): FastifyInstance {
  const app = Fastify({
    logger: false,
    // Requests beyond these are closed by Node before any stage runs.
    connectionTimeout: settings.requestTimeoutMs,
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    requestTimeout: settings.requestTimeoutMs,
    routerOptions: { maxParamLength: 8192 },
    bodyLimit: settings.maxBodyBytes,
    http: {
      maxHeaderSize: settings.maxHeaderBytes,
      headersTimeout: settings.headersTimeoutMs,
      // How often Node enforces headersTimeout and requestTimeout (its default, 30 s, lets a
      // slowloris client hold a socket that long whatever the timeouts say).
      connectionsCheckingInterval: Math.min(1_000, settings.headersTimeoutMs),
      insecureHTTPParser: false,
    } as never,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });
  // Leave bodies unread: the chain streams them or buffers them itself.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_req, _payload, done) => done(null));
  app.route({
    method: ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'],
    url: '*',
    handler: (request, reply) => {
      reply.hijack();
      return handle(request.raw, reply.raw, path, settings);
    },
  });
  app.setNotFoundHandler((_request, reply) => {
    reply.hijack();
    sendError(reply.raw, new HttpError(404, 'not_found'), nextRequestId());
  });
  app.setErrorHandler((err, _request, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const e =
      status === 413
        ? new HttpError(413, 'payload_too_large')
        : status < 500
          ? new HttpError(status, 'bad_request')
          : new HttpError(500, 'internal_error');
    reply.hijack();
    sendError(reply.raw, e, nextRequestId());
  });
  return app;
}

export type { Multi };
