/**
 * The Rust and Go example plugins end to end: a real gateway per language on
 * loopback, the plugins registered through the upload pipeline (Go with WASI
 * enabled), and the same assertions over HTTP as for the TypeScript examples,
 * which run here too as the reference: custom auth with the ID-extractor
 * cache and the plugin's quota, multivalue Set-Cookie on the way back, the
 * masked analytics record, (Go) an endpoint plugin answering alone, an
 * endpoint aggregating two loopback services called in parallel, with the
 * gateway's refusals reaching the plugin, and (Rust) routing by a header.
 * A missing toolchain skips its language (fails under WASMGATE_REQUIRE_ALL=1).
 */
import { readdir, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseApiDefinition } from '../../gateway/config/load.ts';
import { buildTsExamples } from '../harness/examples.ts';
import {
  classicApi,
  endpointPlugins,
  FIXTURES,
  startGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../harness/gateway.ts';
import { requirement } from '../harness/skip.ts';
import {
  buildGoExamples,
  buildRustExamples,
  findRustToolchain,
  GO_EXAMPLES,
  hasGo,
  NATIVE_EXAMPLES,
  NEEDS_WASI,
  RUST_EXAMPLES,
} from './build.ts';

type Lang = 'ts' | 'rust' | 'go';

async function buildTs(): Promise<Map<string, string>> {
  const built = await buildTsExamples();
  return new Map(Object.keys(NATIVE_EXAMPLES).map((ex) => [ex, built.get(ex)!.wasm]));
}

const KITS: { lang: Lang; ok: boolean; build: () => Promise<Map<string, string>>; examples: string[] }[] = [
  { lang: 'ts', ok: true, build: buildTs, examples: Object.keys(NATIVE_EXAMPLES) },
  {
    lang: 'rust',
    ok: requirement('cargo wasm32 target', findRustToolchain() !== null, 'bash scripts/install-rust-wasm.sh').ok,
    build: buildRustExamples,
    examples: Object.keys(RUST_EXAMPLES),
  },
  {
    lang: 'go',
    ok: requirement('go', hasGo(), 'install Go ≥ 1.24 (https://go.dev/dl/); bash scripts/check-go.sh checks it').ok,
    build: buildGoExamples,
    examples: Object.keys(GO_EXAMPLES),
  },
];

const TOKENS = { 'tok-alice': 'alice', 'tok-bob': 'bob', 'tok-quota': 'quinn' };

interface Service {
  url: string;
  port: number;
  hits: number;
  close(): Promise<void>;
}

/** A loopback service answering `body` as JSON after `delayMs` (its path echoed in `{{path}}`). */
async function service(body: string, delayMs: number): Promise<Service> {
  const svc = { hits: 0 } as Service;
  const server = createServer((req, res) => {
    svc.hits++;
    setTimeout(() => {
      if (res.destroyed) return;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body.replace('{{path}}', req.url ?? ''));
    }, delayMs);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  svc.port = (server.address() as { port: number }).port;
  svc.url = `http://127.0.0.1:${svc.port}`;
  svc.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return svc;
}

let up: Upstream;
let users: Service;
let orders: Service;
let elsewhere: Service;
let eu: Service;
let us: Service;
beforeAll(async () => {
  up = await startUpstream();
  users = await service('[{"id":1,"name":"Zoë"}]', 300);
  orders = await service('[{"id":7,"total":12.5}]', 500);
  elsewhere = await service('"elsewhere"', 0);
  eu = await service('{"region":"eu","path":"{{path}}"}', 0);
  us = await service('{"region":"us","path":"{{path}}"}', 0);
});
afterAll(async () => {
  for (const s of [up, users, orders, elsewhere, eu, us]) await s?.close();
});

/** Every stored analytics record of the gateway (embedded store: .jsonl files). */
async function records(gw: TestGateway): Promise<Record<string, unknown>[]> {
  await gw.gateway.analytics!.flush();
  const dir = join(gw.dataDir, 'analytics');
  const out: Record<string, unknown>[] = [];
  for (const f of await readdir(dir).catch(() => [] as string[]))
    for (const line of (await readFile(join(dir, f), 'utf8')).split('\n')) if (line) out.push(JSON.parse(line));
  return out;
}

for (const kit of KITS) {
  describe.skipIf(!kit.ok)(`${kit.lang} examples through the gateway`, () => {
    let gw: TestGateway;
    const authCalls: string[] = [];
    const plugin = (example: string) => `${kit.lang}-${example}@1.0.0`;
    const api = (suffix: string) => `${kit.lang}-${suffix}`;

    beforeAll(async () => {
      const built = await kit.build();
      gw = await startGateway();
      for (const example of kit.examples) {
        const wasi = kit.lang === 'ts' ? false : NEEDS_WASI[kit.lang];
        await gw.gateway.registry.register(`${kit.lang}-${example}`, '1.0.0', await readFile(built.get(example)!), {
          wasi,
        });
      }
      const auth = (id: string, config: Record<string, unknown>, idExtractor = true) => ({
        ...classicApi(id, up.url, {
          use_keyless: false,
          enable_coprocess_auth: true,
          config_data: { tokens: TOKENS, rate: 1000, per: 1, cache_seconds: 60, ...config },
        }),
        custom_middleware: {
          driver: 'wasm',
          auth_check: { name: 'auth_token', path: plugin('auth-token') },
          ...(idExtractor && {
            id_extractor: {
              extract_from: 'header',
              extract_with: 'value',
              extractor_config: { header_name: 'Authorization' },
            },
          }),
        },
      });
      const docs: unknown[] = [
        auth(api('auth'), { quota_max: -1 }),
        auth(api('quota'), { quota_max: 2 }),
        auth(api('plain'), { quota_max: -1 }, false),
        {
          ...classicApi(api('response'), up.url, {
            config_data: { internal_url: 'http://internal.local', external_url: 'https://api.example.com' },
          }),
          custom_middleware: {
            driver: 'wasm',
            response: [{ name: 'response_rewrite', path: plugin('response-rewrite') }],
          },
        },
        {
          ...classicApi(api('analytics'), up.url, { enable_detailed_recording: true }),
          analytics_plugin: { enable: true, func_name: 'analytics_mask', plugin_path: plugin('analytics-mask') },
        },
      ];
      if (kit.examples.includes('endpoint-hello')) {
        // No upstream behind it: only the endpoint plugin can answer.
        docs.push({
          ...classicApi(api('hello'), 'http://127.0.0.1:1/'),
          ...endpointPlugins([
            { path: '/hello', method: 'GET', plugin_path: plugin('endpoint-hello'), func_name: 'endpoint_hello' },
          ]),
        });
      }
      if (kit.examples.includes('aggregate')) {
        // No upstream behind these APIs: only the plugin answers /summary.
        const shop = (suffix: string, usersUrl: string, ordersUrl: string, outbound: Record<string, unknown>) => ({
          ...classicApi(api(suffix), 'http://127.0.0.1:1/'),
          config_data: { users_url: usersUrl, orders_url: ordersUrl },
          wasmgate: { outbound },
          ...endpointPlugins([
            { path: '/summary', method: 'GET', plugin_path: plugin('aggregate'), func_name: 'aggregate' },
          ]),
        });
        const both = [users.url, orders.url];
        docs.push(
          shop('shop', `${users.url}/users`, `${orders.url}/orders`, { allow: both }),
          shop('shop-busy', `${up.url}/status/503`, `${orders.url}/orders`, { allow: [up.url, orders.url] }),
          shop('shop-refused', `${elsewhere.url}/users`, `${orders.url}/orders`, { allow: both }),
          shop('shop-loopback-name', `http://localhost:${users.port}/users`, `${orders.url}/orders`, {
            allow: [`http://localhost:${users.port}`, orders.url],
          }),
          shop('shop-slow', `${users.url}/users`, `${up.url}/slow/3000`, {
            allow: [users.url, up.url],
            timeout_ms: 800,
          }),
        );
      }
      if (kit.examples.includes('route-by-header')) {
        docs.push({
          ...classicApi(api('routed'), us.url),
          custom_middleware: {
            driver: 'wasm',
            pre: [{ name: 'route_by_header', path: plugin('route-by-header') }],
          },
          config_data: { header: 'x-region', routes: { eu: 'eu', us: 'us', mars: 'mars' } },
          wasmgate: { upstream_targets: { eu: `${eu.url}/eu-base`, us: `${us.url}/us-base` } },
        });
      }
      gw.gateway.swap(
        await gw.gateway.load(
          docs.map((d, i) => parseApiDefinition(d, `${kit.lang}[${i}]`)),
          FIXTURES,
        ),
      );
      gw.gateway.runtime.onCall = (e) => {
        if (e.exportName === 'auth_token' && e.ok) authCalls.push(e.apiId);
      };
    }, 900_000);
    afterAll(async () => {
      await gw?.close();
    });

    const get = (path: string, headers: Record<string, string> = {}) => fetch(`${gw.url}${path}`, { headers });
    const callsOn = (id: string) => authCalls.filter((a) => a === id).length;

    it('auth-token: 401 without a token, 403 for an unknown one, both from the plugin', async () => {
      const seen = up.seen.length;
      const missing = await get(`/${api('plain')}/x`);
      expect(missing.status).toBe(401);
      expect(await missing.json()).toMatchObject({ error: 'missing credential' });
      const unknown = await get(`/${api('plain')}/x`, { authorization: 'Bearer nope' });
      expect(unknown.status).toBe(403);
      expect(await unknown.json()).toMatchObject({ error: 'invalid token' });
      expect(callsOn(api('plain'))).toBe(2);
      // With the ID extractor, a request without the credential never reaches the plugin.
      const noCredential = await get(`/${api('auth')}/x`);
      expect(noCredential.status).toBe(401);
      await noCredential.arrayBuffer();
      expect(callsOn(api('auth'))).toBe(0);
      const unknownCached = await get(`/${api('auth')}/x`, { authorization: 'Bearer nope' });
      expect(unknownCached.status).toBe(403);
      expect(await unknownCached.json()).toMatchObject({ error: 'invalid token' });
      expect(up.seen.length).toBe(seen);
    });

    it('auth-token: 200 with a token, with or without "Bearer "; the upstream sees the auth trace', async () => {
      const res = await get(`/${api('auth')}/items/1`, { authorization: 'Bearer tok-alice' });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      expect(up.last().path).toBe('/items/1');
      expect(up.last().headers['x-wasmgate-trace']).toBe('auth');
      const raw = await get(`/${api('auth')}/items/2`, { authorization: 'tok-bob' });
      expect(raw.status).toBe(200);
      await raw.arrayBuffer();
    });

    it('auth-token: the ID extractor reuses the session until its deadline, once per credential', async () => {
      const before = callsOn(api('auth'));
      for (let i = 0; i < 3; i++) {
        const res = await get(`/${api('auth')}/cached`, { authorization: 'Bearer tok-quota' });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      expect(callsOn(api('auth')) - before).toBe(1);
      const other = await get(`/${api('auth')}/cached`, { authorization: 'Bearer tok-alice' });
      await other.arrayBuffer();
      // tok-alice was already cached by the previous test: no call either.
      expect(callsOn(api('auth')) - before).toBe(1);
      // Without the ID extractor the plugin runs on every request.
      const plainBefore = callsOn(api('plain'));
      for (let i = 0; i < 3; i++) {
        const res = await get(`/${api('plain')}/x`, { authorization: 'tok-alice' });
        expect(res.status).toBe(200);
        await res.arrayBuffer();
      }
      expect(callsOn(api('plain')) - plainBefore).toBe(3);
    });

    it("auth-token: the plugin's session carries the quota, counted per token", async () => {
      const remaining: (string | null)[] = [];
      for (let i = 0; i < 2; i++) {
        const res = await get(`/${api('quota')}/q`, { authorization: 'Bearer tok-quota' });
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit')).toBe('2');
        remaining.push(res.headers.get('x-ratelimit-remaining'));
        await res.arrayBuffer();
      }
      expect(remaining).toEqual(['1', '0']);
      const over = await get(`/${api('quota')}/q`, { authorization: 'Bearer tok-quota' });
      expect(over.status).toBe(403);
      expect((await over.json()).error).toBe('quota_exceeded');
      // Another token has its own quota.
      const bob = await get(`/${api('quota')}/q`, { authorization: 'Bearer tok-bob' });
      expect(bob.status).toBe(200);
      await bob.arrayBuffer();
    });

    it('response-rewrite: adds two Set-Cookie values after the upstream ones and rewrites Location', async () => {
      const res = await get(`/${api('response')}/cookies`);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('cookies');
      const cookies = res.headers.getSetCookie();
      expect(cookies).toHaveLength(4);
      expect(cookies.slice(0, 2)).toEqual(['a=1', 'b=2']);
      expect(cookies[2]).toMatch(/^wg_session=[^;\s]+; HttpOnly; Secure$/);
      expect(cookies[3]).toBe('wg_lang=en-US; Secure');

      const plain = await get(`/${api('response')}/anything`);
      await plain.arrayBuffer();
      const two = plain.headers.getSetCookie();
      expect(two).toHaveLength(2);
      expect(two[0]).not.toBe(cookies[2]); // a new request id per request

      const moved = await fetch(`${gw.url}/${api('response')}/redirect`, { redirect: 'manual' });
      await moved.arrayBuffer();
      expect(moved.status).toBe(302);
      expect(moved.headers.get('location')).toBe('https://api.example.com/welcome');
    });

    it('analytics-mask: the stored record has Authorization masked in raw_request', async () => {
      const path = `/${api('analytics')}/secret`;
      const res = await get(path, { authorization: 'Bearer s3cret-value', 'x-other': 'kept' });
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      let rec: Record<string, unknown> | undefined;
      for (let i = 0; i < 100 && !rec; i++) {
        rec = (await records(gw)).find((r) => r.api_id === api('analytics') && r.path === '/secret');
        if (!rec) await new Promise((r) => setTimeout(r, 50));
      }
      expect(rec).toBeDefined();
      const raw = Buffer.from(rec!.raw_request as string, 'base64').toString();
      expect(raw).toMatch(new RegExp(`^GET ${path} HTTP/1.1\\r\\n`));
      expect(raw).toContain('authorization: ****\r\n');
      expect(raw).toContain('x-other: kept\r\n');
      expect(raw).not.toContain('s3cret-value');
    });

    // Rust has no endpoint-hello example.
    if (kit.examples.includes('endpoint-hello')) {
      it('endpoint-hello: answers by itself, without the upstream', async () => {
        const seen = up.seen.length;
        const res = await get(`/${api('hello')}/hello?name=Zo%C3%AB%22`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json');
        // request.url is the path the plugin sees (listen path stripped, no query).
        expect(await res.json()).toEqual({ hello: 'Zoë"', path: '/hello' });
        const world = await get(`/${api('hello')}/hello`);
        expect(await world.json()).toEqual({ hello: 'world', path: '/hello' });
        // Not the plugin's path: proxied to the upstream, which is not there.
        const elsewhere = await get(`/${api('hello')}/other`);
        expect(elsewhere.status).toBe(502);
        await elsewhere.arrayBuffer();
        expect(up.seen.length).toBe(seen);
      });
    }

    if (kit.examples.includes('aggregate')) {
      it('aggregate: both services called in parallel, one JSON answer in about the time of the slower', async () => {
        const warm = await get(`/${api('shop')}/summary`);
        await warm.arrayBuffer();
        const [usersHits, ordersHits] = [users.hits, orders.hits];
        const started = performance.now();
        const res = await get(`/${api('shop')}/summary`);
        const body = await res.text();
        const elapsed = performance.now() - started;
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toBe('application/json');
        // The bodies embedded byte for byte ("Zoë" stays UTF-8, 12.5 stays as written).
        expect(body).toBe('{"users":[{"id":1,"name":"Zoë"}],"orders":[{"id":7,"total":12.5}]}');
        expect([users.hits - usersHits, orders.hits - ordersHits]).toEqual([1, 1]);
        // users takes 300 ms, orders 500 ms: in parallel ≈ 500, in sequence ≥ 800.
        expect(elapsed).toBeGreaterThanOrEqual(490);
        expect(elapsed).toBeLessThan(760);
      });

      it("aggregate: a service's error status and the gateway's refusals reach the plugin, which answers 502", async () => {
        const elsewhereHits = elsewhere.hits;
        for (const [suffix, error] of [
          ['shop-busy', 'users failed: status 503'],
          ['shop-refused', 'users failed: ORIGIN_NOT_ALLOWED'],
          ['shop-loopback-name', 'users failed: ADDRESS_REFUSED'],
          ['shop-slow', 'orders failed: TIMEOUT'],
        ] as const) {
          const started = performance.now();
          const res = await get(`/${api(suffix)}/summary`);
          expect([suffix, res.status]).toEqual([suffix, 502]);
          expect(await res.json()).toEqual({ error });
          if (suffix === 'shop-slow') expect(performance.now() - started).toBeLessThan(2_000);
        }
        expect(elsewhere.hits).toBe(elsewhereHits);
      });
    }

    if (kit.examples.includes('route-by-header')) {
      it('route-by-header: the header picks an allowed upstream target; a target the API does not list fails', async () => {
        const routed = await get(`/${api('routed')}/orders/7`, { 'x-region': 'eu' });
        expect(routed.status).toBe(200);
        expect(await routed.json()).toEqual({ region: 'eu', path: '/eu-base/orders/7' });
        const other = await get(`/${api('routed')}/orders/8`, { 'x-region': 'us' });
        expect(await other.json()).toEqual({ region: 'us', path: '/us-base/orders/8' });
        // No header, no default: the API's own target, path as is.
        const plain = await get(`/${api('routed')}/x`);
        expect(await plain.json()).toEqual({ region: 'us', path: '/x' });
        const refused = await get(`/${api('routed')}/x`, { 'x-region': 'mars' });
        expect(refused.status).toBe(500);
        expect(await refused.json()).toMatchObject({ error: 'plugin_error' });
      });
    }
  });
}
