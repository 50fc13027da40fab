/**
 * The TypeScript example plugins, built from source once per test run
 * (rebuilt only when a source is newer than the module).
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildPlugin } from '../../pdk/build.ts';

export const TS_EXAMPLES = resolve(import.meta.dirname, '..', '..', 'plugins-examples', 'ts');
const PDK_ASSEMBLY = resolve(import.meta.dirname, '..', '..', 'pdk', 'assembly');

async function newest(dir: string): Promise<number> {
  let t = 0;
  for (const f of await readdir(dir))
    if (f.endsWith('.ts') || f.endsWith('.json')) t = Math.max(t, (await stat(join(dir, f))).mtimeMs);
  return t;
}

export interface BuiltExample {
  name: string;
  version: string;
  dir: string;
  wasm: string;
  exportName: string;
  hook: string;
}

let built: Promise<Map<string, BuiltExample>> | null = null;

/** Builds every example (at most once per process); by folder name. */
export function buildTsExamples(): Promise<Map<string, BuiltExample>> {
  built ??= (async () => {
    const out = new Map<string, BuiltExample>();
    const kit = await newest(PDK_ASSEMBLY);
    for (const name of (await readdir(TS_EXAMPLES)).sort()) {
      const dir = join(TS_EXAMPLES, name);
      if (!(await stat(dir)).isDirectory()) continue;
      const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8'));
      const wasm = join(dir, 'build', 'plugin.wasm');
      const have = await stat(wasm).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      if (have < Math.max(kit, await newest(dir))) await buildPlugin(dir);
      out.set(name, {
        name: manifest.name,
        version: manifest.version,
        dir,
        wasm,
        exportName: manifest.export,
        hook: manifest.hook,
      });
    }
    return out;
  })();
  return built;
}
