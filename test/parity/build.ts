/**
 * Builds the Rust and Go example plugins (plugins-examples/rust, /go) for
 * tests. Each module is copied to `plugins-examples/<lang>/<example>/build/plugin.wasm`
 * and rebuilt only when a source of that language's kit or examples is newer.
 *
 *   const rust = await buildRustExamples();  // Map 'auth-token' → '/…/rust/auth-token/build/plugin.wasm'
 *   const go = await buildGoExamples();      // Go modules are WASI reactors: prepare them with { wasi: true }
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { copyFile, rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const RUST_DIR = resolve(import.meta.dirname, '..', '..', 'plugins-examples', 'rust');
export const GO_DIR = resolve(import.meta.dirname, '..', '..', 'plugins-examples', 'go');

type Examples = Record<string, { export: string; hook: string }>;

/**
 * Every example written in Rust or Go (each also exists in TypeScript):
 * folder → export name and hook.
 */
export const NATIVE_EXAMPLES: Examples = {
  'auth-token': { export: 'auth_token', hook: 'auth' },
  'response-rewrite': { export: 'response_rewrite', hook: 'response' },
  'analytics-mask': { export: 'analytics_mask', hook: 'analytics' },
  'endpoint-hello': { export: 'endpoint_hello', hook: 'endpoint' },
  aggregate: { export: 'aggregate', hook: 'endpoint' },
  'route-by-header': { export: 'route_by_header', hook: 'pre' },
};

function pick(...names: string[]): Examples {
  return Object.fromEntries(names.map((n) => [n, NATIVE_EXAMPLES[n]!]));
}

/** The examples each kit implements. */
export const RUST_EXAMPLES = pick('auth-token', 'response-rewrite', 'analytics-mask', 'aggregate', 'route-by-header');
export const GO_EXAMPLES = pick('auth-token', 'response-rewrite', 'analytics-mask', 'endpoint-hello', 'aggregate');

/** Go modules need WASI (they are wasip1 reactors); Rust modules do not. */
export const NEEDS_WASI = { rust: false, go: true } as const;

function newestSource(dir: string, exts: string[]): number {
  let t = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'build' || entry.name === 'target' || entry.name.startsWith('.git')) continue;
    const p = join(dir, entry.name);
    if (entry.isDirectory()) t = Math.max(t, newestSource(p, exts));
    else if (exts.some((e) => entry.name.endsWith(e))) t = Math.max(t, statSync(p).mtimeMs);
  }
  return t;
}

function mtime(file: string): number {
  return existsSync(file) ? statSync(file).mtimeMs : 0;
}

/** True when `cmd args` runs and exits 0 (no vitest import: bench scripts use this file too). */
function hasCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 20_000, env });
    return true;
  } catch {
    return false;
  }
}

interface Toolchain {
  cargo: string;
  env: NodeJS.ProcessEnv;
  /** Under plugins-examples/rust: each toolchain keeps its own, so one never picks up the other's artifacts. */
  targetDir: string;
}

/** True when `rustc` (as found with `env`) has the wasm32-unknown-unknown standard library. */
function rustcHasWasm(rustc: string, env: NodeJS.ProcessEnv): boolean {
  try {
    const sysroot = execFileSync(rustc, ['--print', 'sysroot'], { env, encoding: 'utf8', timeout: 20_000 }).trim();
    return existsSync(join(sysroot, 'lib', 'rustlib', 'wasm32-unknown-unknown', 'lib'));
  } catch {
    return false;
  }
}

const RUSTUP_OR_PATH: Toolchain = { cargo: 'cargo', env: { ...process.env }, targetDir: 'target' };
const DEBIAN: Toolchain = {
  cargo: '/usr/bin/cargo',
  env: { ...process.env, PATH: `/usr/bin:${process.env.PATH ?? ''}`, RUSTC: '/usr/bin/rustc' },
  targetDir: join('target', 'debian'),
};

function usable(tc: Toolchain): boolean {
  // Debian's rustc links wasm with /usr/bin/rust-lld, a symlink into the lld-14 package.
  if (tc === DEBIAN && !existsSync('/usr/bin/rust-lld')) return false;
  return hasCommand(tc.cargo, ['--version'], tc.env) && rustcHasWasm(tc.env.RUSTC ?? 'rustc', tc.env);
}

