/**
 * The kit's helpers (pdk/assembly), compiled from a test module and run in
 * the real runtime: each helper writes the canonical bytes of docs/abi.md §6
 * (checked against the TypeScript canonical encoder), the gateway accepts
 * them, helpers a hook may not use fail the call with a message, typed
 * accessors read every envelope field, and errors never trap except abort.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../pdk/build.ts';
import {
  type Envelope,
  encodeEnvelope,
  type Hook,
  type PluginBinding,
  type PluginLogLine,
  Runtime,
} from '../../runtime/index.ts';
import { FIXTURES } from '../harness/gateway.ts';
import { encodeCanonical, type Tagged } from '../vectors/canonical.ts';

const logs: PluginLogLine[] = [];
const runtime = new Runtime({ logSink: (line) => logs.push(line) });
let kit: PluginBinding;

beforeAll(async () => {
  const built = await buildPlugin(join(FIXTURES, 'plugins', 'kit-helpers'));
  kit = runtime.bind(await runtime.prepare(await readFile(built.file)), { apiId: 'kit' });
}, 120_000);
afterAll(() => runtime.close());

function envelope(hook: Hook, extra: Partial<Envelope> = {}): Envelope {
  return {
    v: 1,
    hook,
    request: {
      method: 'POST',
      url: '/items',
      request_uri: '/api/items?tag=a&tag=b',
      scheme: 'https',
      host: 'gw.example',
      remote_addr: '203.0.113.9',
      params: { tag: ['a', 'b'], clé: ['vé'] },
      headers: { 'x-multi': ['1', '2'], 'content-type': ['text/plain'] },
      body: new TextEncoder().encode('bödy'),
    },
    session: null,
    spec: {
      api_id: 'demo',
      org_id: 'acme',
      name: 'Demo',
      config_data: { greeting: 'hé', ratio: 2.75, big: 2 ** 40, flag: true, nested: { inner: 'deep' } },
    },
    metadata: { request_id: 'r-1', plugin: 'kit@1', version: '1', time: 1700000000 },
    ...extra,
  };
}

const response = { status_code: 302, headers: { 'set-cookie': ['a=1', 'b=2'], server: ['up'] }, body: null };

async function output(exportName: string, env: Envelope): Promise<Buffer> {
  return Buffer.from((await kit.callRaw(exportName, encodeEnvelope(env))).output ?? []);
}

/** The plugin's bytes equal the canonical encoding of `expected`, and the gateway accepts them. */
async function expectCanonical(exportName: string, env: Envelope, expected: Tagged) {
  const out = await output(exportName, env);
  expect(out.toString('hex')).toBe(Buffer.from(encodeCanonical(expected)).toString('hex'));
  await expect(kit.call(exportName, env.hook, env)).resolves.toBeDefined();
}

