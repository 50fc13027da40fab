/**
 * Instance pools under concurrency, quarantine, and a binding replaced
 * while calls are in flight. Real modules from test/fixtures/wat.
 */
import { readFile } from 'node:fs/promises';
import { encode } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { type CallEvent, Runtime, type WasmgateError } from '../../runtime/index.ts';
import { InstancePool } from '../../runtime/pool.ts';
import { smallEnvelope } from '../harness/envelope.ts';
import { probeWasm } from '../harness/gateway.ts';
import { wat } from '../harness/wat.ts';
import { codeOf, heartbeat } from './liveness.ts';

const events: CallEvent[] = [];
const runtime = new Runtime({
  limits: {
    poolMaxInstances: 2,
    poolWaitMs: 2_000,
    poolMaxWaiters: 50,
    quarantineAfterFailures: 3,
    quarantineMs: 60_000,
  },
  onCall: (e) => events.push(e),
});
afterAll(() => runtime.close());
const input = encode({ n: 1 });

const settle = async <T>(calls: Promise<T>[]) => {
  const results = await Promise.allSettled(calls);
  return {
    ok: results.filter((r): r is PromiseFulfilledResult<Awaited<T>> => r.status === 'fulfilled').map((r) => r.value),
    codes: results.filter((r) => r.status === 'rejected').map((r) => codeOf((r as PromiseRejectedResult).reason)),
  };
};

