/**
 * Stock Extism plugins calling `http_request` (the worker tier) over real
 * HTTP, with services on loopback and a real stock-ABI module
 * (test/fixtures/wat/http-stock.wat) answering with the status, headers and
 * body it got: an allowlisted service answers (a 5 MiB answer whole, in
 * chunks through the memory the worker shares); every refusal of the
 * continuation tests (allowlist, loopback, metadata, a name resolving to
 * loopback, the gateway's own proxy and admin ports, a redirect not
 * followed, slow, huge) reaches the plugin as status 0 and the same code;
 * no grant and too many calls fail the plugin; while a worker waits on a
 * slow call the event loop stays free and other APIs are served; an
 * infinite loop ends by fuel and a full pool answers 503.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiDefinition } from '../../gateway/config/load.ts';
import {
  classicApi,
  endpointPlugins,
  FIXTURES,
  startGateway,
  startTestApp,
  type TestGateway,
} from '../harness/gateway.ts';
import { type Service, service } from '../harness/services.ts';
import { wat } from '../harness/wat.ts';

const json = { 'content-type': 'application/json' };
const SLOW_MS = 1_500;
let users: Service;
let orders: Service;
let echo: Service;
let slow: Service;
let slowish: Service;
let huge: Service;
let redirect: Service;
let elsewhere: Service;
let big: Service;
let gw: TestGateway;
/** Larger than the 4 MiB + 64 KiB a worker shares with the main thread: it crosses in chunks. */
const BIG = Buffer.from(Array.from({ length: 5 * 1024 * 1024 }, (_, i) => i % 251));

const endpoints = (...paths: [string, string][]) =>
  endpointPlugins(paths.map(([path, fn]) => ({ path, method: 'GET', func_name: fn, plugin_path: 'http-stock@1.0.0' })));

/** An API whose /fetch endpoint is the stock plugin calling `request` (Extism's request record). */
function stock(
  id: string,
  request: Record<string, unknown>,
  outbound: Record<string, unknown> | null,
  extra: Record<string, unknown> = {},
) {
  return {
    ...classicApi(id, users.url),
    ...endpoints(['/fetch', 'fetch'], ['/aggregate', 'aggregate'], ['/spin', 'spin']),
    config_data: { request, ...extra },
    ...(outbound ? { wasmgate: { outbound } } : {}),
  };
}

const get = (url: string) => ({ url, method: 'GET' });

beforeAll(async () => {
  users = await service(() => [200, json, '[{"id":1}]', 300]);
  orders = await service(() => [200, json, '[{"id":7}]', 500]);
  echo = await service(() => [201, { 'content-type': 'text/plain', 'x-echo': 'yes' }, 'echoed', 0]);
  slow = await service(() => [200, json, '[]', 3_000]);
  slowish = await service(() => [200, json, '"finally"', SLOW_MS]);
  huge = await service(() => [200, json, Buffer.alloc(2 * 1024 * 1024, 32), 0]);
  elsewhere = await service(() => [200, json, '"elsewhere"', 0]);
  redirect = await service(() => [302, { location: `${elsewhere.url}/private` }, '', 0]);
  big = await service(() => [200, { 'content-type': 'application/octet-stream' }, BIG, 0]);
  gw = await startGateway({
    // Two workers per binding so the pool test can fill it; fuel for about a fifth of a second;
    // outputs up to 8 MiB for the chunked answer.
    settings: {
      limits: { poolMaxInstances: 2, fuelPerCall: 200_000_000, maxOutputBytes: 8 * 1024 * 1024 },
    } as never,
  });
  await gw.gateway.registry.register('http-stock', '1.0.0', wat('http-stock'));
  const docs = [
    stock('stock', get(`${users.url}/users`), { allow: [users.url] }),
    stock(
      'post',
      { url: `${echo.url}/in`, method: 'post', headers: { 'x-a': '1', 'content-type': 'text/plain' } },
      { allow: [echo.url] },
      { body: 'hello worker' },
    ),
    stock('not-allowlisted', get(`${elsewhere.url}/x`), { allow: [users.url] }),
    stock('loopback-not-allowlisted', get(`http://127.0.0.1:${users.port}/users`), { allow: [orders.url] }),
    stock('own-port', get(`http://127.0.0.1:${gw.port}/stock/fetch`), { allow: [`http://127.0.0.1:${gw.port}`] }),
    stock('metadata', get('http://169.254.169.254/latest/meta-data/'), { allow: ['http://169.254.169.254'] }),
    stock('name-to-loopback', get(`http://localhost:${users.port}/users`), {
      allow: [`http://localhost:${users.port}`],
    }),
    stock('redirect', get(`${redirect.url}/go`), { allow: [redirect.url] }),
    stock('slow', get(`${slow.url}/slow`), { allow: [slow.url], timeout_ms: 1_000 }),
    stock('huge', get(`${huge.url}/huge`), { allow: [huge.url], max_response_bytes: 65_536 }),
    stock('host-header', { ...get(`${echo.url}/h`), headers: { host: 'internal.example' } }, { allow: [echo.url] }),
    stock('no-grant', get(`${users.url}/users`), null),
    stock(
      'capped',
      get(`${users.url}/users`),
      { allow: [users.url], max_calls: 1 },
      { request2: get(`${users.url}/2`) },
    ),
    stock(
      'aggregate',
      get(`${users.url}/users`),
      { allow: [users.url, orders.url] },
      {
        request2: get(`${orders.url}/orders`),
      },
    ),
    stock('slowish', get(`${slowish.url}/wait`), { allow: [slowish.url] }),
    stock('big', get(`${big.url}/big`), { allow: [big.url], max_response_bytes: 8 * 1024 * 1024 }),
    { ...classicApi('other', echo.url) },
  ];
  gw.gateway.swap(
    await gw.gateway.load(
      docs.map((d, i) => parseApiDefinition(d, `api[${i}]`)),
      FIXTURES,
    ),
  );
}, 600_000);

