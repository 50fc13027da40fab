/**
 * The admin API over real HTTP: auth, APIs (both formats), keys, policies,
 * plugin uploads, ETags, persistence across a restart, and reload notices
 * between two nodes on one Redis.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, startApp } from '../../gateway/app.ts';
import { createLogger } from '../../gateway/log.ts';
import { loadSettings, type Settings } from '../../gateway/settings.ts';
import { classicApi, FIXTURES, probeWasm, startUpstream, type Upstream } from '../harness/gateway.ts';
import { RedisServer, redisAvailable } from '../harness/redis.ts';
import { wat } from '../harness/wat.ts';

const SECRET = 'test-admin-secret-0123456789';
let up: Upstream;
const redis = redisAvailable();

async function boot(dataDir: string, extra: Partial<Settings> = {}): Promise<App> {
  const settings = await loadSettings({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      adminHost: '127.0.0.1',
      adminPort: 0,
      demo: false,
      dataDir,
      logLevel: 'silent',
      adminSecret: SECRET,
      ...extra,
    },
  });
  return startApp(settings, createLogger('silent'));
}

function admin(app: App) {
  const base = `http://127.0.0.1:${app.adminPort}`;
  return (path: string, init: RequestInit & { json?: unknown; secret?: string | null } = {}) => {
    const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
    if (init.secret !== null) headers['x-tyk-authorization'] = init.secret ?? SECRET;
    if (init.json !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${base}${path}`, {
      ...init,
      headers,
      body: init.json !== undefined ? JSON.stringify(init.json) : init.body,
    });
  };
}

beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  await up?.close();
});

describe('admin API, embedded store', () => {
  let dir: string;
  let app: App;
  let call: ReturnType<typeof admin>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wasmgate-admin-'));
    app = await boot(dir);
    call = admin(app);
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('answers the same 403 for a missing and a wrong secret; liveness needs none', async () => {
    const missing = await call('/tyk/apis', { secret: null });
    const wrong = await call('/tyk/apis', { secret: 'nope' });
    expect(missing.status).toBe(403);
    expect(wrong.status).toBe(403);
    expect(await missing.text()).toBe(await wrong.text());
    expect((await call('/tyk/health', { secret: null })).status).toBe(200);
    const ready = await call('/tyk/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'pass', store: { kind: 'memory', ok: true } });
  });

  it('creates, serves, updates with If-Match, and deletes an API', async () => {
    const created = await call('/tyk/apis', { method: 'POST', json: classicApi('adm', up.url) });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ key: 'adm', status: 'ok', action: 'added' });
    expect((await fetch(`http://127.0.0.1:${app.port}/adm/x`)).status).toBe(200);
    expect((await call('/tyk/apis', { method: 'POST', json: classicApi('adm', up.url) })).status).toBe(409);

    const got = await call('/tyk/apis/adm');
    const etag = got.headers.get('etag')!;
    expect(etag).toBeTruthy();
    const changed = {
      ...classicApi('adm', up.url),
      proxy: { listen_path: '/adm2/', target_url: up.url, strip_listen_path: true },
    };
    expect(
      (await call('/tyk/apis/adm', { method: 'PUT', json: changed, headers: { 'if-match': '"stale"' } })).status,
    ).toBe(412);
    expect((await call('/tyk/apis/adm', { method: 'PUT', json: changed, headers: { 'if-match': etag } })).status).toBe(
      200,
    );
    expect((await fetch(`http://127.0.0.1:${app.port}/adm2/x`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${app.port}/adm/x`)).status).toBe(404);

    expect((await call('/tyk/apis/adm', { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${app.port}/adm2/x`)).status).toBe(404);
    expect((await call('/tyk/apis/adm')).status).toBe(404);
  });

  it('refuses a bad definition with an error naming the field, and keeps the running version', async () => {
    await call('/tyk/apis', { method: 'POST', json: classicApi('keep', up.url) });
    const bad = await call('/tyk/apis/keep', {
      method: 'PUT',
      json: { ...classicApi('keep', up.url), proxy: { listen_path: '/keep/', target_url: 'not a url' } },
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toContain('proxy.target_url');
    const missingPlugin = await call('/tyk/apis/keep', {
      method: 'PUT',
      json: {
        ...classicApi('keep', up.url),
        custom_middleware: { driver: 'wasm', pre: [{ name: 'f', path: 'ghost@1.0.0' }] },
      },
    });
    expect(missingPlugin.status).toBe(422);
    expect((await fetch(`http://127.0.0.1:${app.port}/keep/x`)).status).toBe(200);
  });

  it('accepts Tyk OAS definitions', async () => {
    const oas = JSON.parse(
      (await readFile(join(FIXTURES, 'apis', 'oas-post-plugins.json'), 'utf8')).replace(
        'http://httpbin.org/',
        `${up.url}/`,
      ),
    );
    delete oas['x-tyk-api-gateway'].middleware;
    expect((await call('/tyk/apis', { method: 'POST', json: oas })).status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${app.port}/example-endpoint-plugin/anything`)).status).toBe(200);
  });

  it('uploads a plugin version, lists it, refuses a duplicate and an in-use delete', async () => {
    const bytes = await readFile(await probeWasm());
    const up1 = await call('/tyk/plugins/probe/1.0.0', {
      method: 'POST',
      body: bytes,
      headers: { 'content-type': 'application/wasm' },
    });
    expect(up1.status).toBe(201);
    expect((await up1.json()).plugin).toMatchObject({
      name: 'probe',
      version: '1.0.0',
      exports: expect.arrayContaining(['stamp']),
    });
    expect(
      (
        await call('/tyk/plugins/probe/1.0.0', {
          method: 'POST',
          body: bytes,
          headers: { 'content-type': 'application/wasm' },
        })
      ).status,
    ).toBe(409);
    const bad = await call('/tyk/plugins/evil/1.0.0', {
      method: 'POST',
      body: Buffer.from(wat('unknown-import')),
      headers: { 'content-type': 'application/wasm' },
    });
    expect(bad.status).toBe(422);
    expect((await bad.json()).error).toBe('IMPORT_NOT_ALLOWED');

    await call('/tyk/apis', {
      method: 'POST',
      json: {
        ...classicApi('plugged', up.url),
        custom_middleware: { driver: 'wasm', pre: [{ name: 'stamp', path: 'probe@1.0.0' }] },
      },
    });
    await (await fetch(`http://127.0.0.1:${app.port}/plugged/x`)).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('pre');
    const info = await (await call('/tyk/plugins/probe')).json();
    expect(info.versions[0]).toMatchObject({
      version: '1.0.0',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      used_by: ['plugged'],
    });
    expect((await call('/tyk/plugins/probe/1.0.0', { method: 'DELETE' })).status).toBe(409);
  });

  it('creates keys (shown once, stored hashed) and policies', async () => {
    await call('/tyk/apis', { method: 'POST', json: { ...classicApi('locked', up.url), use_keyless: false } });
    const created = await call('/tyk/keys', { method: 'POST', json: { rate: 100, per: 1, apply_policies: ['p1'] } });
    expect(created.status).toBe(201);
    const { key } = await created.json();
    // The policy does not exist yet: refused.
    expect((await fetch(`http://127.0.0.1:${app.port}/locked/x`, { headers: { authorization: key } })).status).toBe(
      403,
    );
    expect((await call('/tyk/policies', { method: 'POST', json: { id: 'p1', rate: 100, per: 1 } })).status).toBe(201);
    expect((await fetch(`http://127.0.0.1:${app.port}/locked/x`, { headers: { authorization: key } })).status).toBe(
      200,
    );
    expect((await call(`/tyk/keys/${key}`)).status).toBe(200);
    const bad = await call('/tyk/keys', { method: 'POST', json: { rate: 'fast' } });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toContain('rate');
    expect((await call(`/tyk/keys/${key}`, { method: 'DELETE' })).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${app.port}/locked/x`, { headers: { authorization: key } })).status).toBe(
      403,
    );
  });

  it('keeps APIs, plugins and policies across a restart', async () => {
    await app.close();
    app = await boot(dir);
    call = admin(app);
    await (await fetch(`http://127.0.0.1:${app.port}/plugged/x`)).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('pre');
    expect((await call('/tyk/policies/p1')).status).toBe(200);
  });
});

describe('production mode', () => {
  it('refuses to start without an admin secret', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wasmgate-prod-'));
    const settings = await loadSettings({
      env: {},
      overrides: {
        host: '127.0.0.1',
        port: 0,
        adminPort: 0,
        demo: false,
        dataDir: dir,
        logLevel: 'silent',
        production: true,
      },
    });
    await expect(startApp(settings)).rejects.toThrow(/admin secret/);
    await rm(dir, { recursive: true, force: true });
  });
});

describe.skipIf(!redis.ok)('readiness on Redis', () => {
  it('is 503 while Redis is down and 200 again once it is back', async () => {
    const server = await RedisServer.start();
    const dir = await mkdtemp(join(tmpdir(), 'wasmgate-ready-'));
    const app = await boot(dir, { redisUrl: server.url });
    try {
      const call = admin(app);
      expect((await call('/tyk/ready')).status).toBe(200);
      await server.stop();
      const down = await call('/tyk/ready');
      expect(down.status).toBe(503);
      expect(await down.json()).toMatchObject({ status: 'fail', store: { kind: 'redis', ok: false } });
      await server.resume();
      let status = 0;
      for (let i = 0; i < 100 && status !== 200; i++) {
        status = (await call('/tyk/ready')).status;
        if (status !== 200) await new Promise((r) => setTimeout(r, 100));
      }
      expect(status).toBe(200);
    } finally {
      await app.close();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe.skipIf(!redis.ok)('two nodes on one Redis', () => {
  it('an API created on one node serves on the other within a second', async () => {
    const server = await RedisServer.start();
    const [d1, d2] = [await mkdtemp(join(tmpdir(), 'wasmgate-n1-')), await mkdtemp(join(tmpdir(), 'wasmgate-n2-'))];
    const a = await boot(d1, { redisUrl: server.url });
    const b = await boot(d2, { redisUrl: server.url });
    try {
      const bytes = await readFile(await probeWasm());
      const uploaded = await admin(a)('/tyk/plugins/probe/2.0.0', {
        method: 'POST',
        body: bytes,
        headers: { 'content-type': 'application/wasm' },
      });
      expect(uploaded.status, await uploaded.clone().text()).toBe(201);
      const shared = await admin(a)('/tyk/apis', {
        method: 'POST',
        json: {
          ...classicApi('shared', up.url),
          custom_middleware: { driver: 'wasm', pre: [{ name: 'stamp', path: 'probe@2.0.0' }] },
        },
      });
      expect(shared.status, await shared.clone().text()).toBe(201);
      const started = Date.now();
      let status = 0;
      while (Date.now() - started < 5_000) {
        status = (await fetch(`http://127.0.0.1:${b.port}/shared/x`)).status;
        if (status === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(status).toBe(200);
      expect(up.last().headers['x-wasmgate-trace']).toBe('pre');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      await a.close();
      await b.close();
      await server.close();
    }
  }, 120_000);
});