describe('instance pool', () => {
  // A module that imports Extism's kernel is called through Extism, whose call spans event-loop
  // turns: that is where calls queue for instances. The next test shows a direct module does not.
  it('queues calls beyond poolMaxInstances and serves them all, in order, with at most poolMaxInstances instances', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('echo-stock')), { apiId: 'pool-a' });
    await binding.callRaw('echo', input); // warm: one idle instance
    const calls = Array.from({ length: 40 }, (_, i) => binding.callRaw('echo', encode({ i })));
    // Instances are not reentrant: two calls hold the two instances, the rest wait.
    const during = binding.stats();
    expect(during.busy).toBe(2);
    expect(during.waiting).toBe(38);
    const outputs = await Promise.all(calls);
    for (const [i, o] of outputs.entries()) expect(Buffer.from(o.output!)).toEqual(Buffer.from(encode({ i })));
    const after = binding.stats();
    expect(after.created).toBeLessThanOrEqual(2);
    expect(after).toMatchObject({ busy: 0, waiting: 0, destroyed: 0 });
  });

  it('calls a module built on wasmgate:host/v1 alone directly: a warm binding answers at once, on one instance', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('echo-fast')), { apiId: 'pool-direct' });
    await binding.callRaw('echo', input); // warm: one idle instance
    const answered: number[] = [];
    const calls = Array.from({ length: 40 }, (_, i) => {
      const r = binding.callNow('echo', 'pre', encode({ request: { url: `/${i}` } }));
      // No promise: the result is there before the next call starts.
      expect(r).not.toBeInstanceOf(Promise);
      answered.push(i);
      return r;
    });
    expect(answered).toHaveLength(40);
    for (const [i, r] of calls.entries()) expect(r).toMatchObject({ request: { url: `/${i}` } });
    expect(binding.stats()).toMatchObject({ created: 1, busy: 0, waiting: 0, destroyed: 0 });
    // A refused result of a direct call is thrown, not returned; the instance is kept.
    expect(() => binding.callNow('echo', 'response', encode({ request: { url: '/x' } }))).toThrow(
      expect.objectContaining({ code: 'HOOK_NOT_ALLOWED' }),
    );
    expect(binding.stats()).toMatchObject({ busy: 0, destroyed: 0 });
  });

  it('a direct call that has to wait for its first instance keeps its own envelope', async () => {
    // The envelope of a direct call is a view of the writer's scratch; one that waits must not see
    // the envelopes written after it. The probe stamps the hook it was called at.
    const module = await runtime.prepare(await readFile(await probeWasm()));
    const hooks = ['pre', 'post_auth', 'post', 'endpoint'] as const;
    const pending = hooks.map((hook, i) =>
      runtime.bind(module, { apiId: `pool-cold-${i}` }).callNow('stamp', hook, smallEnvelope(hook)),
    );
    expect(pending.every((r) => r instanceof Promise)).toBe(true);
    const results = await Promise.all(pending);
    expect(results.map((r) => r.request?.add_headers?.['x-wasmgate-trace'])).toEqual(hooks.map((h) => [h]));
  });

  it('fails fast with POOL_EXHAUSTED when more than poolMaxWaiters calls wait', async () => {
    const tight = new Runtime({ limits: { poolMaxInstances: 1, poolWaitMs: 1_000, poolMaxWaiters: 3 } });
    try {
      const binding = tight.bind(await tight.prepare(wat('echo-stock')), { apiId: 'pool-b' });
      await binding.callRaw('echo', input);
      const { ok, codes } = await settle(Array.from({ length: 30 }, () => binding.callRaw('echo', input)));
      // One runs, three wait, the other 26 are refused at once.
      expect(ok.length).toBe(4);
      expect(codes).toEqual(new Array(26).fill('POOL_EXHAUSTED'));
      for (const o of ok) expect(Buffer.from(o.output!)).toEqual(Buffer.from(input));
      expect(await heartbeat()).toBeGreaterThanOrEqual(3);
      // Once the crowd is gone the plugin serves again.
      expect(Buffer.from((await binding.callRaw('echo', input)).output!)).toEqual(Buffer.from(input));
    } finally {
      await tight.close();
    }
  });

  it('fails with POOL_EXHAUSTED when no instance becomes free within poolWaitMs', async () => {
    // Calls run synchronously, so an instance is held across event-loop turns only while
    // it is being created: a creation that takes 50 ms makes the 5 ms waits run out.
    const pool = new InstancePool<{ id: number }>(
      () => new Promise((resolve) => setTimeout(() => resolve({ id: 1 }), 50)),
      () => {},
      { max: 1, waitMs: 5, maxWaiters: 10 },
    );
    const first = pool.acquire();
    const waiters = Array.from({ length: 3 }, () =>
      pool.acquire().then(
        () => 'got',
        (e: WasmgateError) => e,
      ),
    );
    expect(pool.stats()).toMatchObject({ size: 1, busy: 1, waiting: 3 });
    for (const w of await Promise.all(waiters)) {
      expect(codeOf(w)).toBe('POOL_EXHAUSTED');
      expect((w as WasmgateError).message).toMatch(/within 5 ms/);
    }
    const item = await first;
    pool.release(item);
    expect(pool.stats()).toMatchObject({ size: 1, idle: 1, busy: 0, waiting: 0 });
    await expect(pool.acquire()).resolves.toBe(item);
  });

  it('a binding whose instances are slow to create answers POOL_EXHAUSTED or serves, and serves again after', async () => {
    // The module's _initialize runs millions of iterations when an instance is created.
    const tight = new Runtime({ limits: { poolMaxInstances: 1, poolWaitMs: 1, poolMaxWaiters: 100 } });
    try {
      const binding = tight.bind(await tight.prepare(wat('slow-init')), { apiId: 'pool-wait' });
      const { ok, codes } = await settle(Array.from({ length: 10 }, () => binding.callRaw('ok', input)));
      expect(ok.length).toBeGreaterThanOrEqual(1);
      expect(ok.length + codes.length).toBe(10);
      expect(codes.every((c) => c === 'POOL_EXHAUSTED')).toBe(true);
      // POOL_EXHAUSTED is a capacity answer, not the plugin's fault: no quarantine.
      expect(binding.health.quarantines).toBe(0);
      await expect(binding.callRaw('ok', input)).resolves.toMatchObject({ output: null });
      expect(binding.stats()).toMatchObject({ size: 1, created: 1, busy: 0, waiting: 0 });
    } finally {
      await tight.close();
    }
  });

  it('discards trapped instances and creates fresh ones for the callers waiting', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('trap')), { apiId: 'pool-trap' });
    const calls = Array.from({ length: 12 }, (_, i) =>
      binding.callRaw(i % 3 === 0 ? 'unreachable' : 'ok', input).then(
        () => 'ok',
        (e: WasmgateError) => e.code,
      ),
    );
    const results = await Promise.all(calls);
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? 'TRAP' : 'ok')));
    const stats = binding.stats();
    expect(stats.destroyed).toBe(4);
    expect(stats.created).toBe(stats.destroyed + stats.size);
    expect(stats.size).toBeLessThanOrEqual(2);
    expect(stats).toMatchObject({ busy: 0, waiting: 0 });
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
  it('quarantines a binding after repeated traps, answers with a retry time, and leaves other APIs alone', async () => {
    const mod = await runtime.prepare(wat('trap'));
    const bad = runtime.bind(mod, { apiId: 'q-bad' });
    const other = runtime.bind(mod, { apiId: 'q-other' });
    for (let i = 0; i < 3; i++) await expect(bad.callRaw('unreachable', input)).rejects.toMatchObject({ code: 'TRAP' });
    const err = (await bad.callRaw('ok', input).catch((e: WasmgateError) => e)) as WasmgateError;
    expect(err.code).toBe('QUARANTINED');
    expect(err.status).toBe(503);
    expect(err.detail?.retryAfterSeconds).toBe(60);
    // Quarantined calls never reach an instance.
    const created = bad.stats().created;
    await expect(bad.call('ok', 'pre', input)).rejects.toMatchObject({ code: 'QUARANTINED' });
    expect(bad.stats().created).toBe(created);
    await expect(other.callRaw('ok', input)).resolves.toBeDefined();
    // Until the cool-down passes (cleared here) or the version is replaced.
    bad.health.clear();
    await expect(bad.call('ok', 'pre', input)).resolves.toEqual({});
  });

  it('a plugin whose every result is invalid is quarantined too', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('bad-output')), { apiId: 'q-bad-output' });
    for (let i = 0; i < 3; i++) {
      await expect(binding.call('garbage', 'pre', input)).rejects.toMatchObject({ code: 'BAD_OUTPUT' });
    }
    await expect(binding.call('ok', 'pre', input)).rejects.toMatchObject({ code: 'QUARANTINED' });
  });

  it('a success resets the count of consecutive failures', async () => {
    const b = runtime.bind(await runtime.prepare(wat('trap')), { apiId: 'q-reset' });
    for (let i = 0; i < 10; i++) {
      await expect(b.callRaw('unreachable', input)).rejects.toMatchObject({ code: 'TRAP' });
      await expect(b.callRaw('divide_by_zero', input)).rejects.toMatchObject({ code: 'TRAP' });
      await b.callRaw('ok', input);
    }
    expect(b.health.quarantines).toBe(0);
  });

  it('reports one call event per call, with the failure code', async () => {
    const binding = runtime.bind(await runtime.prepare(wat('bad-output')), { apiId: 'events' });
    events.length = 0;
    await binding.call('ok', 'pre', input);
    await binding.call('garbage', 'pre', input).catch(() => {});
    await binding.callRaw('nope', input).catch(() => {});
    expect(events.map((e) => [e.exportName, e.ok, e.code])).toEqual([
      ['ok', true, null],
      ['garbage', false, 'BAD_OUTPUT'],
      ['nope', false, 'EXPORT_NOT_FOUND'],
    ]);
  });
});

