/**
 * `wasmgate plugin build DIR`: compiles a TypeScript (AssemblyScript)
 * plugin with the kit's flags baked in (pdk/build.ts).
 */
import type { CommandSpec, Parsed } from './args.ts';

export const buildSpec: CommandSpec = {
  usage: 'wasmgate plugin build DIR [--out FILE]',
  description:
    'Compiles the plugin in DIR (its manifest.json "entry", default index.ts) with the wasmgate PDK into DIR/build/plugin.wasm and prints one JSON line. Exit 1 when compilation fails.',
  positionals: ['dir'],
  flags: { out: { type: 'string', description: 'write the module here instead of DIR/build/plugin.wasm' } },
};

export async function pluginBuild(args: Parsed, out: (line: string) => void): Promise<number> {
  const { buildPlugin } = await import('../../pdk/build.ts');
  try {
    const result = await buildPlugin(
      args.positionals[0]!,
      typeof args.flags.out === 'string' ? { outFile: args.flags.out } : {},
    );
    out(JSON.stringify({ ok: true, ...result }));
    return 0;
  } catch (err) {
    out(JSON.stringify({ ok: false, error: { code: 'BUILD_FAILED', message: (err as Error).message } }));
    return 1;
  }
}
