/**
 * Builds an AssemblyScript plugin into a module wasmgate accepts: the
 * incremental runtime (memory is reclaimed between calls), the kit's abort
 * (so nothing imports `env`), optimised, no exported runtime helpers.
 *
 *   await buildPlugin('plugins-examples/ts/pre-enrich');
 *   // → plugins-examples/ts/pre-enrich/build/plugin.wasm
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const PDK_DIR = dirname(fileURLToPath(import.meta.url));

export interface PluginManifest {
  name: string;
  version: string;
  /** Source file, relative to the plugin folder (default `index.ts`). */
  entry?: string;
  wasi?: boolean;
  [key: string]: unknown;
}

export interface BuildResult {
  name: string;
  version: string;
  file: string;
  bytes: number;
  sha256: string;
}

export class BuildError extends Error {}

/** The asc flags every plugin is built with. */
export function ascFlags(entry: string, outFile: string, abortPath: string): string[] {
  return [
    entry,
    '--outFile',
    outFile,
    '--runtime',
    'incremental',
    '--use',
    `abort=${abortPath}`,
    '--optimizeLevel',
    '3',
    '--shrinkLevel',
    '0',
    '--noAssert',
    '--exportStart',
    '_initialize',
  ];
}

export async function readManifest(dir: string): Promise<PluginManifest> {
  const path = join(dir, 'manifest.json');
  let m: PluginManifest;
  try {
    m = JSON.parse(await readFile(path, 'utf8')) as PluginManifest;
  } catch (err) {
    throw new BuildError(`${path}: ${(err as Error).message}`);
  }
  if (typeof m.name !== 'string' || !m.name) throw new BuildError(`${path}: "name" is required`);
  if (typeof m.version !== 'string' || !m.version) throw new BuildError(`${path}: "version" is required`);
  return m;
}

export async function buildPlugin(dir: string, opts: { outFile?: string } = {}): Promise<BuildResult> {
  const root = resolve(dir);
  const manifest = await readManifest(root);
  const entry = join(root, manifest.entry ?? 'index.ts');
  const outFile = opts.outFile ? resolve(opts.outFile) : join(root, 'build', 'plugin.wasm');
  await mkdir(dirname(outFile), { recursive: true });
  const { default: asc } = await import('assemblyscript/asc');
  // asc names files by their path relative to the working directory; the
  // abort is addressed the same way.
  const cwd = process.cwd();
  const rel = (p: string) => {
    const r = relative(cwd, p).split('\\').join('/');
    return isAbsolute(r) ? r : r;
  };
  const abortPath = `${rel(join(PDK_DIR, 'assembly', 'index')).replace(/^\.\//, '')}/wasmgateAbort`;
  let stderr = '';
  const { error } = await asc.main(ascFlags(rel(entry), rel(outFile), abortPath), {
    stdout: { write: () => true } as never,
    stderr: {
      write: (s: string | Uint8Array) => {
        stderr += typeof s === 'string' ? s : Buffer.from(s).toString();
        return true;
      },
    } as never,
  });
  if (error) throw new BuildError(`${manifest.name}: ${error.message}\n${stderr}`.trim());
  const bytes = await readFile(outFile);
  return {
    name: manifest.name,
    version: manifest.version,
    file: outFile,
    bytes: bytes.byteLength,
    sha256: createHash('sha256').update(bytes).digest('hex'),
  };
}

export { PDK_DIR };
