/**
 * Where the time goes: the benchmark gateway (bench/gateway-sut.ts) under
 * autocannon load with `node --cpu-prof`, and its profile read back as CPU
 * µs per request by function — self time and inclusive time, start-up and
 * idle left out. With two paths the second column is the difference, which
 * is what a plugin hook, or analytics, adds to a request.
 *
 *   node --import tsx bench/profile.ts /passthrough/x [/hooks4/x] [--seconds 8] [--top 25] [--env K=V]
 *
 * Writes the .cpuprofile files to bench/results/ (open them in Chrome
 * DevTools for the full tree) and prints markdown tables.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import autocannon, { type Result } from 'autocannon';
import { buildBenchPlugins } from './plugins.ts';

const HERE = import.meta.dirname;
const argv = process.argv.slice(2);
const option = (name: string, fallback: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
};
const SECONDS = Number(option('seconds', '8'));
const TOP = Number(option('top', '25'));
const env: NodeJS.ProcessEnv = { ...process.env };
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--env') {
    const [k, ...v] = argv[i + 1]!.split('=');
    env[k!] = v.join('=');
  }
}
const paths = argv.filter((a, i) => a.startsWith('/') && !argv[i - 1]?.startsWith('--'));
if (paths.length === 0 || paths.length > 2) {
  console.error('usage: bench/profile.ts PATH [PATH2] [--seconds S] [--top N] [--env K=V]');
  process.exit(2);
}

function start(script: string, args: string[], execArgv: string[]): Promise<{ port: number; proc: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const proc = fork(join(HERE, script), args, { execArgv, env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
    proc.once('message', (m: { port: number }) => resolve({ port: m.port, proc }));
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

interface Costs {
  /** µs per request by function. */
  self: Map<string, number>;
  inclusive: Map<string, number>;
  total: number;
}

/** Self and inclusive CPU time per request, without idle time and without the module loading at start. */
function costs(profile: Profile, requests: number): Costs {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const name = (id: number) => {
    const f = nodes.get(id)!.callFrame;
    const file = f.url.replace(/^.*\/(node_modules\/)?/, '');
    return `${f.functionName || '(anonymous)'} ${file}${file && f.lineNumber > 0 ? `:${f.lineNumber + 1}` : ''}`.trim();
  };
  const atStart = new Map<number, boolean>();
  const isStartup = (id: number): boolean => {
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = nodes.get(cur)!.callFrame;
      if (f.functionName === 'Module._load' || (f.functionName === 'run' && f.url.includes('module_job'))) return true;
    }
    return false;
  };
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i]!;
    const us = profile.timeDeltas[i] ?? 0;
    if (nodes.get(id)!.callFrame.functionName === '(idle)') continue;
    if (!atStart.has(id)) atStart.set(id, isStartup(id));
    if (atStart.get(id)) continue;
    total += us;
    self.set(name(id), (self.get(name(id)) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = name(cur);
      if (seen.has(n)) continue;
      seen.add(n);
      inclusive.set(n, (inclusive.get(n) ?? 0) + us);
    }
  }
  const per = (m: Map<string, number>) => new Map([...m].map(([k, v]) => [k, v / requests]));
  return { self: per(self), inclusive: per(inclusive), total: total / requests };
}

async function profileOne(path: string, upstreamPort: number): Promise<{ costs: Costs; rps: number; file: string }> {
  const dir = join(HERE, 'results', 'profile-tmp');
  await rm(dir, { recursive: true, force: true });
  const gw = await start(
    'gateway-sut.ts',
    [String(upstreamPort)],
    ['--import', 'tsx', '--cpu-prof', `--cpu-prof-dir=${dir}`],
  );
  const url = `http://127.0.0.1:${gw.port}${path}`;
  const run = (duration: number) =>
    new Promise<Result>((resolve, reject) =>
      autocannon({ url, connections: 50, duration }, (err, r) => (err ? reject(err) : resolve(r))),
    );
  const warm = await run(1);
  const r = await run(SECONDS);
  const exited = new Promise((resolve) => gw.proc.once('exit', resolve));
  gw.proc.kill('SIGTERM');
  await exited;
  // The main thread's profile is the largest; worker threads write their own.
  const files = await Promise.all(
    (await readdir(dir)).map(async (f) => ({ f, size: (await readFile(join(dir, f))).byteLength })),
  );
  const main = files.sort((a, b) => b.size - a.size)[0]!.f;
  const profile = JSON.parse(await readFile(join(dir, main), 'utf8')) as Profile;
  const file = join(HERE, 'results', `profile${path.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`);
  await rename(join(dir, main), file);
  await rm(dir, { recursive: true, force: true });
  return { costs: costs(profile, warm.requests.total + r.requests.total), rps: r.requests.average, file };
}

function table(title: string, rows: [string, number, number | null][]): string {
  const head =
    rows[0]?.[2] === null ? '| function | µs/request |\n|---|---|' : '| function | µs/request | added |\n|---|---|---|';
  const body = rows.map(
    ([k, a, d]) => `| \`${k}\` | ${a.toFixed(2)} |${d === null ? '' : ` ${d >= 0 ? '+' : ''}${d.toFixed(2)} |`}`,
  );
  return `\n${title}\n\n${head}\n${body.join('\n')}\n`;
}

await mkdir(join(HERE, 'results'), { recursive: true });
env.BENCH_PLUGINS_DIR = await buildBenchPlugins();
const upstream = await start('upstream.mjs', [], []);
try {
  const results = [];
  for (const path of paths) results.push(await profileOne(path, upstream.port));
  const [a, b] = results;
  console.log(
    `Profiles: ${results.map((r, i) => `${paths[i]} ${Math.round(r.rps)} req/s, ${r.costs.total.toFixed(1)} µs CPU/request (${r.file})`).join('; ')}`,
  );
  for (const kind of ['self', 'inclusive'] as const) {
    const rows: [string, number, number | null][] = b
      ? [...new Set([...a!.costs[kind].keys(), ...b.costs[kind].keys()])]
          .map((k): [string, number, number | null] => {
            const x = a!.costs[kind].get(k) ?? 0;
            const y = b.costs[kind].get(k) ?? 0;
            return [k, y, y - x];
          })
          .sort((p, q) => q[2]! - p[2]!)
      : [...a!.costs[kind]].map(([k, v]): [string, number, number | null] => [k, v, null]).sort((p, q) => q[1] - p[1]);
    console.log(
      table(
        b ? `${kind} time on ${paths[1]}, and what it adds to ${paths[0]}:` : `${kind} time on ${paths[0]}:`,
        rows.slice(0, TOP),
      ),
    );
  }
} finally {
  upstream.proc.kill();
}
