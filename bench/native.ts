/**
 * The example plugins that exist in TypeScript, Rust and Go, side by side:
 * module size, the upload pipeline (Runtime.prepare: validation, fuel
 * instrumentation, memory cap, compile, trial instantiation), the cost of a
 * new pooled instance, and the per-call time on a 1 KB and a 10 KB envelope.
 *
 *   node --import tsx bench/native.ts [--no-write] [--iterations N]
 *
 * Every module is built from source first (test/parity/build.ts,
 * test/harness/examples.ts); a language whose toolchain is missing is
 * left out with a note. Replaces the "Rust and Go example plugins" section
 * of bench/RESULTS.md unless --no-write.
 */
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { decode } from 'msgpackr';
import { type Envelope, encodeEnvelope, type Hook, type PluginBinding, Runtime } from '../runtime/index.ts';
import { createInstance } from '../runtime/instance.ts';
import { buildTsExamples } from '../test/harness/examples.ts';
import {
  buildGoExamples,
  buildRustExamples,
  findGo,
  findRustToolchain,
  NATIVE_EXAMPLES,
  NEEDS_WASI,
} from '../test/parity/build.ts';
import { listCases } from '../test/vectors/generate.ts';

const WRITE = !process.argv.includes('--no-write');
const itArg = process.argv.indexOf('--iterations');
const ITERATIONS = itArg > 0 ? Number(process.argv[itArg + 1]) : 3_000;
const BATCH = 100;
const PREPARE_RUNS = 5;
const INSTANCE_RUNS = 20;
const FIRST_CALL_RUNS = 10;
const SIZES = [1_024, 10_240] as const;
const RESULTS = join(import.meta.dirname, 'RESULTS.md');
const HEADING = '## Rust and Go example plugins — ';

type Lang = 'ts' | 'rust' | 'go';
const EXAMPLES = Object.keys(NATIVE_EXAMPLES); // every example written in Rust or Go

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function ms(start: bigint): number {
  return Number(process.hrtime.bigint() - start) / 1e6;
}

/**
 * `bytes` with a custom section appended: the same code with its own sha256,
 * so Runtime.prepare (which caches by content) runs the whole pipeline again.
 */
function distinct(bytes: Uint8Array, n: number): Uint8Array {
  const name = Buffer.from('wasmgate-bench');
  const payload = Buffer.alloc(4);
  payload.writeUInt32LE(n);
  const body = Buffer.concat([Buffer.from([name.length]), name, payload]);
  return Buffer.concat([bytes, Buffer.from([0, body.length]), body]);
}

/**
 * Grows the part of the envelope the example reads until the whole envelope
 * encodes to at least `bytes`: request headers (auth-token, endpoint-hello,
 * route-by-header), response headers (response-rewrite), the raw request in
 * the analytics record, header lines before the body (analytics-mask), the
 * body of the users answer, which the plugin embeds (aggregate).
 */
function padded(example: string, base: Envelope, bytes: number): Envelope {
  const env = structuredClone(base);
  let size = encodeEnvelope(env).byteLength;
  for (let i = 0; size < bytes; i++) {
    const value = 'v'.repeat(Math.max(1, Math.min(200, bytes - size) - 14));
    if (example === 'response-rewrite') {
      env.response!.headers[`x-pad-${i}`] = [value];
    } else if (example === 'aggregate') {
      // Still a JSON array: one more element per step.
      const users = env.responses!.users as { body: Uint8Array };
      const text = Buffer.from(users.body).toString('utf8');
      users.body = Buffer.from(`${text.slice(0, -1)},{"pad":"${value}"}]`);
    } else if (example === 'analytics-mask') {
      const raw = Buffer.from(env.record!.raw_request!, 'base64').toString('latin1');
      const at = raw.indexOf('\r\n') + 2;
      // base64 grows by 4/3: add three quarters of what is missing.
      const line = `X-Pad-${i}: ${value.slice(0, Math.max(1, Math.floor(value.length * 0.75)))}\r\n`;
      env.record!.raw_request = Buffer.from(raw.slice(0, at) + line + raw.slice(at), 'latin1').toString('base64');
    } else {
      env.request.headers[`x-pad-${i}`] = [value];
    }
    size = encodeEnvelope(env).byteLength;
  }
  return env;
}

/** Median µs per call over batches of BATCH, after a warm-up. */
async function perCall(fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < Math.min(500, ITERATIONS / 5); i++) await fn();
  const samples: number[] = [];
  for (let b = 0; b < ITERATIONS / BATCH; b++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < BATCH; i++) await fn();
    samples.push(Number(process.hrtime.bigint() - t) / 1e3 / BATCH);
  }
  return median(samples);
}

