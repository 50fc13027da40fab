/**
 * An error that already knows its HTTP answer. The body a client sees is
 * `{"error": <public>, "request_id": …}` and never carries the cause.
 */
import { isWasmgateError } from '../runtime/index.ts';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    /** The stable, public error word (docs/errors.md). */
    readonly publicError: string,
    readonly headers: Record<string, string> = {},
    options?: { cause?: unknown; message?: string },
  ) {
    super(options?.message ?? publicError, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'HttpError';
  }
}

/** Maps a plugin failure to the client's answer (ARCHITECTURE.md §4 failure policy). */
export function pluginFailureToHttp(err: unknown, hook: string): HttpError {
  if (isWasmgateError(err)) {
    if (err.code === 'QUARANTINED') {
      const retry = String((err.detail?.retryAfterSeconds as number | undefined) ?? 30);
      return new HttpError(503, 'plugin_quarantined', { 'retry-after': retry }, { cause: err });
    }
    if (err.code === 'POOL_EXHAUSTED') return new HttpError(503, 'plugin_busy', { 'retry-after': '1' }, { cause: err });
  }
  return new HttpError(hook === 'auth' ? 403 : 500, 'plugin_error', {}, { cause: err });
}
