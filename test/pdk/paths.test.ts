/**
 * The kit reads envelopes two ways: address-based scans for well-formed
 * input (pdk/assembly/scan.ts) and the Reader, which they hand anything
 * else to. Both must see the same envelope: the kit-paths fixture reads
 * every field, lookup and map with the scans on and with them off, and
 * the two answers must be the same bytes — for random envelopes (odd
 * types, duplicate and non-string keys, deep nesting), for mutated ones
 * (truncated, bytes changed) and for random msgpack.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { Encoder } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../pdk/build.ts';
import { type Envelope, encodeEnvelope, type PluginBinding, Runtime } from '../../runtime/index.ts';
import { FIXTURES } from '../harness/gateway.ts';

const runtime = new Runtime();
let kit: PluginBinding;
const packr = new Encoder({ useRecords: false, variableMapSize: true, mapsAsObjects: false });

beforeAll(async () => {
  const built = await buildPlugin(join(FIXTURES, 'plugins', 'kit-paths'));
  kit = runtime.bind(await runtime.prepare(await readFile(built.file)), { apiId: 'paths' });
}, 120_000);
afterAll(() => runtime.close());

/** What an export answers: its bytes, or the error code of a call that failed. */
async function answer(exportName: string, input: Uint8Array): Promise<string> {
  try {
    return Buffer.from((await kit.callRaw(exportName, input)).output ?? []).toString('hex');
  } catch (err) {
    return `failed: ${(err as { code?: string }).code}`;
  }
}

async function sameBothWays(input: Uint8Array, fast: string, careful: string): Promise<void> {
  const a = await answer(fast, input);
  const b = await answer(careful, input);
  expect(a, `input ${Buffer.from(input).toString('hex')}`).toBe(b);
}

