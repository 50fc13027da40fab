/**
 * The upload pipeline thread holds binaryen (hundreds of MB resident): it
 * stops after `pipelineIdleMs` without a job and comes back for the next.
 */
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
