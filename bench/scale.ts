/**
 * Scale: the gateway's resident memory with 1, 100 and 1,000 distinct
 * plugins uploaded and warm (each on its own API, one request served
 * through each so its instance exists), and the memory of one more pooled
 * instance. Every count runs in a fresh process so one does not inherit
 * another's heap.
 *
 *   node --import tsx bench/scale.ts [--counts 1,100,1000] [--no-write]
 *
 * "Small plugin" is the benchmark's fast-path WAT plugin (test/fixtures/wat/
 * result-fast.wat); "kit plugin" is the AssemblyScript probe plugin built
 * with the PDK (test/fixtures/plugins/probe). Each copy gets a distinct
 * exported global, so every module has its own bytes, sha256 and compiled
 * code — nothing is shared between them but the runtime.
 */
import { fork } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'undici';

const HERE = import.meta.dirname;
const ROOT = resolve(HERE, '..');
const MB = 1024 * 1024;

type Kind = 'wat' | 'kit';

interface ScaleResult {
  kind: Kind;
  count: number;
  baselineRss: number;
  warmRss: number;
  /** Right after the uploads, while the upload pipeline thread still runs. */
  withThreadRss: number;
  heapUsed: number;
  external: number;
  loadSeconds: number;
}

interface InstanceResult {
  kind: Kind;
  instances: number;
  perInstanceBytes: number;
}

/** The module with an exported constant global `bench_id` = `id`: same code, distinct bytes. */
async function distinct(bytes: Uint8Array, id: number): Promise<Uint8Array> {
  // Loaded here only: binaryen alone is hundreds of MB, and the gateway processes must not carry it.
  const { default: binaryen } = await import('binaryen');
  const mod = binaryen.readBinary(bytes);
  try {
    mod.setFeatures(
      binaryen.Features.MVP |
        binaryen.Features.MutableGlobals |
        binaryen.Features.BulkMemory |
        binaryen.Features.SignExt |
        binaryen.Features.NontrappingFPToInt,
    );
    mod.addGlobal('bench_id', binaryen.i32, false, mod.i32.const(id));
    mod.addGlobalExport('bench_id', 'bench_id');
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

async function sourceModule(kind: Kind): Promise<{ bytes: Uint8Array; exportName: string }> {
  if (kind === 'wat') {
    const { wat } = await import('../test/harness/wat.ts');
    return { bytes: wat('result-fast'), exportName: 'run' };
  }
  const { buildPlugin } = await import('../pdk/build.ts');
  const built = await buildPlugin(join(ROOT, 'test', 'fixtures', 'plugins', 'probe'));
  return { bytes: await readFile(built.file), exportName: 'stamp' };
}

function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) globalThis.gc?.();
  return new Promise((r) => setTimeout(r, 300));
}

