/**
 * Analytics over real HTTP: one record per request with Tyk's fields,
 * detailed recording, an analytics plugin that masks Authorization (checked
 * in the stored record) and one that traps (client unaffected), the Redis
 * sink surviving an outage (also under sustained load, within and beyond
 * the buffer bound), the flush on shutdown, and the metrics.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AnalyticsBuffer, REDIS_ANALYTICS_KEY, RedisListSink } from '../../gateway/analytics/sink.ts';
import { hashKey } from '../../gateway/sessions/credentials.ts';
import { RedisStore } from '../../gateway/store/redis.ts';
import type { AnalyticsRecord } from '../../runtime/index.ts';
import { classicApi, startGateway, startUpstream, type TestGateway, type Upstream } from '../harness/gateway.ts';
import { RedisServer, redisAvailable } from '../harness/redis.ts';
import { TcpProxy } from '../harness/tcp-proxy.ts';

const redis = redisAvailable();
let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
});

/** Flushes until `until` holds for the stored records (the analytics plugin runs after the reply). */
async function settle(
  gw: TestGateway,
  until: (all: Record<string, unknown>[]) => boolean,
): Promise<Record<string, unknown>[]> {
  const deadline = Date.now() + 10_000;
  let all: Record<string, unknown>[] = [];
  while (Date.now() < deadline) {
    await gw.gateway.analytics!.flush();
    all = await records(gw.dataDir);
    if (until(all)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return all;
}

async function records(dataDir: string): Promise<Record<string, unknown>[]> {
  const dir = join(dataDir, 'analytics');
  const files = await readdir(dir).catch(() => [] as string[]);
  const out: Record<string, unknown>[] = [];
  for (const f of files)
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) if (line) out.push(JSON.parse(line));
  return out;
}

describe('analytics on the embedded store', () => {
  let gw: TestGateway;
  const mw = (m: Record<string, unknown>) => ({ custom_middleware: { driver: 'wasm', ...m } });
  beforeAll(async () => {
    gw = await startGateway({
      plugins: ['probe', 'analytics-mask'],
      apis: [
        {
          ...classicApi('rec', up.url, { enable_detailed_recording: true, tags: ['t1'] }),
          analytics_plugin: { enable: true, func_name: 'analytics_mask', plugin_path: 'analytics-mask@1.0.0' },
        },
        {
          ...classicApi('trapping', up.url),
          analytics_plugin: { enable: true, func_name: 'trap', plugin_path: 'probe@1.0.0' },
        },
        { ...classicApi('failing', up.url), ...mw({ pre: [{ name: 'fail', path: 'probe@1.0.0' }] }) },
        {
          ...classicApi('overrides', up.url, { config_data: { status: 418 } }),
          ...mw({ pre: [{ name: 'respond', path: 'probe@1.0.0' }] }),
        },
        classicApi('refused', 'http://127.0.0.1:1/'),
        classicApi('keyed', up.url, { use_keyless: false }),
      ],
    });
  }, 300_000);
  afterAll(async () => {
    await gw?.close();
  });

  it("records every request with Tyk's fields, whatever its outcome", async () => {
    await gw.gateway.store.putSession(hashKey('the-key'), {}, 0);
    const statuses = [];
    for (const [path, init] of [
      ['/rec/items?x=1', {}],
      ['/failing/x', {}],
      ['/overrides/x', {}],
      ['/refused/x', {}],
      ['/keyed/x', { headers: { authorization: 'the-key' } }],
    ] as const) {
      const res = await fetch(`${gw.url}${path}`, init);
      await res.arrayBuffer();
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 500, 418, 502, 200]);
    const apis = ['rec', 'failing', 'overrides', 'refused', 'keyed'];
    const all = await settle(gw, (rs) => apis.every((a) => rs.some((r) => r.api_id === a)));
    const by = (api: string) => all.find((r) => r.api_id === api)!;
    expect(by('rec')).toMatchObject({
      method: 'GET',
      path: '/items',
      raw_path: '/rec/items',
      response_code: 200,
      api_name: 'API rec',
      org_id: 'test',
      ip_address: '127.0.0.1',
      tags: ['t1'],
    });
    expect((by('rec').latency as { total: number }).total).toBeGreaterThan(0);
    expect(by('failing').response_code).toBe(500);
    expect(by('overrides').response_code).toBe(418);
    expect(by('refused').response_code).toBe(502);
    expect(by('keyed').api_key).toBe(hashKey('the-key'));
    expect(JSON.stringify(all)).not.toContain('the-key');
  });

  it('detailed recording keeps the raw request and response; the analytics plugin masks Authorization', async () => {
    const res = await fetch(`${gw.url}/rec/secret`, { headers: { authorization: 'Bearer s3cret-value' } });
    await res.arrayBuffer();
    const rec = (await settle(gw, (rs) => rs.some((r) => r.path === '/secret'))).find((r) => r.path === '/secret')!;
    const rawRequest = Buffer.from(rec.raw_request as string, 'base64').toString();
    expect(rawRequest).toMatch(/^GET \/rec\/secret HTTP\/1.1\r\n/);
    expect(rawRequest).toContain('authorization: ****\r\n');
    expect(rawRequest).not.toContain('s3cret-value');
    expect(Buffer.from(rec.raw_response as string, 'base64').toString()).toMatch(/^HTTP\/1.1 200\r\n/);
  });

  it("an analytics plugin that traps never touches the client's answer; its record is dropped and counted", async () => {
    const res = await fetch(`${gw.url}/trapping/x`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    await new Promise((r) => setTimeout(r, 100));
    await gw.gateway.analytics!.flush();
    expect((await records(gw.dataDir)).some((r) => r.api_id === 'trapping')).toBe(false);
    expect(
      await gw.gateway.metrics.registry.getSingleMetricAsString('wasmgate_analytics_plugin_dropped_total'),
    ).toMatch(/ 1$/m);
  });

  it('exposes metrics: requests by API and status, plugin calls and failures, analytics counts', async () => {
    const text = await gw.gateway.metrics.registry.metrics();
    expect(text).toMatch(/wasmgate_requests_total\{api="rec",status="200"\} \d+/);
    expect(text).toMatch(/wasmgate_requests_total\{api="refused",status="502"\} 1/);
    expect(text).toMatch(/wasmgate_plugin_calls_total\{plugin="analytics-mask@1.0.0",hook="analytics",api="rec"\} \d+/);
    expect(text).toMatch(
      /wasmgate_plugin_failures_total\{plugin="probe@1.0.0",hook="pre",api="failing",code="PLUGIN_ERROR"\} 1/,
    );
    expect(text).toMatch(/wasmgate_analytics_records\{state="flushed"\} [1-9]/);
    expect(text).toMatch(/wasmgate_plugin_instances\{plugin="analytics-mask@1.0.0",api="rec",state="idle"\} 1/);
  });
});

describe('analytics flush on shutdown', () => {
  it('writes every accepted record when the gateway closes', async () => {
    const gw = await startGateway({ apis: [classicApi('bye', up.url)] });
    for (let i = 0; i < 20; i++) await (await fetch(`${gw.url}/bye/${i}`)).arrayBuffer();
    const dataDir = gw.dataDir;
    await gw.gateway.close(2_000);
    expect((await records(dataDir)).filter((r) => r.api_id === 'bye')).toHaveLength(20);
  });
});

describe.skipIf(!redis.ok)('analytics to Redis', () => {
  it('keeps records in the buffer while Redis is down and writes them once it is back', async () => {
    const server = await RedisServer.start();
    const gw = await startGateway({ apis: [classicApi('rr', up.url)], settings: { redisUrl: server.url } });
    const client = new Redis(server.url);
    client.on('error', () => {});
    try {
      for (let i = 0; i < 5; i++) await (await fetch(`${gw.url}/rr/a${i}`)).arrayBuffer();
      await new Promise((r) => setTimeout(r, 100));
      await gw.gateway.analytics!.flush();
      expect(await client.llen(REDIS_ANALYTICS_KEY)).toBe(5);
      await server.stop();
      for (let i = 0; i < 30; i++) expect((await fetch(`${gw.url}/rr/b${i}`)).status).toBe(200);
      await new Promise((r) => setTimeout(r, 100));
      await gw.gateway.analytics!.flush();
      expect(gw.gateway.analytics!.stats().buffered).toBe(30);
      await server.resume();
      // The restarted test server starts empty; every buffered record arrives.
      const deadline = Date.now() + 15_000;
      while (Date.now() < deadline && gw.gateway.analytics!.stats().buffered > 0) {
        await gw.gateway.analytics!.flush();
        await new Promise((r) => setTimeout(r, 200));
      }
      const fresh = new Redis(server.url);
      expect(await fresh.llen(REDIS_ANALYTICS_KEY)).toBe(30);
      expect(gw.gateway.analytics!.stats().dropped).toBe(0);
      fresh.disconnect();
    } finally {
      client.disconnect();
      await gw.close();
      await server.close();
    }
  }, 60_000);
});

/**
 * Sustained load: `workers` concurrent keep-alive clients loop until stopped.
 * Every answer's status is counted; connection errors are counted apart.
 */
function load(url: string, workers = 8): { stop: () => Promise<{ ok: number; other: number; errors: number }> } {
  const agent = new Agent({ connections: workers, pipelining: 1 });
  let running = true;
  const counts = { ok: 0, other: 0, errors: 0 };
  const loops = Array.from({ length: workers }, async (_, w) => {
    for (let i = 0; running; i++) {
      try {
        const res = await request(`${url}/w${w}/${i}`, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode === 200) counts.ok++;
        else counts.other++;
      } catch {
        counts.errors++;
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      await agent.close();
      return counts;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function drainInto(gw: TestGateway, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && gw.gateway.analytics!.stats().buffered > 0) {
    await gw.gateway.analytics!.flush();
    await sleep(100);
  }
}

describe.skipIf(!redis.ok)('analytics batches on Redis', () => {
  it('a batch whose write timed out after it landed is not stored twice, and records after it keep their order', async () => {
    const server = await RedisServer.start();
    // Every chunk to and from Redis waits longer than the command timeout: the push lands, its answer comes too late.
    const proxy = await TcpProxy.start(server.port);
    const store = new RedisStore({ url: proxy.url, commandTimeoutMs: 300 });
    const buffer = new AnalyticsBuffer(new RedisListSink((k, v, id) => store.pushList(k, v, id)), {
      maxBuffered: 1_000,
      batch: 500,
      intervalMs: 60_000,
    });
    const client = new Redis(server.url);
    const record = (n: number) => ({ path: `/r${n}` }) as unknown as AnalyticsRecord;
    try {
      await store.connected();
      for (let n = 0; n < 10; n++) buffer.add(record(n));
      proxy.delayMs = 600;
      await buffer.flush();
      expect(buffer.stats()).toMatchObject({ buffered: 10, flushed: 0 });
      await sleep(1_500);
      expect(await client.llen(REDIS_ANALYTICS_KEY)).toBe(10); // it did land
      for (let n = 10; n < 15; n++) buffer.add(record(n));
      proxy.delayMs = 0;
      await buffer.flush();
      expect(buffer.stats()).toMatchObject({ buffered: 0, flushed: 15, dropped: 0 });
      const stored = (await client.lrange(REDIS_ANALYTICS_KEY, 0, -1)).map((r) => JSON.parse(r).path);
      expect(stored).toEqual(Array.from({ length: 15 }, (_, n) => `/r${n}`));
    } finally {
      await buffer.close(1_000);
      client.disconnect();
      await store.close();
      await proxy.close();
      await server.close();
    }
  }, 30_000);
});

describe.skipIf(!redis.ok)('analytics to Redis under sustained load', () => {
  // Append-only with fsync on every write: what Redis acknowledged before it
  // was killed is still there after the restart, so every record is countable.
  const durable = ['--appendonly', 'yes', '--appendfsync', 'always'];

  it('a Redis outage of two seconds under load loses no record inside the buffer bound', async () => {
    const server = await RedisServer.start(durable);
    const gw = await startGateway({ apis: [classicApi('load', up.url)], settings: { redisUrl: server.url } });
    try {
      const traffic = load(`${gw.url}/load`);
      await sleep(700);
      await server.stop();
      await sleep(2_000);
      const buffered = gw.gateway.analytics!.stats().buffered;
      await server.resume();
      await sleep(700);
      const counts = await traffic.stop();
      // The gateway kept answering through the outage.
      expect(counts).toMatchObject({ other: 0, errors: 0 });
      expect(counts.ok).toBeGreaterThan(200);
      expect(buffered).toBeGreaterThan(0);
      await drainInto(gw);
      const client = new Redis(server.url);
      try {
        const stored = await client.llen(REDIS_ANALYTICS_KEY);
        // One record per answered request: none lost, none duplicated by a retried batch that had landed.
        expect(stored).toBe(counts.ok);
        const sample = JSON.parse((await client.lindex(REDIS_ANALYTICS_KEY, -1))!);
        expect(sample).toMatchObject({ api_id: 'load', response_code: 200 });
      } finally {
        client.disconnect();
      }
      expect(gw.gateway.analytics!.stats()).toMatchObject({ buffered: 0, dropped: 0, flushed: counts.ok });
    } finally {
      await gw.close();
      await server.close();
    }
  }, 60_000);

  it('beyond the buffer bound the newest records are dropped and counted; the bound is kept and arrives', async () => {
    const server = await RedisServer.start(durable);
    const bound = 100;
    const gw = await startGateway({
      apis: [classicApi('spill', up.url)],
      settings: { redisUrl: server.url, analyticsBufferRecords: bound },
    });
    try {
      await server.stop();
      const traffic = load(`${gw.url}/spill`, 4);
      await sleep(1_500);
      const counts = await traffic.stop();
      expect(counts).toMatchObject({ other: 0, errors: 0 });
      expect(counts.ok).toBeGreaterThan(bound);
      const stats = gw.gateway.analytics!.stats();
      expect(stats.buffered).toBe(bound);
      expect(stats.dropped).toBe(counts.ok - bound);
      const metric = await gw.gateway.metrics.registry.getSingleMetricAsString('wasmgate_analytics_records');
      expect(metric).toContain(`wasmgate_analytics_records{state="dropped"} ${counts.ok - bound}`);
      await server.resume();
      await drainInto(gw);
      const client = new Redis(server.url);
      try {
        expect(await client.llen(REDIS_ANALYTICS_KEY)).toBe(bound);
      } finally {
        client.disconnect();
      }
    } finally {
      await gw.close();
      await server.close();
    }
  }, 60_000);
});
