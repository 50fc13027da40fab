/**
 * The kit's msgpack reader and writer (AssemblyScript), compiled from
 * source and run in the real runtime, against msgpackr: random values
 * round-trip to the same bytes, every integer width decodes, non-shortest
 * input comes back shortest, malformed input is reported, never trapped on.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { Encoder } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../pdk/build.ts';
import { type PluginBinding, Runtime } from '../../runtime/index.ts';
import { FIXTURES } from '../harness/gateway.ts';
import { encodeCanonical } from '../vectors/canonical.ts';

const runtime = new Runtime();
let codec: PluginBinding;
const msgpackr = new Encoder({ useRecords: false, variableMapSize: true });
const enc = (v: unknown) => new Uint8Array(msgpackr.encode(v));

beforeAll(async () => {
  const built = await buildPlugin(join(FIXTURES, 'plugins', 'msgpack-roundtrip'));
  codec = runtime.bind(await runtime.prepare(await readFile(built.file)), { apiId: 'msgpack' });
}, 120_000);
afterAll(() => runtime.close());

async function roundtrip(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array((await codec.callRaw('roundtrip', bytes)).output ?? []);
}

const value = fc.letrec((tie) => ({
  leaf: fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -2147483648, max: 4294967295 }),
    fc.constantFrom(
      0,
      127,
      128,
      255,
      256,
      65535,
      65536,
      -1,
      -32,
      -33,
      -128,
      -129,
      -32768,
      -32769,
      2 ** 32,
      -(2 ** 31) - 1,
      Number.MAX_SAFE_INTEGER,
    ),
    fc.double({ noNaN: true }).filter((d) => !Number.isInteger(d)),
    fc.string({ unit: 'binary' }),
    fc.string({ minLength: 30, maxLength: 300 }),
    fc.uint8Array({ maxLength: 300 }),
  ),
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 20 }),
    fc.dictionary(fc.string(), tie('node'), { maxKeys: 20 }),
  ),
}));

describe('the kit msgpack codec', () => {
  it('round-trips random values to the bytes msgpackr writes (shortest forms, UTF-8, key order)', async () => {
    await fc.assert(
      fc.asyncProperty(value.node, async (v) => {
        const bytes = enc(v);
        expect(Buffer.from(await roundtrip(bytes)).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
      }),
      { numRuns: 400 },
    );
  });

  it('reads every integer width and writes each in its shortest form', async () => {
    // [5 as uint16, 300 as uint32, -1 as int16, -200 as int32, 2^40 as uint64, -2^40 as int64, 7 as float64]
    const input = Buffer.from(
      '97cd0005ce0000012cd1ffffd2ffffff38cf0000010000000000d3ffffff0000000000cb401c000000000000',
      'hex',
    );
    const out = new Uint8Array((await codec.callRaw('ints', input)).output ?? []);
    expect(Buffer.from(out).toString('hex')).toBe(
      Buffer.from(encodeCanonical([5, 300, -1, -200, 2 ** 40, -(2 ** 40), 7])).toString('hex'),
    );
  });

  it('keeps non-ASCII strings byte for byte, including 4-byte UTF-8', async () => {
    const v = { clé: 'Zoë 日本 🚀', ['x'.repeat(40)]: 'é'.repeat(200) };
    expect(Buffer.from(await roundtrip(enc(v)))).toEqual(Buffer.from(enc(v)));
  });

  it('Writer.binUtf8 writes what bin() of the UTF-8 bytes writes, at every length form', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ unit: 'binary' }), fc.string({ minLength: 250, maxLength: 70_000, unit: 'grapheme' })),
        async (text) => {
          const out = new Uint8Array((await codec.callRaw('bin_utf8', enc(text))).output ?? []);
          const { decode } = await import('msgpackr');
          const [viaBinUtf8, viaBin] = decode(out) as [Uint8Array, Uint8Array];
          expect(Buffer.from(viaBinUtf8).equals(Buffer.from(viaBin))).toBe(true);
          expect(out.byteLength).toBe(
            1 + 2 * (viaBin.length + (viaBin.length <= 0xff ? 2 : viaBin.length <= 0xffff ? 3 : 5)),
          );
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reports truncated or invalid input instead of trapping', async () => {
    for (const bad of ['dc', 'd9ff41', 'c1', '82a161', 'ddffffffff', '']) {
      const out = await roundtrip(Buffer.from(bad, 'hex'));
      const { decode } = await import('msgpackr');
      expect(String(decode(out))).toMatch(/^error: /);
    }
  });
});
