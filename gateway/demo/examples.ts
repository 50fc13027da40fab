/**
 * Builds (when missing or stale) and registers the TypeScript example
 * plugins, so `npm start` serves the demo APIs with nothing uploaded.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { PluginRegistry } from '../plugins/registry.ts';

export interface ExampleManifest {
  name: string;
  version: string;
  entry?: string;
  wasi?: boolean;
}

async function newestSource(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isFile() && entry.name.endsWith('.ts'))
      newest = Math.max(newest, (await stat(join(dir, entry.name))).mtimeMs);
  }
  return newest;
}

export async function registerTsExamples(registry: PluginRegistry, examplesDir: string): Promise<string[]> {
  const { buildPlugin } = await import('../../pdk/build.ts');
  const registered: string[] = [];
  const dirs = (await readdir(examplesDir, { withFileTypes: true }))
    .filter((d) => d.isDirectory())
    .map((d) => join(examplesDir, d.name));
  for (const dir of dirs.sort()) {
    const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as ExampleManifest;
    const wasmPath = join(dir, 'build', 'plugin.wasm');
    const built = await stat(wasmPath).then(
      (s) => s.mtimeMs,
      () => 0,
    );
    if (
      built < (await newestSource(dir)) ||
      built < (await newestSource(join(examplesDir, '..', '..', 'pdk', 'assembly')))
    ) {
      await buildPlugin(dir);
    }
    if (registry.get(manifest.name, manifest.version)) continue;
    await registry.register(manifest.name, manifest.version, await readFile(wasmPath), {
      wasi: manifest.wasi ?? false,
    });
    registered.push(`${manifest.name}@${manifest.version}`);
  }
  return registered;
}
