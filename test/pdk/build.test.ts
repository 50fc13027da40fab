/**
 * pdk/build.ts: a plugin builds into a module the gateway accepts (no `env`
 * imports, only the hosts' modules), compiler diagnostics come back as the
 * error, and `wasmgate plugin build` prints one JSON line.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { buildPlugin, PDK_DIR } from '../../pdk/build.ts';
import { Runtime } from '../../runtime/index.ts';
import { TS_EXAMPLES } from '../harness/examples.ts';

const runtime = new Runtime();
afterAll(() => runtime.close());

async function pluginDir(source: string, manifest: object = { name: 'tmp', version: '0.0.1' }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmgate-build-'));
  const kit = relative(dir, join(PDK_DIR, 'assembly')).split('\\').join('/');
  await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest));
  await writeFile(join(dir, 'index.ts'), source.replaceAll('$KIT', kit));
  return dir;
}

describe('buildPlugin', () => {
  it('builds an example into a module that imports only the hosts and passes the upload pipeline', async () => {
    const out = join(await mkdtemp(join(tmpdir(), 'wasmgate-build-')), 'pre.wasm');
    const r = await buildPlugin(join(TS_EXAMPLES, 'pre-enrich'), { outFile: out });
    const bytes = await readFile(out);
    expect(r).toEqual({
      name: 'pre-enrich',
      version: '1.0.0',
      file: out,
      bytes: bytes.byteLength,
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    const mod = new WebAssembly.Module(bytes);
    for (const imp of WebAssembly.Module.imports(mod)) {
      expect(['wasmgate:host/v1', 'extism:host/env']).toContain(imp.module);
      expect(imp.kind).toBe('function');
    }
    expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toEqual(
      expect.arrayContaining(['memory', 'pre_enrich']),
    );
    const prepared = await runtime.prepare(bytes);
    expect(prepared.facts.exports).toContain('pre_enrich');
  }, 120_000);

  it('writes DIR/build/plugin.wasm by default; entry from the manifest', async () => {
    const dir = await pluginDir('', { name: 'custom-entry', version: '2.0.0', entry: 'src/main.ts' });
    await mkdir(join(dir, 'src'));
    const kit = relative(join(dir, 'src'), join(PDK_DIR, 'assembly')).split('\\').join('/');
    await writeFile(
      join(dir, 'src', 'main.ts'),
      `import { Context } from '${kit}';\nexport function go(): i32 { return Context.read().done(); }\n`,
    );
    const r = await buildPlugin(dir);
    expect(r.file).toBe(join(dir, 'build', 'plugin.wasm'));
    expect(r.version).toBe('2.0.0');
  }, 120_000);

  it("throws the compiler's diagnostics", async () => {
    const dir = await pluginDir(
      `import { Context } from '$KIT';\nexport function f(): i32 { const x: i32 = 'text'; return Context.read().done(); }\n`,
    );
    await expect(buildPlugin(dir)).rejects.toThrow(/TS2322[\s\S]*index\.ts/);
  }, 120_000);

  it('refuses a folder without a valid manifest', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'wasmgate-build-'));
    await expect(buildPlugin(dir)).rejects.toThrow(/manifest\.json/);
    await writeFile(join(dir, 'manifest.json'), JSON.stringify({ version: '1' }));
    await expect(buildPlugin(dir)).rejects.toThrow(/"name" is required/);
  });

  it('`wasmgate plugin build` prints one JSON line; exit 1 with BUILD_FAILED', async () => {
    const good = await pluginDir(
      `import { Context } from '$KIT';\nexport function go(): i32 { return Context.read().done(); }\n`,
    );
    const lines: string[] = [];
    expect(await main(['plugin', 'build', good], (l) => lines.push(l))).toBe(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: true, name: 'tmp', version: '0.0.1' });
    const bad = await pluginDir('export function go(): i32 { return undefinedThing; }\n');
    lines.length = 0;
    expect(await main(['plugin', 'build', bad], (l) => lines.push(l))).toBe(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false, error: { code: 'BUILD_FAILED' } });
  }, 120_000);
});