describe('replacing a plugin while calls are in flight', () => {
  it('calls in flight finish on the old binding; the new binding serves; the old one refuses after draining', async () => {
    const old = runtime.bind(await runtime.prepare(wat('echo-fast')), { apiId: 'swap' });
    const inflight = Array.from({ length: 50 }, (_, i) => old.callRaw('echo', encode({ old: i })));
    expect(old.stats().waiting).toBeGreaterThan(0);
    const drained = old.drain();
    // Refused once the drain started, even before it finished.
    await expect(old.callRaw('echo', input)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    const replacement = runtime.bind(await runtime.prepare(wat('echo-stock')), { apiId: 'swap' });
    const fresh = replacement.callRaw('echo', encode({ fresh: true }));
    const done = await Promise.all(inflight);
    for (const [i, o] of done.entries()) expect(Buffer.from(o.output!)).toEqual(Buffer.from(encode({ old: i })));
    await drained;
    expect(Buffer.from((await fresh).output!)).toEqual(Buffer.from(encode({ fresh: true })));
    expect(old.stats()).toMatchObject({ size: 0, busy: 0, waiting: 0 });
    expect(old.stats().destroyed).toBe(old.stats().created);
    await expect(old.callRaw('echo', input)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    // A refused call on a replaced version is not the plugin's fault.
    expect(old.health.quarantines).toBe(0);
    expect(Buffer.from((await replacement.callRaw('echo', input)).output!)).toEqual(Buffer.from(input));
  });

  it('a drain with a failing call in flight still completes', async () => {
    const old = runtime.bind(await runtime.prepare(wat('trap')), { apiId: 'swap-trap' });
    const calls = [old.callRaw('unreachable', input), old.callRaw('ok', input), old.callRaw('ok', input)].map((p) =>
      p.then(
        () => 'ok',
        (e: WasmgateError) => e.code,
      ),
    );
    const drained = old.drain();
    expect(await Promise.all(calls)).toEqual(['TRAP', 'ok', 'ok']);
    await drained;
    expect(old.stats()).toMatchObject({ size: 0, busy: 0, waiting: 0 });
  });
});
