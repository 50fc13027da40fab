/**
 * Host functions handed to Extism through its `functions` option. Entries for
 * `extism:host/env` replace the SDK's own (alloc, var_set, log_*) so every
 * limit is enforced here; `wasmgate:host/v1` is the bulk-copy fast path that
 * moves the envelope and the result with one call each (docs/abi.md §2).
 */
import type { CallContext } from '@extism/extism';
import { type Envelope, HOOKS } from './abi/records.ts';
import { encodeEnvelopeView } from './abi/writer.ts';
import { WasmgateError } from './errors.ts';
import type { RuntimeLimits } from './limits.ts';
import { BULK_BYTES_SHIFT, EXTISM_ENV, HOST_CALL_FUEL, WASMGATE_HOST } from './upload/names.ts';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
const LEVELS: LogLevel[] = ['trace', 'debug', 'info', 'warn', 'error'];

export interface PluginLogLine {
  level: LogLevel;
  text: string;
}

/** Receives plugin log lines, already capped and escaped. */
export type PluginLogSink = (line: PluginLogLine, tags: Readonly<Record<string, string>>) => void;

/** Per-call state, passed to Extism as the call's host context. */
export class CallState {
  output: Uint8Array | null = null;
  /** The first limit a host function enforced; wins over the trap it causes. */
  error: WasmgateError | null = null;
  allocBytes = 0;
  logBytes = 0;
  logLines = 0;
  logDropped = 0;

  #input: Uint8Array | null;
  readonly #envelope: Envelope | null;
  /**
   * The call's hook as its index in HOOKS when the gateway writes the
   * envelope itself (wasmgate:host/v1.hook); -1 when the caller handed over
   * bytes, whose own `hook` field is the only word on it.
   */
  readonly hookIndex: number;

  /**
   * `input` is the envelope's bytes, or the envelope itself: then it is
   * written only when the plugin first asks for it (input_length or
   * input_read), into the writer's scratch buffer. That is safe only for a
   * call that runs to its end before anything else can write an envelope
   * (a direct call, runtime/binding.ts).
   */
  constructor(
    input: Uint8Array | Envelope,
    readonly tags: Readonly<Record<string, string>>,
  ) {
    if (input instanceof Uint8Array) {
      this.#input = input;
      this.#envelope = null;
      this.hookIndex = -1;
    } else {
      this.#input = null;
      this.#envelope = input;
      this.hookIndex = HOOKS.indexOf(input.hook);
    }
  }

  /** The envelope's bytes (written now if they were not yet). */
  get input(): Uint8Array {
    let bytes = this.#input;
    if (bytes === null) this.#input = bytes = encodeEnvelopeView(this.#envelope!);
    return bytes;
  }

  fail(err: WasmgateError): never {
    this.error ??= err;
    throw err;
  }
}

/**
 * Where host functions find the instance's memory once it exists, and the
 * state of the call running on it (set by whoever starts the call: through
 * Extism or, for modules that need nothing of Extism's, directly).
 */
export interface MemoryHolder {
  memory: WebAssembly.Memory | null;
  /** The instance's fuel global (runtime/upload/meter.ts), which host functions that copy much also draw on. */
  fuel: WebAssembly.Global | null;
  state: CallState | null;
}

/**
 * Every call to a host function costs at least CHEAP_HOST_CALL_FUEL (the
 * functions here HOST_CALL_FUEL), charged by the meter at the call site;
 * at the rate of bulk memory operations (2^BULK_BYTES_SHIFT bytes a unit)
 * that covers copying COVERED_BYTES. A function that copies more charges
 * the rest here, so a loop that copies a large envelope again and again
 * ends within its fuel budget like any other loop.
 */
const BYTES_PER_FUEL = 2 ** BULK_BYTES_SHIFT;
const COVERED_BYTES = HOST_CALL_FUEL * BYTES_PER_FUEL;

