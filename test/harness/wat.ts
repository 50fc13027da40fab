/**
 * Test modules: WAT sources from test/fixtures/wat compiled with binaryen's
 * text parser, and generated binaries for cases no one would write by hand
 * (a million functions, 50k locals, a module over the size cap).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import binaryen from 'binaryen';

export const WAT_DIR = resolve(import.meta.dirname, '..', 'fixtures', 'wat');

export function wat(name: string): Uint8Array {
  const mod = binaryen.parseText(readFileSync(join(WAT_DIR, `${name}.wat`), 'utf8'));
  try {
    mod.setFeatures(
      binaryen.Features.MVP |
        binaryen.Features.MutableGlobals |
        binaryen.Features.BulkMemory |
        binaryen.Features.SignExt,
    );
    if (!mod.validate()) throw new Error(`${name}.wat does not validate`);
    return mod.emitBinary();
  } finally {
    mod.dispose();
  }
}

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  return out;
}

function section(id: number, body: number[] | Uint8Array): Uint8Array {
  const size = uleb(body.length);
  const out = new Uint8Array(1 + size.length + body.length);
  out[0] = id;
  out.set(size, 1);
  out.set(body, 1 + size.length);
  return out;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const HEADER = Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00);
const MEMORY = section(5, [1, 0x00, 1]); // one memory, min 1 page
const EXPORT_MEMORY = (extra: number[] = []) =>
  section(7, [1 + (extra.length ? 1 : 0), 6, ...Buffer.from('memory'), 0x02, 0, ...extra]);

/** A valid module with `count` functions `() -> ()` whose bodies are empty. */
export function manyFunctions(count: number): Uint8Array {
  const types = section(1, [1, 0x60, 0, 0]);
  const funcs = new Uint8Array([...uleb(count), ...new Array(count).fill(0)]);
  const body = [2, 0, 0x0b]; // size 2: no locals, end
  const code = new Uint8Array(uleb(count).length + count * body.length);
  code.set(uleb(count));
  for (let i = 0; i < count; i++) code.set(body, uleb(count).length + i * body.length);
  return concat([HEADER, types, section(3, funcs), MEMORY, EXPORT_MEMORY(), section(10, code)]);
}

/** A valid module with one function declaring `locals` i32 locals. */
export function manyLocals(locals: number): Uint8Array {
  const types = section(1, [1, 0x60, 0, 0]);
  const fbody = [1, ...uleb(locals), 0x7f, 0x0b];
  const code = [1, ...uleb(fbody.length), ...fbody];
  return concat([HEADER, types, section(3, [1, 0]), MEMORY, EXPORT_MEMORY(), section(10, code)]);
}

/** A valid module padded with a custom section to `bytes` in total. */
export function paddedModule(bytes: number): Uint8Array {
  const base = concat([HEADER, MEMORY, EXPORT_MEMORY()]);
  const name = [4, ...Buffer.from('pad!')];
  let payload = bytes - base.length - 1 - name.length;
  payload -= uleb(payload + name.length).length;
  return concat([base, section(0, new Uint8Array([...name, ...new Array(Math.max(0, payload)).fill(0)]))]);
}
