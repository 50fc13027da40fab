/**
 * The store contract, run against every implementation: embedded, one real
 * redis-server, and a real 3-master Redis Cluster.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore } from '../../gateway/store/memory.ts';
import { RedisStore } from '../../gateway/store/redis.ts';
import { type Store, StoreUnavailableError } from '../../gateway/store/store.ts';
import { RedisCluster, RedisServer, redisAvailable } from '../harness/redis.ts';

const redis = redisAvailable();

function contract(name: string, open: () => Promise<{ a: Store; b: Store; close: () => Promise<void> }>) {
  describe(name, () => {
    let a: Store;
    let b: Store;
    let close: () => Promise<void>;
    beforeAll(async () => {
      ({ a, b, close } = await open());
    });
    afterAll(async () => {
      await close?.();
    });

    it('stores, reads and deletes sessions by key hash', async () => {
      const h = `s-${Math.random()}`;
      expect(await a.getSession(h)).toBeNull();
      await a.putSession(h, { rate: 10, per: 60, metadata: { user: 'zoë' } }, 0);
      expect(await b.getSession(h)).toEqual({ rate: 10, per: 60, metadata: { user: 'zoë' } });
      expect(await a.deleteSession(h)).toBe(true);
      expect(await b.getSession(h)).toBeNull();
      expect(await a.deleteSession(h)).toBe(false);
    });

    it('expires sessions and cached sessions after their TTL', async () => {
      const h = `ttl-${Math.random()}`;
      await a.putSession(h, { rate: 1 }, 1);
      await a.putCachedSession('api', h, { rate: 2 }, 1);
      expect(await b.getSession(h)).toEqual({ rate: 1 });
      expect(await b.getCachedSession('api', h)).toEqual({ rate: 2 });
      await new Promise((r) => setTimeout(r, 2_100));
      expect(await b.getSession(h)).toBeNull();
      expect(await b.getCachedSession('api', h)).toBeNull();
    });

    it('keeps the ID-extractor cache per API', async () => {
      await a.putCachedSession('api-1', 'id', { alias: 'one' }, 60);
      expect(await b.getCachedSession('api-1', 'id')).toEqual({ alias: 'one' });
      expect(await b.getCachedSession('api-2', 'id')).toBeNull();
    });

    it('rate-limits with a token bucket shared by every client', async () => {
      const h = `rate-${Math.random()}`;
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).takeRate(h, 5, 60)));
      expect(results.filter((r) => r.allowed)).toHaveLength(5);
      const denied = results.find((r) => !r.allowed)!;
      expect(denied.remaining).toBe(0);
      expect(denied.resetSeconds).toBeGreaterThan(0);
    });

    it('lets exactly quota_max of 1,000 parallel requests through, across two clients', async () => {
      const h = `quota-${Math.random()}`;
      const results = await Promise.all(
        Array.from({ length: 1000 }, (_, i) => (i % 2 ? a : b).takeQuota(h, 100, 3600, 0)),
      );
      expect(results.filter((r) => r.allowed)).toHaveLength(100);
      const remaining = results
        .filter((r) => r.allowed)
        .map((r) => r.remaining)
        .sort((x, y) => x - y);
      expect(remaining[0]).toBe(0);
      expect(remaining[99]).toBe(99);
      expect(results[0]!.renews).toBeGreaterThan(Date.now() / 1000);
    });

    it('seeds a new quota counter from quota_remaining, and resets it', async () => {
      const h = `seed-${Math.random()}`;
      expect(await a.takeQuota(h, 10, 3600, 8)).toMatchObject({ allowed: true, remaining: 1 });
      expect(await b.takeQuota(h, 10, 3600, 0)).toMatchObject({ allowed: true, remaining: 0 });
      expect(await a.takeQuota(h, 10, 3600, 0)).toMatchObject({ allowed: false, remaining: 0 });
      await b.resetQuota(h);
      expect(await a.takeQuota(h, 10, 3600, 0)).toMatchObject({ allowed: true, remaining: 9 });
      expect(await a.takeQuota(h, -1, 3600, 0)).toMatchObject({ allowed: true, remaining: -1 });
    });

    it('renews a quota when its renewal time passes', async () => {
      const h = `renew-${Math.random()}`;
      expect((await a.takeQuota(h, 1, 1, 0)).allowed).toBe(true);
      expect((await a.takeQuota(h, 1, 1, 0)).allowed).toBe(false);
      await new Promise((r) => setTimeout(r, 2_100));
      expect((await b.takeQuota(h, 1, 1, 0)).allowed).toBe(true);
    });

    it('keeps documents and blobs', async () => {
      const id = `doc-${Math.random()}`;
      await a.putDoc('policies', id, '{"rate":1}');
      expect(await b.getDoc('policies', id)).toBe('{"rate":1}');
      expect((await b.listDocs('policies')).get(id)).toBe('{"rate":1}');
      expect(await a.deleteDoc('policies', id)).toBe(true);
      expect(await b.getDoc('policies', id)).toBeNull();
      const sha = 'ab'.repeat(32);
      await a.putBlob(sha, new Uint8Array([0, 97, 115, 109]));
      expect(await b.getBlob(sha)).toEqual(new Uint8Array([0, 97, 115, 109]));
    });
  });
}

contract('embedded store', async () => {
  const s = await MemoryStore.open(null);
  return { a: s, b: s, close: () => s.close() };
});

describe('embedded store persistence', () => {
  it('keeps sessions, documents and blobs across a restart', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wasmgate-store-'));
    try {
      const first = await MemoryStore.open(dir);
      await first.putSession('k'.repeat(64), { rate: 3, per: 1 }, 0);
      await first.putDoc('apis', 'my-api', '{"api_id":"my-api"}');
      await first.putDoc('apis', '../escape', '{}');
      await first.putBlob('cd'.repeat(32), new Uint8Array([1, 2, 3]));
      const second = await MemoryStore.open(dir);
      expect(await second.getSession('k'.repeat(64))).toEqual({ rate: 3, per: 1 });
      expect(await second.getDoc('apis', 'my-api')).toBe('{"api_id":"my-api"}');
      expect(await second.getDoc('apis', '../escape')).toBe('{}');
      expect(await second.getBlob('cd'.repeat(32))).toEqual(new Uint8Array([1, 2, 3]));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!redis.ok)('redis', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.close();
  });

  contract('redis store (two clients = two gateway nodes)', async () => {
    const a = new RedisStore({ url: server.url });
    const b = new RedisStore({ url: server.url });
    await a.connected();
    await b.connected();
    return { a, b, close: async () => Promise.all([a.close(), b.close()]).then(() => {}) };
  });

  it('fails fast with StoreUnavailableError while Redis is down, and recovers by itself', async () => {
    const own = await RedisServer.start();
    const store = new RedisStore({ url: own.url, commandTimeoutMs: 500 });
    try {
      await store.connected();
      await store.putSession('h', { rate: 1 }, 0);
      await own.stop();
      const started = Date.now();
      await expect(store.getSession('h')).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(store.takeQuota('h', 10, 60, 0)).rejects.toBeInstanceOf(StoreUnavailableError);
      expect(await store.ping()).toBe(false);
      // Bounded: a failure is reported, not queued until Redis returns.
      expect(Date.now() - started).toBeLessThan(10_000);
      await own.resume();
      await store.connected(15_000);
      expect(await store.takeQuota('h2', 10, 60, 0)).toMatchObject({ allowed: true, remaining: 9 });
    } finally {
      await store.close();
      await own.close();
    }
  });

  it('delivers reload notices to every subscribed node', async () => {
    const a = new RedisStore({ url: server.url });
    const b = new RedisStore({ url: server.url });
    try {
      await a.connected();
      const got = new Promise<string>((resolve) => void b.subscribe(resolve));
      await new Promise((r) => setTimeout(r, 200));
      await a.publish('apis:changed');
      expect(await got).toBe('apis:changed');
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe.skipIf(!redis.ok)('redis cluster (3 masters)', () => {
  let cluster: RedisCluster;
  beforeAll(async () => {
    cluster = await RedisCluster.start(3);
  }, 60_000);
  afterAll(async () => {
    await cluster?.close();
  });

  contract('redis cluster store', async () => {
    const a = new RedisStore({ clusterNodes: cluster.nodeList });
    const b = new RedisStore({ clusterNodes: cluster.nodeList });
    await a.connected(15_000);
    await b.connected(15_000);
    return { a, b, close: async () => Promise.all([a.close(), b.close()]).then(() => {}) };
  });
});
