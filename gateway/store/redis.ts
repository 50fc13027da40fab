/**
 * The Redis store (ioredis), for one Redis or a Cluster. Configured for
 * failure: no offline queue (a command while disconnected fails at once),
 * bounded command timeouts, reconnection with capped backoff. Every failure
 * surfaces as StoreUnavailableError; there is no fallback to memory.
 *
 * Counters change only inside Lua scripts, each touching one key, so they
 * are atomic across gateway nodes and every script's keys share a Cluster
 * slot (the `{…}` hash tags in store.ts). Scripts read the clock with TIME
 * so nodes with skewed clocks still agree.
 */
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { SessionRecord } from '../../runtime/index.ts';
import {
  APPENDED_TTL_SECONDS,
  type DocKind,
  keys,
  type QuotaResult,
  type RateResult,
  type Store,
  StoreUnavailableError,
} from './store.ts';

const RATE_SCRIPT = `
local rate = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) * 1000
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local s = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(s[1])
local at = tonumber(s[2])
if tokens == nil or at == nil then tokens = rate; at = now end
local refill = rate / per_ms
tokens = math.min(rate, tokens + math.max(0, now - at) * refill)
local allowed = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(per_ms * 2))
return {allowed, math.floor(tokens), math.ceil((rate - tokens) / refill / 1000)}
`;

const QUOTA_SCRIPT = `
local max = tonumber(ARGV[1])
local renewal = tonumber(ARGV[2])
local initial = tonumber(ARGV[3])
local now = tonumber(redis.call('TIME')[1])
local s = redis.call('HMGET', KEYS[1], 'used', 'renews')
local used = tonumber(s[1])
local renews = tonumber(s[2])
if used == nil then
  used = math.max(0, initial)
  renews = 0
  if renewal > 0 then renews = now + renewal end
elseif renews ~= nil and renews > 0 and now >= renews then
  used = 0
  renews = now + renewal
end
if renews == nil then renews = 0 end
if used >= max then
  redis.call('HSET', KEYS[1], 'used', used, 'renews', renews)
  return {0, 0, renews}
end
used = used + 1
redis.call('HSET', KEYS[1], 'used', used, 'renews', renews)
if renews > 0 then redis.call('EXPIREAT', KEYS[1], renews + 60) end
return {1, max - used, renews}
`;

// Appends ARGV to KEYS[1] unless the batch marker KEYS[2] exists (then 0).
// RPUSH in slices: Lua's unpack has a stack limit of a few thousand values.
const APPEND_ONCE_SCRIPT = `
if not redis.call('SET', KEYS[2], '1', 'NX', 'EX', tonumber(ARGV[1])) then return 0 end
local n = #ARGV
for i = 2, n, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, i, math.min(i + 999, n)))
end
return n - 1
`;

type Client = Redis | Cluster;

interface ScriptClient {
  wgRate(key: string, rate: number, per: number): Promise<[number, number, number]>;
  wgQuota(key: string, max: number, renewal: number, initial: number): Promise<[number, number, number]>;
  wgAppendOnce(list: string, marker: string, ttlSeconds: number, ...values: string[]): Promise<number>;
}

export interface RedisStoreOptions {
  url?: string | null;
  clusterNodes?: readonly string[];
  commandTimeoutMs?: number;
  /** Called on connection state changes (logged by the gateway). */
  onState?: (state: 'ready' | 'error' | 'reconnecting', detail?: string) => void;
}

export class RedisStore implements Store {
  readonly kind: 'redis' | 'redis-cluster';
  readonly #client: Client;
  #subscriber: Client | null = null;

