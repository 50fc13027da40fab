/**
 * Forwarding to the upstream: one undici Pool per upstream origin with
 * keep-alive, hop-by-hop headers stripped both ways (including those the
 * `Connection` header names), `X-Forwarded-*` set, bodies streamed unless a
 * plugin needed them buffered. Refused → 502, timed out → 504.
 */
import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { Transform } from 'node:stream';
import { type Dispatcher, Pool } from 'undici';
import { type Multi, newMulti } from '../../runtime/index.ts';
import type { LoadedApi } from '../chain/build.ts';
import type { RequestContext } from '../context.ts';
import { HttpError } from '../http-error.ts';
import type { UpstreamAnswer } from '../stages/response.ts';
import { UpstreamBody } from './upstream-body.ts';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);

/** Header names that must not pass: the fixed hop-by-hop set and those listed in `Connection`. */
function dropSet(headers: Multi): Set<string> | null {
  const connection = headers.connection;
  if (!connection) return null;
  const extra = new Set<string>();
  for (const v of connection) for (const name of v.split(',')) extra.add(name.trim().toLowerCase());
  return extra;
}

/** The headers without hop-by-hop ones; `replaced` names headers the caller sets itself (skipped, not deleted after: a delete makes V8 turn the map into a slow hash table). */
export function stripHopByHop(headers: Multi, replaced?: ReadonlySet<string>): Multi {
  const named = dropSet(headers);
  const out: Multi = newMulti();
  for (const name in headers) {
    if (HOP_BY_HOP.has(name) || named?.has(name) || replaced?.has(name)) continue;
    out[name] = headers[name]!;
  }
  return out;
}

/** Request headers the forwarder writes itself. */
const SET_BY_FORWARDER: ReadonlySet<string> = new Set(['host', 'content-length']);

export interface ForwarderOptions {
  connectTimeoutMs: number;
  timeoutMs: number;
  connections: number;
  /** Peers (IP addresses) whose `X-Forwarded-For` is believed. */
  trustedProxies: readonly string[];
  /** Largest request body; a streamed (chunked) body is cut off past it with 413. */
  maxBodyBytes: number;
}

/** Counts a streamed body and fails it with 413 once it passes `limit`. */
function limited(source: IncomingMessage, limit: number): Transform {
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      seen += chunk.length;
      if (seen > limit) done(new HttpError(413, 'payload_too_large'));
      else done(null, chunk);
    },
  });
  source.on('error', (err) => t.destroy(err));
  return source.pipe(t);
}

export class Forwarder {
  readonly #pools = new Map<string, Pool>();
  readonly #trusted: Set<string>;

  constructor(readonly opts: ForwarderOptions) {
    this.#trusted = new Set(opts.trustedProxies);
  }