describe('kit helpers write canonical results', () => {
  it('no change: zero bytes', async () => {
    expect((await output('nothing', envelope('pre'))).length).toBe(0);
  });

  it('request changes, in §6 order whatever the call order; header names as written', async () => {
    await expectCanonical('request_all', envelope('post'), {
      request: {
        set_headers: { 'X-Mixed-Case': ['Zoë'], 'x-first': ['two'] },
        add_headers: { 'x-trace': ['a', 'b'] },
        delete_headers: ['x-drop'],
        add_params: { page: ['2'] },
        delete_params: ['debug'],
        body: { $text: 'héllo' },
        url: '/v2/items',
      },
    });
  });

  it('respond: text body as bin, multivalue headers as arrays', async () => {
    await expectCanonical('respond_text', envelope('endpoint'), {
      return_overrides: {
        response_code: 201,
        response_body: { $text: 'créé' },
        headers: { 'content-type': ['text/plain; charset=utf-8'], 'x-multi': ['1', '2'] },
      },
    });
  });

  it('respondBytes: a 300-byte body as bin16', async () => {
    const body = Buffer.from(Array.from({ length: 300 }, (_, i) => i & 0xff));
    const out = await output('respond_bytes', envelope('pre'));
    expect(out.includes(Buffer.from([0xc5, 0x01, 0x2c]))).toBe(true);
    expect(out.toString('hex')).toBe(
      Buffer.from(
        encodeCanonical({ return_overrides: { response_code: 200, response_body: { $bin: body.toString('base64') } } }),
      ).toString('hex'),
    );
  });

  it("respondError: Tyk's error answer, override_error only when asked", async () => {
    await expectCanonical('respond_error', envelope('auth'), {
      return_overrides: { response_code: 403, response_error: 'nope' },
    });
    await expectCanonical('respond_error_override', envelope('post_auth'), {
      return_overrides: { response_code: 418, response_error: 'I am a teapot', override_error: true },
    });
  });

  it('Session: every field in the Session order; floats as float64, ints shortest', async () => {
    await expectCanonical('session_all', envelope('auth'), {
      request: { add_headers: { 'x-wasmgate-trace': ['auth'] } },
      session: {
        rate: { $f64: 100 },
        per: { $f64: 60 },
        allowance: 1.5,
        quota_max: 65536,
        quota_remaining: -129,
        quota_renews: 4294967296,
        quota_renewal_rate: 3600,
        access_rights: { demo: { api_id: 'demo', api_name: 'Demo API' } },
        apply_policies: ['p1'],
        metadata: { token: 'tok', user: 'zoë' },
        tags: ['gold', 'beta'],
        expires: 0,
        id_extractor_deadline: 1700000060,
        last_updated: '2023-11-14T22:13:20Z',
        alias: 'Zoë',
        org_id: 'acme',
      },
    });
  });

  it('response changes: status, set, add (two Set-Cookie), delete, body', async () => {
    await expectCanonical('response_all', envelope('response', { response }), {
      response: {
        status_code: 299,
        set_headers: { 'x-status-was': ['302'] },
        add_headers: { 'set-cookie': ['a=1', 'b=2'] },
        delete_headers: ['server'],
        body: { $text: '{"ok":true}' },
      },
    });
  });

  it('analytics: set, drop fields, drop the record', async () => {
    const record = { path: '/x', response_code: 200, user_agent: 'curl', api_key: 'k', tags: [] };
    await expectCanonical('analytics_all', envelope('analytics', { record }), {
      record: {
        set: { path: '/masked', response_code: 599, tags: ['x', 'ÿ'] },
        drop_fields: ['user_agent', 'api_key'],
      },
    });
    await expectCanonical('analytics_drop', envelope('analytics', { record }), { record: { drop: true } });
  });
});

