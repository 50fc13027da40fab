/**
 * The Rust and Go example plugins, built from source here, answer every
 * shared vector of their example byte for byte through the real runtime —
 * the same bytes as the TypeScript examples (test/pdk/examples.test.ts);
 * the Go kit's own tests pass natively.
 * A missing toolchain skips its half (fails under WASMGATE_REQUIRE_ALL=1).
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'msgpackr';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Runtime } from '../../runtime/index.ts';
import { requirement } from '../harness/skip.ts';
import { encodeCanonical, type Tagged } from '../vectors/canonical.ts';
import { listCases, type VectorCase } from '../vectors/generate.ts';
import {
  buildGoExamples,
  buildRustExamples,
  cargoBuild,
  findRustToolchain,
  findSecondDebianToolchain,
  GO_EXAMPLES,
  goKitTest,
  hasGo,
  NEEDS_WASI,
  RUST_EXAMPLES,
} from './build.ts';

const cases = listCases();

const KITS = [
  {
    lang: 'rust' as const,
    req: requirement('cargo wasm32 target', findRustToolchain() !== null, 'bash scripts/install-rust-wasm.sh'),
    build: buildRustExamples,
    examples: RUST_EXAMPLES,
  },
  {
    lang: 'go' as const,
    req: requirement('go', hasGo(), 'install Go ≥ 1.24 (https://go.dev/dl/); bash scripts/check-go.sh checks it'),
    build: buildGoExamples,
    examples: GO_EXAMPLES,
  },
];

function readCase(c: VectorCase): { input: Buffer; expected: Buffer } {
  return { input: readFileSync(join(c.dir, 'input.msgpack')), expected: readFileSync(join(c.dir, 'expected.msgpack')) };
}

/** The first vector input of `example`, with `v` replaced. */
function envelopeWithVersion(example: string, v: number): Uint8Array {
  const c = cases.find((x) => x.example === example)!;
  const input = { ...(c.input as Record<string, Tagged>), v };
  return encodeCanonical(input);
}

function expectSameBytes(output: Uint8Array | null, expected: Uint8Array): void {
  const got = Buffer.from(output ?? []);
  if (Buffer.compare(got, expected) !== 0) {
    // Both sides decoded first, for a readable failure; then the bytes.
    expect(got.length ? decode(got) : null).toEqual(expected.length ? decode(expected) : null);
    expect(got.toString('hex')).toBe(Buffer.from(expected).toString('hex'));
  }
}

