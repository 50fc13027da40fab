/** `wasmgate plugin check` and `wasmgate plugin run`, as operators and tests use them. */
import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { smallEnvelope } from '../harness/envelope.ts';
import { manyFunctions, paddedModule, wat } from '../harness/wat.ts';

let dir: string;
const file = async (name: string, bytes: Uint8Array | string) => {
  const p = join(dir, name);
  await writeFile(p, bytes);
  return p;
};
async function run(argv: string[]): Promise<{ code: number; json: Record<string, unknown> | null; text: string }> {
  const lines: string[] = [];
  const code = await main(argv, (l) => lines.push(l));
  const text = lines.join('\n');
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { code, json, text };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wasmgate-cli-'));
});

describe('wasmgate plugin check', () => {
  it('prints ok, the sha256, exports and imports of an accepted module', async () => {
    const bytes = wat('echo-fast');
    const r = await run(['plugin', 'check', await file('echo.wasm', bytes)]);
    expect(r.code).toBe(0);
    expect(r.text.split('\n')).toHaveLength(1);
    expect(r.json).toEqual({
      ok: true,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      source_sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: expect.any(Number),
      exports: ['echo', 'ok'],
      imports: ['wasmgate:host/v1.input_length', 'wasmgate:host/v1.input_read', 'wasmgate:host/v1.output_write'],
    });
    // The sha256 is of the metered, memory-capped module that will run.
    expect(r.json!.sha256).not.toBe(r.json!.source_sha256);
    const stock = await run(['plugin', 'check', await file('echo-stock.wasm', wat('echo-stock'))]);
    expect(stock.code).toBe(0);
    expect(stock.json).toMatchObject({ ok: true, exports: ['echo', 'ok'] });
    expect((stock.json!.imports as string[]).every((i) => i.startsWith('extism:host/env.'))).toBe(true);
  });

  it('exits 1 with the code of each refused module', async () => {
    for (const [name, bytes, code] of [
      ['loop-start.wasm', wat('loop-start'), 'START_FAILED'],
      ['bomb.wasm', manyFunctions(1_000_000), 'MODULE_LIMIT_EXCEEDED'],
      ['big.wasm', paddedModule(16 * 1024 * 1024 + 1), 'MODULE_TOO_LARGE'],
      ['truncated.wasm', wat('echo-fast').slice(0, 30), 'INVALID_MODULE'],
    ] as const) {
      const r = await run(['plugin', 'check', await file(name, bytes)]);
      expect([name, r.code]).toEqual([name, 1]);
      expect(r.json).toEqual({ ok: false, error: { code, message: expect.any(String) } });
    }
  });

  it('exits 1 with the error code and message of a refused module', async () => {
    const r = await run(['plugin', 'check', await file('bad.wasm', wat('unknown-import'))]);
    expect(r.code).toBe(1);
    expect(r.json).toEqual({
      ok: false,
      error: { code: 'IMPORT_NOT_ALLOWED', message: expect.stringContaining('"env" "abort"') },
    });
    const junk = await run(['plugin', 'check', await file('junk.wasm', 'not wasm')]);
    expect(junk.json).toMatchObject({ ok: false, error: { code: 'INVALID_MODULE' } });
  });

  it('exits 2 on usage errors', async () => {
    expect((await run([])).code).toBe(2);
    expect((await run(['plugin', 'check'])).code).toBe(2);
    expect((await run(['plugin', 'check', 'a.wasm', 'b.wasm'])).code).toBe(2);
    expect((await run(['plugin', 'check', 'a.wasm', '--nope'])).code).toBe(2);
    expect((await run(['plugin', 'frobnicate'])).code).toBe(2);
    expect((await run(['plugin', 'check', '--help'])).code).toBe(0);
  });

  it('exits 2 with a message naming the file when the module file cannot be read', async () => {
    const missing = join(dir, 'does-not-exist.wasm');
    for (const argv of [
      ['plugin', 'check', missing],
      ['plugin', 'run', missing, '--export', 'ok', '--hook', 'pre'],
      ['plugin', 'check', dir], // a directory
    ]) {
      const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
      const r = await run(argv);
      const said = stderr.mock.calls.map((c) => String(c[0])).join('');
      stderr.mockRestore();
      expect([argv[1], r.code]).toEqual([argv[1], 2]);
      expect(said).toContain(`cannot read module file ${argv[2]}`);
    }
  });
});

