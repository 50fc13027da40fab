/**
 * The one-pass decoder for common results (runtime/abi/common-result.ts)
 * against decodeResult's general path: whenever the one-pass decoder answers,
 * the general path accepts the same bytes and returns the same result; for
 * everything else it steps aside and the general path decides, errors
 * included.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeGeneralResult, decodeResult } from '../../runtime/abi/codec.ts';
import { decodeCommonResult } from '../../runtime/abi/common-result.ts';
import type { Hook, HookResult } from '../../runtime/abi/records.ts';
import { encodeMsgpack } from '../../runtime/abi/writer.ts';

const HOOKS: Hook[] = ['pre', 'auth', 'post_auth', 'endpoint', 'post', 'response', 'analytics'];

const token = fc.stringMatching(/^[a-zA-Z0-9!#$%&'*+.^_`|~-]{1,40}$/);
const name = fc.oneof(
  { weight: 30, arbitrary: fc.constantFrom('x-trace', 'X-Trace', 'set-cookie', 'content-type', 'x-a', 'X-A') },
  { weight: 20, arbitrary: token },
  { weight: 1, arbitrary: fc.constantFrom('Host', 'content-length', 'Transfer-Encoding', 'TE') },
  { weight: 1, arbitrary: fc.constantFrom('', 'a b', 'naïve', 'x:y', 'a'.repeat(300)) },
);
const value = fc.oneof(
  { weight: 40, arbitrary: fc.stringMatching(/^[\t\x20-\x7e]{0,40}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[\x20-\x7e]{200,300}$/) },
  { weight: 1, arbitrary: fc.constantFrom('a\r\nb', 'nul\u0000', 'del\u007f', 'Zoë', '日本', 'a'.repeat(70_000)) },
);
const values = fc.oneof(
  { weight: 4, arbitrary: value },
  { weight: 4, arbitrary: fc.array(value, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(value, { minLength: 14, maxLength: 17 }) },
);
// Mostly small maps and lists, sometimes past the fix-size forms.
const headerMap = fc.oneof(
  { weight: 8, arbitrary: fc.dictionary(name, values, { maxKeys: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(name, values, { minKeys: 14, maxKeys: 17 }) },
);
const names = fc.oneof(
  { weight: 8, arbitrary: fc.array(name, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.array(name, { minLength: 14, maxLength: 17 }) },
);
const extra = fc.constantFrom<Record<string, unknown>>(
  {},
  {},
  {},
  {},
  {},
  {},
  { body: 'x' },
  { url: '/y' },
  { nope: 1 },
);
const edits = (withStatus: boolean) =>
  fc
    .record(
      {
        set_headers: headerMap,
        add_headers: headerMap,
        delete_headers: names,
        ...(withStatus
          ? { status_code: fc.oneof(fc.integer({ min: 100, max: 599 }), fc.integer({ min: -1, max: 70_000 })) }
          : {}),
      },
      { requiredKeys: [] },
    )
    .chain((e) => extra.map((x) => ({ ...e, ...x })));
const result = fc.oneof(
  { weight: 4, arbitrary: fc.record({ request: edits(false) }) },
  { weight: 4, arbitrary: fc.record({ response: edits(true) }) },
  { weight: 1, arbitrary: fc.record({ request: edits(false), response: edits(true) }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.record({ error: fc.string() }) },
);
/** A hook that can take the result's kind more often than not. */
const hookFor = (r: object) =>
  'response' in r
    ? fc.oneof({ weight: 3, arbitrary: fc.constant<Hook>('response') }, fc.constantFrom(...HOOKS))
    : fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom<Hook>('pre', 'auth', 'post_auth', 'endpoint', 'post') },
        fc.constantFrom(...HOOKS),
      );

/** Whether the one-pass decoder answered; when it did, it agreed with the general path. */
function agree(bytes: Uint8Array, hook: Hook): boolean {
  const common = decodeCommonResult(bytes, hook);
  if (common === undefined) return false;
  let general: HookResult | unknown;
  try {
    general = decodeGeneralResult(bytes, hook);
  } catch (err) {
    general = err;
  }
  expect(general).not.toBeInstanceOf(Error);
  expect(common).toStrictEqual(general);
  return true;
}

describe('the common-result decoder', () => {
  it('answers only what the general path accepts, with the same result', () => {
    let answered = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        result.chain((r) => hookFor(r).map((hook) => [r, hook] as const)),
        ([r, hook]) => {
          runs++;
          if (agree(encodeMsgpack(r), hook)) answered++;
        },
      ),
      { numRuns: 3000 },
    );
    // The property is not vacuous: a good share of the generated results take the one-pass path.
    expect(answered / runs).toBeGreaterThan(0.15);
  });

  it('steps aside for damaged bytes, which the general path then judges', () => {
    fc.assert(
      fc.property(
        fc.record({ request: edits(false) }),
        fc.nat(),
        fc.integer({ min: 0, max: 255 }),
        fc.boolean(),
        (r, at, byte, cut) => {
          const bytes = encodeMsgpack(r);
          const damaged = cut ? bytes.subarray(0, at % bytes.length) : bytes.slice();
          if (!cut) damaged[at % damaged.length] = byte;
          agree(damaged, 'post');
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('decodes the kit stamp result of a request and a response hook', () => {
    const request = Buffer.from(
      '81a77265717565737481ab6164645f6865616465727381b0782d7761736d676174652d747261636591a3707265',
      'hex',
    );
    expect(decodeCommonResult(request, 'pre')).toStrictEqual({
      request: {
        set_headers: undefined,
        add_headers: Object.assign(Object.create(null), { 'x-wasmgate-trace': ['pre'] }),
        delete_headers: undefined,
        add_params: undefined,
        delete_params: undefined,
        body: undefined,
        url: undefined,
        upstream: undefined,
      },
    });
    const response = encodeMsgpack({ response: { status_code: 201, set_headers: { 'X-A': 'b', 'x-c': ['d', 'e'] } } });
    const decoded = decodeCommonResult(response, 'response');
    expect(decoded?.response?.status_code).toBe(201);
    expect({ ...decoded?.response?.set_headers }).toEqual({ 'x-a': ['b'], 'x-c': ['d', 'e'] });
  });

  it('leaves refusals to the general path, which names them', () => {
    const refuse = (r: unknown, hook: Hook, code: string) => {
      const bytes = encodeMsgpack(r);
      expect(decodeCommonResult(bytes, hook)).toBeUndefined();
      expect(() => decodeResult(bytes, hook, 1 << 20)).toThrow(expect.objectContaining({ code }));
    };
    refuse({ response: { set_headers: { a: 'b' } } }, 'pre', 'HOOK_NOT_ALLOWED');
    refuse({ request: { set_headers: { a: 'b' } } }, 'response', 'HOOK_NOT_ALLOWED');
    refuse({ request: { set_headers: { Host: 'evil' } } }, 'pre', 'FORBIDDEN_HEADER');
    refuse({ request: { add_headers: { a: 'b\r\nc: d' } } }, 'post', 'FORBIDDEN_HEADER');
    refuse({ response: { status_code: 99 } }, 'response', 'BAD_OUTPUT');
    refuse({ request: { delete_headers: ['a b'] } }, 'post', 'FORBIDDEN_HEADER');
  });
});