for (const kit of KITS) {
  describe.skipIf(!kit.req.ok)(`${kit.lang} examples`, () => {
    const runtime = new Runtime();
    let built = new Map<string, string>();
    const wasi = NEEDS_WASI[kit.lang];

    beforeAll(async () => {
      built = await kit.build();
    }, 900_000);
    afterAll(() => runtime.close());

    it('every example has shared vectors and a build', () => {
      for (const example of Object.keys(kit.examples)) {
        expect(
          cases.some((c) => c.example === example),
          `no vectors for ${example}`,
        ).toBe(true);
        expect(statSync(built.get(example)!).size).toBeGreaterThan(0);
      }
    });

    for (const [example, { export: exportName, hook }] of Object.entries(kit.examples)) {
      describe(example, () => {
        it('passes the upload pipeline: its export, the fast path, WASI only for Go', async () => {
          const mod = await runtime.prepare(readFileSync(built.get(example)!), { wasi });
          expect(mod.facts.exports).toContain(exportName);
          expect(mod.facts.fastInput).toBe(true);
          expect(mod.facts.wasi).toBe(wasi);
          for (const imp of mod.facts.imports) {
            expect(imp).toMatch(/^(wasmgate:host\/v1|extism:host\/env|wasi_snapshot_preview1)\./);
          }
          if (wasi) {
            // A Go reactor imports WASI: refused unless uploaded with wasi enabled.
            await expect(runtime.prepare(readFileSync(built.get(example)!), { wasi: false })).rejects.toMatchObject({
              code: 'IMPORT_NOT_ALLOWED',
            });
          }
        });

        for (const c of cases.filter((x) => x.example === example)) {
          it(`vector ${c.name}: ${c.description}`, async () => {
            const mod = await runtime.prepare(readFileSync(built.get(example)!), { wasi });
            const binding = runtime.bind(mod, { apiId: `parity-${kit.lang}`, config: {} });
            const { input, expected } = readCase(c);
            const { output } = await binding.callRaw(c.export, input);
            expectSameBytes(output, expected);
            // The gateway accepts what the kit produced (or reports the plugin's own error).
            const accepted = binding.call(c.export, c.hook as never, input);
            if (c.expected !== null && typeof c.expected === 'object' && 'error' in c.expected) {
              await expect(accepted).rejects.toMatchObject({ code: 'PLUGIN_ERROR' });
            } else {
              await expect(accepted).resolves.toBeDefined();
            }
            await binding.drain();
          });
        }

        it('answers every vector again on one pooled instance, in order', async () => {
          const mod = await runtime.prepare(readFileSync(built.get(example)!), { wasi });
          const binding = runtime.bind(mod, { apiId: `parity-pool-${kit.lang}` });
          for (let round = 0; round < 3; round++) {
            for (const c of cases.filter((x) => x.example === example)) {
              const { input, expected } = readCase(c);
              expectSameBytes((await binding.callRaw(exportName, input)).output, expected);
            }
          }
          expect(binding.stats().size).toBe(1);
          await binding.drain();
        });

        it('refuses an envelope version it does not know, and input that is not msgpack', async () => {
          const mod = await runtime.prepare(readFileSync(built.get(example)!), { wasi });
          const binding = runtime.bind(mod, { apiId: `parity-errors-${kit.lang}` });
          const { output } = await binding.callRaw(exportName, envelopeWithVersion(example, 2));
          expectSameBytes(output, encodeCanonical({ error: 'unsupported ABI version' }));
          await expect(binding.call(exportName, hook as never, envelopeWithVersion(example, 2))).rejects.toMatchObject({
            code: 'PLUGIN_ERROR',
          });
          const garbage = await binding.callRaw(exportName, Uint8Array.from([0xc1, 0x00]));
          const decoded = decode(Buffer.from(garbage.output ?? [])) as { error: string };
          expect(decoded.error).toMatch(/^the envelope is not valid msgpack/);
          await binding.drain();
        });
      });
    }
  });
}

// The Go kit's own tests, natively: continuation records (calls and state
// out, answers and state in) against msgpack spelled out by hand. The Rust
// kit's counterpart is kit-crosscheck (crosscheck.test.ts).
describe.skipIf(!hasGo())('the Go kit natively (go test ./kit)', () => {
  it('passes', { timeout: 600_000 }, async () => {
    const out = await goKitTest();
    for (const name of [
      'TestContinuationWritesCallsAndStateOnly',
      'TestRoutedRequestWritesUpstreamLast',
      'TestContinuationEnvelopeDecodes',
    ]) {
      expect(out).toContain(`--- PASS: ${name}`);
    }
    expect(out).not.toContain('--- FAIL');
  });
});

// On a machine with both rustup and Debian's packages, the kit must also
// build with Debian's older rustc (CI's route) and give the same answers.
const debian = findRustToolchain() ? findSecondDebianToolchain() : null;
describe.skipIf(debian === null)("rust examples built with Debian's rustc as well", () => {
  const runtime = new Runtime();
  afterAll(() => runtime.close());
  it('build and answer every vector byte for byte', { timeout: 900_000 }, async () => {
    const built = await cargoBuild(debian!);
    for (const [example, { export: exportName }] of Object.entries(RUST_EXAMPLES)) {
      const binding = runtime.bind(await runtime.prepare(readFileSync(built.get(example)!)), { apiId: 'debian' });
      for (const c of cases.filter((x) => x.example === example)) {
        const { input, expected } = readCase(c);
        expectSameBytes((await binding.callRaw(exportName, input)).output, expected);
      }
      await binding.drain();
    }
  });
});
