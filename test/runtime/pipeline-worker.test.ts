/**
 * The upload pipeline thread costs tens of MB resident: it stops after
 * `pipelineIdleMs` without a job and comes back for the next. It meters
 * with the project's own rewriter, so nothing it loads brings binaryen
 * (hundreds of MB) back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../../runtime/limits.ts';
import { PipelineWorker } from '../../runtime/upload/pipeline-worker.ts';
import { wat } from '../harness/wat.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('pipeline thread lifetime', () => {
  it('stops after its idle time, starts again for the next upload, and never stops mid-job', async () => {
    const worker = new PipelineWorker(400);
    try {
      expect(worker.alive).toBe(false);
      const first = await worker.run(wat('echo-fast'), { wasi: false }, DEFAULT_LIMITS);
      expect(first.facts.exports).toContain('echo');
      expect(worker.alive).toBe(true);
      await sleep(900);
      expect(worker.alive).toBe(false);
      // Two jobs back to back: the idle timer of the first must not stop the thread under the second.
      const [a, b] = await Promise.all([
        worker.run(wat('echo-fast'), { wasi: false }, DEFAULT_LIMITS),
        worker.run(wat('result-fast'), { wasi: false }, DEFAULT_LIMITS),
      ]);
      expect(a.facts.exports).toContain('echo');
      expect(b.facts.exports).toContain('run');
      expect(worker.alive).toBe(true);
    } finally {
      await worker.close();
    }
  }, 60_000);

  it('with an idle time of 0 the thread stays', async () => {
    const worker = new PipelineWorker(0);
    try {
      await worker.run(wat('echo-fast'), { wasi: false }, DEFAULT_LIMITS);
      await sleep(600);
      expect(worker.alive).toBe(true);
    } finally {
      await worker.close();
    }
  }, 60_000);
});

const ROOT = resolve(import.meta.dirname, '..', '..');

/** Every file and package the pipeline thread can load: static and dynamic imports from its bootstrap, then package dependencies. */
function pipelineThreadLoads(): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const queue = [join(ROOT, 'runtime/upload/worker-bootstrap.mjs'), join(ROOT, 'runtime/upload/worker.ts')];
  const specifier = /(?:import|export)\s[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm;
  while (queue.length) {
    const file = queue.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(specifier)) {
      const spec = m[1] ?? m[2] ?? m[3]!;
      if (spec.startsWith('.')) queue.push(resolve(dirname(file), spec));
      else if (!spec.startsWith('node:'))
        packages.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
    }
  }
  const seen = new Set<string>();
  const pending = [...packages];
  while (pending.length) {
    const pkg = pending.pop()!;
    if (seen.has(pkg)) continue;
    seen.add(pkg);
    const manifest = join(ROOT, 'node_modules', pkg, 'package.json');
    if (!existsSync(manifest)) continue;
    const json = JSON.parse(readFileSync(manifest, 'utf8'));
    pending.push(...Object.keys({ ...json.dependencies, ...json.optionalDependencies }));
  }
  return { files, packages: seen };
}

describe('what the pipeline thread loads', () => {
  it('never binaryen: not from its own code, not through any package it imports', () => {
    const { files, packages } = pipelineThreadLoads();
    expect([...files].some((f) => f.endsWith('runtime/upload/meter.ts'))).toBe(true);
    expect(packages.has('@extism/extism')).toBe(true);
    expect(packages.has('binaryen')).toBe(false);
    expect(packages.has('assemblyscript')).toBe(false);
  });
});
