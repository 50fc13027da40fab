/**
 * Every case of the first table of HOSTILE-CASES.md, with real modules
 * compiled from test/fixtures/wat (or generated): the exact error code, the
 * process responsive throughout (an event-loop heartbeat), and the same
 * binding serving its next call.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { encode } from 'msgpackr';
import { afterAll, describe, expect, it } from 'vitest';
import { type PluginLogLine, Runtime, WasmgateError } from '../../runtime/index.ts';
import { manyFunctions, manyLocals, paddedModule, wat } from '../harness/wat.ts';

const logs: PluginLogLine[] = [];
const runtime = new Runtime({ logSink: (line) => logs.push(line) });
afterAll(() => runtime.close());

/** Counts event-loop turns and the longest stall while `work` runs. */
async function responsive<T>(
  work: () => Promise<T>,
): Promise<{ value: T | undefined; error: unknown; ticks: number; maxStallMs: number }> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  let value: T | undefined;
  let error: unknown;
  try {
    value = await work();
  } catch (err) {
    error = err;
  }
  await new Promise((r) => setTimeout(r, 20));
  clearInterval(timer);
  delay.disable();
  return { value, error, ticks, maxStallMs: delay.max / 1e6 };
}

function codeOf(err: unknown): string {
  expect(err).toBeInstanceOf(WasmgateError);
  return (err as WasmgateError).code;
}

const envelope = encode({
  v: 1,
  hook: 'pre',
  request: {
    method: 'GET',
    url: '/',
    request_uri: '/',
    scheme: 'http',
    host: 'h',
    remote_addr: '127.0.0.1',
    params: {},
    headers: {},
    body: null,
  },
  spec: { api_id: 'a', org_id: 'o', name: 'n', config_data: {} },
  metadata: { request_id: 'r', plugin: 'p', version: '1', time: 0 },
});

async function bound(name: string) {
  return runtime.bind(await runtime.prepare(wat(name)), { apiId: `hostile-${name}` });
}

/** A failing call gives `code`, the event loop kept turning, and `ok` works right after. */
async function expectCallFailure(name: string, exportName: string, code: string, viaCall = false) {
  const binding = await bound(name);
  const r = await responsive<unknown>(() =>
    viaCall ? binding.call(exportName, 'pre', envelope) : binding.callRaw(exportName, envelope),
  );
  expect(codeOf(r.error)).toBe(code);
  expect(r.maxStallMs).toBeLessThan(5_000);
  const next = await binding.callRaw('ok', envelope);
  expect(next.output?.length ?? 0).toBe(0);
  await expect(binding.call('ok', 'pre', envelope)).resolves.toEqual({});
  return { binding, error: r.error as WasmgateError };
}

