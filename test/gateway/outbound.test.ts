/**
 * Outbound calls and dynamic routing over real HTTP, with several services
 * on loopback: the aggregate example calls two services in parallel (total
 * time ≈ the slower one), every refusal (allowlist, own ports, metadata
 * address, a name resolving to loopback, a redirect not followed, slow and
 * huge answers, caps) reaches the plugin as an error code it reports in its
 * 502, and route-by-header picks an allowed upstream or fails on a refused one.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiDefinition } from '../../gateway/config/load.ts';
import { buildTsExamples } from '../harness/examples.ts';
import {
  classicApi,
  endpointPlugins,
  FIXTURES,
  startGateway,
  startTestApp,
  type TestGateway,
} from '../harness/gateway.ts';
import { type Service, service } from '../harness/services.ts';

const json = { 'content-type': 'application/json' };
let users: Service;
let orders: Service;
let slow: Service;
let huge: Service;
let redirect: Service;
let elsewhere: Service;
let eu: Service;
let us: Service;
let gw: TestGateway;

const endpoint = (path: string) =>
  endpointPlugins([{ path, method: 'GET', func_name: 'aggregate', plugin_path: 'aggregate@1.0.0' }]);

/** An API whose /summary endpoint aggregates `usersUrl` and the orders service, with `outbound` granted. */
function shop(
  id: string,
  usersUrl: string,
  outbound: Record<string, unknown> | null,
  ordersUrl = `${orders.url}/orders`,
) {
  return {
    ...classicApi(id, 'http://127.0.0.1:9'),
    ...endpoint('/summary'),
    config_data: { users_url: usersUrl, orders_url: ordersUrl },
    ...(outbound ? { wasmgate: { outbound } } : {}),
  };
}

beforeAll(async () => {
  users = await service(() => [200, json, '[{"id":1}]', 300]);
  orders = await service(() => [200, json, '[{"id":7}]', 500]);
  slow = await service(() => [200, json, '[]', 3_000]);
  huge = await service(() => [200, json, Buffer.alloc(2 * 1024 * 1024, 32), 0]);
  elsewhere = await service(() => [200, json, '"elsewhere"', 0]);
  redirect = await service(() => [302, { location: `${elsewhere.url}/private` }, '', 0]);
  eu = await service((p) => [200, json, JSON.stringify({ region: 'eu', path: p }), 0]);
  us = await service((p) => [200, json, JSON.stringify({ region: 'us', path: p }), 0]);
  gw = await startGateway({ plugins: ['aggregate', 'route-by-header'] });
  const allow = (...s: Service[]) => [...s.map((x) => x.url), orders.url];
  const docs = [
    shop('shop', `${users.url}/users`, { allow: allow(users) }),
    shop('not-allowlisted', `${elsewhere.url}/x`, { allow: allow(users) }),
    shop('loopback-not-allowlisted', `http://127.0.0.1:${users.port + 0}/users`, { allow: [orders.url] }),
    shop('own-port', `http://127.0.0.1:${gw.port}/shop/summary`, {
      allow: [`http://127.0.0.1:${gw.port}`, orders.url],
    }),
    shop('metadata', 'http://169.254.169.254/latest/meta-data/', { allow: ['http://169.254.169.254', orders.url] }),
    shop('name-to-loopback', `http://localhost:${users.port}/users`, {
      allow: [`http://localhost:${users.port}`, orders.url],
    }),
    shop('redirect', `${redirect.url}/go`, { allow: allow(redirect) }),
    shop('slow', `${slow.url}/slow`, { allow: allow(slow), timeout_ms: 1_000 }),
    shop('huge', `${huge.url}/huge`, { allow: allow(huge), max_response_bytes: 65_536 }),
    shop('no-grant', `${users.url}/users`, null),
    shop('capped', `${users.url}/users`, { allow: allow(users), max_calls: 1 }),
    {
      ...classicApi('routed', us.url),
      custom_middleware: { driver: 'wasm', pre: [{ name: 'route_by_header', path: 'route-by-header@1.0.0' }] },
      config_data: { header: 'x-region', routes: { eu: 'eu', us: 'us', mars: 'mars' } },
      wasmgate: { upstream_targets: { eu: `${eu.url}/eu-base`, us: `${us.url}/us-base` } },
    },
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
  for (const s of [users, orders, slow, huge, redirect, elsewhere, eu, us]) await s?.close();
});

async function get(path: string, headers: Record<string, string> = {}) {
  const started = performance.now();
  const res = await fetch(`${gw.url}${path}`, { headers });
  const text = await res.text();
  return { status: res.status, text, ms: performance.now() - started };
}

describe('aggregation', () => {
  it('calls both services in parallel: one answer, in about the time of the slower call', async () => {
    await get('/shop/summary'); // warm the instance and the connections
    const r = await get('/shop/summary');
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ users: [{ id: 1 }], orders: [{ id: 7 }] });
    // users answers after 300 ms, orders after 500 ms. In parallel, both calls are made before
    // either answers (in sequence the second would wait ≥ 300 ms for the first), so the whole
    // request takes about the slower call, not the sum.
    const u = users.hits.at(-1)!;
    const o = orders.hits.at(-1)!;
    expect(Math.max(u.arrived, o.arrived)).toBeLessThan(Math.min(u.answered!, o.answered!));
    expect(r.ms).toBeGreaterThanOrEqual(490);
  });
});