// Names the fixture looks up (and some it does not), so lookups hit.
const name = fc.constantFrom('a', 'b', 'A', 'x-a', 'X-A', 'content-type', 'set-cookie', 'Zoë', 'zoë', '', 'other');
const field = fc.constantFrom('a', 'b', 'n', 'f', 't', 'm', 'metadata', 'user', 'token', 'rate', 'Zoë', 'other');
const scalar = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -2147483648, max: 4294967295 }),
  fc.constantFrom(0, 127, 128, 255, 256, 65535, 65536, -1, -32, -33, -129, 2 ** 32, -(2 ** 40), 2 ** 53),
  fc.double({ noNaN: true }),
  fc.string({ maxLength: 12 }),
  fc.uint8Array({ maxLength: 12 }),
);
/** A map, sometimes with keys msgpackr writes as integers (JS Maps keep their key types). */
function mapOf<T>(keys: fc.Arbitrary<string>, values: fc.Arbitrary<T>): fc.Arbitrary<Map<unknown, T>> {
  return fc
    .array(fc.tuple(fc.oneof({ weight: 6, arbitrary: keys }, { weight: 1, arbitrary: fc.integer() }), values), {
      maxLength: 6,
    })
    .map((entries) => new Map<unknown, T>(entries));
}
const headerValue = fc.oneof(
  { weight: 6, arbitrary: fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 10 }) },
  { weight: 1, arbitrary: scalar },
  { weight: 1, arbitrary: fc.array(scalar, { maxLength: 3 }) },
);
const multi = fc.oneof({ weight: 8, arbitrary: mapOf(name, headerValue) }, { weight: 1, arbitrary: scalar });
const anyValue = fc.letrec((tie) => ({
  leaf: scalar,
  node: fc.oneof(
    { depthSize: 'small' },
    tie('leaf'),
    fc.array(tie('node'), { maxLength: 4 }),
    mapOf(field, tie('node')),
  ),
})).node;
const str = fc.oneof({ weight: 6, arbitrary: fc.string({ maxLength: 16 }) }, { weight: 1, arbitrary: scalar });
const bytes = fc.oneof(
  { weight: 3, arbitrary: fc.uint8Array({ maxLength: 16 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 2, arbitrary: scalar },
);

/** A record: some of its fields, maybe unknown ones, in any order; rarely not a map at all. */
function record(fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<unknown> {
  const entries = Object.entries(fields).map(([k, v]) =>
    fc.option(
      v.map((x) => [k, x] as const),
      { nil: undefined },
    ),
  );
  const map = fc
    .tuple(fc.tuple(...entries), fc.array(fc.tuple(fc.string({ maxLength: 6 }), anyValue), { maxLength: 2 }))
    .chain(([known, extra]) => fc.shuffledSubarray([...known.filter((e) => e !== undefined), ...extra]))
    .map((pairs) => new Map(pairs as [string, unknown][]));
  return fc.oneof({ weight: 12, arbitrary: map }, { weight: 1, arbitrary: scalar });
}

const request = record({
  method: str,
  url: str,
  request_uri: str,
  scheme: str,
  host: str,
  remote_addr: str,
  params: multi,
  headers: multi,
  body: bytes,
});
const response = record({
  status_code: fc.oneof(scalar, fc.integer({ min: 100, max: 599 })),
  headers: multi,
  body: bytes,
});
const config = mapOf(field, anyValue);
const spec = record({ api_id: str, org_id: str, name: str, config_data: fc.oneof(config, anyValue) });
const metadata = record({ request_id: str, plugin: str, version: str, time: fc.oneof(scalar, fc.integer()) });
const answerRecord = record({
  status: fc.oneof(scalar, fc.integer()),
  headers: multi,
  body: bytes,
  error: str,
  message: str,
});
const envelope = record({
  v: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, { weight: 1, arbitrary: scalar }),
  hook: fc.oneof(
    { weight: 8, arbitrary: fc.constantFrom('pre', 'auth', 'post_auth', 'endpoint', 'post', 'response', 'analytics') },
    { weight: 1, arbitrary: str },
  ),
  request,
  session: fc.oneof(fc.constant(null), mapOf(field, anyValue), anyValue),
  response,
  record: fc.oneof(mapOf(field, anyValue), anyValue),
  spec,
  metadata,
  responses: fc.oneof(mapOf(fc.constantFrom('a', 'b', 'users', 'other'), answerRecord), scalar),
  state: bytes,
});

/** A value nested `depth` arrays deep (the Reader's limit is 64). */
function nested(depth: number, inner: unknown): unknown {
  let v = inner;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** An envelope as the gateway writes it (encodeEnvelope): every type right, the scans' home ground. */
const gatewayEnvelope = fc
  .record({
    hook: fc.constantFrom('pre', 'auth', 'post_auth', 'endpoint', 'post', 'response', 'analytics'),
    headers: fc.dictionary(name, fc.array(fc.string({ maxLength: 12 }), { minLength: 1, maxLength: 3 }), {
      maxKeys: 8,
    }),
    params: fc.dictionary(name, fc.array(fc.string({ maxLength: 6 }), { maxLength: 2 }), { maxKeys: 3 }),
    body: fc.option(fc.uint8Array({ maxLength: 40 }), { nil: null }),
    config: fc.dictionary(field, anyValue, { maxKeys: 6 }),
    session: fc.option(fc.dictionary(field, anyValue, { maxKeys: 6 }), { nil: null }),
    status: fc.integer({ min: 100, max: 599 }),
    time: fc.oneof(fc.integer({ min: 0, max: 2 ** 31 }), fc.constant(1700000000)),
  })
  .map((g) => {
    const env: Envelope = {
      v: 1,
      hook: g.hook,
      request: {
        method: 'GET',
        url: '/a',
        request_uri: '/a?x=1',
        scheme: 'http',
        host: 'gw',
        remote_addr: '203.0.113.7',
        params: g.params,
        headers: g.headers,
        body: g.body,
      },
      spec: { api_id: 'api', org_id: 'org', name: 'API', config_data: g.config },
      metadata: { request_id: 'r-1', plugin: 'p@1', version: '1', time: g.time },
    };
    if (g.hook !== 'pre' && g.hook !== 'auth') env.session = g.session as Envelope['session'];
    if (g.hook === 'response') env.response = { status_code: g.status, headers: g.headers, body: g.body };
    if (g.hook === 'analytics') env.record = g.config as unknown as Envelope['record'];
    return encodeEnvelope(env);
  });

describe('the scans and the Reader read envelopes the same way', () => {
  it('envelopes as the gateway writes them', async () => {
    await fc.assert(
      fc.asyncProperty(gatewayEnvelope, async (bytes) => sameBothWays(bytes, 'summary', 'summary_careful')),
      { numRuns: 300 },
    );
  }, 300_000);

  it('random envelopes', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, async (env) => {
        await sameBothWays(new Uint8Array(packr.encode(env)), 'summary', 'summary_careful');
      }),
      { numRuns: 400 },
    );
  }, 300_000);

  it('random envelopes, truncated or with a byte changed', async () => {
    await fc.assert(
      fc.asyncProperty(envelope, fc.nat(), fc.nat(255), fc.boolean(), async (env, at, byte, cut) => {
        const bytes = new Uint8Array(packr.encode(env));
        const i = at % Math.max(1, bytes.length);
        if (cut) await sameBothWays(bytes.subarray(0, i), 'summary', 'summary_careful');
        else {
          bytes[i] = byte;
          await sameBothWays(bytes, 'summary', 'summary_careful');
        }
      }),
      { numRuns: 600 },
    );
  }, 300_000);

  it('nesting at and past the Reader limit, in every section', async () => {
    for (const depth of [62, 63, 64, 65, 66]) {
      for (const section of ['request', 'session', 'record', 'spec', 'responses', 'state']) {
        const env = new Map<string, unknown>([
          ['v', 1],
          ['hook', 'post'],
          [section, nested(depth, 'x')],
        ]);
        await sameBothWays(new Uint8Array(packr.encode(env)), 'summary', 'summary_careful');
        const inConfig = new Map<string, unknown>([
          ['v', 1],
          ['hook', 'pre'],
          ['spec', new Map([['config_data', new Map([['a', nested(depth, new Map([['b', 1]]))]])]])],
        ]);
        await sameBothWays(new Uint8Array(packr.encode(inConfig)), 'summary', 'summary_careful');
      }
    }
  }, 120_000);

  it('a hook name spelled in overlong UTF-8 counts as the name it decodes to, both ways', async () => {
    // "pre" with its "p" as the two-byte C1 B0: decodes to "pre".
    const env = Buffer.from(
      packr.encode(
        new Map<string, unknown>([
          ['v', 1],
          ['hook', 'xre'],
        ]),
      ),
    );
    const at = env.indexOf(Buffer.from('xre'));
    const overlong = Buffer.concat([env.subarray(0, at - 1), Buffer.from([0xa4, 0xc1, 0xb0]), env.subarray(at + 1)]);
    await sameBothWays(new Uint8Array(overlong), 'summary', 'summary_careful');
  });

  it('keys spelled in overlong UTF-8 are looked up as the strings they decode to, both ways', async () => {
    // Every "xa" key below becomes C1 A1: an overlong "a", which the lookups of "a" must find where maps are decoded.
    const env = new Map<string, unknown>([
      ['v', 1],
      ['hook', 'response'],
      ['request', new Map<string, unknown>([['headers', new Map<string, unknown>([['xa', ['h']]])]])],
      [
        'session',
        new Map<string, unknown>([
          ['xa', 1],
          ['metadata', new Map<string, unknown>([['xa', 'm']])],
        ]),
      ],
      [
        'response',
        new Map<string, unknown>([
          ['status_code', 200],
          [
            'headers',
            new Map<string, unknown>([
              ['xa', ['r']],
              ['a', ['second']],
            ]),
          ],
        ]),
      ],
      ['record', new Map<string, unknown>([['xa', 'rec']])],
      [
        'spec',
        new Map<string, unknown>([
          [
            'config_data',
            new Map<string, unknown>([
              ['xa', 'cfg'],
              ['a', 'later'],
            ]),
          ],
        ]),
      ],
      [
        'responses',
        new Map<string, unknown>([
          [
            'a',
            new Map<string, unknown>([
              ['status', 200],
              ['headers', new Map<string, unknown>([['xa', ['ans']]])],
            ]),
          ],
        ]),
      ],
    ]);
    const bytes = Buffer.from(packr.encode(env));
    const key = Buffer.from([0xa2, 0x78, 0x61]);
    for (let at = bytes.indexOf(key); at >= 0; at = bytes.indexOf(key, at + 1)) {
      bytes[at + 1] = 0xc1;
      bytes[at + 2] = 0xa1;
    }
    await sameBothWays(new Uint8Array(bytes), 'summary', 'summary_careful');
  });

  it('Reader.skip and Reader.findFirst on random msgpack and random bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(multi, anyValue), fc.nat(), fc.nat(255), async (v, at, byte) => {
        const bytes = new Uint8Array(packr.encode(v));
        await sameBothWays(bytes, 'raw', 'raw_careful');
        await sameBothWays(bytes.subarray(0, at % Math.max(1, bytes.length)), 'raw', 'raw_careful');
        bytes[at % bytes.length] = byte;
        await sameBothWays(bytes, 'raw', 'raw_careful');
      }),
      { numRuns: 500 },
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), async (b) => sameBothWays(b, 'raw', 'raw_careful')),
      { numRuns: 300 },
    );
  }, 300_000);
});