describe('kit errors travel as {"error": …}', () => {
  const cases: [string, Hook, RegExp][] = [
    [
      'request.setHeader',
      'response',
      /^request\.setHeader is allowed in the pre, auth, post_auth, endpoint, post hook\(s\), not in response$/,
    ],
    ['respond', 'analytics', /^respond is allowed in .* not in analytics$/],
    ['setSession', 'pre', /^setSession is allowed in the auth hook\(s\), not in pre$/],
    ['setSession', 'post_auth', /not in post_auth$/],
    ['response.setStatus', 'post', /^response\.setStatus is allowed in the response hook\(s\), not in post$/],
    ['analytics.set', 'response', /^analytics\.set is allowed in the analytics hook\(s\), not in response$/],
    ['analytics.dropRecord', 'pre', /not in pre$/],
  ];
  for (const [helper, hook, message] of cases) {
    it(`${helper} in ${hook} fails the call`, async () => {
      const env = envelope(hook, hook === 'response' ? { response } : {});
      env.request.params = { helper: [helper] };
      const { decode } = await import('msgpackr');
      const result = decode(await output('wrong_hook', env));
      expect(Object.keys(result)).toEqual(['error']);
      expect(result.error).toMatch(message);
      await expect(kit.call('wrong_hook', hook, env)).rejects.toMatchObject({ code: 'PLUGIN_ERROR' });
    });
  }

  it('ctx.fail: the first message wins and nothing else is written', async () => {
    await expect(output('fail_call', envelope('pre'))).resolves.toEqual(
      Buffer.from(encodeCanonical({ error: 'boom: ü' })),
    );
  });

  it('setPath without "/" and setStatus out of range fail with a message', async () => {
    expect(await output('bad_path', envelope('pre'))).toEqual(
      Buffer.from(encodeCanonical({ error: 'request.setPath: the path must start with "/"' })),
    );
    expect(await output('bad_status', envelope('response', { response }))).toEqual(
      Buffer.from(encodeCanonical({ error: 'response.setStatus: the status must be 100..599' })),
    );
  });

  it('an unknown envelope version answers "unsupported ABI version"', async () => {
    const env = envelope('pre');
    env.v = 2;
    expect(await output('request_all', env)).toEqual(
      Buffer.from(encodeCanonical({ error: 'unsupported ABI version' })),
    );
  });

  it('an envelope that is not msgpack fails the call with a message, without trapping', async () => {
    const { decode } = await import('msgpackr');
    const out = decode(Buffer.from((await kit.callRaw('request_all', Buffer.from('82a176', 'hex'))).output ?? []));
    expect(out.error).toMatch(/not valid msgpack/);
  });

  it('an abort (index out of range) stops the call as a trap', async () => {
    const env = envelope('pre');
    env.metadata.time = 5;
    await expect(kit.callRaw('abort_call', encodeEnvelope(env))).rejects.toMatchObject({ code: 'TRAP' });
    // The instance is replaced; the next call works.
    expect((await output('nothing', envelope('pre'))).length).toBe(0);
  });
});

describe('kit accessors, vars and log', () => {
  it('reads every typed field of the envelope', async () => {
    const { decode } = await import('msgpackr');
    const env = envelope('response', {
      response,
      session: { rate: 100.5, quota_max: -1, metadata: { user: 'zoë' } },
    });
    expect(decode(await output('accessors', env))).toEqual([
      'response',
      'POST',
      '/items',
      '/api/items?tag=a&tag=b',
      'https gw.example 203.0.113.9',
      ['1', '2'],
      'text/plain|null|a|vé|1',
      ['a', 'b'],
      'bödy',
      'hé',
      'fallback',
      2.75,
      BigInt(2 ** 40), // msgpackr reads uint64 as a bigint
      2,
      true,
      'deep',
      true,
      'demo acme Demo',
      'r-1 kit@1 1',
      1700000000,
      'zoë',
      100.5,
      -1,
      302,
      ['a=1', 'b=2'],
    ]);
  });

  it('memory is reclaimed between calls (incremental runtime): 3,000 calls on 40 KB envelopes stay under the memory cap', async () => {
    const env = envelope('post');
    for (let i = 0; i < 40; i++) env.request.headers[`x-pad-${i}`] = ['é'.repeat(500)];
    const input = encodeEnvelope(env);
    expect(input.byteLength).toBeGreaterThan(40_000);
    for (let i = 0; i < 3_000; i++) {
      const { output } = await kit.callRaw('request_all', input);
      expect(output?.byteLength).toBeGreaterThan(0);
    }
  }, 120_000);

  it('vars persist within an instance; log lines reach the sink as UTF-8, escaped', async () => {
    logs.length = 0;
    const { decode } = await import('msgpackr');
    const first = decode(await output('vars_and_log', envelope('pre')));
    expect(first.request.set_headers).toEqual({ 'x-count': ['1'], 'x-bytes': ['2'] });
    expect(logs).toEqual([
      { level: 'info', text: 'call 1 für r-1' },
      { level: 'warn', text: 'line\\nbreak' },
    ]);
    const second = decode(await output('vars_and_log', envelope('pre')));
    expect(Number(second.request.set_headers['x-count'][0])).toBeGreaterThanOrEqual(1);
  });
});
