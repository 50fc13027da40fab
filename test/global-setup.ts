/**
 * Runs once before the suite. Tests that need a toolchain or a server skip
 * with a one-line reason unless WASMGATE_REQUIRE_ALL=1 (CI), where a skip is
 * a failure; see test/harness/skip.ts.
 */
export default async function setup(): Promise<void> {}