let rustToolchain: Toolchain | null | undefined;

/**
 * A cargo that can build wasm32-unknown-unknown: the one on PATH (rustup,
 * after `rustup target add wasm32-unknown-unknown`), else Debian's
 * (/usr/bin/cargo with libstd-rust-dev-wasm32, scripts/install-rust-wasm.sh).
 */
export function findRustToolchain(): Toolchain | null {
  if (rustToolchain === undefined) rustToolchain = [RUSTUP_OR_PATH, DEBIAN].find(usable) ?? null;
  return rustToolchain;
}

/**
 * Debian's toolchain when it is usable and is not already the one
 * findRustToolchain picked (a rustup machine with the apt packages too):
 * then the tests also check the kit builds with Debian's older rustc.
 */
export function findSecondDebianToolchain(): Toolchain | null {
  const first = findRustToolchain();
  if (!first || first === DEBIAN || !usable(DEBIAN)) return null;
  const version = (tc: Toolchain) =>
    execFileSync(tc.env.RUSTC ?? 'rustc', ['--version'], { env: tc.env, encoding: 'utf8' }).trim();
  return version(first) === version(DEBIAN) ? null : DEBIAN;
}

/** Where Debian's librust-*-dev packages unpack crates: the directory source of plugins-examples/rust/.cargo/config.toml. */
export const CRATE_REGISTRY = '/usr/share/cargo/registry';
export const CROSSCHECK_DIR = join(RUST_DIR, 'kit-crosscheck');

/** True when the directory source has the crates kit-crosscheck resolves (serde, serde_derive, rmp-serde). */
export function registryHasCrates(): boolean {
  if (!existsSync(CRATE_REGISTRY)) return false;
  const dirs = readdirSync(CRATE_REGISTRY);
  return ['serde', 'serde_derive', 'rmp-serde'].every((c) => dirs.some((d) => new RegExp(`^${c}-\\d`).test(d)));
}

/**
 * Every distinct cargo that can build natively (kit-crosscheck's tests need
 * no wasm target): the one on PATH, and Debian's /usr/bin/cargo when its
 * rustc is another version. Each with its own target directory.
 */
export function nativeCargos(): { cargo: string; env: NodeJS.ProcessEnv; targetDir: string; rustc: string }[] {
  const out: { cargo: string; env: NodeJS.ProcessEnv; targetDir: string; rustc: string }[] = [];
  for (const tc of [RUSTUP_OR_PATH, DEBIAN]) {
    if (!hasCommand(tc.cargo, ['--version'], tc.env)) continue;
    let rustc: string;
    try {
      rustc = execFileSync(tc.env.RUSTC ?? 'rustc', ['--version'], { env: tc.env, encoding: 'utf8' }).trim();
    } catch {
      continue;
    }
    if (out.some((o) => o.rustc === rustc)) continue;
    out.push({ cargo: tc.cargo, env: tc.env, targetDir: join('..', tc.targetDir, 'crosscheck'), rustc });
  }
  return out;
}

/** Runs cargo for the workspace; returns example → module path inside the toolchain's target dir. */
export async function cargoBuild(tc: Toolchain): Promise<Map<string, string>> {
  const args = ['build', '--release', '--target', 'wasm32-unknown-unknown', '--offline', '--target-dir', tc.targetDir];
  await run(tc.cargo, args, { cwd: RUST_DIR, env: tc.env, maxBuffer: 16 * 1024 * 1024 });
  const out = new Map<string, string>();
  for (const ex of Object.keys(RUST_EXAMPLES)) {
    const file = `${ex.replaceAll('-', '_')}.wasm`;
    out.set(ex, join(RUST_DIR, tc.targetDir, 'wasm32-unknown-unknown', 'release', file));
  }
  return out;
}

let goBinary: string | null | undefined;

