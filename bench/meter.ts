/**
 * Fuel metering on its own: `instrumentFuel` (runtime/upload/meter.ts) on
 * the upload benchmark's 100 KB and 1 MB modules and on every example
 * plugin (TypeScript, Rust, Go, built from source first). Each module is
 * metered in a fresh process: its first call (what an upload pays right
 * after the pipeline thread starts, the meter's code not yet optimised),
 * then the median and minimum of further calls.
 *
 *   node --import tsx bench/meter.ts [--runs N] [--no-write] [--compare FILE [--label TEXT]]
 *
 * --compare FILE also times another implementation exporting
 * `instrumentFuel` (an earlier meter.ts, kept where its imports resolve),
 * in processes alternating with the current one's; both go in one table,
 * the other's columns headed by --label (default: the file's name).
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { buildTsExamples } from '../test/harness/examples.ts';
import { pluginModule } from '../test/harness/versioned-plugin.ts';
import { buildGoExamples, buildRustExamples, findRustToolchain, hasGo } from '../test/parity/build.ts';

const args = process.argv.slice(2);
const flag = (name: string) => {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
};
const CURRENT = resolve(import.meta.dirname, '..', 'runtime', 'upload', 'meter.ts');

interface Timing {
  first: number;
  median: number;
  min: number;
  out: number;
}

// In a child: meter one module with one implementation and print the timings.
const child = flag('--child');
if (child) {
  const { instrumentFuel } = (await import(flag('--impl')!)) as {
    instrumentFuel: (b: Uint8Array, fuel: number) => Uint8Array;
  };
  const bytes = new Uint8Array(await readFile(child));
  const runs = Number(flag('--runs') ?? 9);
  let t = performance.now();
  const out = instrumentFuel(bytes, 1e9).length;
  const first = performance.now() - t;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    t = performance.now();
    instrumentFuel(bytes, 1e9);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const timing: Timing = { first, median: times[times.length >> 1]!, min: times[0]!, out };
  process.stdout.write(JSON.stringify(timing));
  process.exit(0);
}

const write = !args.includes('--no-write');
const runs = Number(flag('--runs') ?? 9);
const compare = flag('--compare') ? resolve(flag('--compare')!) : null;
const label = flag('--label') ?? (compare ? basename(compare) : '');

const modules: { label: string; bytes: Uint8Array }[] = [
  { label: 'upload bench, 100 KB', bytes: pluginModule('m1', 100 * 1024) },
  { label: 'upload bench, 1 MB', bytes: pluginModule('m2', 1024 * 1024) },
];
for (const [name, ex] of await buildTsExamples()) {
  modules.push({ label: `ts/${name}`, bytes: new Uint8Array(await readFile(ex.wasm)) });
}
const skipped: string[] = [];
for (const [lang, available, build] of [
  ['rust', findRustToolchain() !== null, buildRustExamples],
  ['go', hasGo(), buildGoExamples],
] as const) {
  if (!available) {
    skipped.push(lang);
    continue;
  }
  for (const [name, file] of await build()) {
    modules.push({ label: `${lang}/${name}`, bytes: new Uint8Array(await readFile(file)) });
  }
}

const dir = await mkdtemp(join(tmpdir(), 'wasmgate-bench-meter-'));
const impls = compare ? [CURRENT, compare] : [CURRENT];
const results = new Map<string, Map<string, Timing>>();
try {
  for (const [i, m] of modules.entries()) {
    const file = join(dir, `${i}.wasm`);
    await writeFile(file, m.bytes);
    // Alternate which implementation goes first, so drift on a shared machine falls on both.
    const order = i % 2 ? [...impls].reverse() : impls;
    const row = new Map<string, Timing>();
    for (const impl of order) {
      const out = execFileSync(
        process.execPath,
        ['--import', 'tsx', import.meta.filename, '--child', file, '--impl', impl, '--runs', String(runs)],
        { encoding: 'utf8', maxBuffer: 1 << 20 },
      );
      row.set(impl, JSON.parse(out) as Timing);
    }
    results.set(m.label, row);
    const t = row.get(CURRENT)!;
    console.log(`${m.label}: first ${t.first.toFixed(1)} ms, median ${t.median.toFixed(1)} ms`);
  }
} finally {
  await rm(dir, { recursive: true, force: true });
}

const ms = (x: number) => `${x < 10 ? x.toFixed(1) : x.toFixed(0)} ms`;
const kib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);
const header = compare
  ? [
      `| module | size | first call | median | min | ${label}: first call | median | min |`,
      '| ------ | ---- | ---------- | ------ | --- | ---------- | ------ | --- |',
    ]
  : [
      '| module | size | first call | median | min | metered size |',
      '| ------ | ---- | ---------- | ------ | --- | ------------ |',
    ];
const rows = modules.map((m) => {
  const row = results.get(m.label)!;
  const t = row.get(CURRENT)!;
  const cells = [m.label, kib(m.bytes.length), ms(t.first), `**${ms(t.median)}**`, ms(t.min)];
  if (compare) {
    const o = row.get(compare)!;
    cells.push(ms(o.first), ms(o.median), ms(o.min));
  } else {
    cells.push(kib(t.out));
  }
  return `| ${cells.join(' | ')} |`;
});
const lines = [
  '',
  `## Fuel metering — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 1024 ** 3)} GiB, Node ${process.version}.`,
  `Command: \`node --import tsx bench/meter.ts${compare ? ` --compare … --label '${label}'` : ''}\` (\`instrumentFuel\` alone; each module in a fresh process: the first call, then the median and minimum of ${runs} more).${skipped.length ? ` Not built here: ${skipped.join(', ')}.` : ''}`,
  '',
  ...header,
  ...rows,
  '',
];
console.log(lines.join('\n'));
if (write) {
  const { appendFile } = await import('node:fs/promises');
  await appendFile(join(import.meta.dirname, 'RESULTS.md'), lines.join('\n'));
}