describe('wasmgate plugin run', () => {
  it('runs a sample GET request through a hook and prints the validated result', async () => {
    const probe = await file('headers.wasm', wat('bad-output'));
    const ok = await run(['plugin', 'run', probe, '--export', 'ok', '--hook', 'pre']);
    expect(ok.code).toBe(0);
    expect(ok.json).toEqual({ ok: true, result: {} });
  });

  it('takes an envelope from --input', async () => {
    const echo = await file('echo2.wasm', wat('echo-fast'));
    // An echo returns its input: not a valid result, so the run fails with BAD_OUTPUT naming the field.
    const input = await file('in.json', JSON.stringify(smallEnvelope()));
    const r = await run(['plugin', 'run', echo, '--export', 'echo', '--hook', 'pre', '--input', input]);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'BAD_OUTPUT' } });
  });

  it('applies every production limit, and --fuel lowers the budget', async () => {
    const loop = await file('loop.wasm', wat('loop-export'));
    const r = await run(['plugin', 'run', loop, '--export', 'run', '--hook', 'post', '--fuel', '10000']);
    expect(r.code).toBe(1);
    expect(r.json).toEqual({ ok: false, error: { code: 'FUEL_EXHAUSTED', message: expect.any(String) } });
  });

  it('refuses a result the hook may not produce', async () => {
    const r = await run([
      'plugin',
      'run',
      await file('h.wasm', wat('bad-output')),
      '--export',
      'forbidden_header',
      '--hook',
      'pre',
    ]);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'FORBIDDEN_HEADER' } });
  });

  it('prints the validated result of a plugin that answers through the fast path or the stock path', async () => {
    for (const name of ['result-fast', 'result-stock']) {
      const r = await run(['plugin', 'run', await file(`${name}.wasm`, wat(name)), '--export', 'run', '--hook', 'pre']);
      expect([name, r.code]).toEqual([name, 0]);
      expect(r.json).toEqual({ ok: true, result: { request: { set_headers: { 'x-a': ['1'] } } } });
    }
  });

  it('echoes through the stock Extism path too (an echoed envelope is not a result: BAD_OUTPUT)', async () => {
    const r = await run([
      'plugin',
      'run',
      await file('echo-stock2.wasm', wat('echo-stock')),
      '--export',
      'echo',
      '--hook',
      'post',
    ]);
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'BAD_OUTPUT' } });
  });

  it('--fuel is the budget of the call: enough passes, too little stops it', async () => {
    const stock = await file('result-stock2.wasm', wat('result-stock'));
    const enough = await run(['plugin', 'run', stock, '--export', 'run', '--hook', 'pre', '--fuel', '10000000']);
    expect(enough.code).toBe(0);
    const starved = await run(['plugin', 'run', stock, '--export', 'run', '--hook', 'pre', '--fuel', '50']);
    expect(starved.code).toBe(1);
    expect(starved.json).toEqual({ ok: false, error: { code: 'FUEL_EXHAUSTED', message: expect.any(String) } });
  });

  it('a failing call exits 1 with its code, and no trap message', async () => {
    const trap = await file('trap.wasm', wat('trap'));
    const r = await run(['plugin', 'run', trap, '--export', 'divide_by_zero', '--hook', 'pre']);
    expect(r.code).toBe(1);
    expect(r.json).toEqual({ ok: false, error: { code: 'TRAP', message: 'the plugin trapped' } });
    const missing = await run(['plugin', 'run', trap, '--export', 'nope', '--hook', 'pre']);
    expect(missing.json).toMatchObject({ ok: false, error: { code: 'EXPORT_NOT_FOUND' } });
  });

  it('exits 2 for bad usage', async () => {
    const echo = await file('echo3.wasm', wat('echo-fast'));
    expect((await run(['plugin', 'run', 'x.wasm', '--export', 'e', '--hook', 'middle'])).code).toBe(2);
    expect((await run(['plugin', 'run', echo, '--hook', 'pre'])).code).toBe(2);
    expect((await run(['plugin', 'run', echo, '--export', 'echo'])).code).toBe(2);
    expect((await run(['plugin', 'run', echo, '--export', 'echo', '--hook', 'pre', '--fuel', 'lots'])).code).toBe(2);
    expect((await run(['plugin', 'run', echo, '--export', 'echo', '--hook', 'pre', '--fuel'])).code).toBe(2);
    const missingInput = join(dir, 'no-such-input.json');
    expect(
      (await run(['plugin', 'run', echo, '--export', 'echo', '--hook', 'pre', '--input', missingInput])).code,
    ).toBe(2);
    const notJson = await file('not.json', '{ nope');
    expect((await run(['plugin', 'run', echo, '--export', 'echo', '--hook', 'pre', '--input', notJson])).code).toBe(2);
    const notEnvelope = await file('not-envelope.json', '[1, 2]');
    expect((await run(['plugin', 'run', echo, '--export', 'echo', '--hook', 'pre', '--input', notEnvelope])).code).toBe(
      2,
    );
  });
});
