/**
 * Every TypeScript example, built from source here (buildPlugin), answers
 * every shared vector byte for byte through the real runtime, and runs
 * under `wasmgate plugin run` on the input.json its README uses.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { decode } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { fromJson, toJson } from '../../gateway/cli/sample.ts';
import { buildPlugin } from '../../pdk/build.ts';
import { type Envelope, Runtime } from '../../runtime/index.ts';
import { TS_EXAMPLES } from '../harness/examples.ts';
import { encodeCase, listCases } from '../vectors/generate.ts';

const cases = listCases();
const examples = new Map<string, { dir: string; wasm: string }>();
const runtime = new Runtime();

beforeAll(async () => {
  // Fresh builds into a temporary folder: never a stale plugins-examples/ts/*/build.
  const out = mkdtempSync(join(tmpdir(), 'wasmgate-examples-'));
  for (const name of readdirSync(TS_EXAMPLES, { withFileTypes: true }).filter((d) => d.isDirectory())) {
    const dir = join(TS_EXAMPLES, name.name);
    const built = await buildPlugin(dir, { outFile: join(out, `${name.name}.wasm`) });
    examples.set(name.name, { dir, wasm: built.file });
  }
}, 600_000);
afterAll(() => runtime.close());

describe('the committed vector files match their case.json', () => {
  for (const c of cases) {
    it(`${c.example}/${c.name}`, () => {
      const { input, expected } = encodeCase(c);
      expect(Buffer.compare(readFileSync(join(c.dir, 'input.msgpack')), input)).toBe(0);
      expect(Buffer.compare(readFileSync(join(c.dir, 'expected.msgpack')), expected)).toBe(0);
    });
  }
});

describe('TypeScript examples pass the shared vectors byte for byte', () => {
  for (const c of cases) {
    it(`${c.example}/${c.name}: ${c.description}`, async () => {
      const ex = examples.get(c.example);
      expect(ex, `no TypeScript example ${c.example}`).toBeDefined();
      const mod = await runtime.prepare(readFileSync(ex!.wasm));
      const binding = runtime.bind(mod, { apiId: 'vectors' });
      const input = readFileSync(join(c.dir, 'input.msgpack'));
      const expected = readFileSync(join(c.dir, 'expected.msgpack'));
      const { output } = await binding.callRaw(c.export, input);
      if (Buffer.compare(Buffer.from(output ?? []), expected) !== 0) {
        // Show both sides decoded, for a readable failure.
        expect(output?.length ? decode(output) : null).toEqual(expected.length ? decode(expected) : null);
        expect(Buffer.from(output ?? []).toString('hex')).toBe(expected.toString('hex'));
      }
      // The gateway accepts what the kit produced (or reports the plugin's own error).
      const accepted = binding.call(c.export, c.hook as never, input);
      if (c.expected !== null && typeof c.expected === 'object' && 'error' in c.expected) {
        await expect(accepted).rejects.toMatchObject({ code: 'PLUGIN_ERROR' });
      } else {
        await expect(accepted).resolves.toBeDefined();
      }
      // Handed over as a record, the envelope is written only when the kit first reads it
      // (docs/abi.md §2): the result is the same.
      const settled = (p: Promise<unknown>) =>
        p.then(
          (value) => ({ value }),
          (e) => ({ code: e.code }),
        );
      const record = decode(input) as Envelope;
      expect(await settled(binding.call(c.export, c.hook as never, record))).toEqual(await settled(accepted));
      await binding.drain();
    });
  }
});

/** `plugin run` in a fresh runtime; a second try only when the pipeline thread missed its deadline on a loaded machine. */
async function runCli(args: string[]): Promise<{ code: number; lines: string[] }> {
  for (let attempt = 0; ; attempt++) {
    const lines: string[] = [];
    const code = await main(args, (l) => lines.push(l));
    if (code === 0 || attempt > 0 || !lines.join('').includes('"START_TIMEOUT"')) return { code, lines };
  }
}

describe('examples under `wasmgate plugin run`, on the input.json their README uses', () => {
  for (const [example, exportName, hook] of [...new Set(cases.map((c) => `${c.example} ${c.export} ${c.hook}`))].map(
    (s) => s.split(' ') as [string, string, string],
  )) {
    it(example, async () => {
      const ex = examples.get(example)!;
      const inputFile = join(ex.dir, 'input.json');
      const input = toJson(fromJson(JSON.parse(readFileSync(inputFile, 'utf8'))));
      // input.json is one of the example's vectors, as JSON.
      const c = cases.find(
        (x) =>
          x.example === example && isDeepStrictEqual(toJson(decode(readFileSync(join(x.dir, 'input.msgpack')))), input),
      );
      expect(c, `${inputFile} matches no vector of ${example}`).toBeDefined();
      const { code, lines } = await runCli([
        'plugin',
        'run',
        ex.wasm,
        '--export',
        exportName,
        '--hook',
        hook,
        '--input',
        inputFile,
      ]);
      expect(code, lines.join('\n')).toBe(0);
      const printed = JSON.parse(lines.join('\n'));
      expect(printed.ok).toBe(true);
      const expected = readFileSync(join(c!.dir, 'expected.msgpack'));
      expect(printed.result).toEqual(expected.length ? toJson(decode(expected)) : {});
    });
  }
});
