/**
 * The Rust kit's msgpack reader and canonical writer against rmp-serde:
 * `cargo test --offline --locked` in plugins-examples/rust/kit-crosscheck,
 * with serde and rmp-serde taken from Debian's crate sources through the
 * directory source of plugins-examples/rust/.cargo/config.toml — with every
 * cargo present (rustup's and Debian's), so the one Cargo.lock has to
 * resolve offline for both. Skips without cargo or without the crates.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { requirement } from '../harness/skip.ts';
import { CRATE_REGISTRY, CROSSCHECK_DIR, nativeCargos, registryHasCrates } from './build.ts';

const run = promisify(execFile);
const cargos = nativeCargos();
const cargo = requirement('cargo', cargos.length > 0, 'bash scripts/install-rust-wasm.sh');
const crates = requirement(
  `serde, serde_derive and rmp-serde in ${CRATE_REGISTRY}`,
  registryHasCrates(),
  'bash scripts/install-rust-wasm.sh (apt: librust-serde-dev librust-serde-derive-dev librust-rmp-serde-dev)',
);

describe.skipIf(!cargo.ok || !crates.ok)('the Rust kit against rmp-serde (kit-crosscheck)', () => {
  for (const tc of cargos) {
    it(`cargo test --offline --locked passes with ${tc.rustc}`, { timeout: 600_000 }, async () => {
      const args = ['test', '--offline', '--locked', '--target-dir', tc.targetDir, '--', '--test-threads', '2'];
      const { stdout, stderr } = await run(tc.cargo, args, {
        cwd: CROSSCHECK_DIR,
        env: tc.env,
        maxBuffer: 16 * 1024 * 1024,
      }).catch((err: { stdout?: string; stderr?: string; message: string }) => {
        throw new Error(`cargo test failed:\n${err.stderr ?? ''}\n${err.stdout ?? err.message}`);
      });
      // serde and rmp-serde were compiled from the Debian directory source, not a download.
      expect(`${stdout}\n${stderr}`).not.toMatch(/Downloading|Updating crates\.io/);
      const results = [...stdout.matchAll(/test result: ok\. (\d+) passed; (\d+) failed/g)];
      const passed = results.reduce((n, m) => n + Number(m[1]), 0);
      expect(results.every((m) => m[2] === '0')).toBe(true);
      expect(passed).toBeGreaterThanOrEqual(12);
      for (const name of [
        'integers_are_written_in_the_shortest_form_rmp_uses',
        'strings_are_str_and_bodies_are_bin_at_every_length_boundary',
        'nested_maps_and_arrays_keep_their_order_and_kinds',
        'a_kit_result_is_byte_for_byte_what_rmp_serde_writes_for_the_typed_record',
        'the_kit_decodes_the_answers_and_state_of_a_continuation_written_by_rmp_serde',
        'a_continuation_is_byte_for_byte_what_rmp_serde_writes_for_the_typed_calls',
      ]) {
        expect(stdout).toContain(`test ${name} ... ok`);
      }
    });
  }
});