/** The result must be the example doing its work, not an error or an empty answer. */
function checkOutput(example: string, output: Uint8Array | null): void {
  const result = output && output.byteLength > 0 ? (decode(Buffer.from(output)) as Record<string, unknown>) : null;
  const want = {
    'auth-token': 'session',
    'response-rewrite': 'response',
    'analytics-mask': 'record',
    'endpoint-hello': 'return_overrides',
    aggregate: 'return_overrides',
    'route-by-header': 'request',
  }[example]!;
  if (!result || !(want in result)) throw new Error(`${example}: unexpected result ${JSON.stringify(result)}`);
}

interface Row {
  lang: Lang;
  example: string;
  moduleBytes: number;
  preparedBytes: number;
  prepareMs: number;
  instanceMs: number;
  firstCallExtraMs: number;
  us: number[];
  inputBytes: number[];
}

const runtime = new Runtime();
const cases = listCases();
const notes: string[] = [];

async function builds(): Promise<[Lang, Map<string, string>][]> {
  const out: [Lang, Map<string, string>][] = [];
  const ts = await buildTsExamples();
  out.push(['ts', new Map(EXAMPLES.map((e) => [e, ts.get(e)!.wasm]))]);
  if (findRustToolchain()) out.push(['rust', await buildRustExamples()]);
  else
    notes.push('Rust left out: no cargo with the wasm32-unknown-unknown target (bash scripts/install-rust-wasm.sh).');
  if (findGo()) out.push(['go', await buildGoExamples()]);
  else notes.push('Go left out: no Go ≥ 1.24 (bash scripts/check-go.sh).');
  return out;
}

async function measure(lang: Lang, example: string, file: string): Promise<Row> {
  const wasi = lang === 'ts' ? false : NEEDS_WASI[lang];
  const bytes = new Uint8Array(await readFile(file));
  const first = cases.find((c) => c.example === example && c.expected !== null)!;
  const exportName = first.export;

  const prepareTimes: number[] = [];
  let mod = await runtime.prepare(bytes, { wasi });
  for (let i = 1; i <= PREPARE_RUNS; i++) {
    const t = process.hrtime.bigint();
    mod = await runtime.prepare(distinct(bytes, i), { wasi });
    prepareTimes.push(ms(t));
  }

  // A pooled instance as the pool makes it (runtime/binding.ts): Extism plugin, WASI, host functions.
  const instanceTimes: number[] = [];
  for (let i = 0; i < INSTANCE_RUNS; i++) {
    const t = process.hrtime.bigint();
    const inst = await createInstance(mod.module, { wasi, config: {}, limits: runtime.limits, logSink: () => {} });
    instanceTimes.push(ms(t));
    await inst.plugin.close();
  }

  const base = decode(await readFile(join(first.dir, 'input.msgpack'))) as Envelope;
  const small = encodeEnvelope(padded(example, base, SIZES[0]));
  // First call on a fresh binding (its pool creates the instance; a Go reactor runs _initialize) …
  const firstCalls: number[] = [];
  for (let i = 0; i < FIRST_CALL_RUNS; i++) {
    const binding = runtime.bind(mod, { apiId: `bench-first-${i}` });
    const t = process.hrtime.bigint();
    checkOutput(example, (await binding.callRaw(exportName, small)).output);
    firstCalls.push(ms(t));
    await binding.drain();
  }

  const binding: PluginBinding = runtime.bind(mod, { apiId: `bench-${lang}-${example}` });
  const us: number[] = [];
  const inputBytes: number[] = [];
  for (const size of SIZES) {
    const input = encodeEnvelope(padded(example, base, size));
    checkOutput(example, (await binding.callRaw(exportName, input)).output);
    // Also the gateway's path: the result validates for the hook.
    await binding.call(exportName, first.hook as Hook, input);
    inputBytes.push(input.byteLength);
    us.push(await perCall(() => binding.callRaw(exportName, input)));
  }
  // … minus a steady call on the same envelope.
  const steadyMs = us[0]! / 1e3;
  await binding.drain();
  return {
    lang,
    example,
    moduleBytes: bytes.byteLength,
    preparedBytes: mod.bytes.byteLength,
    prepareMs: median(prepareTimes),
    instanceMs: median(instanceTimes),
    firstCallExtraMs: median(firstCalls) - steadyMs,
    us,
    inputBytes,
  };
}

function version(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', env: env ?? process.env }).trim();
  } catch {
    return '';
  }
}

