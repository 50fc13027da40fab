/**
 * The one store interface. Two implementations: in-process (the default;
 * persists documents to the data directory) and Redis (`REDIS_URL`, or a
 * Cluster with `REDIS_CLUSTER_NODES`), which makes several gateway nodes one
 * gateway. Counters change only through atomic operations (Lua scripts on
 * Redis, synchronous code in memory) — no read-modify-write anywhere.
 *
 * Every method may throw StoreUnavailableError (Redis down or slow); the
 * request path answers 503 for it, never 401/403.
 */
import type { SessionRecord } from '../../runtime/index.ts';

export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

export interface RateResult {
  allowed: boolean;
  /** Whole requests left in the window after this one. */
  remaining: number;
  /** Seconds until a full window is available again. */
  resetSeconds: number;
}

export interface QuotaResult {
  allowed: boolean;
  remaining: number;
  /** Unix seconds when the quota renews. */
  renews: number;
}

/** Kinds of JSON documents the admin API persists (definitions, policies, plugin metadata). */
export type DocKind = 'apis' | 'policies' | 'plugins';

export interface Store {
  readonly kind: 'memory' | 'redis' | 'redis-cluster';

  /** Readiness: the store answers now. */
  ping(): Promise<boolean>;

  /** Sessions by the sha256 (hex) of their key; `ttlSeconds` 0 = no expiry. */
  getSession(keyHash: string): Promise<SessionRecord | null>;
  putSession(keyHash: string, session: SessionRecord, ttlSeconds: number): Promise<void>;
  deleteSession(keyHash: string): Promise<boolean>;

  /** ID-extractor cache: sessions a custom auth plugin produced, per API and extracted id hash. */
  getCachedSession(apiId: string, idHash: string): Promise<SessionRecord | null>;
  putCachedSession(apiId: string, idHash: string, session: SessionRecord, ttlSeconds: number): Promise<void>;

  /**
   * Token bucket of `rate` requests per `per` seconds for one session key:
   * takes one token when there is one.
   */
  takeRate(keyHash: string, rate: number, per: number): Promise<RateResult>;

  /**
   * Counts one request against a quota of `max` per `renewalSeconds`.
   * `initialUsed` seeds a counter that does not exist yet (from the
   * session's `quota_remaining`). `max < 0` = unlimited (not counted).
   */
  takeQuota(keyHash: string, max: number, renewalSeconds: number, initialUsed: number): Promise<QuotaResult>;
  /** Resets the quota counter of a key (the admin API's `reset_quota`). */
  resetQuota(keyHash: string): Promise<void>;

  getDoc(kind: DocKind, id: string): Promise<string | null>;
  putDoc(kind: DocKind, id: string, json: string): Promise<void>;
  deleteDoc(kind: DocKind, id: string): Promise<boolean>;
  listDocs(kind: DocKind): Promise<Map<string, string>>;

  /** Plugin module bytes by sha256 (content-addressed). */
  getBlob(sha256: string): Promise<Uint8Array | null>;
  putBlob(sha256: string, bytes: Uint8Array): Promise<void>;

  /**
   * Appends values to a list (the analytics sink on Redis). With `batchId`
   * the append happens at most once per id (for 10 minutes), so a retry of a
   * write that timed out but landed adds nothing.
   */
  pushList(key: string, values: string[], batchId?: string): Promise<void>;

  /** Reload notices between nodes (API or plugin changed). */
  publish(message: string): Promise<void>;
  subscribe(onMessage: (message: string) => void): Promise<void>;

  close(): Promise<void>;
}

/** How long `pushList` remembers a batch id: far longer than any retry of a buffered batch. */
export const APPENDED_TTL_SECONDS = 600;

/** Key names. `{…}` is a Redis Cluster hash tag: every script's keys share one slot. */
export const keys = {
  session: (h: string) => `wg:session:{${h}}`,
  rate: (h: string) => `wg:rate:{${h}}`,
  quota: (h: string) => `wg:quota:{${h}}`,
  cache: (apiId: string, h: string) => `wg:idcache:{${apiId}:${h}}`,
  docs: (kind: DocKind) => `wg:docs:{${kind}}`,
  blob: (sha: string) => `wg:blob:{${sha}}`,
  /** Hash-tagged with the list's whole name, so it shares the list's Cluster slot. */
  appended: (list: string, batchId: string) => `wg:appended:{${list}}:${batchId}`,
  channel: 'wg:reload',
} as const;
