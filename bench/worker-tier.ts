/**
 * What the worker tier itself costs (docs/sandbox.md): the time from a new
 * binding's first call to its answer (a thread started and its instance
 * created), one empty call through a worker against the same call on the
 * main thread, and resident memory per worker thread.
 *
 *   node --import tsx bench/worker-tier.ts [--no-write]
 *
 * Appends a section to bench/RESULTS.md unless --no-write.
 */
import { appendFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Runtime } from '../runtime/index.ts';
import { wat } from '../test/harness/wat.ts';

const WRITE = !process.argv.includes('--no-write');
const WORKERS = 8;
const input = new Uint8Array(0);

const medianOf = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Median µs per call over batches of 100, after a warm-up. */
async function perCall(fn: () => Promise<unknown>, iterations = 5_000): Promise<number> {
  for (let i = 0; i < 500; i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < iterations / 100; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 100; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e3 / 100);
  }
  return medianOf(samples);
}

const runtime = new Runtime({ limits: { poolMaxInstances: WORKERS } });
const tiered = await runtime.prepare(wat('http-stock'));
const plain = await runtime.prepare(wat('echo-stock'));

const starts: number[] = [];
for (let i = 0; i < 7; i++) {
  const b = runtime.bind(tiered, { apiId: `start-${i}` });
  const t = performance.now();
  await b.callRaw('ok', input);
  starts.push(performance.now() - t);
  await b.drain();
}

const main = runtime.bind(plain, { apiId: 'main' });
const worker = runtime.bind(tiered, { apiId: 'worker' });
const mainUs = await perCall(() => main.callRaw('ok', input));
const workerUs = await perCall(() => worker.callRaw('ok', input));

// Memory: one warm worker, then enough concurrent calls to start the rest of the pool.
const pool = runtime.bind(tiered, { apiId: 'memory' });
await pool.callRaw('ok', input);
global.gc?.();
const before = process.memoryUsage().rss;
await Promise.all(
  Array.from({ length: WORKERS }, () => pool.callRaw('spin', input, { fuel: 50_000_000 }).catch(() => {})),
);
const started = pool.stats().size;
for (let i = 0; i < 200; i++) await pool.callRaw('ok', input);
const perWorkerMb = (process.memoryUsage().rss - before) / 2 ** 20 / Math.max(1, started - 1);

await Promise.all([main.drain(), worker.drain(), pool.drain()]);
await runtime.close();

const date = new Date().toISOString().slice(0, 10);
const text = `
## Worker tier — ${date}

Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), Node ${process.version}. Command: \`node --import tsx bench/worker-tier.ts\`.

| measurement | value |
|---|---|
| first call of a new binding (thread start, tsx, Extism, instance), median of 7 | ${medianOf(starts).toFixed(0)} ms (${Math.min(...starts).toFixed(0)}–${Math.max(...starts).toFixed(0)}) |
| empty call, stock ABI, main thread | ${mainUs.toFixed(1)} µs |
| empty call, stock ABI, worker tier (post, run, answer) | ${workerUs.toFixed(1)} µs |
| resident memory per further worker thread (${started} started) | ${perWorkerMb.toFixed(1)} MB |
`;
console.log(text);
if (WRITE) await appendFile(join(import.meta.dirname, 'RESULTS.md'), text);
