/**
 * What one call of a kit plugin costs: `callRaw` through the real runtime
 * (envelope bytes in, result bytes out, fuel metered as uploaded) for the
 * probe fixture's `stamp` on small envelopes (a GET with a handful of
 * headers and no body, as the gateway writes it, for four hooks) and for
 * every TypeScript example on its first vector padded to 1 KB and 10 KB
 * (as bench/runtime/examples.ts pads them).
 *
 * With `--baseline-rev REV` the plugins are also built with the kit of that
 * git revision (its pdk/, examples and probe, built by its own pdk/build.ts)
 * and every cell is measured on both builds in alternating batches, so
 * drift and other load on the machine hit both alike; both builds must
 * answer the same bytes. `--rounds N` repeats the whole table and reports
 * the median of the rounds' medians.
 *
 *   node --import tsx bench/runtime/kit-calls.ts [--baseline-rev REV] [--rounds N] [--iterations N] [--only TEXT]
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, symlink } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { decode } from 'msgpackr';
import { buildPlugin } from '../../pdk/build.ts';
import { type Envelope, encodeEnvelope, type PluginBinding, Runtime } from '../../runtime/index.ts';
import { listCases } from '../../test/vectors/generate.ts';
import { padded } from './padding.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const BASELINE_REV = arg('--baseline-rev');
const ROUNDS = Number(arg('--rounds') ?? 1);
const ITERATIONS = Number(arg('--iterations') ?? 4_000);
const ONLY = arg('--only');
const BATCH = 100;
const WARMUP = 2_000;

/** A typical small request as the gateway encodes it: a GET with a handful of headers, no body. */
function smallEnvelope(hook: Envelope['hook']): Envelope {
  const env: Envelope = {
    v: 1,
    hook,
    request: {
      method: 'GET',
      url: '/orders/1234',
      request_uri: '/shop/orders/1234?expand=items',
      scheme: 'http',
      host: 'api.example.com',
      remote_addr: '203.0.113.7',
      params: { expand: ['items'] },
      headers: {
        host: ['api.example.com'],
        'user-agent': ['curl/8.5.0'],
        accept: ['*/*'],
        authorization: ['Bearer 3f9c2a7e0b1d4c58'],
      },
      body: null,
    },
    spec: { api_id: 'orders', org_id: 'acme', name: 'Orders API', config_data: {} },
    metadata: { request_id: '3f9c2a7e-1k2', plugin: 'probe@1.0.0', version: '1', time: 1764547200 },
  };
  if (hook !== 'pre' && hook !== 'auth') {
    env.session = { rate: 100, per: 60, quota_max: -1, metadata: { token: '3f9c2a7e0b1d4c58', user: 'alice' } };
  }
  if (hook === 'response') {
    env.response = {
      status_code: 200,
      headers: { 'content-type': ['application/json'], 'content-length': ['512'] },
      body: null,
    };
  }
  return env;
}

type Builder = typeof buildPlugin;

/** probe and every example, built by `build` from the tree at `root`, into a new folder: name → module file. */
async function buildAll(build: Builder, root: string): Promise<Map<string, string>> {
  const out = await mkdtemp(join(tmpdir(), 'wasmgate-kit-calls-'));
  const files = new Map<string, string>();
  const probe = join(root, 'test', 'fixtures', 'plugins', 'probe');
  files.set('probe', (await build(probe, { outFile: join(out, 'probe.wasm') })).file);
  const examples = join(root, 'plugins-examples', 'ts');
  for (const d of (await readdir(examples, { withFileTypes: true })).filter((e) => e.isDirectory())) {
    files.set(d.name, (await build(join(examples, d.name), { outFile: join(out, `${d.name}.wasm`) })).file);
  }
  return files;
}

/** The kit, examples and probe of git revision `rev`, built by that revision's own pdk/build.ts. */
async function buildRevision(rev: string): Promise<Map<string, string>> {
  const tree = await mkdtemp(join(tmpdir(), 'wasmgate-kit-rev-'));
  const tar = execFileSync('git', ['archive', '--format=tar', rev, 'pdk', 'plugins-examples/ts', 'test/fixtures'], {
    cwd: ROOT,
    maxBuffer: 256 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '-C', tree], { input: tar });
  await symlink(join(ROOT, 'node_modules'), join(tree, 'node_modules'));
  await mkdir(join(tree, 'build'), { recursive: true });
  const old = (await import(pathToFileURL(join(tree, 'pdk', 'build.ts')).href)) as { buildPlugin: Builder };
  return buildAll(old.buildPlugin, tree);
}