/** Child: one gateway with `count` plugins, each on its own API, one request through each. */
async function childScale(kind: Kind, count: number, dir: string, exportName: string): Promise<ScaleResult> {
  const { createGateway, openStore } = await import('../gateway/app.ts');
  const { parseApiDefinition } = await import('../gateway/config/load.ts');
  const { createLogger } = await import('../gateway/log.ts');
  const { loadSettings } = await import('../gateway/settings.ts');
  const { createServer } = await import('node:http');
  const { DEFAULT_LIMITS } = await import('../runtime/limits.ts');

  const upstream = createServer((req, res) => {
    req.resume();
    res.end('{"ok":true}');
  });
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const upstreamUrl = `http://127.0.0.1:${(upstream.address() as { port: number }).port}/`;
  const dataDir = await mkdtemp(join(tmpdir(), 'wasmgate-scale-'));
  const settings = await loadSettings({
    env: {},
    overrides: {
      host: '127.0.0.1',
      port: 0,
      demo: false,
      dataDir,
      logLevel: 'error',
      analytics: false,
      // The upload thread stops soon after the last upload, as it does (after a minute) in production.
      limits: { ...DEFAULT_LIMITS, pipelineIdleMs: 1_000 },
    },
  });
  const logger = createLogger(settings.logLevel);
  const gateway = createGateway(settings, await openStore(settings, logger), logger);
  const { port } = await gateway.listen();
  await new Promise((r) => setTimeout(r, 1_500)); // the upload thread, warmed at start, stops
  await settle();
  const baselineRss = process.memoryUsage().rss;

  const started = performance.now();
  const docs = [];
  for (let i = 0; i < count; i++) {
    const name = `p${i}`;
    await gateway.registry.register(name, '1.0.0', await readFile(join(dir, `${i}.wasm`)));
    docs.push({
      api_id: `a${i}`,
      org_id: 'scale',
      name: `a${i}`,
      use_keyless: true,
      proxy: { listen_path: `/a${i}/`, target_url: upstreamUrl, strip_listen_path: true },
      custom_middleware: { driver: 'wasm', pre: [{ name: exportName, path: `${name}@1.0.0` }] },
    });
  }
  gateway.swap(
    await gateway.load(
      docs.map((d) => parseApiDefinition(d)),
      ROOT,
    ),
  );
  const agent = new Agent({ connections: 8 });
  for (let i = 0; i < count; i += 8) {
    await Promise.all(
      Array.from({ length: Math.min(8, count - i) }, async (_, j) => {
        const res = await request(`http://127.0.0.1:${port}/a${i + j}/x`, { dispatcher: agent });
        await res.body.dump();
        if (res.statusCode !== 200) throw new Error(`a${i + j} answered ${res.statusCode}`);
      }),
    );
  }
  const loadSeconds = (performance.now() - started) / 1000;
  await settle();
  const withThread = process.memoryUsage().rss;
  await new Promise((r) => setTimeout(r, 1_500));
  await settle();
  const mem = process.memoryUsage();
  await agent.close();
  await gateway.close(0);
  upstream.close();
  await rm(dataDir, { recursive: true, force: true });
  return {
    kind,
    count,
    baselineRss,
    warmRss: mem.rss,
    withThreadRss: withThread,
    heapUsed: mem.heapUsed,
    external: mem.external,
    loadSeconds,
  };
}

/** Child: the resident memory one more pooled instance of one plugin costs. */
async function childInstances(kind: Kind, instances: number, dir: string): Promise<InstanceResult> {
  const { Runtime } = await import('../runtime/index.ts');
  const { createInstance } = await import('../runtime/instance.ts');
  const { DEFAULT_LIMITS } = await import('../runtime/limits.ts');
  const rt = new Runtime();
  const mod = await rt.prepare(await readFile(join(dir, '0.wasm')));
  const opts = { wasi: false, config: {}, limits: DEFAULT_LIMITS, logSink: () => {} };
  const live = [await createInstance(mod.module, opts)];
  await settle();
  const before = process.memoryUsage().rss;
  for (let i = 0; i < instances; i++) live.push(await createInstance(mod.module, opts));
  await settle();
  const after = process.memoryUsage().rss;
  for (const inst of live) await inst.plugin.close();
  await rt.close();
  return { kind, instances, perInstanceBytes: (after - before) / instances };
}

