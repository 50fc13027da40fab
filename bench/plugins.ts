/**
 * The benchmark's plugins, built once by the driver (bench/run.ts,
 * bench/soak.ts) into a directory of `<name>.wasm` files that the gateway
 * under test only reads: loading AssemblyScript's compiler or binaryen in
 * that process would add hundreds of MB to its heap and to every GC.
 *
 *   const dir = await buildBenchPlugins();   // pass as BENCH_PLUGINS_DIR
 */
import { copyFile, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildPlugin } from '../pdk/build.ts';
import { buildTsExamples } from '../test/harness/examples.ts';

export async function buildBenchPlugins(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'wasmgate-bench-plugins-'));
  for (const [name, ex] of await buildTsExamples()) await copyFile(ex.wasm, join(dir, `${name}.wasm`));
  const probe = await buildPlugin(resolve(import.meta.dirname, '..', 'test', 'fixtures', 'plugins', 'probe'));
  await copyFile(probe.file, join(dir, 'probe.wasm'));
  const { wat } = await import('../test/harness/wat.ts');
  await writeFile(join(dir, 'trivial.wasm'), wat('result-fast'));
  await writeFile(join(dir, 'trivial-response.wasm'), wat('response-fast'));
  // A stock Extism plugin calling http_request (the worker tier).
  await writeFile(join(dir, 'http-stock.wasm'), wat('http-stock'));
  return dir;
}
