/**
 * Regenerates `input.msgpack` and `expected.msgpack` of every vector from
 * its `case.json` (run: node --import tsx test/vectors/generate.ts).
 * `expected.msgpack` is empty when the plugin must answer zero bytes.
 * test/pdk/vectors.test.ts checks the committed files are up to date.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeCanonical, type Tagged } from './canonical.ts';

export const VECTORS_DIR = import.meta.dirname;

export interface VectorCase {
  example: string;
  name: string;
  dir: string;
  export: string;
  hook: string;
  description: string;
  input: Tagged;
  expected: Tagged | null;
}

export function listCases(): VectorCase[] {
  const out: VectorCase[] = [];
  for (const example of readdirSync(VECTORS_DIR).sort()) {
    const exDir = join(VECTORS_DIR, example);
    if (!statSync(exDir).isDirectory()) continue;
    for (const name of readdirSync(exDir).sort()) {
      const dir = join(exDir, name);
      const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8'));
      out.push({ example, name, dir, ...c });
    }
  }
  return out;
}

export function encodeCase(c: VectorCase): { input: Uint8Array; expected: Uint8Array } {
  return {
    input: encodeCanonical(c.input),
    expected: c.expected === null ? new Uint8Array(0) : encodeCanonical(c.expected),
  };
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  for (const c of listCases()) {
    const { input, expected } = encodeCase(c);
    writeFileSync(join(c.dir, 'input.msgpack'), input);
    writeFileSync(join(c.dir, 'expected.msgpack'), expected);
    console.log(`${c.example}/${c.name}: input ${input.length} B, expected ${expected.length} B`);
  }
}
