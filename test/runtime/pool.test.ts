/**
 * Instance pools under concurrency, quarantine, and a binding replaced
 * while calls are in flight.
 */
import { encode } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { Runtime, type WasmgateError } from '../../runtime/index.ts';
import { wat } from '../harness/wat.ts';

const runtime = new Runtime({
  limits: {
    poolMaxInstances: 2,
    poolWaitMs: 2_000,
    poolMaxWaiters: 50,
    quarantineAfterFailures: 3,
    quarantineMs: 60_000,
  },
});
afterAll(() => runtime.close());
const input = encode({ n: 1 });

describe('instance pool', () => {
  it('serves many concurrent calls with at most poolMaxInstances instances', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('echo-fast')), { apiId: 'pool-a' });
    const outputs = await Promise.all(Array.from({ length: 40 }, (_, i) => binding.callRaw('echo', encode({ i }))));
    for (const [i, o] of outputs.entries()) expect(Buffer.from(o.output!)).toEqual(Buffer.from(encode({ i })));
    const stats = binding.stats();
    expect(stats.created).toBeLessThanOrEqual(2);
    expect(stats.busy).toBe(0);
    expect(stats.waiting).toBe(0);
  });

  it('fails fast with POOL_EXHAUSTED when too many calls wait', async () => {
    const tight = new Runtime({ limits: { poolMaxInstances: 1, poolWaitMs: 1_000, poolMaxWaiters: 3 } });
    try {
      const binding = tight.bind(await tight.prepare(wat('echo-fast')), { apiId: 'pool-b' });
      const results = await Promise.allSettled(Array.from({ length: 30 }, () => binding.callRaw('echo', input)));
      const refused = results.filter((r) => r.status === 'rejected');
      expect(refused.length).toBeGreaterThan(0);
      for (const r of refused)
        expect(((r as PromiseRejectedResult).reason as WasmgateError).code).toBe('POOL_EXHAUSTED');
      expect(results.filter((r) => r.status === 'fulfilled').length).toBeGreaterThan(0);
      // Once the crowd is gone the plugin serves again.
      expect((await binding.callRaw('echo', input)).output).toEqual(new Uint8Array(input));
    } finally {
      await tight.close();
    }
  });

  it('never shares instances between APIs', async () => {
    const mod = await runtime.prepare(wat('echo-fast'));
    const a = runtime.bind(mod, { apiId: 'api-a' });
    const b = runtime.bind(mod, { apiId: 'api-b' });
    await a.callRaw('echo', input);
    expect(a.stats().created).toBe(1);
    expect(b.stats().created).toBe(0);
  });
});

describe('quarantine', () => {
  it('quarantines a binding after repeated failures, answers with a retry time, and leaves other APIs alone', async () => {
    const mod = await runtime.prepare(wat('trap'));
    const bad = runtime.bind(mod, { apiId: 'q-bad' });
    const other = runtime.bind(mod, { apiId: 'q-other' });
    for (let i = 0; i < 3; i++) await expect(bad.callRaw('unreachable', input)).rejects.toMatchObject({ code: 'TRAP' });
    const err = await bad.callRaw('ok', input).catch((e: WasmgateError) => e);
    expect((err as WasmgateError).code).toBe('QUARANTINED');
    expect((err as WasmgateError).status).toBe(503);
    expect((err as WasmgateError).detail?.retryAfterSeconds).toBeGreaterThan(0);
    await expect(other.callRaw('ok', input)).resolves.toBeDefined();
  });

  it('a success resets the count of consecutive failures', async () => {
    const b = runtime.bind(await runtime.prepare(wat('trap')), { apiId: 'q-reset' });
    for (let i = 0; i < 10; i++) {
      await expect(b.callRaw('unreachable', input)).rejects.toMatchObject({ code: 'TRAP' });
      await expect(b.callRaw('unreachable', input)).rejects.toMatchObject({ code: 'TRAP' });
      await b.callRaw('ok', input);
    }
  });
});

describe('replacing a plugin while calls are in flight', () => {
  it('calls in flight finish on the old binding; the new binding serves; the old one refuses after draining', async () => {
    const old = runtime.bind(await runtime.prepare(wat('echo-fast')), { apiId: 'swap' });
    const inflight = Array.from({ length: 50 }, (_, i) => old.callRaw('echo', encode({ old: i })));
    const drained = old.drain();
    const replacement = runtime.bind(await runtime.prepare(wat('echo-stock')), { apiId: 'swap' });
    const fresh = await replacement.callRaw('echo', encode({ fresh: true }));
    const done = await Promise.all(inflight);
    for (const [i, o] of done.entries()) expect(Buffer.from(o.output!)).toEqual(Buffer.from(encode({ old: i })));
    await drained;
    expect(Buffer.from(fresh.output!)).toEqual(Buffer.from(encode({ fresh: true })));
    expect(old.stats().size).toBe(0);
    await expect(old.callRaw('echo', input)).rejects.toThrow();
  });
});