describe('refusals reach the plugin as error codes (it answers 502 naming them)', () => {
  for (const [api, code] of [
    ['not-allowlisted', 'ORIGIN_NOT_ALLOWED'],
    ['loopback-not-allowlisted', 'ORIGIN_NOT_ALLOWED'],
    ['own-port', 'ADDRESS_REFUSED'],
    ['metadata', 'ADDRESS_REFUSED'],
    ['name-to-loopback', 'ADDRESS_REFUSED'],
    ['slow', 'TIMEOUT'],
    ['huge', 'TOO_LARGE'],
  ] as const) {
    it(`${api}: ${code}`, async () => {
      const r = await get(`/${api}/summary`);
      expect(r.status).toBe(502);
      expect(JSON.parse(r.text)).toEqual({ error: `users failed: ${code}` });
    });
  }

  it('nothing reached a refused service, and a timed-out call ends at its timeout', async () => {
    expect(elsewhere.hits).toEqual([]);
    const r = await get('/slow/summary');
    expect(r.ms).toBeLessThan(2_000);
  });

  it('a redirect is handed to the plugin, never followed', async () => {
    const r = await get('/redirect/summary');
    expect(r.status).toBe(502);
    expect(JSON.parse(r.text)).toEqual({ error: 'users failed: status 302' });
    expect(redirect.hits.length).toBeGreaterThan(0);
    expect(elsewhere.hits).toEqual([]);
  });

  it('an API that grants no outbound calls, or fewer than asked: a plugin failure (500)', async () => {
    for (const api of ['no-grant', 'capped']) {
      const r = await get(`/${api}/summary`);
      expect([api, r.status]).toEqual([api, 500]);
      expect(JSON.parse(r.text)).toMatchObject({ error: 'plugin_error' });
    }
  });
});

describe('dynamic routing', () => {
  it('routes by header to an allowed target, its path and the request path joined', async () => {
    const r = await get('/routed/orders/7', { 'x-region': 'eu' });
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ region: 'eu', path: '/eu-base/orders/7' });
    const other = await get('/routed/orders/8', { 'x-region': 'us' });
    expect(JSON.parse(other.text)).toEqual({ region: 'us', path: '/us-base/orders/8' });
  });

  it('without a route the API target serves; a target the API does not allow is a plugin failure', async () => {
    const plain = await get('/routed/x');
    expect(plain.status).toBe(200);
    expect(JSON.parse(plain.text)).toEqual({ region: 'us', path: '/x' });
    const refused = await get('/routed/x', { 'x-region': 'mars' });
    expect(refused.status).toBe(500);
    expect(JSON.parse(refused.text)).toMatchObject({ error: 'plugin_error' });
  });
});

describe("the gateway's admin port", () => {
  it('is never reachable, even through an allowlisted origin', async () => {
    const app = await startTestApp({ adminSecret: 'outbound-secret-0123456789', analytics: false });
    try {
      const ex = (await buildTsExamples()).get('aggregate')!;
      await app.gateway.registry.register('aggregate', '1.0.0', await readFile(ex.wasm));
      const admin = `http://127.0.0.1:${app.adminPort}`;
      app.gateway.swap(
        await app.gateway.load(
          [parseApiDefinition(shop('to-admin', `${admin}/tyk/apis`, { allow: [admin, orders.url] }))],
          FIXTURES,
        ),
      );
      const res = await fetch(`http://127.0.0.1:${app.port}/to-admin/summary`);
      expect(res.status).toBe(502);
      expect(await res.json()).toEqual({ error: 'users failed: ADDRESS_REFUSED' });
    } finally {
      await app.close();
    }
  }, 120_000);
});

describe('definitions', () => {
  it('an allowlist entry that is not a bare origin is refused, naming the field', () => {
    expect(() =>
      parseApiDefinition({
        ...classicApi('bad', 'http://127.0.0.1:9'),
        wasmgate: { outbound: { allow: ['http://ok.example', 'http://x.example/path'] } },
      }),
    ).toThrow(/wasmgate\.outbound\.allow\[1\]/);
    expect(() =>
      parseApiDefinition({
        ...classicApi('bad2', 'http://127.0.0.1:9'),
        wasmgate: { upstream_targets: { eu: 'ftp://nope' } },
      }),
    ).toThrow(/wasmgate\.upstream_targets\.eu/);
  });
});
