/**
 * An upstream response body as undici delivers it (chunks through a
 * dispatch handler), handed on without a stream in between: written to the
 * client as chunks arrive, read whole for a response plugin that needs it,
 * or dropped. A Readable piped into the response costs a stream, its
 * listeners and ticks per response; this costs a callback per chunk.
 *
 * Until the gateway decides (response plugins run in between), chunks wait
 * here; past `HOLD_BYTES` the upstream is paused, so a large body is never
 * held whole unless a plugin asked for it.
 */
import type { ServerResponse } from 'node:http';
import { HttpError } from '../http-error.ts';

const HOLD_BYTES = 64 * 1024;
/** A dropped body is read to its end (keeping the connection) up to this, then the request is aborted. */
const DRAIN_BYTES = 1024 * 1024;

export interface FlowControl {
  pause(): void;
  resume(): void;
  abort(reason?: Error): void;
}

type Mode =
  | { kind: 'hold' }
  | { kind: 'pipe'; res: ServerResponse; done: () => void }
  | { kind: 'collect'; limit: number; resolve: (b: Uint8Array) => void; reject: (e: Error) => void }
  | { kind: 'drop' };

export class UpstreamBody {
  #chunks: Buffer[] = [];
  #bytes = 0;
  #ended = false;
  #error: Error | null = null;
  #mode: Mode = { kind: 'hold' };
  #flow: FlowControl | null = null;
  #dropped = 0;

  /** Set by the dispatch handler once the request is on its way. */
  attach(flow: FlowControl): void {
    this.#flow = flow;
  }

  // --- from the dispatch handler

  push(chunk: Buffer): void {
    const mode = this.#mode;
    if (mode.kind === 'pipe') {
      if (!mode.res.write(chunk)) {
        this.#flow?.pause();
        mode.res.once('drain', () => this.#flow?.resume());
      }
    } else if (mode.kind === 'drop') {
      this.#dropped += chunk.length;
      if (this.#dropped > DRAIN_BYTES) this.#flow?.abort();
    } else {
      this.#chunks.push(chunk);
      this.#bytes += chunk.length;
      if (mode.kind === 'collect' && this.#bytes > mode.limit) this.#tooLarge();
      else if (mode.kind === 'hold' && this.#bytes > HOLD_BYTES) this.#flow?.pause();
    }
  }

  end(): void {
    this.#ended = true;
    this.#settle(null);
  }

  fail(err: Error): void {
    this.#error = err;
    this.#settle(err);
  }

  // --- from the gateway

  /** Writes the body to `res` and ends it; an upstream failure mid-body destroys `res`. Resolves when done. */
  pipeTo(res: ServerResponse): Promise<void> {
    return new Promise((resolve) => {
      for (const chunk of this.#chunks) res.write(chunk);
      this.#chunks = [];
      this.#mode = { kind: 'pipe', res, done: resolve };
      res.once('close', () => {
        if (!this.#ended && !this.#error) this.#flow?.abort();
        resolve();
      });
      if (this.#ended || this.#error) this.#settle(this.#error);
      else this.#flow?.resume();
    });
  }

  /** The whole body; 502 `upstream_response_too_large` past `limit` bytes. */
  collect(limit: number): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#mode = { kind: 'collect', limit, resolve, reject };
      if (this.#bytes > limit) this.#tooLarge();
      else if (this.#ended || this.#error) this.#settle(this.#error);
      else this.#flow?.resume();
    });
  }

  /** The body will not be sent (a plugin replaced it, or the request failed): read it off and forget it. */
  drop(): void {
    this.#chunks = [];
    if (this.#ended || this.#error) return;
    this.#mode = { kind: 'drop' };
    this.#flow?.resume();
  }

  /** Settled before the abort, whose error then finds nobody waiting. */
  #tooLarge(): void {
    this.#settle(new HttpError(502, 'upstream_response_too_large'));
    this.#chunks = [];
    this.#flow?.abort();
  }

  #settle(err: Error | null): void {
    const mode = this.#mode;
    if (mode.kind === 'pipe') {
      if (err) mode.res.destroy();
      else if (this.#ended) mode.res.end();
      else return;
      mode.done();
    } else if (mode.kind === 'collect') {
      if (err) mode.reject(err);
      else if (this.#ended) mode.resolve(this.#chunks.length === 1 ? this.#chunks[0]! : Buffer.concat(this.#chunks));
      else return;
      this.#chunks = [];
    } else return;
    this.#mode = { kind: 'drop' };
  }
}
