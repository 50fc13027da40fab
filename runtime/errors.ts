/**
 * Every failure the runtime reports, with a stable code and the HTTP status
 * the gateway answers with. Third-party errors (Extism's plain `Error`s,
 * WebAssembly traps, the output reader) are wrapped here, keeping `cause`.
 * docs/errors.md lists the same table for users.
 */
export const ERROR_CODES = {
  // Upload pipeline (admin API / `wasmgate plugin check`)
  MODULE_TOO_LARGE: { status: 413, message: 'the module is larger than the upload limit' },
  INVALID_MODULE: { status: 422, message: 'the bytes are not a valid WebAssembly module' },
  IMPORT_NOT_ALLOWED: { status: 422, message: 'the module imports something the host does not provide' },
  MODULE_LIMIT_EXCEEDED: { status: 422, message: 'the module exceeds a static limit' },
  START_FAILED: { status: 422, message: 'the module failed while initialising' },
  START_TIMEOUT: { status: 422, message: 'the module did not finish initialising before the deadline' },
  EXPORT_NOT_FOUND: { status: 422, message: 'the module does not export the named function' },
  // Invocation (plugin failures: 500 `plugin_error` on the proxy port)
  FUEL_EXHAUSTED: { status: 500, message: 'the plugin used up its fuel budget' },
  MEMORY_LIMIT: { status: 500, message: 'the plugin reached its memory limit' },
  ALLOC_LIMIT: { status: 500, message: 'the plugin asked the host for more memory than allowed' },
  STACK_OVERFLOW: { status: 500, message: 'the plugin overflowed its stack' },
  TRAP: { status: 500, message: 'the plugin trapped' },
  OUTPUT_TOO_LARGE: { status: 500, message: 'the plugin output exceeds the output limit' },
  BAD_OUTPUT: { status: 500, message: 'the plugin output does not match the ABI schema' },
  HOOK_NOT_ALLOWED: { status: 500, message: 'the plugin output does something its hook may not do' },
  FORBIDDEN_HEADER: { status: 500, message: 'the plugin set a header it may not set' },
  VAR_LIMIT: { status: 500, message: 'the plugin exceeded its variable storage limit' },
  PLUGIN_ERROR: { status: 500, message: 'the plugin reported an error' },
  UPSTREAM_NOT_ALLOWED: { status: 500, message: 'the plugin routed to an upstream the API does not allow' },
  OUTBOUND_NOT_ALLOWED: { status: 500, message: 'the plugin asked for outbound calls; the API allows none' },
  OUTBOUND_LIMIT: { status: 500, message: "the plugin's outbound calls went past the API's limits" },
  CALL_TIMEOUT: { status: 500, message: 'the plugin call did not finish before its deadline; its worker was stopped' },
  WORKER_FAILED: { status: 500, message: "the plugin's worker thread failed" },
  // Capacity
  POOL_EXHAUSTED: { status: 503, message: 'no plugin instance became free in time' },
  QUARANTINED: { status: 503, message: 'the plugin version is quarantined after repeated failures' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export class WasmgateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra facts for logs and the admin API (never sent to proxy clients). */
  readonly detail: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown; detail?: Record<string, unknown> }) {
    super(message ?? ERROR_CODES[code].message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WasmgateError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.detail = options?.detail;
  }

  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

export function isWasmgateError(err: unknown): err is WasmgateError {
  return err instanceof WasmgateError;
}

/** Failures that are the plugin's fault (count towards quarantine). */
export function isPluginFault(code: ErrorCode): boolean {
  return ERROR_CODES[code].status === 500;
}
