/**
 * `wasmgate plugin check` and `wasmgate plugin run`: the upload pipeline and
 * one hook call with every production limit, for operators and tests.
 */
import { readFile } from 'node:fs/promises';
import { type Envelope, HOOKS, type Hook, isWasmgateError, Runtime } from '../../runtime/index.ts';
import type { CommandSpec, Parsed } from './args.ts';
import { UsageError } from './args.ts';
import { fromJson, resultToJson, sampleEnvelope } from './sample.ts';

export const checkSpec: CommandSpec = {
  usage: 'wasmgate plugin check FILE.wasm [--wasi]',
  description:
    'Runs the whole upload pipeline (size cap, validation, import allowlist, static caps, fuel metering, memory cap, compile, trial instantiation) and prints one JSON line. Exit 0 when the module is accepted, 1 when it is refused, 2 on usage errors.',
  positionals: ['file'],
  flags: {
    wasi: { type: 'boolean', description: 'allow wasi_snapshot_preview1 imports (Go plugins)', default: false },
  },
};

export const runSpec: CommandSpec = {
  usage:
    'wasmgate plugin run FILE.wasm --export NAME --hook HOOK [--input FILE.json] [--fuel N] [--wasi] [--config FILE.json]',
  description:
    'Calls one export once as the given hook with every production limit, and prints the validated result record as JSON. Without --input a sample GET request is used. Exit 1 with {"ok":false,"error":…} on plugin failure.',
  positionals: ['file'],
  flags: {
    export: { type: 'string', description: 'the exported function to call' },
    hook: { type: 'string', description: `one of ${HOOKS.join(', ')}` },
    input: { type: 'string', description: 'an envelope as JSON (bodies as text or {"base64": …})' },
    fuel: { type: 'number', description: 'fuel budget for the call' },
    wasi: { type: 'boolean', description: 'allow wasi_snapshot_preview1 imports', default: false },
    config: { type: 'string', description: 'config_data for the call, as a JSON file' },
  },
};

function errorLine(err: unknown): string {
  if (isWasmgateError(err)) return JSON.stringify({ ok: false, error: { code: err.code, message: err.message } });
  return JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: (err as Error).message } });
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new UsageError(`cannot read ${what} file ${path}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${what} file ${path} is not valid JSON: ${(err as Error).message}`);
  }
}

/** The module file; unreadable is a usage error (exit 2), not a refused module. */
async function readModuleFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message;
    throw new UsageError(`cannot read module file ${path}: ${reason}`);
  }
}

export async function pluginCheck(args: Parsed, out: (line: string) => void): Promise<number> {
  const bytes = await readModuleFile(args.positionals[0]!);
  const rt = new Runtime();
  try {
    const mod = await rt.prepare(bytes, { wasi: Boolean(args.flags.wasi) });
    const f = mod.facts;
    out(
      JSON.stringify({
        ok: true,
        sha256: f.sha256,
        source_sha256: f.sourceSha256,
        bytes: f.bytes,
        exports: f.exports,
        imports: f.imports,
      }),
    );
    return 0;
  } catch (err) {
    out(errorLine(err));
    return 1;
  } finally {
    await rt.close();
  }
}

export async function pluginRun(args: Parsed, out: (line: string) => void): Promise<number> {
  const exportName = args.flags.export;
  const hook = args.flags.hook;
  if (typeof exportName !== 'string') throw new UsageError('--export is required');
  if (typeof hook !== 'string' || !(HOOKS as readonly string[]).includes(hook)) {
    throw new UsageError(`--hook must be one of ${HOOKS.join(', ')}`);
  }
  const envelope = (
    typeof args.flags.input === 'string'
      ? fromJson(await readJsonFile(args.flags.input, 'input'))
      : sampleEnvelope(hook as Hook)
  ) as Envelope;
  if (!envelope || typeof envelope !== 'object' || !envelope.request)
    throw new UsageError('the input must be an envelope object with a "request"');
  envelope.hook = hook as Hook;
  const config =
    typeof args.flags.config === 'string'
      ? ((await readJsonFile(args.flags.config, 'config')) as Record<string, unknown>)
      : undefined;
  if (config) envelope.spec = { ...envelope.spec, config_data: config };
  const bytes = await readModuleFile(args.positionals[0]!);
  const rt = new Runtime({ logSink: (line) => process.stderr.write(`[plugin ${line.level}] ${line.text}\n`) });
  try {
    const mod = await rt.prepare(bytes, { wasi: Boolean(args.flags.wasi) });
    const binding = rt.bind(mod, { apiId: envelope.spec?.api_id ?? 'cli', config: envelope.spec?.config_data });
    const fuel = typeof args.flags.fuel === 'number' ? args.flags.fuel : undefined;
    const result = await binding.call(exportName, hook as Hook, envelope, fuel === undefined ? {} : { fuel });
    out(JSON.stringify({ ok: true, result: resultToJson(result) }));
    await binding.drain();
    return 0;
  } catch (err) {
    out(errorLine(err));
    return 1;
  } finally {
    await rt.close();
  }
}
