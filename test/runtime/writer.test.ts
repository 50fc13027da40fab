/**
 * The envelope encoder against the canonical encoder of the shared vectors
 * (test/vectors/canonical.ts, docs/abi.md §6): the same bytes for random
 * values and for the vectors' own envelopes, keys named like Object.prototype
 * members, and the cache of frozen objects never serving stale bytes; and
 * the field-by-field envelope writer against the general encoder.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { Unpackr } from 'msgpackr';
import { describe, expect, it } from 'vitest';
import { encodeMsgpack } from '../../runtime/abi/writer.ts';
import { type Envelope, encodeEnvelope, newMulti } from '../../runtime/index.ts';
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

describe('the envelope writer (field by field, with the pieces it keeps)', () => {
  /** A GET envelope with nothing in it, changed where a test says. */
  const small = (
    request: Partial<Envelope['request']> = {},
    metadata: Partial<Envelope['metadata']> = {},
  ): Envelope => ({
    v: 1,
    hook: 'pre',
    request: {
      method: 'GET',
      url: '/',
      request_uri: '/',
      scheme: 'http',
      host: 'gw',
      remote_addr: '::1',
      params: newMulti(),
      headers: newMulti(),
      body: null,
      ...request,
    },
    spec: { api_id: 'a', org_id: 'o', name: 'A', config_data: {} },
    metadata: { request_id: 'r', plugin: 'p', version: '1', time: 1, ...metadata },
  });

  const str = fc.oneof(fc.string({ maxLength: 40 }), anyString, fc.constantFrom('GET', '/x', 'pre', 'a'));
  const multi = fc
    .array(fc.tuple(fc.oneof(fc.string({ maxLength: 20 }), anyString), fc.array(str, { maxLength: 4 })), {
      maxLength: 20,
    })
    .map((entries) => {
      const m = newMulti();
      for (const [k, v] of entries) m[k] = v;
      return m;
    });
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'ДЕЛ'),
    url: fc.constantFrom('/x', '/y', '/ü'),
    request_uri: str,
    scheme: fc.constantFrom('http', 'https'),
    host: fc.constantFrom('gw', 'gw:8080'),
    remote_addr: fc.constantFrom('127.0.0.1', '::1'),
    params: multi,
    headers: multi,
    body: fc.option(bytes, { nil: null }),
  });
  const spec = fc.constantFrom(
    Object.freeze({ api_id: 'a', org_id: 'o', name: 'A', config_data: Object.freeze({ n: 1 }) }),
    { api_id: 'b', org_id: 'o', name: 'B', config_data: { deep: [1, 'two', null] } },
  );
  const metadata = fc.record({
    request_id: fc.constantFrom('r1', 'r2', 'request-ü'),
    plugin: fc.constantFrom('p@1.0.0', 'q@2.0.0'),
    version: fc.constantFrom('1', '2'),
    time: fc.constantFrom(0, 1_764_590_000, 2 ** 40),
  });
  // Built in the order of the Envelope record, optional fields present or not.
  const envelope = fc
    .record({
      v: fc.constantFrom(1, 1, 2),
      hook: fc.constantFrom('pre', 'post', 'response', 'analytics', 'custom'),
      request,
      session: fc.option(fc.constantFrom(null, { rate: 10, metadata: { token: 't' } }), { nil: undefined }),
      response: fc.option(
        fc.record({
          status_code: fc.integer({ min: 100, max: 599 }),
          headers: multi,
          body: fc.option(bytes, { nil: null }),
        }),
        { nil: undefined },
      ),
      record: fc.option(fc.constantFrom({ path: '/x', response_code: 200 }), { nil: undefined }),
      spec,
      metadata,
      responses: fc.option(fc.constantFrom({ a: { status: 200, headers: {}, body: new Uint8Array([1]) } }), {
        nil: undefined,
      }),
      state: fc.option(bytes, { nil: undefined }),
    })
    .map((e) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(e)) if (v !== undefined) out[k] = v;
      return out as unknown as Envelope;
    });

  it('writes the bytes the general encoder writes, for runs of envelopes that share pieces and runs that do not', () => {
    fc.assert(
      fc.property(fc.array(envelope, { minLength: 1, maxLength: 8 }), (run) => {
        for (const e of run) expect(hex(encodeEnvelope(e))).toBe(hex(encodeMsgpack(e)));
      }),
      { numRuns: 1_500 },
    );
  });

  it('writes header maps of 16 and of 70,000 names in the longer map forms', () => {
    for (const n of [15, 16, 300, 70_000]) {
      const headers = newMulti();
      for (let i = 0; i < n; i++) headers[`h${i}`] = [`v${i}`];
      const e = small({ headers });
      expect(Buffer.from(encodeEnvelope(e)).equals(Buffer.from(encodeMsgpack(e))), `${n} headers`).toBe(true);
    }
  });

  it('notices a changed URL, request id or plugin between envelopes of one request', () => {
    const e = (url: string, id: string, plugin: string) => small({ url, request_uri: url }, { request_id: id, plugin });
    const seen = [e('/a', 'r1', 'p'), e('/b', 'r1', 'p'), e('/b', 'r2', 'p'), e('/b', 'r2', 'q')].map(
      (x) => unpackr.unpack(encodeEnvelope(x)) as Envelope,
    );
    expect(seen.map((x) => [x.request.url, x.metadata.request_id, x.metadata.plugin])).toEqual([
      ['/a', 'r1', 'p'],
      ['/b', 'r1', 'p'],
      ['/b', 'r2', 'p'],
      ['/b', 'r2', 'q'],
    ]);
  });
});
