/**
 * Runtime microbenchmark: the cost of one hook call (encode the envelope,
 * call, decode and validate the result) for 1 KB and 10 KB records,
 * through the fast path and through the stock Extism path; the bare call
 * floor; each TypeScript example; and fuel-metering overhead on
 * compute-heavy code. Medians over many iterations after warm-up.
 *
 *   node --import tsx bench/runtime/microbench.ts [--no-write]
 *
 * Appends a section to bench/RESULTS.md unless --no-write.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { type Envelope, encodeEnvelope, Runtime } from '../../runtime/index.ts';
import { buildTsExamples } from '../../test/harness/examples.ts';
import { wat } from '../../test/harness/wat.ts';
import { listCases } from '../../test/vectors/generate.ts';

const WRITE = !process.argv.includes('--no-write');
const ITERATIONS = 20_000;

function envelopeOf(bytes: number, base?: Envelope): Envelope {
  const env: Envelope = base
    ? structuredClone(base)
    : {
        v: 1,
        hook: 'pre',
        request: {
          method: 'GET',
          url: '/anything',
          request_uri: '/anything?x=1',
          scheme: 'http',
          host: 'gw',
          remote_addr: '203.0.113.7',
          params: { x: ['1'] },
          headers: { 'user-agent': ['bench'] },
          body: null,
        },
        spec: { api_id: 'bench', org_id: 'o', name: 'bench', config_data: {} },
        metadata: { request_id: 'r-1', plugin: 'p', version: '1', time: 1700000000 },
      };
  let size = encodeEnvelope(env).byteLength;
  let i = 0;
  while (size < bytes) {
    const pad = Math.min(200, bytes - size);
    env.request.headers[`x-pad-${i++}`] = ['v'.repeat(Math.max(1, pad - 12))];
    size = encodeEnvelope(env).byteLength;
  }
  return env;
}

/** Median of per-call times in µs, measured in batches to keep timer overhead out. */
async function median(fn: () => Promise<unknown>, iterations = ITERATIONS): Promise<number> {
  for (let i = 0; i < 2_000; i++) await fn();
  const batch = 100;
  const samples: number[] = [];
  for (let b = 0; b < iterations / batch; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < batch; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e3 / batch);
  }
  samples.sort((a, c) => a - c);
  return samples[Math.floor(samples.length / 2)]!;
}

const rows: string[] = [];
const runtime = new Runtime();

const fast = runtime.bind(await runtime.prepare(wat('result-fast')), { apiId: 'bench' });
const stock = runtime.bind(await runtime.prepare(wat('result-stock')), { apiId: 'bench' });
rows.push('| measurement | record | median µs/call |', '|---|---|---|');
rows.push(
  `| bare call floor (empty input, zero-byte output, fast path) | 0 B | ${(await median(() => fast.callRaw('ok', new Uint8Array(0)))).toFixed(2)} |`,
);
for (const size of [1024, 10 * 1024]) {
  const env = envelopeOf(size);
  const label = `${Math.round(encodeEnvelope(env).byteLength / 1024)} KB`;
  rows.push(
    `| hook call, fast path (encode + call + decode/validate) | ${label} | ${(await median(() => fast.call('run', 'pre', env))).toFixed(2)} |`,
  );
  rows.push(
    `| hook call, stock Extism path | ${label} | ${(await median(() => stock.call('run', 'pre', env), 5_000)).toFixed(2)} |`,
  );
}

// The TypeScript examples on their first vector, padded to 1 KB and 10 KB.
const examples = await buildTsExamples();
const exampleRows = ['| example | module bytes | µs/call, 1 KB | µs/call, 10 KB |', '|---|---|---|---|'];
const firstCase = new Map<string, ReturnType<typeof listCases>[number]>();
for (const c of listCases()) if (!firstCase.has(c.example)) firstCase.set(c.example, c);
for (const [name, ex] of examples) {
  const c = firstCase.get(name);
  if (!c) continue;
  const { decode } = await import('msgpackr');
  const base = decode(await readFile(join(c.dir, 'input.msgpack'))) as Envelope;
  const binding = runtime.bind(await runtime.prepare(await readFile(ex.wasm)), {
    apiId: 'bench',
    config: base.spec.config_data,
  });
  const times: string[] = [];
  for (const size of [1024, 10 * 1024]) {
    const env = envelopeOf(size, base);
    times.push((await median(() => binding.call(c.export, c.hook as Envelope['hook'], env), 10_000)).toFixed(2));
  }
  exampleRows.push(`| ${name} | ${(await readFile(ex.wasm)).byteLength} | ${times[0]} | ${times[1]} |`);
}

