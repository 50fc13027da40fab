/**
 * The codec at the edge where plugin output enters the gateway, driven
 * through real modules: the echo plugins return whatever result bytes the
 * test hands them, so every refusal below went through a real call, the
 * pool, and the output path (fast and stock) before reaching the decoder.
 */
import { encode } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  decodeResult,
  HOOKS,
  type Hook,
  type PluginBinding,
  Runtime,
  type WasmgateError,
} from '../../runtime/index.ts';
import { wat } from '../harness/wat.ts';
import { codeOf } from './liveness.ts';

// Quarantine off: these echo bindings return hundreds of refused results on purpose.
const runtime = new Runtime({ limits: { maxOutputBytes: 64 * 1024, quarantineAfterFailures: 0 } });
afterAll(() => runtime.close());

let fast: PluginBinding;
let stock: PluginBinding;
let fixed: PluginBinding;
beforeAll(async () => {
  fast = runtime.bind(await runtime.prepare(wat('echo-fast')), { apiId: 'codec-fast' });
  stock = runtime.bind(await runtime.prepare(wat('echo-stock')), { apiId: 'codec-stock' });
  fixed = runtime.bind(await runtime.prepare(wat('bad-results')), { apiId: 'codec-fixed' });
});

/** What the plugin "returns" (through the echo) for `hook`, through both paths; both must agree. */
async function result(value: unknown, hook: Hook): Promise<{ ok: unknown } | { code: string; message: string }> {
  const bytes = value instanceof Uint8Array ? value : encode(value);
  const outcomes = await Promise.all(
    [fast, stock].map((b) =>
      b.call('echo', hook, bytes).then(
        (ok) => ({ ok }),
        (e: WasmgateError) => ({ code: codeOf(e), message: e.message }),
      ),
    ),
  );
  expect(outcomes[1]).toEqual(outcomes[0]);
  return outcomes[0]!;
}

const code = async (value: unknown, hook: Hook) => {
  const r = await result(value, hook);
  return 'code' in r ? r.code : 'ok';
};

describe('capabilities per hook', () => {
  const fields: Record<string, { value: unknown; hooks: Hook[] }> = {
    request: {
      value: { request: { set_headers: { 'x-a': '1' } } },
      hooks: ['pre', 'auth', 'post_auth', 'endpoint', 'post'],
    },
    return_overrides: {
      value: { return_overrides: { response_code: 418 } },
      hooks: ['pre', 'auth', 'post_auth', 'endpoint', 'post'],
    },
    session: { value: { session: { rate: 10, per: 60, metadata: { token: 't' } } }, hooks: ['auth'] },
    response: { value: { response: { status_code: 201 } }, hooks: ['response'] },
    record: { value: { record: { drop: true } }, hooks: ['analytics'] },
  };
  for (const [field, { value, hooks }] of Object.entries(fields)) {
    it(`"${field}" is accepted from ${hooks.join(', ')} and refused with HOOK_NOT_ALLOWED elsewhere`, async () => {
      for (const hook of HOOKS) {
        expect([hook, await code(value, hook)]).toEqual([hook, hooks.includes(hook) ? 'ok' : 'HOOK_NOT_ALLOWED']);
      }
    });
  }

  it('a session from a pre hook is refused (the fixture module)', async () => {
    await expect(fixed.call('session_from_pre', 'pre', new Uint8Array(0))).rejects.toMatchObject({
      code: 'HOOK_NOT_ALLOWED',
      message: 'a pre plugin may not return "session"',
    });
    await expect(fixed.call('session_from_pre', 'auth', new Uint8Array(0))).resolves.toEqual({
      session: { rate: 1, per: 1 },
    });
  });
});

describe('all or nothing', () => {
  it('one bad part refuses the whole result, whatever its position', async () => {
    const good = { set_headers: { 'x-good': ['1'] }, add_params: { a: 'b' }, body: 'new body', url: '/new' };
    const cases: [unknown, string][] = [
      [{ request: { ...good, delete_headers: ['x-gone', 'Host'] } }, 'FORBIDDEN_HEADER'],
      [{ request: { ...good, add_headers: { 'x-b': ['ok', 'bad\r\nx: y'] } } }, 'FORBIDDEN_HEADER'],
      [{ request: good, return_overrides: { response_code: 700 } }, 'BAD_OUTPUT'],
      [{ request: good, session: { rate: 1 } }, 'HOOK_NOT_ALLOWED'],
      [{ request: { ...good, url: 'no-slash' } }, 'BAD_OUTPUT'],
      [{ request: good, error: 'changed my mind' }, 'PLUGIN_ERROR'],
      [{ request: good, extra: true }, 'BAD_OUTPUT'],
    ];
    for (const [value, expected] of cases) {
      const r = await result(value, 'pre');
      expect(r).toMatchObject({ code: expected });
      expect(r).not.toHaveProperty('ok');
    }
    // The good part alone is applied, normalised.
    expect(await result({ request: good }, 'pre')).toEqual({
      ok: {
        request: {
          set_headers: { 'x-good': ['1'] },
          add_params: { a: ['b'] },
          body: new TextEncoder().encode('new body'),
          url: '/new',
        },
      },
    });
  });

  it('the fixture module: a valid change next to a forbidden header applies nothing', async () => {
    await expect(fixed.call('half_valid', 'pre', new Uint8Array(0))).rejects.toMatchObject({
      code: 'FORBIDDEN_HEADER',
    });
    await expect(fixed.call('valid', 'pre', new Uint8Array(0))).resolves.toEqual({
      request: { set_headers: { 'x-ok': ['1'] } },
    });
    await expect(fixed.call('plugin_error', 'pre', new Uint8Array(0))).rejects.toMatchObject({
      code: 'PLUGIN_ERROR',
      message: 'the plugin reported: nope',
    });
  });
});