afterAll(async () => {
  await gw?.close();
  for (const s of [users, orders, echo, slow, slowish, huge, redirect, elsewhere, big]) await s?.close();
});

async function request(path: string) {
  const started = performance.now();
  const res = await fetch(`${gw.url}${path}`, { redirect: 'manual' });
  const text = await res.text();
  const upstreamHeaders = res.headers.get('x-upstream-headers');
  return {
    status: res.status,
    text,
    headers: upstreamHeaders ? (JSON.parse(upstreamHeaders) as Record<string, string>) : null,
    ms: performance.now() - started,
  };
}

describe('a stock plugin calling http_request', () => {
  it('is served by the worker tier and answers with what the allowlisted service sent', async () => {
    expect(gw.gateway.api('stock')!.requestPlugins[0]!.binding.tier).toBe('worker');
    const r = await request('/stock/fetch');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual([{ id: 1 }]);
    expect(r.headers).toMatchObject({ 'content-type': 'application/json' });
    expect(users.hits.at(-1)).toMatchObject({ method: 'GET', url: '/users' });
  });

  it('sends the method, headers and body of its request record', async () => {
    const r = await request('/post/fetch');
    expect(r.status).toBe(201);
    expect(r.text).toBe('echoed');
    expect(r.headers).toMatchObject({ 'x-echo': 'yes' });
    expect(echo.hits.at(-1)).toMatchObject({ method: 'POST', url: '/in', body: 'hello worker' });
    expect(echo.hits.at(-1)!.headers).toMatchObject({ 'x-a': '1', 'content-type': 'text/plain' });
  });

  it('gets an answer larger than the memory it shares with the main thread whole, in chunks', async () => {
    const res = await fetch(`${gw.url}/big/fetch`);
    expect(res.status).toBe(200);
    const body = Buffer.from(await res.arrayBuffer());
    expect(body.byteLength).toBe(BIG.byteLength);
    expect(body.equals(BIG)).toBe(true);
  });

  it('makes its calls one after the other (the stock API is synchronous)', async () => {
    const r = await request('/aggregate/aggregate');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ users: [{ id: 1 }], orders: [{ id: 7 }] });
    // users takes 300 ms, orders 500 ms: in sequence at least 800.
    expect(r.ms).toBeGreaterThanOrEqual(790);
  });
});

