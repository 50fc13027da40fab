/**
 * Repeated failures of one plugin version put it in quarantine: calls fail
 * fast with QUARANTINED (503 + Retry-After) until the cool-down passes or the
 * version is replaced. One success resets the count.
 */
import { WasmgateError } from './errors.ts';

export class FailureTracker {
  #consecutive = 0;
  #until = 0;
  quarantines = 0;

  constructor(
    readonly threshold: number,
    readonly coolDownMs: number,
  ) {}

  check(now?: number): void {
    // Never quarantined (the usual case): no clock read.
    if (this.#until === 0) return;
    const at = now ?? Date.now();
    if (this.#until > at) {
      throw new WasmgateError('QUARANTINED', 'the plugin version is quarantined after repeated failures', {
        detail: { retryAfterSeconds: Math.ceil((this.#until - at) / 1000) },
      });
    }
  }

  success(): void {
    this.#consecutive = 0;
  }

  failure(now = Date.now()): void {
    if (this.threshold === 0) return;
    this.#consecutive++;
    if (this.#consecutive >= this.threshold) {
      this.#consecutive = 0;
      this.#until = now + this.coolDownMs;
      this.quarantines++;
    }
  }

  get quarantinedUntil(): number {
    return this.#until;
  }

  clear(): void {
    this.#consecutive = 0;
    this.#until = 0;
  }
}
