/**
 * Optional dependencies of the suite (a toolchain, a server). Without one a
 * test skips with a one-line reason; with WASMGATE_REQUIRE_ALL=1 (CI) the
 * missing dependency is a failure instead.
 *
 *   const redis = requirement('redis-server', hasCommand('redis-server'), 'apt-get install redis-server');
 *   describe.skipIf(!redis.ok)('redis store', () => { ... });
 */
import { execFileSync } from 'node:child_process';
import { test } from 'vitest';

export const REQUIRE_ALL = process.env.WASMGATE_REQUIRE_ALL === '1';

export interface Requirement {
  readonly ok: boolean;
  readonly reason: string;
}

/** Checks a dependency; under WASMGATE_REQUIRE_ALL=1 a missing one registers a failing test. */
export function requirement(name: string, present: boolean, install: string): Requirement {
  const reason = `${name} not found — install it with: ${install}`;
  if (!present) {
    if (REQUIRE_ALL) {
      test(`requires ${name}`, () => {
        throw new Error(`${reason} (WASMGATE_REQUIRE_ALL=1 turns this skip into a failure)`);
      });
    } else {
      console.warn(`skip: ${reason}`);
    }
  }
  return { ok: present, reason };
}

/** True when `cmd args` runs and exits 0. */
export function hasCommand(cmd: string, args: string[] = ['--version'], env?: NodeJS.ProcessEnv): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 20_000, env: env ?? process.env });
    return true;
  } catch {
    return false;
  }
}