interface Cell {
  label: string;
  plugin: string;
  exportName: string;
  input: Uint8Array;
}

function median(s: number[]): number {
  const sorted = [...s].sort((a, c) => a - c);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Medians (µs per call) of alternating batches on each binding, after a warm-up of each. */
async function measure(bindings: PluginBinding[], exportName: string, input: Uint8Array): Promise<number[]> {
  const outputs: string[] = [];
  for (const b of bindings) {
    const { output } = await b.callRaw(exportName, input);
    outputs.push(Buffer.from(output ?? []).toString('hex'));
    for (let i = 0; i < WARMUP; i++) await b.callRaw(exportName, input);
  }
  if (outputs.some((o) => o !== outputs[0])) throw new Error(`${exportName}: the builds answer different bytes`);
  const samples: number[][] = bindings.map(() => []);
  for (let round = 0; round < ITERATIONS / BATCH; round++) {
    for (let k = 0; k < bindings.length; k++) {
      const b = bindings[k]!;
      const t = process.hrtime.bigint();
      for (let i = 0; i < BATCH; i++) await b.callRaw(exportName, input);
      samples[k]!.push(Number(process.hrtime.bigint() - t) / 1e3 / BATCH);
    }
  }
  return samples.map(median);
}

const builds = [await buildAll(buildPlugin, ROOT)];
if (BASELINE_REV) builds.unshift(await buildRevision(BASELINE_REV));

const cells: Cell[] = [];
for (const hook of ['pre', 'post_auth', 'post', 'response'] as const) {
  const input = encodeEnvelope(smallEnvelope(hook));
  cells.push({ label: `probe stamp, ${hook}, ${input.byteLength} B`, plugin: 'probe', exportName: 'stamp', input });
}
const cases = listCases();
for (const name of [...builds[0]!.keys()].filter((n) => n !== 'probe').sort()) {
  const first = cases.find((c) => c.example === name && c.expected !== null);
  if (!first) continue;
  const base = decode(await readFile(join(first.dir, 'input.msgpack'))) as Envelope;
  for (const size of [1_024, 10_240]) {
    const input = encodeEnvelope(padded(base, size));
    cells.push({ label: `${name}, ${size / 1024} KB`, plugin: name, exportName: first.export, input });
  }
}

const runtime = new Runtime();
const bound = new Map<string, PluginBinding[]>();
async function bindingsOf(plugin: string): Promise<PluginBinding[]> {
  let list = bound.get(plugin);
  if (!list) {
    list = [];
    for (const b of builds) {
      const file = b.get(plugin);
      if (!file) throw new Error(`no ${plugin} in one of the builds`);
      list.push(runtime.bind(await runtime.prepare(await readFile(file)), { apiId: `kit-${plugin}-${list.length}` }));
    }
    bound.set(plugin, list);
  }
  return list;
}

const chosen = cells.filter((c) => !ONLY || c.label.includes(ONLY));
const results = new Map<string, number[][]>(chosen.map((c) => [c.label, builds.map(() => [])]));
for (let round = 0; round < ROUNDS; round++) {
  for (const cell of chosen) {
    const times = await measure(await bindingsOf(cell.plugin), cell.exportName, cell.input);
    for (let k = 0; k < times.length; k++) results.get(cell.label)![k]!.push(times[k]!);
  }
  console.error(`round ${round + 1} of ${ROUNDS} done`);
}
await runtime.close();

console.log(
  `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}. ` +
    `${ITERATIONS} calls per cell and build in batches of ${BATCH} after ${WARMUP} warm-up calls; median of ${ROUNDS} round(s).\n`,
);
console.log(
  BASELINE_REV
    ? `| case | kit at ${BASELINE_REV}: µs/callRaw | this kit: µs/callRaw | speed-up |\n| --- | --- | --- | --- |`
    : '| case | µs/callRaw |\n| --- | --- |',
);
for (const cell of chosen) {
  const t = results.get(cell.label)!.map(median);
  if (BASELINE_REV)
    console.log(`| ${cell.label} | ${t[0]!.toFixed(2)} | ${t[1]!.toFixed(2)} | ${(t[0]! / t[1]!).toFixed(2)}× |`);
  else console.log(`| ${cell.label} | ${t[0]!.toFixed(2)} |`);
}
