/**
 * The request path over real HTTP: a gateway on loopback, a real upstream,
 * real plugins compiled from source (the TypeScript examples and the probe
 * test plugin).
 */
import { type IncomingHttpHeaders, request } from 'node:http';
import { encode } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  classicApi,
  endpointPlugins,
  startGateway,
  startUpstream,
  type TestGateway,
  type Upstream,
} from '../harness/gateway.ts';

const b64 = (v: unknown) => Buffer.from(encode(v)).toString('base64');
const mw = (m: Record<string, unknown>) => ({ custom_middleware: { driver: 'wasm', ...m } });
const p = (name: string, plugin = 'probe@1.0.0', extra: Record<string, unknown> = {}) => ({
  name,
  path: plugin,
  ...extra,
});
const goPlugin = (path: string, method: string, func: string, extra: Record<string, unknown> = {}) =>
  endpointPlugins([{ path, method, func_name: func, plugin_path: 'probe@1.0.0', ...extra }]);

let up: Upstream;
let gw: TestGateway;
const REQUEST_HOOKS = ['pre', 'auth', 'post_auth', 'endpoint', 'post'] as const;

function hookApi(
  id: string,
  hook: (typeof REQUEST_HOOKS)[number],
  exportName: string,
  config: Record<string, unknown> = {},
) {
  const base = classicApi(id, up.url, { config_data: config });
  if (hook === 'auth')
    return { ...base, use_keyless: false, enable_coprocess_auth: true, ...mw({ auth_check: p(exportName) }) };
  if (hook === 'endpoint') return { ...base, ...goPlugin('/x', 'GET', exportName) };
  const key = hook === 'post_auth' ? 'post_key_auth' : hook;
  return { ...base, ...mw({ [key]: [p(exportName)] }) };
}

beforeAll(async () => {
  up = await startUpstream();
  const apis: unknown[] = [
    // Every hook, Tyk's order.
    {
      ...classicApi('all', up.url, {
        use_keyless: false,
        enable_coprocess_auth: true,
        config_data: {
          tokens: { 'demo-token': 'alice' },
          rate: 1000,
          per: 1,
          quota_max: -1,
          cache_seconds: 60,
          internal_url: 'http://internal.local',
          external_url: 'https://api.example.com',
        },
      }),
      ...mw({
        pre: [p('pre_enrich', 'pre-enrich@1.0.0')],
        auth_check: p('auth_token', 'auth-token@1.0.0'),
        post_key_auth: [p('post_auth_stamp', 'post-auth-stamp@1.0.0')],
        post: [p('post_last', 'post-last@1.0.0')],
        response: [p('response_rewrite', 'response-rewrite@1.0.0')],
      }),
      ...goPlugin('/anything/{id}', 'GET', 'stamp'),
    },
    ...REQUEST_HOOKS.map((h) => hookApi(`respond-${h}`, h, 'respond', { status: 418 })),
    hookApi('error-json', 'pre', 'respond_error', { status: 403, message: 'denied' }),
    hookApi('error-raw', 'pre', 'respond_error', { status: 403, message: 'denied', override_error: true }),
    hookApi('observe-pre', 'pre', 'observe'),
    {
      ...classicApi('observe-post', up.url, { use_keyless: false, enable_coprocess_auth: true }),
      ...mw({ auth_check: p('auth_ok'), post: [p('observe')] }),
    },
    hookApi('observe-endpoint', 'endpoint', 'observe'),
    hookApi('raw-pre', 'pre', 'raw', { raw_pre: b64({ session: { rate: 1 } }) }),
    hookApi('raw-post-auth', 'post_auth', 'raw', { raw_post_auth: b64({ session: { rate: 1 } }) }),
    hookApi('raw-post', 'post', 'raw', { raw_post: b64({ response: { status_code: 201 } }) }),
    hookApi('raw-crlf', 'pre', 'raw', { raw_pre: b64({ request: { set_headers: { 'x-a': ['ok\r\nInjected: 1'] } } }) }),
    hookApi('raw-host', 'pre', 'raw', { raw_pre: b64({ request: { set_headers: { host: ['evil.example'] } } }) }),
    hookApi('raw-partial', 'pre', 'raw', {
      raw_pre: b64({ request: { set_headers: { 'x-ok': ['1'] }, add_headers: { 'x-bad': ['\u0000'] } } }),
    }),
    hookApi('raw-ok', 'pre', 'raw', {
      raw_pre: b64({
        request: {
          set_headers: { 'X-Set': 'one', 'x-multi': ['a', 'b'] },
          add_params: { q: 'v' },
          delete_params: ['drop'],
        },
      }),
    }),
    {
      ...classicApi('raw-response', up.url, {
        config_data: { raw_response: b64({ return_overrides: { response_code: 200 } }) },
      }),
      ...mw({ response: [p('raw')] }),
    },
    // A value Node would refuse to write (a control character); one beyond Latin-1, sent as UTF-8.
    hookApi('raw-control', 'pre', 'raw', { raw_pre: b64({ request: { set_headers: { 'x-a': ['a\u0001b'] } } }) }),
    {
      ...classicApi('raw-response-value', up.url, {
        config_data: { raw_response: b64({ response: { add_headers: { 'x-a': ['snow \u2603'] } } }) },
      }),
      ...mw({ response: [p('raw')] }),
    },
    hookApi('auth-fails', 'auth', 'fail'),
    hookApi('auth-traps', 'auth', 'trap'),
    hookApi('pre-fails', 'pre', 'fail'),
    hookApi('reroute', 'post', 'reroute', { path: '/rerouted/here' }),
    {
      ...classicApi('fail-open', up.url),
      ...mw({ post: [p('fail', 'probe@1.0.0', { fail_open: true }), p('stamp')] }),
    },
    {
      ...classicApi('order', up.url),
      ...mw({ pre: [p('stamp'), p('stamp')], post: [p('stamp')] }),
      ...goPlugin('/x', 'GET', 'stamp'),
    },
    {
      ...classicApi('cookies', up.url, {
        config_data: { internal_url: 'http://internal.local', external_url: 'https://ext.example' },
      }),
      ...mw({ response: [p('response_rewrite', 'response-rewrite@1.0.0')] }),
    },
    { ...classicApi('body-pre', up.url), ...mw({ pre: [p('rewrite_body', 'probe@1.0.0', { needs_body: true })] }) },
    {
      ...classicApi('body-response', up.url),
      ...mw({ response: [p('response_body', 'probe@1.0.0', { needs_body: true })] }),
    },
    classicApi('plain', up.url),
    { ...classicApi('quarantine', up.url), ...mw({ pre: [p('trap')] }) },
    classicApi('refused', 'http://127.0.0.1:1/'),
    {
      ...classicApi('slow', up.url),
      proxy: { listen_path: '/slow/', target_url: up.url, strip_listen_path: true, timeout: 0.3 },
    },
    {
      ...classicApi('nostrip', up.url),
      proxy: { listen_path: '/nostrip/', target_url: `${up.url}/base/`, strip_listen_path: false },
    },
  ];
  gw = await startGateway({
    apis,
    plugins: ['probe', 'pre-enrich', 'auth-token', 'post-auth-stamp', 'post-last', 'response-rewrite'],
    settings: { maxBodyBytes: 64 * 1024, limits: { quarantineAfterFailures: 3, quarantineMs: 60_000 } as never },
  });
}, 300_000);

