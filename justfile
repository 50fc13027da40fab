# wasmgate tasks — run with `npx just <task>` (rust-just is a devDependency).

default:
    @npx just --list

# Type-check everything and build the example plugins.
build: typecheck examples

typecheck:
    npx tsc -p tsconfig.json

# Build every TypeScript example plugin into its build/plugin.wasm.
examples:
    for d in plugins-examples/ts/*/; do node bin/wasmgate.js plugin build "$d" || exit 1; done

# The whole test suite (what CI runs, without WASMGATE_REQUIRE_ALL).
test:
    npm test

# Install system packages for the full suite (redis-server, Rust wasm toolchain).
setup:
    bash scripts/setup.sh

# Lint and format check.
lint:
    npx biome check .
    npx tsc -p tsconfig.json

format:
    npx biome format --write .

# Benchmarks: the gateway against its peers, in one run.
bench *ARGS:
    node --import tsx bench/run.ts {{ARGS}}

# Runtime microbenchmark (per-hook call cost, fuel overhead).
bench-runtime:
    node --import tsx bench/runtime/microbench.ts

# Run the gateway with the demo APIs.
start:
    node bin/wasmgate.js start

# Soak: mixed traffic with plugin swaps and a Redis restart (not in CI). `npx just soak --minutes 3`
soak *ARGS:
    node --import tsx bench/soak.ts {{ARGS}}

# What a kit plugin's call costs (callRaw), against the kit of another revision: `npx just bench-kit --baseline-rev HEAD~1`
bench-kit *ARGS:
    node --import tsx bench/runtime/kit-calls.ts {{ARGS}}

# One request's four plugin hooks in process (the gateway's stages, no HTTP): `npx just bench-hooks --rounds 5`
bench-hooks *ARGS:
    node --import tsx bench/runtime/hooks.ts {{ARGS}}

# Memory with 1, 100 and 1,000 plugins; upload-to-serve time.
bench-scale:
    node --import tsx bench/scale.ts

bench-upload:
    node --import tsx bench/upload.ts

# Where the time goes: CPU µs per request by function under load (`npx just bench-profile /passthrough/x /hooks4/x`).
bench-profile *ARGS:
    node --import tsx bench/profile.ts {{ARGS}}

# Fuel metering time alone, on the upload bench's modules and every example.
bench-meter *ARGS:
    node --import tsx bench/meter.ts {{ARGS}}