  #pool(origin: string): Pool {
    let pool = this.#pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.opts.connections,
        pipelining: 1,
        keepAliveTimeout: 4_000,
        connect: { timeout: this.opts.connectTimeoutMs },
      });
      this.#pools.set(origin, pool);
    }
    return pool;
  }

  /**
   * The client's address: the socket peer, or — only when the peer is a
   * trusted proxy — the last untrusted address in `X-Forwarded-For`.
   */
  clientIp(req: IncomingMessage): string {
    const peer = normaliseIp(req.socket.remoteAddress ?? '');
    if (!this.#trusted.has(peer)) return peer;
    const xff = req.headers['x-forwarded-for'];
    if (typeof xff !== 'string') return peer;
    const hops = xff.split(',').map((s) => normaliseIp(s.trim()));
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = hops[i]!;
      if (!isIP(hop)) return peer;
      if (!this.#trusted.has(hop)) return hop;
    }
    return peer;
  }

  /** What forwarding needs of a target URL, read once: URL's getters build their strings on every access. */
  readonly #targets = new WeakMap<URL, { origin: string; base: string; host: string }>();

  #target(url: URL): { origin: string; base: string; host: string } {
    let t = this.#targets.get(url);
    if (!t) {
      const base = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname;
      t = { origin: url.origin, base, host: url.host };
      this.#targets.set(url, t);
    }
    return t;
  }

  async forward(ctx: RequestContext, api: LoadedApi, query: string): Promise<UpstreamAnswer> {
    const target = this.#target(ctx.upstreamTarget ?? api.spec.targetUrl);
    const path = `${target.base}${ctx.path}${ctx.queryString(query)}`;
    const headers = stripHopByHop(ctx.headers, SET_BY_FORWARDER);
    headers.host = [target.host];
    // X-Forwarded-For: what trusted proxies said, then the peer we saw.
    const peer = normaliseIp(ctx.raw.socket.remoteAddress ?? '');
    const priorXff = this.#trusted.has(peer) ? ctx.headers['x-forwarded-for'] : undefined;
    headers['x-forwarded-for'] = [priorXff ? `${priorXff.join(', ')}, ${peer}` : peer];
    headers['x-forwarded-proto'] = [ctx.scheme];
    if (ctx.host) headers['x-forwarded-host'] = [ctx.host];

    let body: Uint8Array | IncomingMessage | Transform | null = null;
    if (ctx.body) {
      body = ctx.body;
      headers['content-length'] = [String(ctx.body.byteLength)];
    } else if (ctx.raw.headers['content-length'] !== undefined || ctx.raw.headers['transfer-encoding'] !== undefined) {
      const declared = ctx.raw.headers['content-length'];
      if (declared !== undefined) {
        // Node has checked the declared length against the bytes; the server checked it against the limit.
        body = ctx.raw;
        headers['content-length'] = [declared];
      } else {
        body = limited(ctx.raw, this.opts.maxBodyBytes);
      }
    }

    const timeout = api.spec.upstreamTimeoutMs ?? this.opts.timeoutMs;
    const started = process.hrtime.bigint();
    try {
      const answer = await dispatch(this.#pool(target.origin), {
        path,
        method: ctx.method as 'GET',
        headers: flatten(headers),
        body,
        headersTimeout: timeout,
        bodyTimeout: timeout,
      });
      ctx.upstreamMs = Number(process.hrtime.bigint() - started) / 1e6;
      return answer;
    } catch (err) {
      ctx.upstreamMs = Number(process.hrtime.bigint() - started) / 1e6;
      const cause = (err as { cause?: unknown }).cause;
      if (cause instanceof HttpError) throw cause;
      throw upstreamError(err);
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.#pools.values()].map((p) => p.destroy()));
    this.#pools.clear();
  }
}

/**
 * One upstream request through undici's dispatch API: resolves with the
 * status and headers as soon as they arrive; the body follows into an
 * UpstreamBody (no Readable in between).
 */
function dispatch(pool: Pool, opts: Dispatcher.DispatchOptions): Promise<UpstreamAnswer> {
  return new Promise((resolve, reject) => {
    const body = new UpstreamBody();
    let started = false;
    pool.dispatch(opts, {
      onRequestStart(controller) {
        body.attach(controller);
      },
      onResponseStart(_controller, statusCode, headers) {
        if (statusCode < 200) return; // 1xx informational: the real answer follows
        started = true;
        resolve({ status: statusCode, headers: stripHopByHop(toMulti(headers)), body });
      },
      onResponseData(_controller, chunk) {
        body.push(chunk);
      },
      onResponseEnd() {
        body.end();
      },
      onResponseError(_controller, err) {
        if (started) body.fail(err);
        else reject(err);
      },
    });
  });
}

function upstreamError(err: unknown): HttpError {
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new HttpError(504, 'upstream_timeout', {}, { cause: err });
  }
  if (err instanceof HttpError) return err;
  return new HttpError(502, 'upstream_unavailable', {}, { cause: err });
}

function flatten(headers: Multi): string[] {
  const out: string[] = [];
  for (const name in headers) for (const v of headers[name]!) out.push(name, v);
  return out;
}

function toMulti(headers: Record<string, string | string[] | undefined>): Multi {
  const out: Multi = newMulti();
  for (const name in headers) {
    const v = headers[name];
    if (v === undefined) continue;
    out[name.toLowerCase()] = Array.isArray(v) ? v : [v];
  }
  return out;
}

function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}
