/**
 * Recording off the request path: a bounded in-memory buffer flushed in
 * batches to the sink — a Redis list (`tyk-system-analytics`, the key Tyk
 * Pump reads; one JSON record per element) or, on the embedded store,
 * JSON-lines files in `<dataDir>/analytics/`, one per hour. When the sink
 * fails the records stay in the buffer and are retried; past the buffer
 * bound new records are dropped and counted, with one log line per
 * interval. `close()` flushes everything accepted.
 *
 * A batch keeps its id and its records until the sink takes it: a write
 * that timed out may still have landed (Redis paused, not down), so the
 * retry sends the same batch under the same id and the Redis sink appends
 * a batch id at most once.
 */
import { randomUUID } from 'node:crypto';
import { type FileHandle, mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import type { AnalyticsRecord } from '../../runtime/index.ts';
import type { Logger } from '../log.ts';

export const REDIS_ANALYTICS_KEY = 'tyk-system-analytics';

export interface SinkTarget {
  /** Stores `records`; a retry of a failed write passes the same `batchId` and the same records. */
  write(records: readonly AnalyticsRecord[], batchId: string): Promise<void>;
  /** Releases what the target holds open (after the last write). */
  close?(): Promise<void>;
}

export class FileSink implements SinkTarget {
  /** The open file of the current hour; reopened when the hour changes or a write failed. */
  #file: { hour: string; handle: FileHandle } | null = null;

  constructor(readonly dir: string) {}

  async write(records: readonly AnalyticsRecord[]): Promise<void> {
    const hour = new Date().toISOString().slice(0, 13).replace('T', '-');
    let lines = '';
    for (const r of records) lines += `${JSON.stringify(r)}\n`;
    if (this.#file?.hour !== hour) {
      await this.close();
      await mkdir(this.dir, { recursive: true });
      this.#file = { hour, handle: await open(join(this.dir, `analytics-${hour}.jsonl`), 'a') };
    }
    try {
      await this.#file.handle.appendFile(lines);
    } catch (err) {
      await this.close();
      throw err;
    }
  }

  async close(): Promise<void> {
    const file = this.#file;
    this.#file = null;
    await file?.handle.close().catch(() => {});
  }
}

export class RedisListSink implements SinkTarget {
  constructor(readonly push: (key: string, values: string[], batchId: string) => Promise<void>) {}
  async write(records: readonly AnalyticsRecord[], batchId: string): Promise<void> {
    await this.push(
      REDIS_ANALYTICS_KEY,
      records.map((r) => JSON.stringify(r)),
      batchId,
    );
  }
}

export interface AnalyticsStats {
  buffered: number;
  flushed: number;
  dropped: number;
}

export class AnalyticsBuffer {
  #queue: AnalyticsRecord[] = [];
  /** The batch being written: the first `size` records of the queue, under `id` until the sink takes them. */
  #pending: { id: string; size: number } | null = null;
  #flushing: Promise<void> | null = null;
  #timer: NodeJS.Timeout;
  #lastDropLog = 0;
  flushed = 0;
  dropped = 0;

  constructor(
    readonly target: SinkTarget,
    readonly opts: { maxBuffered: number; batch: number; intervalMs: number; logger?: Logger },
  ) {
    this.#timer = setInterval(() => void this.flush(), opts.intervalMs);
    this.#timer.unref();
  }

  add(record: AnalyticsRecord): void {
    if (this.#queue.length >= this.opts.maxBuffered) {
      this.dropped++;
      const now = Date.now();
      if (now - this.#lastDropLog > 10_000) {
        this.#lastDropLog = now;
        this.opts.logger?.warn(
          { dropped: this.dropped, buffered: this.#queue.length },
          'analytics buffer full: records dropped',
        );
      }
      return;
    }
    this.#queue.push(record);
    if (this.#queue.length >= this.opts.batch) void this.flush();
  }

  stats(): AnalyticsStats {
    return { buffered: this.#queue.length, flushed: this.flushed, dropped: this.dropped };
  }

  /** Writes what is buffered, batch by batch; on a sink failure the rest waits for the next try. */
  flush(): Promise<void> {
    if (this.#flushing) return this.#flushing;
    if (this.#queue.length === 0) return Promise.resolve();
    const run = this.#drain();
    this.#flushing = run;
    // Cleared only after it is stored, so a flush that finishes at once cannot leave a stale promise behind.
    void run.finally(() => {
      if (this.#flushing === run) this.#flushing = null;
    });
    return run;
  }

  async #drain(): Promise<void> {
    try {
      while (this.#queue.length) {
        // Drops only ever refuse new records, so the queue's head is still the pending batch.
        this.#pending ??= { id: randomUUID(), size: Math.min(this.#queue.length, this.opts.batch) };
        const { id, size } = this.#pending;
        await this.target.write(this.#queue.slice(0, size), id);
        this.#queue.splice(0, size);
        this.#pending = null;
        this.flushed += size;
      }
    } catch (err) {
      this.opts.logger?.warn(
        { err: (err as Error).message, buffered: this.#queue.length },
        'analytics sink unavailable; records kept in the buffer',
      );
    }
  }

  /** Flushes everything accepted (retrying a failing sink until `timeoutMs`). */
  async close(timeoutMs = 10_000): Promise<void> {
    clearInterval(this.#timer);
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length && Date.now() < deadline) {
      await this.flush();
      if (this.#queue.length) await new Promise((r) => setTimeout(r, 100));
    }
    await this.#flushing;
    await this.target.close?.();
  }
}
