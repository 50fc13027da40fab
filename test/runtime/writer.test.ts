/**
 * The envelope encoder against the canonical encoder of the shared vectors
 * (test/vectors/canonical.ts, docs/abi.md §6): the same bytes for random
 * values and for the vectors' own envelopes, keys named like Object.prototype
 * members, and the cache of frozen objects never serving stale bytes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeMsgpack } from '../../runtime/abi/writer.ts';
import { newMulti } from '../../runtime/index.ts';
import { encodeCanonical, type Tagged } from '../vectors/canonical.ts';
import { listCases } from '../vectors/generate.ts';

const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

/** Any UTF-16 string, lone surrogates included. */
const anyString = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)) });
const bytes = fc.uint8Array({ maxLength: 300 });
const number = fc.oneof(
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double(),
  fc.constantFrom(0, -0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, -32, -33, -128, -129, -32768),
  fc.constantFrom(-32769, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53, -(2 ** 53), 2 ** 63, -(2 ** 63), 2 ** 64, 1e300),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    number,
    anyString,
    bytes,
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(anyString, tie('value'), { maxKeys: 20 }),
  ),
}));

/** The same value in the canonical encoder's terms: bytes tagged, integers beyond 64 bits as float64. */
function tag(v: unknown): Tagged {
  if (v instanceof Uint8Array) return { $bin: Buffer.from(v).toString('base64') };
  if (typeof v === 'number' && Number.isInteger(v) && (v >= 2 ** 64 || v < -(2 ** 63))) return { $f64: v };
  if (Array.isArray(v)) return v.map(tag);
  if (v && typeof v === 'object') {
    const out: Record<string, Tagged> = {};
    for (const k of Object.keys(v)) out[k] = tag((v as Record<string, unknown>)[k]);
    return out;
  }
  return v as Tagged;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('the envelope encoder', () => {
  it('writes exactly the canonical bytes for any value', () => {
    fc.assert(
      fc.property(value, (v) => {
        expect(hex(encodeMsgpack(v))).toBe(hex(encodeCanonical(tag(v))));
      }),
      { numRuns: 3_000 },
    );
  });

  it('encodes every vector envelope as the vector does, where the vector tags no float', () => {
    let compared = 0;
    for (const c of listCases()) {
      const json = readFileSync(join(c.dir, 'case.json'), 'utf8');
      if (json.includes('"$f64"')) continue;
      const envelope = unpackr.unpack(readFileSync(join(c.dir, 'input.msgpack')));
      expect(hex(encodeMsgpack(envelope)), c.name).toBe(hex(readFileSync(join(c.dir, 'input.msgpack'))));
      compared++;
    }
    expect(compared).toBeGreaterThan(10);
  });

  it('keys that name Object.prototype members are plain keys', () => {
    const headers = newMulti();
    for (const [name, v] of [
      ['__proto__', 'a'],
      ['constructor', 'b'],
      ['toString', 'c'],
    ] as const)
      headers[name] = [v];
    expect(Object.keys(headers)).toEqual(['__proto__', 'constructor', 'toString']);
    expect(newMulti().constructor).toBeUndefined();
    const own = JSON.parse('{"headers":{"__proto__":["a"],"constructor":["b"],"toString":["c"]}}') as Tagged;
    expect(hex(encodeMsgpack({ headers }))).toBe(hex(encodeCanonical(own)));
  });

  it('reuses the bytes of a deeply frozen object, and never of one with a mutable part', () => {
    const deep = Object.freeze({ api_id: 'a', config_data: Object.freeze({ n: 1 }) });
    expect(unpackr.unpack(encodeMsgpack({ spec: deep }))).toEqual({ spec: { api_id: 'a', config_data: { n: 1 } } });
    expect(unpackr.unpack(encodeMsgpack({ spec: deep, x: 2 }))).toEqual({
      spec: { api_id: 'a', config_data: { n: 1 } },
      x: 2,
    });
    const inner = { n: 1 };
    const shallow = Object.freeze({ api_id: 'a', config_data: inner });
    expect(unpackr.unpack(encodeMsgpack(shallow))).toEqual({ api_id: 'a', config_data: { n: 1 } });
    inner.n = 2;
    expect(unpackr.unpack(encodeMsgpack(shallow))).toEqual({ api_id: 'a', config_data: { n: 2 } });
  });

  it('grows past its scratch buffer for a large envelope and keeps working after it', () => {
    const big = { body: new Uint8Array(3 * 1024 * 1024).fill(7), s: 'é'.repeat(70_000) };
    const out = unpackr.unpack(encodeMsgpack(big)) as { body: Uint8Array; s: string };
    expect(out.body.byteLength).toBe(3 * 1024 * 1024);
    expect(out.body[12345]).toBe(7);
    expect(out.s).toBe(big.s);
    expect(unpackr.unpack(encodeMsgpack({ ok: true }))).toEqual({ ok: true });
  });

  it('refuses what msgpack cannot carry', () => {
    expect(() => encodeMsgpack({ f: () => 1 })).toThrow(/cannot encode a function/);
    expect(() => encodeMsgpack({ n: 1n })).toThrow(/cannot encode a bigint/);
  });
});