describe('malicious or broken plugin modules', () => {
  it('an infinite loop in an export runs out of fuel; the next call succeeds', async () => {
    const { binding } = await expectCallFailure('loop-export', 'run', 'FUEL_EXHAUSTED');
    // The trapped instance was discarded, not returned to the pool.
    expect(binding.stats().destroyed).toBeGreaterThanOrEqual(1);
  });

  it('an infinite loop in the start function is refused at upload without blocking the gateway', async () => {
    const r = await responsive(() => runtime.prepare(wat('loop-start')));
    expect(codeOf(r.error)).toBe('START_FAILED');
    expect((r.error as Error).message).toMatch(/start|initiali[sz]/i);
    expect(r.ticks).toBeGreaterThan(2);
    expect(r.maxStallMs).toBeLessThan(1_000);
  });

  it('an infinite loop in _initialize is refused at upload', async () => {
    const r = await responsive(() => runtime.prepare(wat('loop-initialize')));
    expect(codeOf(r.error)).toBe('START_FAILED');
    expect(r.maxStallMs).toBeLessThan(1_000);
  });

  it('unbounded recursion is a stack overflow', async () => {
    await expectCallFailure('recursion', 'run', 'STACK_OVERFLOW');
  });

  it('a memory.grow bomb stops at the memory cap inside the module', async () => {
    const binding = await bound('grow-bomb');
    const before = process.memoryUsage().rss;
    const { output } = await binding.callRaw('run', envelope);
    const pages = new DataView(output!.buffer, output!.byteOffset).getUint32(0, true);
    expect(pages).toBe(runtime.limits.maxMemoryPages);
    // 256 pages is 16 MiB; nothing near the 4 GiB an uncapped bomb reaches.
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
    expect((await binding.callRaw('ok', envelope)).output?.length ?? 0).toBe(0);
  });

  it('a huge host allocation is refused before allocating', async () => {
    const before = process.memoryUsage().rss;
    const { error } = await expectCallFailure('huge-alloc', 'run', 'ALLOC_LIMIT');
    expect(error.message).toMatch(/8589934592 bytes/);
    expect(process.memoryUsage().rss - before).toBeLessThan(256 * 1024 * 1024);
  });

  it('a huge output is refused by its length before anything is copied or decoded', async () => {
    await expectCallFailure('huge-output', 'run', 'OUTPUT_TOO_LARGE');
  });

  it('output that is not msgpack is a bad output', async () => {
    await expectCallFailure('bad-output', 'garbage', 'BAD_OUTPUT', true);
  });

  it('output with wrong types is refused by the schema, without coercion', async () => {
    const { error } = await expectCallFailure('bad-output', 'wrong_types', 'BAD_OUTPUT', true);
    expect(error.message).toMatch(/request/);
  });

  it('a plugin setting Host or a header with CR LF is refused', async () => {
    await expectCallFailure('bad-output', 'forbidden_header', 'FORBIDDEN_HEADER', true);
    await expectCallFailure('bad-output', 'crlf_header', 'FORBIDDEN_HEADER', true);
  });

  it('a log flood is capped per call and control characters are escaped', async () => {
    const binding = await bound('log-flood');
    logs.length = 0;
    const outcome = await binding.callRaw('run', envelope);
    expect(logs.length).toBeLessThanOrEqual(runtime.limits.maxLogLinesPerCall);
    expect(logs.length).toBeGreaterThan(0);
    expect(outcome.logDropped).toBe(10_000 - logs.length);
    for (const line of logs) {
      for (const c of ['\r', '\n', '\u001b']) expect(line.text.includes(c)).toBe(false);
      expect(line.text).toBe('line\\u001b[31mred\\r\\nforged: entry');
    }
    expect((await binding.callRaw('ok', envelope)).output?.length ?? 0).toBe(0);
  });

  it('a huge var_set is refused past the var limit', async () => {
    await expectCallFailure('var-flood', 'run', 'VAR_LIMIT');
  });

  it('a trap is a plugin failure; the next call succeeds', async () => {
    await expectCallFailure('trap', 'unreachable', 'TRAP');
    await expectCallFailure('trap', 'divide_by_zero', 'TRAP');
  });

  it('an import the host does not provide is refused at upload, naming it', async () => {
    const r = await responsive(() => runtime.prepare(wat('unknown-import')));
    expect(codeOf(r.error)).toBe('IMPORT_NOT_ALLOWED');
    expect((r.error as Error).message).toContain('"env" "abort"');
  });

  it('a module over the size limit is stopped at the cap', async () => {
    const r = await responsive(() => runtime.prepare(paddedModule(runtime.limits.maxModuleBytes + 1)));
    expect(codeOf(r.error)).toBe('MODULE_TOO_LARGE');
    expect((r.error as WasmgateError).status).toBe(413);
  });

  it('bytes that are not wasm, and truncated wasm, are invalid modules', async () => {
    for (const bytes of [Buffer.from('#!/bin/sh\necho hi\n'), new Uint8Array(0), wat('echo-fast').slice(0, 40)]) {
      const r = await responsive(() => runtime.prepare(bytes));
      expect(codeOf(r.error)).toBe('INVALID_MODULE');
      expect((r.error as WasmgateError).status).toBe(422);
    }
  });

  it('a compile bomb (a million functions, 50k locals) hits the static caps while the gateway keeps serving', async () => {
    const echo = runtime.bind(await runtime.prepare(wat('echo-fast')), { apiId: 'bystander' });
    let served = 0;
    const traffic = setInterval(() => {
      void echo.callRaw('echo', envelope).then(() => served++);
    }, 2);
    try {
      for (const bomb of [manyFunctions(1_000_000), manyLocals(50_000)]) {
        const r = await responsive(() => runtime.prepare(bomb));
        expect(codeOf(r.error)).toBe('MODULE_LIMIT_EXCEEDED');
        expect((r.error as WasmgateError).status).toBe(422);
        expect(r.maxStallMs).toBeLessThan(1_000);
      }
    } finally {
      clearInterval(traffic);
    }
    expect(served).toBeGreaterThan(0);
  });
});

describe('the fast path and the stock Extism path', () => {
  it('echo the same bytes, small and large', async () => {
    const fast = await bound('echo-fast');
    const stock = await bound('echo-stock');
    for (const size of [0, 1, 7, 8, 1024, 10 * 1024 + 3]) {
      const input = new Uint8Array(size).map((_, i) => (i * 31) & 0xff);
      expect(Buffer.from((await fast.callRaw('echo', input)).output ?? [])).toEqual(Buffer.from(input));
      expect(Buffer.from((await stock.callRaw('echo', input)).output ?? [])).toEqual(Buffer.from(input));
    }
  });

  it('a call with a custom fuel budget fails sooner', async () => {
    const binding = await bound('loop-export');
    await expect(binding.callRaw('run', envelope, { fuel: 1000 })).rejects.toMatchObject({ code: 'FUEL_EXHAUSTED' });
  });
});

describe('the benchmark plugins', () => {
  it('answer the same valid result through the fast path and the stock path', async () => {
    for (const name of ['result-fast', 'result-stock']) {
      const binding = await bound(name);
      await expect(binding.call('run', 'pre', envelope)).resolves.toEqual({
        request: { set_headers: { 'x-a': ['1'] } },
      });
    }
  });
});
