/**
 * The benchmark suite: wasmgate against its peers and its own limits, in
 * one run. The upstream and every system under test run in their own
 * processes; autocannon drives them for a fixed time after a warm-up, in
 * several rounds interleaved (A B C … A B C …) so drift cancels; medians
 * and the ratios within this run are reported.
 *
 *   npm run bench -- [--duration 5] [--rounds 3] [--connections 50] [--only a,b] [--json FILE] [--no-write]
 */
import { type ChildProcess, execFileSync, fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon, { type Result as AutocannonResult } from 'autocannon';
import { buildBenchPlugins } from './plugins.ts';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const DURATION = Number(flag('duration', '5'));
const ROUNDS = Number(flag('rounds', '3'));
const CONNECTIONS = Number(flag('connections', '50'));
const ONLY = flag('only', '').split(',').filter(Boolean);
const JSON_FILE = flag('json', '');
const WRITE = !args.includes('--no-write');
const HERE = import.meta.dirname;

interface Target {
  name: string;
  port: number;
  proc: ChildProcess | null;
}

function start(
  script: string,
  argv: string[],
  tsx = false,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Target & { proc: ChildProcess }> {
  return new Promise((resolvePort, reject) => {
    const proc = fork(join(HERE, script), argv, {
      execArgv: tsx ? ['--import', 'tsx'] : [],
      env,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    proc.once('message', (m: { port: number }) => resolvePort({ name: script, port: m.port, proc }));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

/** A throwaway redis-server for the Redis-backed gateway, when one is installed. */
async function startRedis(): Promise<{ url: string; proc: ChildProcess } | null> {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  const proc = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  await new Promise((r) => setTimeout(r, 300));
  return { url: `redis://127.0.0.1:${port}`, proc };
}

async function startNginx(upstreamPort: number): Promise<Target | null> {
  try {
    execFileSync('nginx', ['-v'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = await mkdtemp(join(tmpdir(), 'wasmgate-nginx-'));
  const { createServer } = await import('node:net');
  const port = await new Promise<number>((r) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => r(p));
    });
  });
  await writeFile(
    join(dir, 'nginx.conf'),
    `worker_processes 1; pid ${dir}/nginx.pid; error_log stderr error; daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  upstream up { server 127.0.0.1:${upstreamPort}; keepalive 64; }
  server { listen 127.0.0.1:${port}; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection ""; } }
}`,
  );
  const proc = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return { name: 'nginx', port, proc };
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  proc.kill();
  return null;
}

interface Scenario {
  name: string;
  label: string;
  target: 'upstream' | 'gateway' | 'gatewayRedis' | 'gatewayNoAnalytics' | 'fastify' | 'nginx';
  path: string;
  headers?: Record<string, string>;
  method?: string;
  body?: string;
}

// In each round the scenarios run in this order: the ones a target compares run next to each
// other, so the load of a shared machine drifts as little as possible between them.
const SCENARIOS: Scenario[] = [
  { name: 'direct', label: 'direct upstream (the limit)', target: 'upstream', path: '/x' },
  { name: 'nginx', label: 'nginx, 1 worker, keepalive upstream', target: 'nginx', path: '/x' },
  { name: 'fastify-proxy', label: 'fastify + @fastify/http-proxy', target: 'fastify', path: '/x' },
  { name: 'passthrough', label: 'wasmgate keyless passthrough', target: 'gateway', path: '/passthrough/x' },
  {
    name: 'hooks4',
    label: 'wasmgate 4 trivial plugins (pre, post-auth, post, response; TypeScript kit)',
    target: 'gateway',
    path: '/hooks4/x',
  },
  {
    name: 'hooks4-read',
    label: 'wasmgate 4 kit plugins that read a header, then set one (every envelope written)',
    target: 'gateway',
    path: '/hooks4-read/x',
  },
  {
    name: 'hooks4-wat',
    label: 'wasmgate 4 trivial plugins (3 minimal WAT + 1 kit)',
    target: 'gateway',
    path: '/hooks4-wat/x',
  },
  {
    name: 'hooks4-noop',
    label: 'wasmgate 4 plugins that read nothing and answer nothing (host cost alone)',
    target: 'gateway',
    path: '/hooks4-noop/x',
  },
  {
    name: 'all-hooks',
    label: 'wasmgate all hooks + analytics recording (TypeScript examples)',
    target: 'gateway',
    path: '/all-hooks/x',
  },
  {
    name: 'key',
    label: 'wasmgate built-in key auth',
    target: 'gateway',
    path: '/key/x',
    headers: { authorization: 'bench-key' },
  },
  {
    name: 'custom-auth',
    label: 'wasmgate custom auth plugin, ID-extractor hits',
    target: 'gateway',
    path: '/custom-auth/x',
    headers: { authorization: 'Bearer bench-token' },
  },
  {
    name: 'key-redis',
    label: 'wasmgate built-in key auth, Redis store',
    target: 'gatewayRedis',
    path: '/key/x',
    headers: { authorization: 'bench-key' },
  },
  {
    name: 'passthrough-no-analytics',
    label: 'wasmgate keyless passthrough, analytics off',
    target: 'gatewayNoAnalytics',
    path: '/passthrough/x',
  },
  {
    name: 'passthrough-redis',
    label: 'wasmgate keyless passthrough, analytics to Redis',
    target: 'gatewayRedis',
    path: '/passthrough/x',
  },
  {
    name: 'body10k',
    label: 'wasmgate 10 KB body through a body-reading plugin',
    target: 'gateway',
    path: '/body10k/x',
    method: 'POST',
    body: 'b'.repeat(10 * 1024),
  },
  {
    name: 'endpoint',
    label: 'wasmgate endpoint plugin answering itself (no upstream)',
    target: 'gateway',
    path: '/endpoint/hello?name=bench',
  },
  {
    name: 'passthrough-1kb',
    label: 'wasmgate keyless passthrough, one 1 KB upstream answer',
    target: 'gateway',
    path: '/passthrough/kb',
  },
  {
    name: 'aggregate',
    label: 'wasmgate endpoint plugin aggregating two parallel 1 KB calls',
    target: 'gateway',
    path: '/aggregate/summary',
  },
  {
    name: 'aggregate-stock',
    label: 'wasmgate stock Extism plugin, the same two 1 KB calls in sequence (http_request, worker tier)',
    target: 'gateway',
    path: '/aggregate-stock/summary',
  },
  {
    name: 'aggregate-20ms',
    label: 'wasmgate endpoint plugin aggregating two parallel 1 KB calls, services answering in 20 ms',
    target: 'gateway',
    path: '/aggregate-20ms/summary',
  },
  {
    name: 'aggregate-stock-20ms',
    label: 'wasmgate stock Extism plugin, the same two calls in sequence, services answering in 20 ms',
    target: 'gateway',
    path: '/aggregate-stock-20ms/summary',
  },
];

/** Asks a gateway process (bench/gateway-sut.ts) over IPC; null when it has no IPC channel. */
function ask<T>(t: Target, type: string): Promise<T | null> {
  const proc = t.proc;
  if (!proc?.send) return Promise.resolve(null);
  return new Promise((resolveAnswer) => {
    const on = (m: { type?: string }) => {
      if (m?.type !== type) return;
      proc.off('message', on);
      resolveAnswer(m as T);
    };
    proc.on('message', on);
    proc.send({ type });
  });
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The gateway's event-loop delay p99 during the sample, ms (gateway targets only). */
  loopP99?: number;
}

function run(url: string, s: Scenario, seconds: number): Promise<Sample> {
  return new Promise((res, rej) => {
    autocannon(
      {
        url,
        connections: CONNECTIONS,
        duration: seconds,
        method: (s.method ?? 'GET') as 'GET',
        headers: s.headers,
        body: s.body,
      },
      (err, r) => {
        if (err) return rej(err);
        res({
          rps: r.requests.average,
          p50: r.latency.p50,
          p99: r.latency.p99,
          errors: r.errors + r.timeouts + r.non2xx,
        });
      },
    );
  });
}

/** CPU time (user + system, in clock ticks) of these processes so far; null where /proc cannot tell. */
function cpuTicks(pids: number[]): number | null {
  let total = 0;
  for (const pid of pids) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      total += Number(fields[11]) + Number(fields[12]);
    } catch {
      return null;
    }
  }
  return total;
}

/**
 * Waits until every process of the benchmark (the systems under test, the
 * upstream, redis-server) is idle — under 10% of a core over 200 ms — or
 * 10 s have passed, so that no sample is measured while the previous
 * one's work (an analytics flush to Redis, a GC) still runs beside it.
 * Returns the ms waited.
 */
async function settle(pids: number[]): Promise<number> {
  const started = Date.now();
  let last = cpuTicks(pids);
  if (last === null) return 0;
  while (Date.now() - started < 10_000) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const now = cpuTicks(pids);
    if (now === null) break;
    // Clock ticks are 10 ms: at most 2 in 200 ms is under 10% of a core.
    if (now - last <= 2) break;
    last = now;
  }
  return Date.now() - started;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

// Built here, so the gateway processes never load the compilers (bench/plugins.ts).
process.env.BENCH_PLUGINS_DIR = await buildBenchPlugins();
const upstream = await start('upstream.mjs', []);
const targets: Record<string, Target | null> = { upstream };
targets.gateway = await start('gateway-sut.ts', [String(upstream.port)], true);
targets.fastify = await start('fastify-proxy.mjs', [String(upstream.port)]).catch(() => null);
targets.nginx = await startNginx(upstream.port);
targets.gatewayNoAnalytics = await start('gateway-sut.ts', [String(upstream.port)], true, {
  ...process.env,
  BENCH_ANALYTICS: 'false',
}).catch(() => null);
const redisServer = await startRedis();
targets.gatewayRedis = redisServer
  ? await start('gateway-sut.ts', [String(upstream.port)], true, {
      ...process.env,
      BENCH_REDIS_URL: redisServer.url,
    }).catch(() => null)
  : null;

const chosen = SCENARIOS.filter((s) => (ONLY.length === 0 || ONLY.includes(s.name)) && targets[s.target]);
const skipped = SCENARIOS.filter((s) => !targets[s.target]).map((s) => `${s.name} (${s.target} not available here)`);
const samples = new Map<string, Sample[]>();
const benchPids = [...Object.values(targets), redisServer]
  .map((t) => t?.proc?.pid)
  .filter((pid): pid is number => pid !== undefined);
try {
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of chosen) {
      const url = `http://127.0.0.1:${targets[s.target]!.port}${s.path}`;
      const waited = await settle(benchPids);
      if (waited >= 1_000) process.stderr.write(`(waited ${waited} ms for the processes to go idle)\n`);
      await run(url, s, 1); // warm-up
      const sut = s.target.startsWith('gateway') ? targets[s.target]! : null;
      if (sut) await ask(sut, 'loop-reset');
      const sample = await run(url, s, DURATION);
      const loop = sut ? await ask<{ p99: number; max: number }>(sut, 'loop') : null;
      if (loop) sample.loopP99 = loop.p99;
      (samples.get(s.name) ?? samples.set(s.name, []).get(s.name)!).push(sample);
      process.stderr.write(
        `round ${round} ${s.name}: ${Math.round(sample.rps)} req/s, p99 ${sample.p99} ms, errors ${sample.errors}\n`,
      );
    }
  }

  // Fixed rate: latency added by the gateway with all hooks vs direct, at 1,000 requests/s.
  const fixed: Record<string, Sample> = {};
  for (const s of chosen.filter((x) => x.name === 'direct' || x.name === 'all-hooks')) {
    const url = `http://127.0.0.1:${targets[s.target]!.port}${s.path}`;
    fixed[s.name] = await new Promise<Sample>((res, rej) =>
      autocannon({ url, connections: 10, duration: DURATION, overallRate: 1000 }, (err, r) =>
        err
          ? rej(err)
          : res({ rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx }),
      ),
    );
  }

  // The aggregations at a fixed 1,000 req/s, in interleaved rounds: does waiting on outbound calls stall
  // the event loop, and what latency does each path give below saturation?
  const rateSamples = new Map<string, { loopP99: number; p99: number; errors: number }[]>();
  const rss = new Map<string, number>();
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of ['aggregate', 'aggregate-stock']) {
      const scenario = chosen.find((x) => x.name === name);
      if (!scenario) continue;
      const sut = targets[scenario.target]!;
      await ask(sut, 'loop-reset');
      const r = await new Promise<AutocannonResult>((res, rej) =>
        autocannon(
          {
            url: `http://127.0.0.1:${sut.port}${scenario.path}`,
            connections: 10,
            duration: DURATION,
            overallRate: 1000,
          },
          (err, out) => (err ? rej(err) : res(out)),
        ),
      );
      const sample = {
        loopP99: (await ask<{ p99: number }>(sut, 'loop'))?.p99 ?? 0,
        p99: r.latency.p99,
        errors: r.errors + r.timeouts + r.non2xx,
      };
      (rateSamples.get(name) ?? rateSamples.set(name, []).get(name)!).push(sample);
      const m = await ask<{ rss: number }>(sut, 'rss');
      if (m) rss.set(name, m.rss);
    }
  }
  const atRate = new Map(
    [...rateSamples].map(([name, xs]) => [
      name,
      {
        loopP99: median(xs.map((x) => x.loopP99)),
        p99: median(xs.map((x) => x.p99)),
        errors: xs.reduce((n, x) => n + x.errors, 0),
      },
    ]),
  );
  const aggregateLoopAtRate = atRate.get('aggregate')?.loopP99 ?? null;

  const result = chosen.map((s) => {
    const xs = samples.get(s.name)!;
    return {
      name: s.name,
      label: s.label,
      rps: median(xs.map((x) => x.rps)),
      p50: median(xs.map((x) => x.p50)),
      p99: median(xs.map((x) => x.p99)),
      errors: xs.reduce((n, x) => n + x.errors, 0),
      loopP99: xs[0]?.loopP99 === undefined ? null : median(xs.map((x) => x.loopP99 ?? 0)),
    };
  });
  const by = (n: string) => result.find((r) => r.name === n);
  const ratio = (a: string, b: string) => (by(a) && by(b) ? by(a)!.rps / by(b)!.rps : null);
  const targetsMet = [
    ['keyless passthrough ÷ fastify + @fastify/http-proxy', ratio('passthrough', 'fastify-proxy'), 1.2],
    ['keyless passthrough ÷ nginx (1 worker)', ratio('passthrough', 'nginx'), 0.6],
    ['4 trivial plugins (kit) ÷ passthrough', ratio('hooks4', 'passthrough'), 0.75],
    [
      '4 trivial plugins (minimal WAT ×3, reading their envelope) ÷ passthrough (reported, no target)',
      ratio('hooks4-wat', 'passthrough'),
      0,
    ],
    ['4 plugins answering nothing ÷ passthrough (reported, no target)', ratio('hooks4-noop', 'passthrough'), 0],
    ['4 kit plugins reading a header ÷ passthrough (reported, no target)', ratio('hooks4-read', 'passthrough'), 0],
    ['all hooks + analytics ÷ passthrough', ratio('all-hooks', 'passthrough'), 0.65],
    ['custom auth (ID-extractor hits) ÷ built-in key auth', ratio('custom-auth', 'key'), 0.9],
    ['built-in key auth: Redis store ÷ embedded store (reported, no target)', ratio('key-redis', 'key'), 0],
    [
      'analytics recording to Redis ÷ analytics off (passthrough)',
      ratio('passthrough-redis', 'passthrough-no-analytics'),
      0.9,
    ],
  ] as const;

  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `\n## Benchmark suite — ${date}\n`,
    `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. Command: \`npm run bench -- ${args.join(' ')}\`. autocannon ${CONNECTIONS} connections, ${DURATION} s per sample after a 1 s warm-up, ${ROUNDS} interleaved rounds; medians.${skipped.length ? ` Skipped: ${skipped.join(', ')}.` : ''}\n`,
    '| scenario | req/s | p50 ms | p99 ms | errors |',
    '|---|---|---|---|---|',
    ...result.map((r) => `| ${r.label} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} |`),
  ];
  const ratios = targetsMet.filter(([, v]) => v !== null);
  if (ratios.length) {
    lines.push(
      '',
      '| ratio (same run) | measured | target | met |',
      '|---|---|---|---|',
      ...ratios.map(([label, v, t]) => `| ${label} | ${v!.toFixed(2)} | ≥ ${t} | ${v! >= t ? 'yes' : '**no**'} |`),
    );
  }
  const agg = by('aggregate');
  const one = by('passthrough-1kb');
  if (agg && one) {
    const loop = agg.loopP99 ?? 0;
    lines.push(
      '',
      `Aggregation: an endpoint plugin making two parallel 1 KB calls ${Math.round(agg.rps)} req/s, p99 ${agg.p99} ms; one 1 KB call through the gateway ${Math.round(one.rps)} req/s, p99 ${one.p99} ms (${(agg.rps / one.rps).toFixed(2)}×). Gateway event-loop delay p99: ${aggregateLoopAtRate === null ? '?' : aggregateLoopAtRate.toFixed(2)} ms at a fixed 1,000 req/s of aggregation (target < 5 ms: ${aggregateLoopAtRate !== null && aggregateLoopAtRate < 5 ? 'met' : '**missed**'}), ${loop.toFixed(2)} ms at saturation (the loop then always has work queued).`,
    );
  }
  const stock = by('aggregate-stock');
  if (agg && stock) {
    const fmt = (n: number | null | undefined) => (n === null || n === undefined ? '?' : n.toFixed(2));
    const mb = (n: number | null | undefined) => (n ? `${Math.round(n / 2 ** 20)} MB` : '?');
    const row = (label: string, name: string) => {
      const r = by(name);
      if (!r) return null;
      const f = atRate.get(name);
      const rate = f ? `${f.p99} | ${fmt(f.loopP99)} | ${f.errors}` : '– | – | –';
      return `| ${label} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${r.errors} | ${fmt(r.loopP99)} | ${rate} |`;
    };
    const slowAgg = by('aggregate-20ms');
    const slowStock = by('aggregate-stock-20ms');
    lines.push(
      '',
      `Outbound calls, continuation vs worker tier: two 1 KB calls per request to the same upstream. Saturated: ${CONNECTIONS} connections; at rate: 1,000 req/s from 10 connections, medians of ${ROUNDS} interleaved rounds. Gateway RSS after the runs: ${mb(rss.get('aggregate-stock'))}.`,
      '',
      '| path | req/s | p50 ms | p99 ms | errors | loop p99 ms | at rate: p99 ms | loop p99 ms | errors |',
      '|---|---|---|---|---|---|---|---|---|',
      ...[
        row('continuation (kit plugin, calls in parallel)', 'aggregate'),
        row('worker tier (stock http_request, calls in sequence)', 'aggregate-stock'),
        row('continuation, services answering in 20 ms', 'aggregate-20ms'),
        row('worker tier, services answering in 20 ms', 'aggregate-stock-20ms'),
      ].filter((x): x is string => x !== null),
      '',
      `Worker tier ÷ continuation, saturated: ${(stock.rps / agg.rps).toFixed(2)}× the requests/s with services answering at once${slowAgg && slowStock ? `, ${(slowStock.rps / slowAgg.rps).toFixed(2)}× with services answering in 20 ms` : ''}.`,
    );
  }
  if (fixed.direct && fixed['all-hooks']) {
    lines.push(
      '',
      `Fixed rate, 1,000 req/s: direct p50 ${fixed.direct.p50} ms / p99 ${fixed.direct.p99} ms; wasmgate with all hooks p50 ${fixed['all-hooks'].p50} ms / p99 ${fixed['all-hooks'].p99} ms — added p50 ${(fixed['all-hooks'].p50 - fixed.direct.p50).toFixed(2)} ms, p99 ${(fixed['all-hooks'].p99 - fixed.direct.p99).toFixed(2)} ms.`,
    );
  }
  const text = `${lines.join('\n')}\n`;
  console.log(text);
  if (WRITE) {
    await appendFile(join(HERE, 'RESULTS.md'), text);
    await mkdir(join(HERE, 'results'), { recursive: true });
    await writeFile(join(HERE, 'results', 'latest.svg'), chart(result));
  }
  if (JSON_FILE)
    await writeFile(
      resolve(JSON_FILE),
      JSON.stringify(
        {
          date,
          machine: { cpus: cpus().length, node: process.version },
          result,
          fixed,
          atRate: Object.fromEntries(atRate),
          ratios: Object.fromEntries(targetsMet.map(([l, v, t]) => [l, { measured: v, target: t }])),
        },
        null,
        2,
      ),
    );
} finally {
  for (const t of Object.values(targets)) t?.proc?.kill();
  redisServer?.proc.kill();
}

function chart(rows: { label: string; rps: number }[]): string {
  const max = Math.max(...rows.map((r) => r.rps));
  const barH = 22;
  const width = 900;
  const labelW = 430;
  const h = rows.length * (barH + 8) + 40;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const bars = rows
    .map((r, i) => {
      const y = 30 + i * (barH + 8);
      const w = Math.max(1, ((width - labelW - 80) * r.rps) / max);
      return `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end" font-size="12">${esc(r.label)}</text><rect x="${labelW}" y="${y}" width="${w.toFixed(1)}" height="${barH}" fill="#3b82f6"/><text x="${labelW + w + 6}" y="${y + 15}" font-size="12">${Math.round(r.rps)}</text>`;
    })
    .join('\n');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${h}" font-family="sans-serif" role="img"><title>wasmgate benchmark: requests per second per scenario</title><text x="10" y="18" font-size="14" font-weight="bold">requests/s per scenario (higher is better)</text>\n${bars}\n</svg>\n`;
}
