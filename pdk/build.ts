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
import { dirname, join, parse, relative, resolve, sep } from 'node:path';
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
  // asc names each file by its path relative to --baseDir, and a file
  // reached through "../" gets a second name (the kit would be compiled
  // twice and the abort not found). Rooting the build at the deepest folder
  // holding both the plugin and the kit keeps every path downward.
  const base = commonAncestor(root, PDK_DIR);
  const rel = (p: string) => relative(base, p).split(sep).join('/');
  const abortPath = `${rel(join(PDK_DIR, 'assembly', 'index'))}/wasmgateAbort`;
  let stderr = '';
  const { error } = await asc.main(['--baseDir', base, ...ascFlags(rel(entry), rel(outFile), abortPath)], {
    stdout: { write: () => true } as never,
    stderr: {
      write: (s: string | Uint8Array) => {
        stderr += typeof s === 'string' ? s : Buffer.from(s).toString();
        return true;
      },
    } as never,
    // The flags are the kit's alone: an asconfig.json lying around is not read.
    readFile: async (name: string, baseDir: string) => {
      if (name === 'asconfig.json') return null;
      try {
        return await readFile(resolve(baseDir, name), 'utf8');
      } catch {
        return null;
      }
    },
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

/** The deepest folder containing both paths (absolute). */
function commonAncestor(a: string, b: string): string {
  const pa = resolve(a).split(sep);
  const pb = resolve(b).split(sep);
  let i = 0;
  while (i < pa.length && i < pb.length && pa[i] === pb[i]) i++;
  const joined = pa.slice(0, i).join(sep);
  return joined === '' ? parse(resolve(a)).root : joined;
}

export { PDK_DIR };
