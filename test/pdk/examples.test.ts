/**
 * Every TypeScript example, built from source, answers every shared vector
 * byte for byte through the real runtime; and runs under `wasmgate plugin run`.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../gateway/cli/main.ts';
import { toJson } from '../../gateway/cli/sample.ts';
import { Runtime } from '../../runtime/index.ts';
import { type BuiltExample, buildTsExamples } from '../harness/examples.ts';
import { encodeCase, listCases } from '../vectors/generate.ts';

const cases = listCases();
let examples: Map<string, BuiltExample>;
const runtime = new Runtime();

beforeAll(async () => {
  examples = await buildTsExamples();
}, 300_000);
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
      // The gateway accepts what the kit produced.
      await expect(binding.call(c.export, c.hook as never, input)).resolves.toBeDefined();
      await binding.drain();
    });
  }
});

describe('examples under `wasmgate plugin run`', () => {
  for (const c of cases.filter((x) => x.name === cases.find((y) => y.example === x.example)!.name)) {
    it(`${c.example}`, async () => {
      const ex = examples.get(c.example)!;
      const dir = await mkdtemp(join(tmpdir(), 'wasmgate-run-'));
      const inputFile = join(dir, 'input.json');
      await writeFile(inputFile, JSON.stringify(toJson(decode(readFileSync(join(c.dir, 'input.msgpack'))))));
      const lines: string[] = [];
      const code = await main(
        ['plugin', 'run', ex.wasm, '--export', c.export, '--hook', c.hook, '--input', inputFile],
        (l) => lines.push(l),
      );
      expect(code).toBe(0);
      const printed = JSON.parse(lines.join('\n'));
      expect(printed.ok).toBe(true);
      const expected = readFileSync(join(c.dir, 'expected.msgpack'));
      expect(printed.result).toEqual(expected.length ? toJson(decode(expected)) : {});
    });
  }
});
