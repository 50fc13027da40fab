/**
 * The TypeScript example plugins, one at a time: module size and the median
 * per-call time on a 1 KB and a 10 KB envelope (each example's first vector
 * in test/vectors, padded with request headers to the size), measured
 * through PluginBinding.callRaw (the plugin alone: bytes in, bytes out) and
 * PluginBinding.call (plus envelope encoding and result validation).
 *
 *   node --import tsx bench/runtime/examples.ts [--no-write] [--iterations N]
 *
 * Appends a section to bench/RESULTS.md unless --no-write.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { decode } from 'msgpackr';
import { type Envelope, encodeEnvelope, type Hook, Runtime } from '../../runtime/index.ts';
import { buildTsExamples } from '../../test/harness/examples.ts';
import { listCases } from '../../test/vectors/generate.ts';
import { padded } from './padding.ts';

const WRITE = !process.argv.includes('--no-write');
const itArg = process.argv.indexOf('--iterations');
const ITERATIONS = itArg > 0 ? Number(process.argv[itArg + 1]) : 5_000;
const BATCH = 100;

/** Median µs per call over batches, after a warm-up. */
async function median(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(1_000, ITERATIONS / 5); i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < ITERATIONS / BATCH; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e3 / BATCH);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)]!;
}

const runtime = new Runtime();
const examples = await buildTsExamples();
const cases = listCases();
const rows: string[] = [];
for (const [name, ex] of examples) {
  const first = cases.find((c) => c.example === name && c.expected !== null);
  if (!first) continue;
  const bytes = await readFile(ex.wasm);
  const binding = runtime.bind(await runtime.prepare(bytes), { apiId: `bench-${name}` });
  const base = decode(await readFile(join(first.dir, 'input.msgpack'))) as Envelope;
  const cells: string[] = [];
  for (const size of [1_024, 10_240]) {
    const env = padded(base, size);
    const input = encodeEnvelope(env);
    cells.push((await median(() => binding.callRaw(first.export, input))).toFixed(2));
    cells.push((await median(() => binding.call(first.export, first.hook as Hook, env))).toFixed(2));
  }
  await binding.drain();
  const widths = [16, 13, 17, 14]; // the header's cell widths
  rows.push(
    `| ${name.padEnd(16)} | ${String(bytes.byteLength).padStart(12)} | ${cells.map((c, i) => c.padStart(widths[i]!)).join(' | ')} |`,
  );
  console.log(rows.at(-1));
}
await runtime.close();

const date = new Date().toISOString().slice(0, 10);
const text = `
## TypeScript example plugins — ${date}

Machine: 2 cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, @extism/extism 2.0.0-rc13.
Command: \`node --import tsx bench/runtime/examples.ts\` (medians of batches of ${BATCH} calls, ${ITERATIONS} calls per cell after a warm-up).
Each example runs on its first non-empty vector in test/vectors, padded with request headers to 1 KB or 10 KB.
\`callRaw\` is the plugin alone (envelope bytes in, result bytes out); \`call\` adds envelope encoding and result validation.

| example          | module bytes | callRaw µs, 1 KB | call µs, 1 KB | callRaw µs, 10 KB | call µs, 10 KB |
| ---------------- | ------------ | ---------------- | ------------- | ----------------- | -------------- |
${rows.join('\n')}
`;
if (WRITE) await appendFile(join(import.meta.dirname, '..', 'RESULTS.md'), text);
else console.log(text);
