/**
 * The worker tier at the runtime level, with a real stock-ABI module that
 * imports http_request (test/fixtures/wat/http-stock.wat): its instances
 * live in worker threads under the same limits as main-thread ones; an
 * infinite loop ends by fuel and the same thread serves the next call; a
 * call that outlives its deadline gets its thread terminated and the next
 * call a new one; a full pool gives the pool's error; the event loop turns
 * throughout. The HTTP side (the grant, every refusal) is in
 * test/gateway/http-request.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { type CallEvent, type PluginBinding, type PluginLogLine, Runtime } from '../../runtime/index.ts';
import { wat } from '../harness/wat.ts';
import { codeOf, watched } from './liveness.ts';

const logs: { line: PluginLogLine; tags: Readonly<Record<string, string>> }[] = [];
const events: CallEvent[] = [];
const runtime = new Runtime({
  limits: { fuelPerCall: 200_000_000, workerCallMs: 2_000, poolMaxInstances: 1, poolWaitMs: 100 },
  logSink: (line, tags) => logs.push({ line, tags }),
  onCall: (e) => events.push(e),
});
const bindings: PluginBinding[] = [];
afterAll(async () => {
  await Promise.all(bindings.map((b) => b.drain()));
  await runtime.close();
});

const input = new TextEncoder().encode('{}');
let apiCounter = 0;
const config = { request: { url: 'http://127.0.0.1:9/', method: 'GET' } };
async function bound(name = 'http-stock'): Promise<PluginBinding> {
  const b = runtime.bind(await runtime.prepare(wat(name)), { apiId: `tier-${apiCounter++}`, config });
  bindings.push(b);
  return b;
}

async function servesNext(b: PluginBinding): Promise<void> {
  const r = await b.callRaw('ok', input);
  expect(r.output?.byteLength ?? 0).toBe(0);
}

describe('which tier', () => {
  it('a module importing http_request gets worker-thread instances; one that does not stays on the main thread', async () => {
    const tiered = await bound();
    expect(tiered.tier).toBe('worker');
    expect((await bound('echo-stock')).tier).toBe('main');
    await servesNext(tiered);
    expect(tiered.stats()).toMatchObject({ size: 1, idle: 1, busy: 0, created: 1 });
  });
});

describe('bounds inside the worker', () => {
  it('an infinite loop ends by fuel while the main thread keeps turning; the same thread serves the next call', async () => {
    const b = await bound();
    await servesNext(b);
    const r = await watched(() => b.callRaw('spin', input));
    expect(codeOf(r.error)).toBe('FUEL_EXHAUSTED');
    // The loop burnt its fuel in the worker: the heartbeat ticked all along.
    expect(r.ticksDuring).toBeGreaterThan(3);
    // The trapped instance was replaced inside its thread, not the thread itself.
    expect(b.stats()).toMatchObject({ size: 1, busy: 0, created: 1, destroyed: 0 });
    await servesNext(b);
    const event = events.findLast((e) => e.binding === b && !e.ok)!;
    expect(event).toMatchObject({ code: 'FUEL_EXHAUSTED', exportName: 'spin', fuelUsed: 200_000_000 });
  });

  it('the host allocation cap and the memory cap hold as on the main thread', async () => {
    const b = await bound();
    await expect(b.callRaw('alloc_bomb', input)).rejects.toMatchObject({ code: 'ALLOC_LIMIT' });
    await servesNext(b);
    await expect(b.callRaw('overflow', input)).rejects.toMatchObject({ code: 'MEMORY_LIMIT' });
    await servesNext(b);
  });

  it("a variable handed back as the output stays the instance's, call after call", async () => {
    const b = await bound();
    for (let i = 0; i < 3; i++) {
      expect(Buffer.from((await b.callRaw('remember', input)).output!).toString()).toBe('remembered');
    }
  });

  it('http_request where nothing can answer it (no request hook, no grant) fails the call; its log line keeps its tags', async () => {
    const b = await bound();
    await expect(b.callRaw('fetch', input, { tags: { request_id: 'tier-log' } })).rejects.toMatchObject({
      code: 'OUTBOUND_NOT_ALLOWED',
    });
    expect(logs.find((l) => l.tags.request_id === 'tier-log')?.line).toEqual({ level: 'info', text: 'stock fetch' });
    await servesNext(b);
  });
});

describe('the deadline', () => {
  it('a call that outlives its deadline gets its thread terminated (CALL_TIMEOUT); the next call gets a new thread', async () => {
    const b = await bound();
    await servesNext(b);
    // Fuel for years: only the main thread's deadline (limits.workerCallMs) can stop it.
    const started = performance.now();
    const r = await watched(() => b.callRaw('spin', input, { fuel: 2 ** 53 }));
    expect(codeOf(r.error)).toBe('CALL_TIMEOUT');
    expect(performance.now() - started).toBeGreaterThanOrEqual(2_000 - 1);
    expect(r.ticksDuring).toBeGreaterThan(3);
    expect(b.stats()).toMatchObject({ size: 0, busy: 0, destroyed: 1 });
    await servesNext(b);
    expect(b.stats()).toMatchObject({ size: 1, created: 2 });
  });
});

describe('the pool', () => {
  it('with every worker busy, a call waits poolWaitMs and then gets POOL_EXHAUSTED; the pool recovers', async () => {
    const b = await bound();
    await servesNext(b);
    const long = b.callRaw('spin', input, { fuel: 2 ** 53 }).catch((e: unknown) => e);
    await expect(b.callRaw('ok', input)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
    expect(codeOf(await long)).toBe('CALL_TIMEOUT');
    await servesNext(b);
  });

  it('after a drain the workers are gone and calls are refused', async () => {
    const b = await bound();
    await servesNext(b);
    await b.drain();
    expect(b.stats()).toMatchObject({ size: 0, idle: 0 });
    await expect(b.callRaw('ok', input)).rejects.toMatchObject({ code: 'POOL_EXHAUSTED' });
  });
});