describe('no coercion', () => {
  it('wrong types are refused rather than converted', async () => {
    for (const value of [
      { return_overrides: { response_code: '403' } },
      { return_overrides: { response_code: 403.5 } },
      { return_overrides: { response_code: 403, override_error: 1 } },
      { request: { set_headers: { 'x-a': 5 } } },
      { request: { set_headers: { 'x-a': [5] } } },
      { request: { delete_headers: 'x-a' } },
      { request: { body: 5 } },
      { request: 'everything' },
      { request: [] },
      { request: null },
      { error: 5 },
      [],
      'a string',
      42,
    ]) {
      expect([value, await code(value, 'pre')]).toEqual([value, 'BAD_OUTPUT']);
    }
    for (const value of [
      { session: { quota_max: '100' } },
      { session: { metadata: { n: 1 } } },
      { session: { tags: 'a' } },
    ]) {
      expect([value, await code(value, 'auth')]).toEqual([value, 'BAD_OUTPUT']);
    }
  });

  it('bytes that are not one msgpack value are refused', async () => {
    for (const bytes of [
      Uint8Array.of(0xc1),
      Uint8Array.of(0x81, 0xa7), // truncated
      Uint8Array.of(0x80, 0x80), // two values
      Uint8Array.of(0x81, 0xa1, 0x61, 0xd4, 0x05, 0x00), // an extension type
    ]) {
      expect(await code(bytes, 'pre')).toBe('BAD_OUTPUT');
    }
  });

  it('zero bytes of output means continue, change nothing', async () => {
    expect(await result(new Uint8Array(0), 'pre')).toEqual({ ok: {} });
    expect(await result({}, 'response')).toEqual({ ok: {} });
  });
});

describe('the output cap', () => {
  it('is checked on the length before decoding: junk over the cap is OUTPUT_TOO_LARGE, not BAD_OUTPUT', () => {
    const junk = new Uint8Array(1025).fill(0xc1);
    expect(() => decodeResult(junk, 'pre', 1024)).toThrow(expect.objectContaining({ code: 'OUTPUT_TOO_LARGE' }));
    expect(() => decodeResult(junk.subarray(0, 1024), 'pre', 1024)).toThrow(
      expect.objectContaining({ code: 'BAD_OUTPUT' }),
    );
  });

  it('applies to plugin output through both paths', async () => {
    const max = runtime.limits.maxOutputBytes;
    const body = (n: number) => encode({ request: { body: new Uint8Array(n) } });
    // Just under the cap: accepted through both paths.
    let under = body(max - 16);
    under = body(max - 16 - (under.byteLength - max));
    expect(under.byteLength).toBe(max);
    expect(await code(under, 'pre')).toBe('ok');
    // One byte over: refused before decoding, through both paths.
    const over = new Uint8Array(max + 1).fill(0xc1);
    for (const b of [fast, stock]) {
      await expect(b.call('echo', 'pre', over)).rejects.toMatchObject({ code: 'OUTPUT_TOO_LARGE' });
      await expect(b.call('echo', 'pre', encode({ request: {} }))).resolves.toEqual({ request: {} });
    }
  });
});

describe('header values', () => {
  const set = (value: string) => encode({ request: { set_headers: { 'x-a': [value] } } });

  it('refuses every control character but tab, and keeps tab and printable ASCII as they are', () => {
    for (const c of [0, 1, 8, 10, 13, 27, 31, 127]) {
      expect(() => decodeResult(set(`a${String.fromCharCode(c)}b`), 'pre', 1 << 20), `\\x${c.toString(16)}`).toThrow(
        expect.objectContaining({ code: 'FORBIDDEN_HEADER' }),
      );
    }
    expect(decodeResult(set('a\tb ~!'), 'pre', 1 << 20).request?.set_headers?.['x-a']).toEqual(['a\tb ~!']);
  });

  it('turns a value beyond ASCII into its UTF-8 bytes, one character each, as the wire carries it', () => {
    for (const text of ['é', 'réq-ü-日本', 'snow \u2603', '\u{1F600}']) {
      const [value] = decodeResult(set(text), 'pre', 1 << 20).request?.set_headers?.['x-a'] ?? [];
      expect(Buffer.from(value!, 'latin1').toString('utf8')).toBe(text);
      expect(value).toMatch(/^[\x20-\x7e\x80-\xff]+$/);
    }
  });
});