describe('refusals reach the plugin as status 0 and the code (it answers 502 with them)', () => {
  for (const [api, code] of [
    ['not-allowlisted', 'ORIGIN_NOT_ALLOWED'],
    ['loopback-not-allowlisted', 'ORIGIN_NOT_ALLOWED'],
    ['own-port', 'ADDRESS_REFUSED'],
    ['metadata', 'ADDRESS_REFUSED'],
    ['name-to-loopback', 'ADDRESS_REFUSED'],
    ['slow', 'TIMEOUT'],
    ['huge', 'TOO_LARGE'],
    ['host-header', 'BAD_REQUEST'],
  ] as const) {
    it(`${api}: ${code}`, async () => {
      const r = await request(`/${api}/fetch`);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.text)).toMatchObject({ error: code });
      // No headers after a refusal: http_headers returns 0.
      expect(r.headers).toBeNull();
    });
  }

  it('nothing reached a refused service, and a timed-out call ends at its timeout', async () => {
    expect(elsewhere.hits).toEqual([]);
    expect(echo.hits.some((h) => h.url === '/h')).toBe(false);
    const r = await request('/slow/fetch');
    expect(r.ms).toBeLessThan(2_000);
  });

  it('a redirect is handed to the plugin, never followed', async () => {
    const r = await request('/redirect/fetch');
    expect(r.status).toBe(302);
    expect(r.headers).toMatchObject({ location: `${elsewhere.url}/private` });
    expect(redirect.hits.length).toBeGreaterThan(0);
    expect(elsewhere.hits).toEqual([]);
  });

  it('an API that grants no outbound calls, or fewer than asked: a plugin failure (500)', async () => {
    const before = users.hits.length;
    for (const path of ['/no-grant/fetch', '/capped/aggregate']) {
      const r = await request(path);
      expect([path, r.status]).toEqual([path, 500]);
      expect(JSON.parse(r.text)).toMatchObject({ error: 'plugin_error' });
    }
    // The capped API's first call was made; its second was refused before it left.
    expect(users.hits.length).toBe(before + 1);
    expect(users.hits.some((h) => h.url === '/2')).toBe(false);
  });
});

describe('the main thread while workers wait', () => {
  it('keeps serving other APIs with a small event-loop delay during a slow call', async () => {
    await request('/slowish/fetch'); // a warm worker, so the wait measured is the call's
    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    const slowCall = request('/slowish/fetch');
    let served = 0;
    let pending = true;
    void slowCall.finally(() => (pending = false));
    while (pending) {
      const r = await fetch(`${gw.url}/other/x`);
      await r.arrayBuffer();
      if (r.ok && pending) served++;
    }
    const waited = performance.now() - started;
    delay.disable();
    const r = await slowCall;
    expect(r.status).toBe(200);
    expect(r.text).toBe('"finally"');
    expect(waited).toBeGreaterThanOrEqual(SLOW_MS - 5);
    // Other requests went through the whole time, and the loop never stalled for a noticeable part of the wait.
    expect(served).toBeGreaterThan(20);
    expect(delay.max / 1e6).toBeLessThan(waited / 10);
  });
});

describe('bounds', () => {
  it('an infinite loop ends by fuel (500); the next request to the same plugin succeeds', async () => {
    const r = await request('/stock/spin');
    expect(r.status).toBe(500);
    expect(JSON.parse(r.text)).toMatchObject({ error: 'plugin_error' });
    expect((await request('/stock/fetch')).status).toBe(200);
  });

  it('with every worker of the plugin waiting, the next request gets the pool answer: 503 plugin_busy', async () => {
    const calls = [request('/slowish/fetch'), request('/slowish/fetch')];
    await new Promise((r) => setTimeout(r, 100));
    const res = await fetch(`${gw.url}/slowish/fetch`);
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('1');
    expect(await res.json()).toMatchObject({ error: 'plugin_busy' });
    for (const c of await Promise.all(calls)) expect(c.status).toBe(200);
    expect((await request('/slowish/fetch')).status).toBe(200);
  });
});

describe("the gateway's admin port", () => {
  it('is never reachable through http_request, even through an allowlisted origin', async () => {
    const app = await startTestApp({ adminSecret: 'http-request-secret-0123456789', analytics: false });
    try {
      await app.gateway.registry.register('http-stock', '1.0.0', wat('http-stock'));
      const admin = `http://127.0.0.1:${app.adminPort}`;
      app.gateway.swap(
        await app.gateway.load(
          [parseApiDefinition(stock('to-admin', get(`${admin}/tyk/apis`), { allow: [admin] }))],
          FIXTURES,
        ),
      );
      const res = await fetch(`http://127.0.0.1:${app.port}/to-admin/fetch`);
      expect(res.status).toBe(502);
      expect(await res.json()).toMatchObject({ error: 'ADDRESS_REFUSED' });
    } finally {
      await app.close();
    }
  }, 120_000);
});
