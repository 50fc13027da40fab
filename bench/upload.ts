/**
 * Upload to serve: the time from the start of a plugin upload through the
 * admin API to the first proxied request served by that version — the
 * upload (size cap, validation, import allowlist, static caps, fuel
 * metering, memory cap, compile, trial instantiation in the pipeline
 * thread), the API update naming the new version (`PUT /tyk/apis/ID`), and
 * requests until one carries the new version's header.
 *
 *   node --import tsx bench/upload.ts [--runs N] [--no-write]
 *
 * The modules are real: a pre plugin whose result sets x-plugin-version,
 * plus generated functions (arithmetic, ~350 bytes each) that bring it to
 * ~100 KB and ~1 MB of code — what metering and compilation work through.
 * Every run uploads a new version with its own bytes (nothing is served
 * from the runtime's content-addressed cache). The first upload also starts
 * the pipeline thread; it is reported on its own and left out of the median.
 * Target: ≤ 300 ms for 1 MB.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { startApp } from '../gateway/app.ts';
import { createLogger } from '../gateway/log.ts';
import { loadSettings } from '../gateway/settings.ts';
import { pluginModule } from '../test/harness/versioned-plugin.ts';

const HERE = import.meta.dirname;
const SECRET = 'bench-upload-secret-0123456789';
const args = process.argv.slice(2);
const write = !args.includes('--no-write');
const runsAt = args.indexOf('--runs');
const RUNS = runsAt >= 0 ? Number(args[runsAt + 1]) : 7;
const TARGET_MS = 300;

const dataDir = await mkdtemp(join(tmpdir(), 'wasmgate-bench-upload-'));
const upstream = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' });
  res.end('ok');
});
await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', () => r()));
const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
const settings = await loadSettings({
  env: {},
  overrides: {
    host: '127.0.0.1',
    port: 0,
    adminPort: 0,
    demo: false,
    dataDir,
    logLevel: 'silent',
    adminSecret: SECRET,
    analytics: false,
  },
});
const app = await startApp(settings, createLogger('silent'));
const agent = new Agent({ connections: 4 });
const adminUrl = `http://127.0.0.1:${app.adminPort}`;
const proxyUrl = `http://127.0.0.1:${app.port}`;

async function admin(method: 'POST' | 'PUT', path: string, body: Uint8Array | string, type: string): Promise<void> {
  const res = await request(`${adminUrl}${path}`, {
    method,
    body,
    headers: { 'x-tyk-authorization': SECRET, 'content-type': type },
    dispatcher: agent,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path} → ${res.statusCode} ${text}`);
}

const apiDoc = (ref: string) =>
  JSON.stringify({
    api_id: 'bench',
    org_id: 'bench',
    name: 'bench',
    use_keyless: true,
    proxy: { listen_path: '/bench/', target_url: upstreamUrl, strip_listen_path: true },
    custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: ref }] },
  });

interface Run {
  total: number;
  upload: number;
  apply: number;
  firstRequest: number;
  requests: number;
}

let seq = 0;
let apiExists = false;
/** One upload-to-serve measurement; the upstream echoes nothing, so the header is read off the upstream's view. */
async function measure(name: string, bytes: number): Promise<Run> {
  const version = `r${++seq}`;
  const module = pluginModule(version, bytes);
  const t0 = performance.now();
  await admin('POST', `/tyk/plugins/${name}/${seq}`, module, 'application/wasm');
  const t1 = performance.now();
  const doc = apiDoc(`${name}@${seq}`);
  if (apiExists) await admin('PUT', '/tyk/apis/bench', doc, 'application/json');
  else await admin('POST', '/tyk/apis', doc, 'application/json');
  apiExists = true;
  const t2 = performance.now();
  let requests = 0;
  for (;;) {
    requests++;
    const res = await request(`${proxyUrl}/bench/x`, { dispatcher: agent });
    await res.body.dump();
    if (res.statusCode === 200 && lastSeenVersion === version) break;
    if (requests > 10_000) throw new Error(`version ${version} never served`);
  }
  const t3 = performance.now();
  return { total: t3 - t0, upload: t1 - t0, apply: t2 - t1, firstRequest: t3 - t2, requests };
}

// The upstream records the header the plugin set on the request it forwarded.
let lastSeenVersion: string | undefined;
upstream.prependListener('request', (req) => {
  lastSeenVersion = req.headers['x-plugin-version'] as string | undefined;
});

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const ms = (x: number) => `${x.toFixed(0)} ms`;

const sizes = [
  { label: '100 KB', bytes: 100 * 1024 },
  { label: '1 MB', bytes: 1024 * 1024 },
];
const rows: string[] = [];
let cold: Run | null = null;
let cold1mb = 0;
const summary: Record<string, number> = {};
try {
  for (const size of sizes) {
    const actual = pluginModule('r0', size.bytes).length;
    const runs: Run[] = [];
    for (let i = 0; i <= RUNS; i++) {
      const r = await measure(size.label === '1 MB' ? 'big' : 'small', size.bytes);
      if (i === 0 && cold === null) cold = r;
      else if (i > 0) runs.push(r);
      else cold1mb = r.total;
    }
    const m = median(runs.map((r) => r.total));
    summary[size.label] = m;
    rows.push(
      `| ${size.label} (${(actual / 1024).toFixed(0)} KiB) | ${runs.length} | **${ms(m)}** | ${ms(Math.min(...runs.map((r) => r.total)))} – ${ms(Math.max(...runs.map((r) => r.total)))} | ${ms(median(runs.map((r) => r.upload)))} | ${ms(median(runs.map((r) => r.apply)))} | ${ms(median(runs.map((r) => r.firstRequest)))} |`,
    );
    console.log(`${size.label}: median ${ms(m)} over ${runs.length} runs`);
  }
} finally {
  await agent.close();
  await app.close();
  await new Promise<void>((r) => upstream.close(() => r()));
  await rm(dataDir, { recursive: true, force: true });
}

const big = summary['1 MB']!;
const lines = [
  '',
  `## Upload to serve — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}.`,
  `Command: \`node --import tsx bench/upload.ts\` (gateway, admin API and upstream in one process; each run uploads a new version with its own bytes, updates the API to name it, then requests until one is served by it; ${RUNS} runs per size after one discarded run).`,
  '',
  '| module | runs | median upload → served | min – max | upload (pipeline) | API update | to first request served |',
  '| ------ | ---- | ---------------------- | --------- | ----------------- | ---------- | ----------------------- |',
  ...rows,
  '',
  `The first upload of the process (pipeline thread starting) took ${ms(cold?.total ?? 0)} for 100 KB; the first 1 MB run ${ms(cold1mb)}.`,
  `Target: ≤ ${TARGET_MS} ms for 1 MB: ${ms(big)} — ${big <= TARGET_MS ? 'met' : '**missed**'}.`,
  '',
];
console.log(lines.join('\n'));
if (write) await appendFile(join(HERE, 'RESULTS.md'), lines.join('\n'));