// On a shared host other processes take CPU too: the load shows how far the numbers can be trusted.
const loadAtStart = loadavg()[0]!;
const rows: Row[] = [];
for (const [lang, built] of await builds()) {
  for (const example of EXAMPLES) {
    const file = built.get(example);
    if (!file) continue;
    const row = await measure(lang, example, file);
    rows.push(row);
    console.error(
      `${lang} ${example}: ${row.moduleBytes} B, prepare ${row.prepareMs.toFixed(1)} ms, instance ${row.instanceMs.toFixed(2)} ms, ${row.us.map((u) => u.toFixed(1)).join(' / ')} µs`,
    );
  }
}
await runtime.close();

const kb = (n: number) => (n >= 1_000_000 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const header = [
  'example',
  'kit',
  'module',
  'after pipeline',
  'upload pipeline',
  'new instance',
  'first call − steady',
  'µs/call, 1 KB',
  'µs/call, 10 KB',
];
const table = [
  `| ${header.join(' | ')} |`,
  `| ${header.map((h) => '-'.repeat(h.length)).join(' | ')} |`,
  ...[...rows]
    .sort((a, b) => EXAMPLES.indexOf(a.example) - EXAMPLES.indexOf(b.example))
    .map((r) => [
      r.example,
      r.lang,
      kb(r.moduleBytes),
      kb(r.preparedBytes),
      `${r.prepareMs.toFixed(0)} ms`,
      `${r.instanceMs.toFixed(2)} ms`,
      `${r.firstCallExtraMs.toFixed(2)} ms`,
      r.us[0]!.toFixed(1),
      r.us[1]!.toFixed(1),
    ])
    .map((cells) => `| ${cells.join(' | ')} |`),
].join('\n');

const rustTc = findRustToolchain();
const rustc = rustTc ? version(rustTc.env.RUSTC ?? 'rustc', ['--version'], rustTc.env) : 'none';
const go = findGo();
const goVersion = go ? version(go, ['version']).replace(/^go version /, '') : 'none';
const date = new Date().toISOString().slice(0, 10);
const sizes = rows.find((r) => r.lang === 'ts')?.inputBytes.join(' and ') ?? '1024 and 10240';
const section = `${HEADING}${date}

Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}, @extism/extism 2.0.0-rc13; 1-minute load average ${loadAtStart.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end;
${rustc} (\`cargo build --release\`: opt-level "s", LTO, panic=abort, strip), ${goVersion} (\`GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -trimpath -ldflags='-s -w'\`, uploaded with WASI), AssemblyScript through \`pdk/build.ts\`.
Command: \`node --import tsx bench/native.ts\` (builds every example from source first).

- **module**: the built \`.wasm\`; **after pipeline**: the stored module (fuel metering and the memory cap added).
- **upload pipeline**: \`Runtime.prepare\` (validation, import allowlist, fuel instrumentation, memory cap, compile, trial instantiation in the pipeline thread), median of ${PREPARE_RUNS} runs, each on distinct bytes (a custom section appended) so nothing is cached.
- **new instance**: what the pool does for one more instance (\`createInstance\`: the Extism plugin with the host functions, WASI for Go), median of ${INSTANCE_RUNS}.
- **first call − steady**: the first call on a fresh binding (its pool creates the instance; a Go reactor also runs \`_initialize\`) minus a steady call on the same 1 KB envelope, median of ${FIRST_CALL_RUNS} bindings.
- **µs/call**: \`PluginBinding.callRaw\` (envelope bytes in, result bytes out, the plugin alone) on one pooled instance, median of batches of ${BATCH}, ${ITERATIONS} calls per cell after a warm-up. The envelope is the example's first vector with a result (test/vectors), grown to ${sizes} bytes where the example reads: request headers (auth-token, endpoint-hello, route-by-header), response headers (response-rewrite), header lines of the record's \`raw_request\` (analytics-mask), the body of the \`users\` answer (aggregate: the vector \`both-answered\`, the second call of a request, which embeds both answers). Every result is checked to be the example's real answer, and to validate through \`call\`.

${table}
${notes.length ? `\n${notes.join('\n')}\n` : ''}`;

console.log(`\n${section}`);
if (WRITE) {
  const text = await readFile(RESULTS, 'utf8');
  const start = text.indexOf(HEADING);
  const next = start < 0 ? -1 : text.indexOf('\n## ', start + HEADING.length);
  const updated =
    start < 0
      ? `${text.trimEnd()}\n\n${section}`
      : `${text.slice(0, start)}${section}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`;
  await writeFile(RESULTS, updated);
}
