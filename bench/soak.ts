/**
 * Soak: mixed traffic through every hook for a long run, with periodic
 * plugin swaps and a Redis restart, reporting resident-memory growth after
 * warm-up, errors outside the fault window, and p99 over time.
 *
 *   node --import tsx bench/soak.ts [--minutes 10] [--window 10] [--no-write]
 *   npx just soak
 *
 * The gateway is bench/gateway-sut.ts on a Redis store (sessions, analytics
 * to the Redis list), in its own process; the upstream is bench/upstream.mjs.
 * Traffic: all hooks + analytics plugin, keyless passthrough, built-in key
 * auth on Redis, and the per-endpoint plugin, in equal parts. Every 30 s the
 * all-hooks API's pre plugin is replaced by a new version; at 60% of the run
 * Redis is stopped for 3 s and restarted (that window is the fault window:
 * keyed requests get 503 there by design). Targets: resident-memory growth
 * after warm-up < 10%; zero errors outside the fault window.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { appendFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { RedisServer } from '../test/harness/redis-server.ts';
import { buildBenchPlugins } from './plugins.ts';

const HERE = import.meta.dirname;
const argv = process.argv.slice(2);
const flag = (name: string, fallback: number) => {
  const i = argv.indexOf(name);
  return i === -1 ? fallback : Number(argv[i + 1]);
};
const MINUTES = flag('--minutes', 10);
const WINDOW_S = flag('--window', 10);
const WRITE = !argv.includes('--no-write');
const WARMUP_S = Math.min(60, (MINUTES * 60) / 5);

function start(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  tsx: boolean,
): Promise<{ proc: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const proc = fork(join(HERE, script), args, {
      execArgv: tsx ? ['--import', 'tsx'] : [],
      env,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    proc.once('message', (m: { port: number }) => resolve({ proc, port: m.port }));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

function ask<T>(proc: ChildProcess, type: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { type?: string }) => {
      if (m?.type === (type === 'swap' ? 'swapped' : type)) {
        proc.off('message', on);
        resolve(m as T);
      }
    };
    proc.on('message', on);
    proc.send({ type });
  });
}

interface Window {
  t: number;
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
  rss: number;
  fault: boolean;
  swaps: number;
}

process.env.BENCH_PLUGINS_DIR = await buildBenchPlugins();
const redis = await RedisServer.start(['--appendonly', 'yes', '--appendfsync', 'everysec']);
const upstream = await start('upstream.mjs', ['0'], process.env, false);
const sut = await start(
  'gateway-sut.ts',
  [String(upstream.port)],
  { ...process.env, BENCH_REDIS_URL: redis.url, BENCH_ANALYTICS: 'true' },
  true,
);
const base = `http://127.0.0.1:${sut.port}`;
const targets: { path: string; headers: Record<string, string> }[] = [
  { path: '/all-hooks/soak', headers: {} },
  { path: '/passthrough/soak', headers: {} },
  { path: '/key/soak', headers: { authorization: 'bench-key' } },
  { path: '/endpoint/hello', headers: {} },
];

const windows: Window[] = [];
const total = MINUTES * 60;
const faultAt = Math.round((total * 0.6) / WINDOW_S) * WINDOW_S;
let swaps = 0;
let nextSwap = 30;
console.error(`soak: ${MINUTES} min, windows of ${WINDOW_S} s, Redis restart at ${faultAt} s`);
for (let t = 0; t < total; t += WINDOW_S) {
  const fault = t === faultAt;
  let swapsHere = 0;
  const runs = targets.map(
    (target) =>
      new Promise<Result>((resolve, reject) =>
        autocannon(
          { url: `${base}${target.path}`, headers: target.headers, connections: 8, duration: WINDOW_S },
          (err, result) => (err ? reject(err) : resolve(result)),
        ),
      ),
  );
  const events: Promise<void>[] = [];
  if (fault) {
    events.push(
      (async () => {
        await new Promise((r) => setTimeout(r, 2_000));
        await redis.stop();
        await new Promise((r) => setTimeout(r, 3_000));
        await redis.resume();
      })(),
    );
  }
  while (t + WINDOW_S > nextSwap) {
    const at = nextSwap - t;
    events.push(
      (async () => {
        await new Promise((r) => setTimeout(r, at * 1000));
        await ask(sut.proc, 'swap');
        swaps++;
        swapsHere++;
      })(),
    );
    nextSwap += 30;
  }
  const results = await Promise.all(runs);
  await Promise.all(events);
  const { rss } = await ask<{ rss: number }>(sut.proc, 'rss');
  const w: Window = {
    t: t + WINDOW_S,
    rps: results.reduce((n, r) => n + r.requests.average, 0),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((n, r) => n + r.errors + r.timeouts, 0),
    non2xx: results.reduce((n, r) => n + r.non2xx, 0),
    rss,
    fault,
    swaps: swapsHere,
  };
  windows.push(w);
  console.error(
    `t=${w.t}s ${Math.round(w.rps)} req/s p99 ${w.p99} ms errors ${w.errors} non-2xx ${w.non2xx} rss ${(w.rss / 2 ** 20).toFixed(0)} MB${fault ? ' (Redis restart)' : ''}${swapsHere ? ` (${swapsHere} swap)` : ''}`,
  );
}

sut.proc.kill('SIGTERM');
upstream.proc.kill('SIGTERM');
await redis.close();

const afterWarmup = windows.filter((w) => w.t > WARMUP_S);
const warmRss = afterWarmup[0]?.rss ?? windows[0]!.rss;
const lastRss = windows.at(-1)!.rss;
const growth = (lastRss - warmRss) / warmRss;
const outside = windows.filter((w) => !w.fault);
const errorsOutside = outside.reduce((n, w) => n + w.errors + w.non2xx, 0);
const faultWindow = windows.find((w) => w.fault);
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const lines = [
  '',
  `## Soak — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} cores (${cpus()[0]?.model.trim()}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}.`,
  `Command: \`node --import tsx bench/soak.ts --minutes ${MINUTES}\` — a ${MINUTES}-minute run; gateway on Redis (sessions and analytics), 4 × 8 connections of mixed traffic (all hooks + analytics plugin, passthrough, built-in key auth, endpoint plugin), the pre plugin replaced every 30 s (${swaps} swaps), Redis stopped for 3 s and restarted at ${faultAt} s.`,
  '',
  '| t (s) | req/s | p99 ms | errors | non-2xx | RSS | events |',
  '| ----- | ----- | ------ | ------ | ------- | --- | ------ |',
  ...windows.map(
    (w) =>
      `| ${w.t} | ${Math.round(w.rps)} | ${w.p99} | ${w.errors} | ${w.non2xx} | ${mb(w.rss)} | ${[w.fault ? 'Redis restart' : '', w.swaps ? `${w.swaps} swap` : ''].filter(Boolean).join(', ')} |`,
  ),
  '',
  `Resident memory after warm-up (${WARMUP_S} s): ${mb(warmRss)} → ${mb(lastRss)} at the end, ${(growth * 100).toFixed(1)}% (target < 10%: ${growth < 0.1 ? 'met' : '**missed**'}).`,
  `Errors and non-2xx outside the fault window: ${errorsOutside} (target 0: ${errorsOutside === 0 ? 'met' : '**missed**'}); in the fault window: ${faultWindow ? faultWindow.errors + faultWindow.non2xx : 0} (keyed requests answer 503 while Redis is down).`,
  '',
];
console.log(lines.join('\n'));
if (WRITE) await appendFile(join(HERE, 'RESULTS.md'), lines.join('\n'));
process.exit(0);
