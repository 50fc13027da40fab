/** `wasmgate plugin check` and `wasmgate plugin run`, as operators and tests use them. */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { wat } from '../harness/wat.ts';

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
    const r = await run(['plugin', 'check', await file('echo.wasm', wat('echo-fast'))]);
    expect(r.code).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      exports: ['echo', 'ok'],
      imports: ['wasmgate:host/v1.input_length', 'wasmgate:host/v1.input_read', 'wasmgate:host/v1.output_write'],
    });
    expect(r.json!.sha256).toMatch(/^[0-9a-f]{64}$/);
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
    expect((await run(['plugin', 'check'])).code).toBe(2);
    expect((await run(['plugin', 'check', 'a.wasm', '--nope'])).code).toBe(2);
    expect((await run(['plugin', 'frobnicate'])).code).toBe(2);
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
    const input = await file(
      'in.json',
      JSON.stringify({
        v: 1,
        hook: 'pre',
        request: {
          method: 'GET',
          url: '/',
          request_uri: '/',
          scheme: 'http',
          host: 'h',
          remote_addr: '1.2.3.4',
          params: {},
          headers: {},
          body: null,
        },
        spec: { api_id: 'a', org_id: 'o', name: 'n', config_data: {} },
        metadata: { request_id: 'r', plugin: 'p', version: '1', time: 0 },
      }),
    );
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

  it('exits 2 for an unknown hook', async () => {
    expect((await run(['plugin', 'run', 'x.wasm', '--export', 'e', '--hook', 'middle'])).code).toBe(2);
  });
});