  constructor(opts: RedisStoreOptions) {
    const common: RedisOptions = {
      enableOfflineQueue: false,
      commandTimeout: opts.commandTimeoutMs ?? 1_000,
      maxRetriesPerRequest: 1,
      connectTimeout: 2_000,
      retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
      lazyConnect: false,
    };
    if (opts.clusterNodes?.length) {
      this.kind = 'redis-cluster';
      this.#client = new Cluster(
        opts.clusterNodes.map((n) => {
          const [host, port] = n.split(':');
          return { host: host!, port: Number(port) };
        }),
        {
          enableOfflineQueue: false,
          redisOptions: common,
          clusterRetryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2_000),
        },
      );
    } else {
      this.kind = 'redis';
      this.#client = new Redis(opts.url ?? 'redis://127.0.0.1:6379', common);
    }
    this.#client.on('error', (err: Error) => opts.onState?.('error', err.message));
    this.#client.on('ready', () => opts.onState?.('ready'));
    this.#client.on('reconnecting', () => opts.onState?.('reconnecting'));
    this.#client.defineCommand('wgRate', { numberOfKeys: 1, lua: RATE_SCRIPT });
    this.#client.defineCommand('wgQuota', { numberOfKeys: 1, lua: QUOTA_SCRIPT });
    this.#client.defineCommand('wgAppendOnce', { numberOfKeys: 2, lua: APPEND_ONCE_SCRIPT });
  }

  /** Resolves once connected, or rejects after `timeoutMs`. */
  async connected(timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.ping()) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new StoreUnavailableError(`Redis did not answer within ${timeoutMs} ms`);
  }

  async #do<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw new StoreUnavailableError(`Redis ${what} failed: ${(err as Error).message}`, { cause: err });
    }
  }

  async ping(): Promise<boolean> {
    try {
      return (await this.#client.ping()) === 'PONG';
    } catch {
      return false;
    }
  }

  async getSession(keyHash: string): Promise<SessionRecord | null> {
    const raw = await this.#do('GET session', () => this.#client.get(keys.session(keyHash)));
    return raw ? (JSON.parse(raw) as SessionRecord) : null;
  }

  async putSession(keyHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    const k = keys.session(keyHash);
    const v = JSON.stringify(session);
    await this.#do('SET session', () =>
      ttlSeconds > 0 ? this.#client.set(k, v, 'EX', ttlSeconds) : this.#client.set(k, v),
    );
  }

  async deleteSession(keyHash: string): Promise<boolean> {
    const n = await this.#do('DEL session', async () => {
      const a = await this.#client.del(keys.session(keyHash));
      await this.#client.del(keys.rate(keyHash));
      await this.#client.del(keys.quota(keyHash));
      return a;
    });
    return n > 0;
  }

  async getCachedSession(apiId: string, idHash: string): Promise<SessionRecord | null> {
    const raw = await this.#do('GET cache', () => this.#client.get(keys.cache(apiId, idHash)));
    return raw ? (JSON.parse(raw) as SessionRecord) : null;
  }

  async putCachedSession(apiId: string, idHash: string, session: SessionRecord, ttlSeconds: number): Promise<void> {
    if (ttlSeconds <= 0) return;
    await this.#do('SET cache', () =>
      this.#client.set(keys.cache(apiId, idHash), JSON.stringify(session), 'EX', ttlSeconds),
    );
  }

  async takeRate(keyHash: string, rate: number, per: number): Promise<RateResult> {
    const [allowed, remaining, reset] = await this.#do('rate script', () =>
      (this.#client as unknown as ScriptClient).wgRate(keys.rate(keyHash), rate, per),
    );
    return { allowed: allowed === 1, remaining, resetSeconds: reset };
  }

  async takeQuota(keyHash: string, max: number, renewalSeconds: number, initialUsed: number): Promise<QuotaResult> {
    if (max < 0) return { allowed: true, remaining: -1, renews: 0 };
    const [allowed, remaining, renews] = await this.#do('quota script', () =>
      (this.#client as unknown as ScriptClient).wgQuota(keys.quota(keyHash), max, renewalSeconds, initialUsed),
    );
    return { allowed: allowed === 1, remaining, renews };
  }

  async resetQuota(keyHash: string): Promise<void> {
    await this.#do('DEL quota', () => this.#client.del(keys.quota(keyHash)));
  }

  async getDoc(kind: DocKind, id: string): Promise<string | null> {
    return this.#do('HGET', () => this.#client.hget(keys.docs(kind), id));
  }

  async putDoc(kind: DocKind, id: string, json: string): Promise<void> {
    await this.#do('HSET', () => this.#client.hset(keys.docs(kind), id, json));
  }

  async deleteDoc(kind: DocKind, id: string): Promise<boolean> {
    return (await this.#do('HDEL', () => this.#client.hdel(keys.docs(kind), id))) > 0;
  }

  async listDocs(kind: DocKind): Promise<Map<string, string>> {
    return new Map(Object.entries(await this.#do('HGETALL', () => this.#client.hgetall(keys.docs(kind)))));
  }

  async getBlob(sha256: string): Promise<Uint8Array | null> {
    const buf = await this.#do('GET blob', () => this.#client.getBuffer(keys.blob(sha256)));
    return buf ? new Uint8Array(buf) : null;
  }

  async putBlob(sha256: string, bytes: Uint8Array): Promise<void> {
    await this.#do('SET blob', () => this.#client.set(keys.blob(sha256), Buffer.from(bytes)));
  }

  async pushList(key: string, values: string[], batchId?: string): Promise<void> {
    if (!values.length) return;
    if (batchId === undefined) {
      await this.#do('RPUSH', () => this.#client.rpush(key, ...values));
      return;
    }
    await this.#do('append script', () =>
      (this.#client as unknown as ScriptClient).wgAppendOnce(
        key,
        keys.appended(key, batchId),
        APPENDED_TTL_SECONDS,
        ...values,
      ),
    );
  }

  async publish(message: string): Promise<void> {
    await this.#do('PUBLISH', () => this.#client.publish(keys.channel, message));
  }

  async subscribe(onMessage: (message: string) => void): Promise<void> {
    if (!this.#subscriber) {
      // A subscribed connection can run nothing else; it keeps its own offline queue
      // so the subscription is restored after a reconnect.
      this.#subscriber =
        this.#client instanceof Cluster
          ? this.#client.duplicate(undefined, { enableOfflineQueue: true })
          : this.#client.duplicate({ enableOfflineQueue: true });
      this.#subscriber.on('error', () => {});
    }
    this.#subscriber.on('message', (_channel: string, message: string) => onMessage(message));
    await this.#do('SUBSCRIBE', () => this.#subscriber!.subscribe(keys.channel));
  }

  async close(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#client.disconnect();
  }
}