function runChild(args: string[]): Promise<unknown> {
  return new Promise((resolveResult, reject) => {
    const proc = fork(join(HERE, 'scale.ts'), ['--child', ...args], {
      execArgv: ['--expose-gc', '--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: unknown = null;
    proc.on('message', (m) => {
      result = m;
    });
    proc.once('exit', (code) =>
      code === 0 && result ? resolveResult(result) : reject(new Error(`child ${args} exited ${code}`)),
    );
  });
}

const argv = process.argv.slice(2);
if (argv[0] === '--child') {
  const [, mode, kind, n, dir, exportName] = argv as [string, string, Kind, string, string, string];
  const out =
    mode === 'scale' ? await childScale(kind, Number(n), dir, exportName) : await childInstances(kind, Number(n), dir);
  process.send!(out);
  process.exit(0);
}

const flag = (name: string) => {
  const i = argv.indexOf(name);
  return i === -1 ? undefined : argv[i + 1];
};
const counts = (flag('--counts') ?? '1,100,1000').split(',').map(Number);
const write = !argv.includes('--no-write');

// The modules are made here, so the gateway processes load neither binaryen's text parser nor the compiler.
const largest = Math.max(...counts);
const dirs = new Map<Kind, { dir: string; exportName: string }>();
for (const kind of ['wat', 'kit'] as const) {
  const { bytes, exportName } = await sourceModule(kind);
  const dir = await mkdtemp(join(tmpdir(), `wasmgate-scale-${kind}-`));
  for (let i = 0; i < largest; i++) await writeFile(join(dir, `${i}.wasm`), await distinct(bytes, i));
  dirs.set(kind, { dir, exportName });
}

const scale: ScaleResult[] = [];
for (const kind of ['wat', 'kit'] as const) {
  for (const count of counts) {
    const { dir, exportName } = dirs.get(kind)!;
    const r = (await runChild(['scale', kind, String(count), dir, exportName])) as ScaleResult;
    console.error(
      `${kind} ×${count}: rss ${(r.warmRss / MB).toFixed(1)} MB (baseline ${(r.baselineRss / MB).toFixed(1)}), ${r.loadSeconds.toFixed(1)} s`,
    );
    scale.push(r);
  }
}
const inst: InstanceResult[] = [];
for (const kind of ['wat', 'kit'] as const)
  inst.push((await runChild(['instances', kind, '50', dirs.get(kind)!.dir])) as InstanceResult);
for (const { dir } of dirs.values()) await rm(dir, { recursive: true, force: true });

const mb = (b: number) => (b / MB).toFixed(1);
const worst1000 = scale.filter((r) => r.count === largest);
const lines = [
  '',
  `## Scale: memory with many plugins — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  'Command: `node --import tsx bench/scale.ts` (each count in a fresh gateway process; one API per plugin, one request through each so its pooled instance exists; RSS after a forced GC; "RSS warm" once the upload pipeline thread has stopped after its idle time, here 1 s, by default 60 s).',
  '',
  '| plugin | plugins | uploaded + warm in | RSS before | RSS warm, upload thread running | RSS warm | per added plugin | V8 heap used | external |',
  '| ------ | ------- | ------------------ | ---------- | ------------------------------- | -------- | ---------- | ------------ | -------- |',
  ...scale.map((r, i) => {
    // Per plugin: the slope from the previous count of the same kind (a single plugin's figure
    // is dominated by one-off costs: the first compile, allocator arenas the upload thread left).
    const prev = scale[i - 1]?.kind === r.kind ? scale[i - 1]! : null;
    const slope = prev ? `${((r.warmRss - prev.warmRss) / (r.count - prev.count) / 1024).toFixed(0)} KB` : '—';
    return `| ${r.kind === 'wat' ? 'small (WAT)' : 'kit (AssemblyScript)'} | ${r.count} | ${r.loadSeconds.toFixed(1)} s | ${mb(r.baselineRss)} MB | ${mb(r.withThreadRss)} MB | ${mb(r.warmRss)} MB | ${slope} | ${mb(r.heapUsed)} MB | ${mb(r.external)} MB |`;
  }),
  '',
  '| plugin | one more pooled instance (mean of 50) |',
  '| ------ | ------------------------------------ |',
  ...inst.map(
    (r) =>
      `| ${r.kind === 'wat' ? 'small (WAT)' : 'kit (AssemblyScript)'} | ${(r.perInstanceBytes / 1024).toFixed(0)} KB |`,
  ),
  '',
  `Target: ${largest} small plugins warm in ≤ 300 MB resident: ${worst1000
    .map((r) => `${r.kind} ${mb(r.warmRss)} MB — ${r.warmRss <= 300 * MB ? 'met' : '**missed**'}`)
    .join('; ')}.`,
  '',
];
console.log(lines.join('\n'));
if (write) await appendFile(join(HERE, 'RESULTS.md'), lines.join('\n'));
