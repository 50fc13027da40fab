/**
 * A direct call hands its plugin the envelope only when the plugin asks
 * for it (docs/abi.md §2), and names the hook through
 * wasmgate:host/v1.hook. Real modules from test/fixtures/wat and the probe.
 */
import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CallState } from '../../runtime/host-functions.ts';
import { decodeResult, type Envelope, encodeEnvelope, HOOKS, Runtime } from '../../runtime/index.ts';
import { smallEnvelope } from '../harness/envelope.ts';
import { probeWasm } from '../harness/gateway.ts';
import { wat } from '../harness/wat.ts';

const runtime = new Runtime();
afterAll(() => runtime.close());

/** An envelope the writer refuses (a function in config_data): only a call that reads it can notice. */
function unwritable(): Envelope {
  const env = smallEnvelope('pre');
  return { ...env, spec: { ...env.spec, config_data: { f: (() => 1) as unknown as string } } };
}

const headerOf = (r: unknown) => (r as { request?: { set_headers?: Record<string, string[]> } }).request?.set_headers;

describe('the envelope of a direct call', () => {
  it('is written only when the plugin reads it', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('hook-index')), { apiId: 'lazy-a' });
    // The first call finds no idle instance and is encoded at once; warm one up first.
    await binding.call('run', 'pre', smallEnvelope('pre'));
    expect(headerOf(binding.callNow('run', 'pre', unwritable()))).toEqual({ 'x-h': ['0'] });
    expect(() => binding.callNow('read', 'pre', unwritable())).toThrow(expect.objectContaining({ code: 'TRAP' }));
  });

  it('names its hook through wasmgate:host/v1.hook; bytes leave the envelope to say it', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('hook-index')), { apiId: 'lazy-b' });
    await binding.call('run', 'pre', smallEnvelope('pre'));
    // The module answers with request headers, which only request hooks may return.
    for (const hook of ['pre', 'auth', 'post_auth', 'endpoint', 'post'] as const) {
      const env = smallEnvelope(hook);
      const want = String.fromCharCode(48 + HOOKS.indexOf(hook));
      expect(headerOf(await binding.call('run', hook, env))).toEqual({ 'x-h': [want] });
      expect(headerOf(await binding.call('read', hook, env))).toEqual({ 'x-h': [want] });
      // Bytes the caller wrote carry their own hook, which the host does not vouch for.
      expect(headerOf(await binding.call('run', hook, encodeEnvelope(env)))).toEqual({ 'x-h': ['/'] });
      const raw = await binding.callRaw('run', encodeEnvelope(env));
      expect(headerOf(decodeResult(raw.output, 'pre', 1 << 20))).toEqual({ 'x-h': ['/'] });
    }
    for (const hook of HOOKS) expect(new CallState(smallEnvelope(hook), {}).hookIndex).toBe(HOOKS.indexOf(hook));
  });

  it('is read by the kit on first use, with the same results as its bytes', async () => {
    const binding = runtime.bind(await runtime.prepare(await readFile(await probeWasm())), { apiId: 'lazy-c' });
    await binding.call('stamp', 'pre', smallEnvelope('pre'));
    // stamp reads nothing of the envelope: it works on one the writer refuses.
    expect(binding.callNow('stamp', 'pre', unwritable())).toEqual({
      request: { add_headers: { 'x-wasmgate-trace': ['pre'] } },
    });
    for (const hook of ['pre', 'post_auth', 'post', 'response'] as const) {
      const env = smallEnvelope(hook);
      expect(binding.callNow('stamp', hook, env)).toEqual(binding.callNow('stamp', hook, encodeEnvelope(env)));
    }
  });
});
