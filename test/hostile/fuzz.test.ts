/**
 * Property-based fuzzing (fast-check), bounded in time:
 *  - random and mutated plugin outputs through the result codec and schema:
 *    a typed error or a fully valid result, never anything else, and no
 *    coercion of wrong types;
 *  - random and mutated API definitions, directly and through the admin
 *    API: a clear error naming a field (400), never a 500;
 *  - mutated raw HTTP requests on the proxy port: never a crash, never a
 *    hang, never a smuggled second request reaching the upstream.
 */
import { connect } from 'node:net';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../gateway/app.ts';
import { ApiDefinitionError } from '../../gateway/config/errors.ts';
import { parseApiDefinition } from '../../gateway/config/load.ts';
import { decodeResult } from '../../runtime/abi/codec.ts';
import { HOOKS, type Hook, isWasmgateError } from '../../runtime/index.ts';
import { classicApi, startTestApp, startUpstream, type Upstream } from '../harness/gateway.ts';

const packr = new Packr({ useRecords: false, moreTypes: false, structuredClone: false });
const MAX_OUTPUT = 64 * 1024;
const RESULT_CODES = new Set([
  'BAD_OUTPUT',
  'HOOK_NOT_ALLOWED',
  'FORBIDDEN_HEADER',
  'OUTPUT_TOO_LARGE',
  'PLUGIN_ERROR',
]);

/** Valid-looking results for every hook, as raw values: the seeds the mutations start from. */
const SEEDS: unknown[] = [
  {},
  { request: { set_headers: { 'x-a': ['1'] }, add_headers: { 'x-b': ['2', '3'] }, delete_headers: ['x-c'] } },
  { request: { url: '/rewritten', add_params: { q: ['1'] }, delete_params: ['p'], body: new Uint8Array([1, 2]) } },
  { return_overrides: { response_code: 418, response_error: 'no', headers: { 'x-from': ['p'] } } },
  { return_overrides: { response_code: 200, response_body: new Uint8Array([104, 105]), override_error: true } },
  { session: { rate: 10.5, per: 1.0, quota_max: 100, metadata: { token: 't' }, expires: 0 } },
  { response: { status: 201, set_headers: { 'set-cookie': ['a=1', 'b=2'] }, body: new Uint8Array([0]) } },
  { record: { set: { path: '/masked' }, drop_fields: ['raw_request'] } },
  { error: 'plugin says no' },
  {
    calls: [{ id: 'a', method: 'GET', url: 'http://svc.example/x', headers: { accept: ['a/b'] } }],
    state: new Uint8Array([1]),
  },
  { request: { upstream: 'eu', url: '/x' } },
];

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.double(),
    fc.string(),
    fc.uint8Array({ maxLength: 16 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(
        fc.string(),
        fc.constantFrom(
          'request',
          'response',
          'session',
          'record',
          'return_overrides',
          'error',
          'set_headers',
          'add_headers',
          'delete_headers',
          'response_code',
          'headers',
          'body',
          'status',
          'url',
          'rate',
          'metadata',
        ),
      ),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
})).value;

/** One mutation of a seed's bytes: flip, insert, delete or truncate. */
const mutatedBytes = fc
  .tuple(
    fc.constantFrom(...SEEDS),
    fc.array(fc.tuple(fc.nat(), fc.nat(255), fc.constantFrom('flip', 'insert', 'delete', 'truncate')), {
      minLength: 1,
      maxLength: 4,
    }),
  )
  .map(([seed, edits]) => {
    const bytes = [...packr.pack(seed)];
    for (const [at, value, kind] of edits) {
      const i = bytes.length ? at % bytes.length : 0;
      if (kind === 'flip') bytes[i] = value;
      else if (kind === 'insert') bytes.splice(i, 0, value);
      else if (kind === 'delete') bytes.splice(i, 1);
      else bytes.length = i;
    }
    return Uint8Array.from(bytes);
  });

function decodeOnce(bytes: Uint8Array, hook: Hook): void {
  try {
    const result = decodeResult(bytes, hook, MAX_OUTPUT);
    // Accepted: a plain object of known sections, nothing else.
    expect(typeof result).toBe('object');
    for (const k of Object.keys(result)) {
      expect(['request', 'response', 'session', 'record', 'return_overrides', 'calls', 'state']).toContain(k);
    }
  } catch (err) {
    if (!isWasmgateError(err) || !RESULT_CODES.has(err.code)) throw err;
  }
}