afterAll(async () => {
  await gw?.close();
  await up?.close();
});

const get = (path: string, init?: RequestInit) => fetch(`${gw.url}${path}`, init);

/** node:http, for headers fetch refuses to send (Connection, TE). */
function rawRequest(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${gw.url}${path}`, { headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the chain in Tyk order', () => {
  it('runs pre → auth → post-auth → endpoint → post → upstream → response on one request', async () => {
    const res = await get('/all/anything/42?x=1', { headers: { authorization: 'Bearer demo-token' } });
    expect(res.status).toBe(200);
    const seen = up.last();
    const trace = [];
    for (let i = 0; i < seen.rawHeaders.length; i += 2)
      if (seen.rawHeaders[i]!.toLowerCase() === 'x-wasmgate-trace') trace.push(seen.rawHeaders[i + 1]);
    expect(trace).toEqual(['pre', 'auth', 'post_auth', 'endpoint', 'post']);
    expect(seen.headers['x-user']).toBe('alice');
    expect(seen.headers['x-gateway']).toBe('wasmgate');
    expect(seen.headers['x-request-id']).toBe(res.headers.get('x-request-id'));
    expect(seen.path).toBe('/anything/42?x=1');
    expect(res.headers.getSetCookie()).toEqual([
      `wg_session=${res.headers.get('x-request-id')}; HttpOnly; Secure`,
      'wg_lang=en-US; Secure',
    ]);
  });

  it('runs several plugins of one hook in definition order, endpoint plugins before API-level post', async () => {
    await (await get('/order/x')).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('pre, pre, endpoint, post');
    await (await get('/order/y')).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('pre, pre, post');
    await (await get('/order/x', { method: 'POST', body: 'b' })).text();
    expect(up.last().headers['x-wasmgate-trace']).toBe('pre, pre, post');
  });

  it('the auth plugin answers for itself: 401 without a credential, 403 for an unknown token', async () => {
    const before = up.seen.length;
    const missing = await get('/all/anything/1');
    expect(missing.status).toBe(401);
    expect(await missing.json()).toEqual({ error: 'missing credential' });
    const unknown = await get('/all/anything/1', { headers: { authorization: 'Bearer nope' } });
    expect(unknown.status).toBe(403);
    expect(up.seen.length).toBe(before);
  });
});

describe('ReturnOverrides from every request hook', () => {
  for (const hook of REQUEST_HOOKS) {
    it(`${hook} ends the request with its own status, headers and body`, async () => {
      const before = up.seen.length;
      const res = await get(`/respond-${hook}/x`);
      expect(res.status).toBe(418);
      expect(res.headers.get('x-from')).toBe(hook);
      expect(await res.text()).toBe(`${hook} says no`);
      expect(up.seen.length).toBe(before);
    });
  }

  it("follows Tyk's override_error rule", async () => {
    const json = await get('/error-json/x');
    expect(json.status).toBe(403);
    expect(json.headers.get('content-type')).toBe('application/json');
    expect(await json.json()).toEqual({ error: 'denied' });
    const raw = await get('/error-raw/x');
    expect(raw.status).toBe(403);
    expect(await raw.text()).toBe('denied');
  });
});

describe('the capability matrix, enforced by the host', () => {
  it('pre sees no session; post sees the session the auth plugin made', async () => {
    expect(await (await get('/observe-pre/x')).json()).toMatchObject({ hook: 'pre', session: false });
    expect(await (await get('/observe-post/x', { headers: { authorization: 't' } })).json()).toMatchObject({
      hook: 'post',
      session: true,
      user: 'probe',
      trace: 'auth',
    });
    expect(await (await get('/observe-endpoint/x')).json()).toMatchObject({ hook: 'endpoint', url: '/x' });
  });

  for (const [api, why] of [
    ['raw-pre', 'a session from pre'],
    ['raw-post-auth', 'a session from post_auth'],
    ['raw-post', 'a response change from a request hook'],
    ['raw-crlf', 'a header value with CR/LF'],
    ['raw-host', 'setting Host'],
    ['raw-partial', 'a result with one bad part (nothing applied)'],
    ['raw-response', 'ReturnOverrides from the response hook'],
    ['raw-control', 'a header value with a control character'],
    ['pre-fails', 'a plugin failing on purpose'],
  ] as const) {
    it(`refuses ${why}: 500 plugin_error, nothing internal, upstream untouched`, async () => {
      const before = up.seen.length;
      const res = await get(`/${api}/x`);
      expect(res.status).toBe(500);
      const body = await res.json();
      expect(body).toEqual({ error: 'plugin_error', request_id: res.headers.get('x-request-id') });
      if (api !== 'raw-response') expect(up.seen.length).toBe(before);
    });
  }

  it('an auth plugin failure is a 403', async () => {
    for (const api of ['auth-fails', 'auth-traps']) {
      const res = await get(`/${api}/x`);
      expect(res.status).toBe(403);
      expect((await res.json()).error).toBe('plugin_error');
    }
  });

  it('applies header and query changes: set replaces every value, params set and deleted', async () => {
    const res = await get('/raw-ok/x?q=old&q=older&drop=1&keep=2', { headers: { 'x-set': 'original' } });
    expect(res.status).toBe(200);
    const seen = up.last();
    expect(seen.headers['x-set']).toBe('one');
    expect(seen.headers['x-multi']).toBe('a, b');
    expect(new URLSearchParams(seen.path.split('?')[1]).getAll('q')).toEqual(['v']);
    expect(seen.path).toContain('keep=2');
    expect(seen.path).not.toContain('drop');
  });

  it('a header value beyond ASCII leaves as the UTF-8 the plugin wrote', async () => {
    const res = await get('/raw-response-value/x');
    expect(res.status).toBe(200);
    // fetch reads header bytes one character each (Latin-1); the bytes are UTF-8.
    expect(Buffer.from(res.headers.get('x-a') ?? '', 'latin1').toString('utf8')).toBe('snow \u2603');
    await res.arrayBuffer();
  });

  it('a request hook may rewrite the upstream path', async () => {
    await (await get('/reroute/x?a=1', { headers: { 'x-remove-me': 'yes' } })).text();
    expect(up.last().path).toBe('/rerouted/here?a=1&via=post');
    expect(up.last().headers['x-remove-me']).toBeUndefined();
  });

  it('a post plugin allowed to fail open lets the request through', async () => {
    const res = await get('/fail-open/x');
    expect(res.status).toBe(200);
    expect(up.last().headers['x-wasmgate-trace']).toBe('post');
  });
});

describe('responses', () => {
  it('keeps every Set-Cookie: the upstream two and the plugin two', async () => {
    const res = await get('/cookies/cookies');
    expect(res.headers.getSetCookie()).toEqual([
      'a=1',
      'b=2',
      `wg_session=${res.headers.get('x-request-id')}; HttpOnly; Secure`,
      'wg_lang=en-US; Secure',
    ]);
  });

  it('rewrites an internal Location', async () => {
    const res = await get('/cookies/redirect', { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('https://ext.example/welcome');
  });

  it('a response plugin that needs the body gets it and may replace status and body', async () => {
    const res = await get('/body-response/status/201');
    expect(res.status).toBe(299);
    expect(await res.text()).toBe('[201]status 201');
  });

  it('strips hop-by-hop headers both ways, including those Connection names', async () => {
    const res = await rawRequest('/plain/hop', {
      connection: 'keep-alive, x-hop-secret',
      'x-hop-secret': 'no',
      'x-kept': 'yes',
      te: 'trailers',
    });
    expect(res.body).toBe('hop');
    expect(res.headers['x-secret-hop']).toBeUndefined();
    expect(res.headers['proxy-authenticate']).toBeUndefined();
    const seen = up.last();
    expect(seen.headers['x-hop-secret']).toBeUndefined();
    expect(seen.headers.te).toBeUndefined();
    expect(seen.headers['x-kept']).toBe('yes');
    expect(seen.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
  });

  it('forwards without stripping the listen path when asked, onto the target path', async () => {
    await (await get('/nostrip/a/b')).text();
    expect(up.last().path).toBe('/base/nostrip/a/b');
  });
});

describe('bodies', () => {
  it('streams a body to the upstream when no plugin needs it', async () => {
    const big = Buffer.alloc(60 * 1024, 97);
    const res = await get('/plain/echo', { method: 'POST', body: big });
    expect((await res.json()).body_bytes).toBe(big.length);
  });

  it('streams a chunked body of unknown length', async () => {
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 10; i++) c.enqueue(new TextEncoder().encode('chunk'));
        c.close();
      },
    });
    const res = await get('/plain/echo', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect((await res.json()).body).toBe('chunk'.repeat(10));
  });

  it('buffers the body for a plugin that declared needs_body, and forwards its replacement', async () => {
    const res = await get('/body-pre/echo', { method: 'POST', body: 'héllo' });
    const echoed = await res.json();
    expect(echoed.body).toBe('[pre]héllo');
    expect(up.last().headers['content-length']).toBe(String(Buffer.byteLength('[pre]héllo')));
  });

  it('answers 413 before any plugin runs when the body is over the limit', async () => {
    const before = up.seen.length;
    const res = await get('/body-pre/echo', { method: 'POST', body: Buffer.alloc(65 * 1024) });
    expect(res.status).toBe(413);
    expect((await res.json()).error).toBe('payload_too_large');
    const declared = await get('/plain/echo', { method: 'POST', body: Buffer.alloc(65 * 1024) });
    expect(declared.status).toBe(413);
    expect(up.seen.length).toBe(before);
  });

  it('cuts a chunked body off at the limit with 413', async () => {
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 80; i++) c.enqueue(new Uint8Array(1024));
        c.close();
      },
    });
    const res = await get('/plain/echo', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(413);
  });
});

describe('errors', () => {
  it('404 JSON for a path no API serves', async () => {
    const res = await get('/nowhere/x');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: 'not_found', request_id: res.headers.get('x-request-id') });
  });

  it('502 when the upstream refuses the connection', async () => {
    const res = await get('/refused/x');
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.error).toBe('upstream_unavailable');
    expect(JSON.stringify(body)).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
  });

  it('504 when the upstream does not answer in time', async () => {
    const res = await get('/slow/slow/3000');
    expect(res.status).toBe(504);
    expect((await res.json()).error).toBe('upstream_timeout');
  });

  it('an upstream reset mid-body aborts the client response instead of completing it', async () => {
    const res = await get('/plain/reset');
    await expect(res.text()).rejects.toThrow();
    // The gateway keeps serving.
    expect((await get('/plain/echo')).status).toBe(200);
  });

  it('quarantines a plugin after repeated failures: 503 with Retry-After', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await get('/quarantine/x');
      statuses.push(res.status);
      if (res.status === 503) {
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
        expect((await res.json()).error).toBe('plugin_quarantined');
      } else {
        await res.text();
      }
    }
    expect(statuses).toEqual([500, 500, 500, 503, 503]);
    // Other APIs are unaffected.
    expect((await get('/plain/echo')).status).toBe(200);
  });

  it('refuses a path that normalisation rejects with 400', async () => {
    const res = await get('/plain/a%00b');
    expect(res.status).toBe(400);
  });

  it('routes the normalised path: dot segments cannot escape a listen path', async () => {
    await (await get('/plain/a/../b//c')).text();
    expect(up.last().path).toBe('/b/c');
  });
});
