/**
 * Every limit the runtime enforces, with its default. The gateway's config
 * (`wasmgate.json` → `limits`, or `WASMGATE_LIMIT_*` variables) overrides them;
 * docs/security.md lists them for operators.
 */
export interface RuntimeLimits {
  /** Largest module accepted for upload, in bytes. */
  maxModuleBytes: number;
  /** Most functions (imported + defined) a module may declare. */
  maxFunctions: number;
  /** Most locals in one function. */
  maxLocalsPerFunction: number;
  /** Most bytes of active and passive data segments. */
  maxDataBytes: number;
  /** Linear-memory maximum every module is capped to, in 64 KiB pages. */
  maxMemoryPages: number;
  /** Most table elements. */
  maxTableElements: number;
  /** Fuel for one hook call, about one unit per wasm instruction executed (runtime/upload/meter.ts). */
  fuelPerCall: number;
  /** Fuel for instantiation (start function and `_initialize`). */
  fuelForInit: number;
  /** Wall-clock deadline for the upload trial instantiation, in ms. */
  initDeadlineMs: number;
  /** Largest plugin output accepted, in bytes. */
  maxOutputBytes: number;
  /** Most bytes the host `alloc` hands out during one call. */
  maxAllocBytesPerCall: number;
  /** Most bytes of Extism variables one instance may hold. */
  maxVarBytes: number;
  /** Most log bytes kept per call (the rest is counted and dropped). */
  maxLogBytesPerCall: number;
  /** Most log lines kept per call. */
  maxLogLinesPerCall: number;
  /** Most instances of one plugin version for one API. */
  poolMaxInstances: number;
  /** How long a call waits for a free instance before POOL_EXHAUSTED, in ms. */
  poolWaitMs: number;
  /** Most calls waiting for an instance of one pool. */
  poolMaxWaiters: number;
  /** Consecutive failures that quarantine a plugin version. */
  quarantineAfterFailures: number;
  /** How long a quarantine lasts, in ms. */
  quarantineMs: number;
  /**
   * Wall-clock time a worker-tier call (a plugin importing `http_request`) may
   * take on top of its API's outbound `hook_budget_ms` before its thread is
   * terminated, in ms.
   */
  workerCallMs: number;
  /** How long the upload pipeline thread (some 35–60 MB resident) outlives its last job, in ms; 0 keeps it. */
  pipelineIdleMs: number;
}

export const DEFAULT_LIMITS: Readonly<RuntimeLimits> = Object.freeze({
  maxModuleBytes: 16 * 1024 * 1024,
  maxFunctions: 50_000,
  maxLocalsPerFunction: 10_000,
  maxDataBytes: 8 * 1024 * 1024,
  maxMemoryPages: 256,
  maxTableElements: 100_000,
  fuelPerCall: 1_000_000_000,
  fuelForInit: 2_000_000_000,
  initDeadlineMs: 5_000,
  maxOutputBytes: 4 * 1024 * 1024 + 64 * 1024,
  maxAllocBytesPerCall: 8 * 1024 * 1024,
  maxVarBytes: 64 * 1024,
  maxLogBytesPerCall: 8 * 1024,
  maxLogLinesPerCall: 64,
  poolMaxInstances: 8,
  poolWaitMs: 200,
  poolMaxWaiters: 1_000,
  quarantineAfterFailures: 20,
  quarantineMs: 30_000,
  workerCallMs: 5_000,
  pipelineIdleMs: 60_000,
});

export function resolveLimits(overrides: Partial<RuntimeLimits> = {}): Readonly<RuntimeLimits> {
  const merged = { ...DEFAULT_LIMITS, ...overrides };
  for (const [key, value] of Object.entries(merged)) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || !Number.isInteger(value)) {
      throw new TypeError(`limits.${key} must be a non-negative integer, got ${JSON.stringify(value)}`);
    }
  }
  return Object.freeze(merged);
}