/** A `go` ≥ 1.24 (wasip1 reactors with //go:wasmexport): the one on PATH, else /usr/local/go/bin/go. */
export function findGo(): string | null {
  if (goBinary !== undefined) return goBinary;
  goBinary = null;
  for (const go of ['go', '/usr/local/go/bin/go']) {
    try {
      const out = execFileSync(go, ['version'], { encoding: 'utf8', timeout: 20_000 });
      const m = /go(\d+)\.(\d+)/.exec(out);
      if (m !== null && (Number(m[1]) > 1 || Number(m[2]) >= 24)) {
        goBinary = go;
        break;
      }
    } catch {
      // not this one
    }
  }
  return goBinary;
}

export function hasGo(): boolean {
  return findGo() !== null;
}

let rustBuilt: Promise<Map<string, string>> | null = null;
let goBuilt: Promise<Map<string, string>> | null = null;

/** Builds the Rust examples (at most once per process, and only when a source changed). */
export function buildRustExamples(): Promise<Map<string, string>> {
  rustBuilt ??= (async () => {
    const tc = findRustToolchain();
    if (!tc) throw new Error('no cargo with the wasm32-unknown-unknown target (bash scripts/install-rust-wasm.sh)');
    const out = new Map<string, string>();
    const newest = newestSource(RUST_DIR, ['.rs', '.toml', '.lock']);
    const stale = Object.keys(RUST_EXAMPLES).some((ex) => mtime(join(RUST_DIR, ex, 'build', 'plugin.wasm')) < newest);
    const fresh = stale ? await cargoBuild(tc) : null;
    for (const ex of Object.keys(RUST_EXAMPLES)) {
      const wasm = join(RUST_DIR, ex, 'build', 'plugin.wasm');
      if (fresh) {
        mkdirSync(join(RUST_DIR, ex, 'build'), { recursive: true });
        // Copy, then rename: another test process may be reading or building the same file.
        const tmp = `${wasm}.${process.pid}.tmp`;
        await copyFile(fresh.get(ex)!, tmp);
        await rename(tmp, wasm);
      }
      out.set(ex, wasm);
    }
    return out;
  })();
  rustBuilt.catch(() => {
    rustBuilt = null;
  });
  return rustBuilt;
}

function goEnv(extra: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, CGO_ENABLED: '0', ...extra };
  // Go needs a build cache directory; without HOME there is no default.
  if (!env.GOCACHE && !env.HOME) env.GOCACHE = join(tmpdir(), 'wasmgate-go-cache');
  return env;
}

/** `go test ./kit` on the build machine (the kit's own tests, off wasip1); returns its output. */
export async function goKitTest(): Promise<string> {
  const go = findGo();
  if (!go) throw new Error('no Go >= 1.24 (bash scripts/check-go.sh)');
  const { stdout } = await run(go, ['test', '-count=1', '-v', './kit'], {
    cwd: GO_DIR,
    env: goEnv({ GOOS: '', GOARCH: '' }),
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Builds the Go examples as wasip1 reactors (at most once per process, and only when a source changed). */
export function buildGoExamples(): Promise<Map<string, string>> {
  goBuilt ??= (async () => {
    const go = findGo();
    if (!go) throw new Error('no Go >= 1.24 (bash scripts/check-go.sh)');
    const env = goEnv({ GOOS: 'wasip1', GOARCH: 'wasm' });
    const out = new Map<string, string>();
    const newest = newestSource(GO_DIR, ['.go', 'go.mod', 'go.sum']);
    for (const ex of Object.keys(GO_EXAMPLES)) {
      const wasm = join(GO_DIR, ex, 'build', 'plugin.wasm');
      if (mtime(wasm) < newest) {
        mkdirSync(join(GO_DIR, ex, 'build'), { recursive: true });
        const tmp = `${wasm}.${process.pid}.tmp`; // renamed into place: builds in parallel processes never clash
        await run(go, ['build', '-buildmode=c-shared', '-trimpath', '-ldflags=-s -w', '-o', tmp, `./${ex}`], {
          cwd: GO_DIR,
          env,
          maxBuffer: 16 * 1024 * 1024,
        });
        await rename(tmp, wasm);
      }
      out.set(ex, wasm);
    }
    return out;
  })();
  goBuilt.catch(() => {
    goBuilt = null;
  });
  return goBuilt;
}