// Fuel metering: the same compute-heavy module, metered (as uploaded) and as compiled.
const raw = wat('compute');
const metered = (await runtime.prepare(raw)).bytes;
const plain = (await WebAssembly.instantiate(raw, {})) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
const instrumented = (await WebAssembly.instantiate(
  metered,
  {},
)) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
const fuel = instrumented.instance.exports.__wasmgate_fuel as WebAssembly.Global;
const hashPlain = plain.instance.exports.hash as (n: number) => number;
const hashMetered = instrumented.instance.exports.hash as (n: number) => number;
const time = (fn: () => void) => {
  const runs: number[] = [];
  for (let i = 0; i < 15; i++) {
    const t = process.hrtime.bigint();
    fn();
    runs.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  runs.sort((a, b) => a - b);
  return runs[7]!;
};
if (hashPlain(3) !== hashMetered(3)) throw new Error('metering changed the result');
// Interleave the two to cancel drift.
let plainMs = 0;
let meteredMs = 0;
for (let round = 0; round < 3; round++) {
  plainMs += time(() => hashPlain(50));
  meteredMs += time(() => {
    fuel.value = 10_000_000_000n;
    hashMetered(50);
  });
}
const overhead = ((meteredMs / plainMs - 1) * 100).toFixed(1);

// A realistic compute-heavy plugin: the analytics-mask example (base64
// decode, a scan, base64 encode) on a record with a 64 KiB raw request,
// metered and as compiled, called directly with the fast-path imports.
async function direct(bytes: Uint8Array, input: Uint8Array) {
  let memory: WebAssembly.Memory | null = null;
  const imports = {
    'wasmgate:host/v1': {
      input_length: () => input.byteLength,
      input_read: (dst: number) => new Uint8Array(memory!.buffer, dst, input.byteLength).set(input),
      output_write: () => {},
      log: () => {},
    },
  };
  const { instance } = (await WebAssembly.instantiate(
    bytes,
    imports as WebAssembly.Imports,
  )) as unknown as WebAssembly.WebAssemblyInstantiatedSource;
  memory = instance.exports.memory as WebAssembly.Memory;
  (instance.exports._initialize as (() => void) | undefined)?.();
  return instance;
}
const maskWasm = await readFile(examples.get('analytics-mask')!.wasm);
const maskCase = firstCase.get('analytics-mask')!;
const { decode: decodeMp, encode: encodeMp } = await import('msgpackr');
const maskEnv = decode2(await readFile(join(maskCase.dir, 'input.msgpack')));
function decode2(b: Uint8Array) {
  return decodeMp(b) as { record: { raw_request: string } };
}
maskEnv.record.raw_request = Buffer.from(
  `GET / HTTP/1.1\r\nAuthorization: Bearer x\r\n\r\n${'b'.repeat(64 * 1024)}`,
).toString('base64');
const maskInput = encodeMp(maskEnv);
const maskPlain = await direct(maskWasm, maskInput);
const maskMetered = await direct((await runtime.prepare(maskWasm)).bytes, maskInput);
const maskFuel = maskMetered.exports.__wasmgate_fuel as WebAssembly.Global;
const runMaskPlain = maskPlain.exports.analytics_mask as () => number;
const runMaskMetered = maskMetered.exports.analytics_mask as () => number;
let maskPlainMs = 0;
let maskMeteredMs = 0;
for (let round = 0; round < 3; round++) {
  maskPlainMs += time(() => {
    for (let i = 0; i < 20; i++) runMaskPlain();
  });
  maskMeteredMs += time(() => {
    maskFuel.value = 10_000_000_000n;
    for (let i = 0; i < 20; i++) runMaskMetered();
  });
}
const maskOverhead = ((maskMeteredMs / maskPlainMs - 1) * 100).toFixed(1);

const header = `\n## Runtime microbenchmark — ${new Date().toISOString().slice(0, 10)}\n\nMachine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}, @extism/extism 2.0.0-rc13.\nCommand: \`node --import tsx bench/runtime/microbench.ts\` (medians of batches of 100 calls after 2,000 warm-up calls).\n\n`;
const fuelLine = `\nFuel metering (the module as uploaded vs as compiled, called directly; sums of 3 interleaved medians):\n\n| workload | unmetered ms | metered ms | overhead |\n|---|---|---|---|\n| analytics-mask example on a 64 KiB raw request (×20) — a real plugin | ${maskPlainMs.toFixed(1)} | ${maskMeteredMs.toFixed(1)} | **${maskOverhead}%** |\n| worst case: FNV-1a byte loop over 64 KiB ×50 (a 1-byte loop body, a call per 64 bytes) | ${plainMs.toFixed(1)} | ${meteredMs.toFixed(1)} | **${overhead}%** |\n`;
const text = `${header}${rows.join('\n')}\n\nThe TypeScript examples (each on its first vector in test/vectors, padded with headers to the size):\n\n${exampleRows.join('\n')}\n${fuelLine}`;
console.log(text);
if (WRITE) await appendFile(new URL('../RESULTS.md', import.meta.url), text);
await runtime.close();
