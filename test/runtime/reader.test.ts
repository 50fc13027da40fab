/**
 * The plugin-output reader (runtime/abi/reader.ts): every value msgpack
 * writers produce comes back as it was, in any of msgpack's forms, and every
 * malformed or hostile input is refused with an error naming what and where.
 */
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { decodeResult } from '../../runtime/abi/codec.ts';
import { MAX_DEPTH, MsgpackError, readMsgpack } from '../../runtime/abi/reader.ts';
import { encodeMsgpack } from '../../runtime/abi/writer.ts';

/** Any UTF-16 string without lone surrogates (UTF-8 cannot carry those). */
const text = fc.string({ unit: 'grapheme', maxLength: 40 });
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true }),
    text,
    fc.uint8Array({ maxLength: 300 }),
    fc.array(tie('value'), { maxLength: 20 }),
    fc.dictionary(text, tie('value'), { maxKeys: 20 }),
  ),
}));

/** The value as plain data, for comparing: maps without prototype, bytes as arrays. */
function plain(v: unknown): unknown {
  if (v instanceof Uint8Array) return { bytes: [...v] };
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v)) out[k] = plain((v as Record<string, unknown>)[k]);
    return out;
  }
  return Object.is(v, -0) ? 0 : v;
}

const refuse = (bytes: number[], message: RegExp) => {
  expect(() => readMsgpack(Uint8Array.from(bytes))).toThrow(MsgpackError);
  expect(() => readMsgpack(Uint8Array.from(bytes))).toThrow(message);
};

describe('the plugin-output reader', () => {
  it('reads back what the canonical writer and msgpackr (its other forms: map16 for every map, …) write', () => {
    const packr = new Packr({ useRecords: false, variableMapSize: false });
    fc.assert(
      fc.property(value, (v) => {
        expect(plain(readMsgpack(encodeMsgpack(v)))).toEqual(plain(v));
        expect(plain(readMsgpack(packr.pack(v)))).toEqual(plain(v));
      }),
      { numRuns: 2_000 },
    );
  });

  it('reads float32, and the signed and unsigned forms at their edges', () => {
    expect(readMsgpack(Uint8Array.from([0xca, 0xc0, 0x20, 0, 0]))).toBe(-2.5);
    expect(readMsgpack(Uint8Array.from([0xd0, 0x80]))).toBe(-128);
    expect(readMsgpack(Uint8Array.from([0xd1, 0x80, 0x00]))).toBe(-32768);
    expect(readMsgpack(Uint8Array.from([0xd2, 0x80, 0, 0, 0]))).toBe(-(2 ** 31));
    expect(readMsgpack(Uint8Array.from([0xce, 0xff, 0xff, 0xff, 0xff]))).toBe(2 ** 32 - 1);
    expect(readMsgpack(Uint8Array.from([0xcf, 0, 0x20, 0, 0, 0, 0, 0, 0]))).toBe(2 ** 53);
    expect(readMsgpack(Uint8Array.from([0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]))).toBe(-1);
  });

  it('keeps keys named like Object.prototype members as plain keys', () => {
    const out = readMsgpack(encodeMsgpack(JSON.parse('{"__proto__":{"polluted":1},"constructor":2}'))) as Record<
      string,
      unknown
    >;
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(out, '__proto__')?.value).toMatchObject({ polluted: 1 });
    expect(Object.getPrototypeOf(out)).not.toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses trailing bytes, extension types, 0xc1, non-string and repeated keys, and data that ends early', () => {
    refuse([0x80, 0x01], /1 bytes follow the value at byte 1/);
    refuse([0xd4, 0x01, 0x00], /extension types \(0xd4\) are not allowed at byte 0/);
    refuse([0xd6, 0xff, 0, 0, 0, 1], /extension types/);
    refuse([0xc7, 0x01, 0x05, 0x00], /extension types/);
    refuse([0xc1], /0xc1 is not msgpack/);
    refuse([0x81, 0x01, 0xa1, 0x61], /a map key is not a string at byte 1/);
    refuse([0x81, 0x80, 0x01], /a map key is not a string/);
    refuse([0x82, 0xa1, 0x61, 0x01, 0xa1, 0x61, 0x02], /the map key "a" appears twice at byte 4/);
    refuse([0x82, 0xa1, 0x61], /ends early|does not fit/);
    refuse([0xa5, 0x61], /the data ends early/);
    refuse([0xcd, 0x01], /the data ends early/);
    refuse([], /the data ends early at byte 0/);
  });

  it('refuses counts that cannot fit in the bytes left, before allocating for them', () => {
    refuse([0xdd, 0xff, 0xff, 0xff, 0xff], /an array of 4294967295 items does not fit/);
    refuse([0xdf, 0x7f, 0xff, 0xff, 0xff, 0xa1], /a map of 2147483647 entries does not fit/);
    refuse([0xc6, 0xff, 0xff, 0xff, 0xff, 0x00], /the data ends early/);
  });

  it(`refuses nesting deeper than ${MAX_DEPTH}, and reads ${MAX_DEPTH} levels`, () => {
    refuse([...new Array(1_000_000).fill(0x91), 0xc0], new RegExp(`nested deeper than ${MAX_DEPTH}`));
    const deep = [...new Array(MAX_DEPTH).fill(0x91), 0xc0];
    let v = readMsgpack(Uint8Array.from(deep));
    for (let i = 0; i < MAX_DEPTH; i++) v = (v as unknown[])[0];
    expect(v).toBeNull();
  });

  it('turns every refusal into BAD_OUTPUT naming it, and random bytes into a result or BAD_OUTPUT', () => {
    expect(() =>
      decodeResult(Uint8Array.from([0x81, 0xa7, ...Buffer.from('request'), 0xd4, 1, 0]), 'pre', 1 << 20),
    ).toThrow(
      expect.objectContaining({
        code: 'BAD_OUTPUT',
        message: expect.stringMatching(/not valid msgpack: extension types/),
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          decodeResult(bytes, 'pre', 1 << 20);
        } catch (err) {
          expect((err as { code?: string }).code).toMatch(
            /^(BAD_OUTPUT|HOOK_NOT_ALLOWED|FORBIDDEN_HEADER|PLUGIN_ERROR)$/,
          );
        }
      }),
      { numRuns: 5_000 },
    );
  });
});