function chargeCopy(holder: MemoryHolder, state: CallState | null, bytes: number): void {
  if (bytes <= COVERED_BYTES) return;
  const fuel = holder.fuel;
  if (!fuel) return;
  const left = (fuel.value as bigint) - BigInt(Math.ceil((bytes - COVERED_BYTES) / BYTES_PER_FUEL));
  fuel.value = left;
  if (left < 0n) {
    const err = new WasmgateError('FUEL_EXHAUSTED');
    if (state) state.fail(err);
    throw err;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** Escapes control characters (CR, LF, ESC, …) so a log line stays one line and inert. */
export function escapeLogText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

function emitLog(
  state: CallState | null,
  limits: RuntimeLimits,
  sink: PluginLogSink,
  level: LogLevel,
  bytes: Uint8Array,
) {
  if (!state) return;
  if (state.logLines >= limits.maxLogLinesPerCall || state.logBytes + bytes.byteLength > limits.maxLogBytesPerCall) {
    state.logDropped++;
    return;
  }
  state.logLines++;
  state.logBytes += bytes.byteLength;
  sink({ level, text: escapeLogText(utf8.decode(bytes)) }, state.tags);
}

function guestBytes(holder: MemoryHolder, state: CallState | null, ptr: number, len: number): Uint8Array {
  const memory = holder.memory;
  const start = ptr >>> 0;
  const length = len >>> 0;
  if (!memory || start + length > memory.buffer.byteLength) {
    const err = new WasmgateError('TRAP', 'the plugin passed an out-of-bounds pointer to the host');
    if (state) state.fail(err);
    throw err;
  }
  return new Uint8Array(memory.buffer, start, length);
}

export type HostFunction = (ctx: CallContext, ...args: never[]) => unknown;

/** Counts `size` bytes against the call's host allocation cap, refusing (ALLOC_LIMIT) before they are allocated. */
function countAlloc(state: CallState | null, limits: RuntimeLimits, size: number): void {
  const total = (state?.allocBytes ?? 0) + size;
  if (size < 0 || total > limits.maxAllocBytesPerCall) {
    const err = new WasmgateError(
      'ALLOC_LIMIT',
      `the plugin asked the host for ${size} bytes; at most ${limits.maxAllocBytesPerCall} per call are allowed`,
    );
    if (state) state.fail(err);
    throw err;
  }
  if (state) state.allocBytes = total;
}

const utf8Encoder = new TextEncoder();

export function makeHostFunctions(
  holder: MemoryHolder,
  limits: RuntimeLimits,
  sink: PluginLogSink,
  config: Readonly<Record<string, string>> = {},
): Record<string, Record<string, HostFunction>> {
  /** A copy of `bytes` in a new Extism block, counted and charged like `alloc` and a copy. */
  const storeCounted = (ctx: CallContext, bytes: Uint8Array): bigint => {
    const state = holder.state;
    countAlloc(state, limits, bytes.byteLength);
    chargeCopy(holder, state, bytes.byteLength);
    return ctx.store(bytes);
  };
  const log = (level: LogLevel) => (ctx: CallContext, addr: bigint) => {
    const state = holder.state;
    const block = ctx.read(addr);
    if (!block) return;
    const bytes = block.bytes();
    chargeCopy(holder, state, bytes.byteLength);
    emitLog(state, limits, sink, level, bytes);
  };
  return {
    [WASMGATE_HOST]: {
      input_length: () => holder.state?.input.byteLength ?? 0,
      hook: () => holder.state?.hookIndex ?? -1,
      input_read: (_ctx: CallContext, dst: number) => {
        const state = holder.state;
        if (!state) return;
        const input = state.input;
        chargeCopy(holder, state, input.byteLength);
        guestBytes(holder, state, dst, input.byteLength).set(input);
      },
      output_write: (_ctx: CallContext, src: number, len: number) => {
        const state = holder.state;
        if (!state) return;
        if (len >>> 0 > limits.maxOutputBytes) {
          // Refused before a byte is copied.
          const err = new WasmgateError(
            'OUTPUT_TOO_LARGE',
            `the plugin output is ${len >>> 0} bytes; the limit is ${limits.maxOutputBytes}`,
          );
          state.fail(err);
          throw err;
        }
        chargeCopy(holder, state, len >>> 0);
        state.output = guestBytes(holder, state, src, len).slice();
      },
      log: (_ctx: CallContext, level: number, src: number, len: number) => {
        const state = holder.state;
        if (!state) return;
        if (len >>> 0 > limits.maxLogBytesPerCall) {
          state.logDropped++;
          return;
        }
        chargeCopy(holder, state, len >>> 0);
        emitLog(state, limits, sink, LEVELS[level] ?? 'info', guestBytes(holder, state, src, len));
      },
    },
    [EXTISM_ENV]: {
      alloc: (ctx: CallContext, n: bigint) => {
        countAlloc(holder.state, limits, Number(n));
        return ctx.alloc(n);
      },
      // The SDK's own var_get and config_get allocate a block per call outside every cap.
      // (The key's block is left to the next call's reset: the guest allocated it, so it is counted.) A
      // variable is handed over as a copy, never as its own buffer.
      var_get: (ctx: CallContext, keyAddr: bigint) => {
        const key = ctx.read(keyAddr);
        if (!key) return 0n;
        const value = ctx.getVariable(key.string());
        return value ? storeCounted(ctx, value.bytes().slice()) : 0n;
      },
      config_get: (ctx: CallContext, keyAddr: bigint) => {
        const key = ctx.read(keyAddr);
        if (!key) return 0n;
        const name = key.string();
        return Object.hasOwn(config, name) ? storeCounted(ctx, utf8Encoder.encode(config[name])) : 0n;
      },
      var_set: (ctx: CallContext, keyAddr: bigint, valueAddr: bigint) => {
        const key = ctx.read(keyAddr);
        if (!key) return;
        const name = key.string();
        if (valueAddr === 0n) {
          ctx.deleteVariable(name);
          return;
        }
        const value = ctx.read(valueAddr);
        if (!value) return;
        const bytes = value.bytes();
        chargeCopy(holder, holder.state, bytes.byteLength);
        try {
          ctx.setVariable(name, bytes.slice());
        } catch (cause) {
          const err = new WasmgateError('VAR_LIMIT', `variables would exceed ${limits.maxVarBytes} bytes`, { cause });
          const state = holder.state;
          if (state) state.fail(err);
          throw err;
        }
      },
      log_trace: log('trace'),
      log_debug: log('debug'),
      log_info: log('info'),
      log_warn: log('warn'),
      log_error: log('error'),
    },
  };
}
