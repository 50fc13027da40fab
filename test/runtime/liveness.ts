/**
 * Liveness checks for the runtime tests: an event-loop heartbeat (a 1 ms
 * interval counting its turns) and the loop's delay histogram. Tests assert
 * that the heartbeat keeps ticking — during work that runs off the main
 * thread, and again right after a plugin call, whatever it did — never how
 * long anything took (the machine is shared).
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { expect } from 'vitest';
import { WasmgateError } from '../../runtime/index.ts';

export interface Watched<T> {
  value: T | undefined;
  error: unknown;
  /** Heartbeat turns while the work was pending. */
  ticksDuring: number;
  /** The longest event-loop stall seen, in ms (reported, never asserted). */
  maxStallMs: number;
}

const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 1));

/** Resolves once the event loop has turned `n` more times: the process is responsive. */
export async function heartbeat(n = 3): Promise<number> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    while (ticks < n) await nextTurn();
  } finally {
    clearInterval(timer);
  }
  return ticks;
}

/** Runs `work` under a heartbeat; never throws (the error is returned). */
export async function watched<T>(work: () => Promise<T>): Promise<Watched<T>> {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  let value: T | undefined;
  let error: unknown;
  try {
    value = await work();
  } catch (err) {
    error = err;
  } finally {
    clearInterval(timer);
    delay.disable();
  }
  const ticksDuring = ticks;
  // Whatever the work did, the loop turns again afterwards.
  expect(await heartbeat(3)).toBeGreaterThanOrEqual(3);
  return { value, error, ticksDuring, maxStallMs: delay.max / 1e6 };
}

/** The error is a WasmgateError; returns its code. */
export function codeOf(err: unknown): string {
  if (!(err instanceof WasmgateError)) throw new Error(`expected a WasmgateError, got ${String(err)}`, { cause: err });
  return err.code;
}