describe('plugin outputs through the codec and schema', () => {
  it('random msgpack values: a typed refusal or a valid result, never another exception', () => {
    fc.assert(
      fc.property(jsonish, fc.constantFrom(...HOOKS), (value, hook) => decodeOnce(packr.pack(value), hook)),
      { numRuns: 30_000 },
    );
  });

  it('mutated valid results (flipped, inserted, deleted, truncated bytes)', () => {
    fc.assert(
      fc.property(mutatedBytes, fc.constantFrom(...HOOKS), (bytes, hook) => decodeOnce(bytes, hook)),
      { numRuns: 50_000 },
    );
  });

  it('random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...HOOKS), (bytes, hook) =>
        decodeOnce(bytes, hook),
      ),
      { numRuns: 20_000 },
    );
  });

  it('no coercion: a wrong type anywhere in a valid result is refused, never converted', () => {
    const wrong = fc.oneof(
      fc.string(),
      fc.boolean(),
      fc.constant(null),
      fc.double({ noInteger: true }),
      fc.array(fc.nat()),
    );
    fc.assert(
      fc.property(wrong, (v) => {
        for (const [hook, result] of [
          ['pre', { return_overrides: { response_code: v } }],
          ['response', { response: { status_code: v } }],
          ['auth', { session: { quota_max: typeof v === 'number' ? `${v}` : v } }],
          // A header value is a string or a list of strings (docs/abi.md); anything else is refused.
          ['pre', { request: { set_headers: { 'x-a': typeof v === 'string' ? [v, 1] : v } } }],
        ] as [Hook, unknown][]) {
          if (Array.isArray(v) && v.length === 0) continue; // [] is a valid (empty) header value list
          expect(() => decodeResult(packr.pack(result), hook, MAX_OUTPUT), JSON.stringify(result)).toThrow();
        }
      }),
      { numRuns: 2_000 },
    );
  });
});

/** A valid Classic definition, with random fields replaced or removed. */
const BASE_API = {
  ...classicApi('fuzz', 'http://127.0.0.1:9'),
  custom_middleware: { driver: 'wasm', pre: [{ name: 'run', path: 'x@1.0.0' }] },
  version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
};
const FIELDS = [
  'api_id',
  'org_id',
  'name',
  'use_keyless',
  'proxy',
  'proxy.listen_path',
  'proxy.target_url',
  'proxy.strip_listen_path',
  'custom_middleware',
  'custom_middleware.driver',
  'custom_middleware.pre',
  'version_data',
  'version_data.versions',
  'enable_coprocess_auth',
  'config_data',
  'active',
];

const mutatedApi = fc
  .array(fc.tuple(fc.constantFrom(...FIELDS), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined })), {
    minLength: 1,
    maxLength: 3,
  })
  .map((edits) => {
    const doc = structuredClone(BASE_API) as Record<string, unknown>;
    for (const [path, value] of edits) {
      const parts = path.split('.');
      let at: Record<string, unknown> = doc;
      for (const p of parts.slice(0, -1)) {
        if (typeof at[p] !== 'object' || at[p] === null) at[p] = {};
        at = at[p] as Record<string, unknown>;
      }
      if (value === undefined) delete at[parts.at(-1)!];
      else at[parts.at(-1)!] = value;
    }
    return doc;
  });

describe('API definitions', () => {
  it('random and mutated definitions: parsed, or refused with every problem naming a field', () => {
    fc.assert(
      // Definitions arrive as JSON: only JSON values.
      fc.property(fc.oneof(mutatedApi, fc.jsonValue({ maxDepth: 4 })), (doc) => {
        try {
          parseApiDefinition(doc, 'fuzz');
        } catch (err) {
          if (!(err instanceof ApiDefinitionError)) throw err;
          expect(err.problems.length).toBeGreaterThan(0);
          for (const p of err.problems) expect(p.rule.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 5_000 },
    );
  });

  describe('through the admin API', () => {
    let app: App;
    let base: string;
    const SECRET = 'fuzz-admin-secret-0123456789';
    beforeAll(async () => {
      app = await startTestApp({ adminSecret: SECRET });
      base = `http://127.0.0.1:${app.adminPort}`;
    }, 60_000);
    afterAll(async () => {
      await app?.close();
    });

    it('mutated bodies to /tyk/apis, /tyk/keys and /tyk/policies: 4xx naming what is wrong, never 5xx', async () => {
      const bodies = fc.sample(fc.oneof(mutatedApi, fc.jsonValue({ maxDepth: 4 })), { numRuns: 300, seed: 7 });
      const texts = fc.sample(fc.string({ maxLength: 40 }), { numRuns: 30, seed: 8 });
      const send = async (path: string, method: string, body: string) => {
        const res = await fetch(`${base}${path}`, {
          method,
          headers: { 'x-tyk-authorization': SECRET, 'content-type': 'application/json' },
          body,
        });
        const text = await res.text();
        expect([path, method, res.status < 500]).toEqual([path, method, true]);
        if (res.status >= 400) {
          const parsed = JSON.parse(text);
          expect(typeof parsed.message === 'string' || typeof parsed.error === 'string').toBe(true);
        }
        return res.status;
      };
      for (const b of bodies) {
        const json = JSON.stringify(b) ?? 'null';
        await send('/tyk/apis', 'POST', json);
        await send('/tyk/keys', 'POST', json);
        await send('/tyk/policies', 'POST', json);
      }
      for (const t of texts) await send('/tyk/apis', 'POST', t); // not JSON at all
    }, 120_000);
  });
});

describe('mutated raw HTTP on the proxy port', () => {
  let up: Upstream;
  let app: App;
  let port: number;
  beforeAll(async () => {
    up = await startUpstream();
    app = await startTestApp({
      adminSecret: 'fuzz-http-secret-0123456789',
      headersTimeoutMs: 1_000,
      requestTimeoutMs: 2_000,
    });
    app.gateway.swap(await app.gateway.load([parseApiDefinition(classicApi('fz', up.url))], '.'));
    port = app.port;
  }, 60_000);
  afterAll(async () => {
    await app?.close();
    await up?.close();
  });

  const TEMPLATE =
    'POST /fz/FRONT HTTP/1.1\r\nHost: gw\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\nX-A: b\r\n\r\n0\r\n\r\nGET /fz/SMUG HTTP/1.1\r\nHost: gw\r\n\r\n';
  const INSERTS = [
    '\r\n',
    '\n',
    '\r',
    '\0',
    ' ',
    '\t',
    ':',
    'Content-Length: 0\r\n',
    'Transfer-Encoding: chunked\r\n',
    '\r\n\r\n',
    'ÿ',
  ];

  const mutatedRequest = fc
    .array(fc.tuple(fc.nat(), fc.constantFrom(...INSERTS), fc.constantFrom('insert', 'replace', 'delete')), {
      minLength: 1,
      maxLength: 5,
    })
    .map((edits) => {
      let s = TEMPLATE;
      for (const [at, text, kind] of edits) {
        const i = at % s.length;
        if (kind === 'insert') s = s.slice(0, i) + text + s.slice(i);
        else if (kind === 'replace') s = s.slice(0, i) + text + s.slice(i + text.length);
        else s = s.slice(0, i) + s.slice(i + 1 + (at % 4));
      }
      return s;
    });

  function exchange(bytes: string): Promise<{ text: string; ms: number }> {
    const started = Date.now();
    return new Promise((resolve) => {
      const socket = connect(port, '127.0.0.1');
      const chunks: Buffer[] = [];
      // The socket stays open (a half-close would make Node drop the answers); once the gateway
      // has been quiet for a moment after answering, the exchange is over.
      let idle: NodeJS.Timeout | null = null;
      socket.on('data', (c) => {
        chunks.push(c);
        if (idle) clearTimeout(idle);
        idle = setTimeout(() => socket.destroy(), 400);
      });
      socket.on('error', () => {});
      socket.on('connect', () => socket.write(Buffer.from(bytes, 'latin1')));
      socket.on('close', () => {
        if (idle) clearTimeout(idle);
        clearTimeout(hang);
        resolve({ text: Buffer.concat(chunks).toString('latin1'), ms: Date.now() - started });
      });
      // A hang is a failure: the gateway must answer or close within its timeouts (2 s here).
      const hang = setTimeout(() => socket.destroy(), 8_000);
    });
  }

  // A mutation may turn the template into two valid pipelined requests; then the gateway
  // forwarding both is right. Smuggling is the hidden second request reaching the upstream when
  // the bytes before it are not a complete, valid request on their own: that is checked by
  // sending those bytes alone, which must then be answered by the upstream (200), not refused.
  it('never a crash, never a hang, never a hidden request reaching the upstream', async () => {
    const requests = fc
      .sample(mutatedRequest, { numRuns: 400, seed: 42 })
      .map((r, i) => r.replaceAll('FRONT', `front-${i}`).replaceAll('SMUG', `smuggled-${i}`));
    const smuggledThrough: number[] = [];
    for (let i = 0; i < requests.length; i += 20) {
      const answers = await Promise.all(requests.slice(i, i + 20).map(exchange));
      for (const a of answers) {
        expect(a.ms).toBeLessThan(8_000);
        for (const m of a.text.matchAll(/HTTP\/1\.1 (\d{3})/g)) expect(Number(m[1])).not.toBe(500);
      }
    }
    requests.forEach((_, i) => {
      if (up.seen.some((r) => r.path === `/smuggled-${i}`)) smuggledThrough.push(i);
    });
    for (const i of smuggledThrough) {
      const bytes = requests[i]!;
      const prefix = bytes.slice(0, bytes.indexOf(`GET /fz/smuggled-${i}`));
      const alone = await exchange(prefix);
      expect([i, /^HTTP\/1\.1 200/.test(alone.text)], JSON.stringify(bytes)).toEqual([i, true]);
    }
    // Still serving.
    const res = await fetch(`http://127.0.0.1:${port}/fz/after`);
    expect(res.status).toBe(200);
  }, 120_000);
});
