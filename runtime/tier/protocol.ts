/**
 * What the main thread and a worker-tier thread say to each other
 * (docs/sandbox.md, "The worker tier"). Calls and their results travel as
 * messages; an answer to the plugin's synchronous `http_request` travels
 * through memory shared with that one worker, because the worker is blocked
 * in `Atomics.wait` and cannot receive messages:
 *
 *   worker: state ← WAITING, post {http, seq, request}, wait while WAITING
 *   main:   perform it (async), write ≤ data.byteLength bytes, state ← READY, notify
 *   worker: copy the chunk; if more remain: state ← WAITING, post {more}, wait again
 *
 * The worker never stops waiting on its own: only an answer or the main
 * thread's deadline (which terminates the thread) ends the wait, so no
 * answer can arrive for a request that was given up.
 *
 * Nothing here loads the codec or Extism: both threads import it.
 */
import type { CallResponse } from '../abi/records.ts';
import type { ErrorCode } from '../errors.ts';
import type { LogLevel } from '../host-functions.ts';
import type { RuntimeLimits } from '../limits.ts';

/** Indexes into the shared control words (an Int32Array). */
export const STATE = 0;
/** Length of the chunk now in the data buffer. */
export const CHUNK = 1;
/** Length of the whole answer. */
export const TOTAL = 2;
export const CONTROL_WORDS = 4;

export const IDLE = 0;
export const WAITING = 1;
export const READY = 2;

/** A stock plugin's request as Extism's `http_request` takes it, parsed by the worker. */
export interface SyncHttpRequest {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: Uint8Array | null;
}

/**
 * Performs a worker-tier plugin's `http_request` on the main thread, under
 * the caller's policy. Resolves with the answer or a refusal the plugin sees
 * (status 0); rejects with a WasmgateError to fail the plugin call.
 */
export interface SyncHttp {
  /** How long this call's requests may take together, in ms; it extends the call's deadline. */
  readonly budgetMs: number;
  request(req: SyncHttpRequest): Promise<CallResponse>;
}

export interface WorkerInit {
  module: WebAssembly.Module;
  wasi: boolean;
  fastInput: boolean;
  config: Record<string, string>;
  limits: RuntimeLimits;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export interface CallMessage {
  id: number;
  exportName: string;
  input: Uint8Array;
  fuel: number;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'start-failed'; code: ErrorCode; message: string }
  /** The instance could not be rebuilt after a trap: the thread is useless. */
  | { type: 'lost'; code: ErrorCode; message: string }
  | { type: 'log'; level: LogLevel; text: string }
  | { type: 'http'; id: number; seq: number; request: SyncHttpRequest }
  | { type: 'more'; id: number; seq: number }
  | { type: 'done'; id: number; ok: true; output: Uint8Array | null; fuelUsed: number; logDropped: number }
  | { type: 'done'; id: number; ok: false; code: ErrorCode; message: string; fuelUsed: number; logDropped: number };

const ANSWER = 0;
const REFUSAL = 1;
const FAILURE = 2;
const HEAD = 12;

export type DecodedAnswer =
  /** `headers`: the JSON object `http_headers` hands the plugin, as bytes. */
  | { kind: 'answer'; status: number; headers: Uint8Array; body: Uint8Array }
  /** `record`: `{"error": CODE, "message": …}` as bytes, the body the plugin gets with status 0. */
  | { kind: 'refusal'; record: Uint8Array }
  | { kind: 'failure'; code: ErrorCode; message: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function frame(kind: number, status: number, meta: Uint8Array, body: Uint8Array | null): Uint8Array {
  const out = new Uint8Array(HEAD + meta.byteLength + (body?.byteLength ?? 0));
  const view = new DataView(out.buffer);
  view.setUint32(0, kind, true);
  view.setUint32(4, status, true);
  view.setUint32(8, meta.byteLength, true);
  out.set(meta, HEAD);
  if (body) out.set(body, HEAD + meta.byteLength);
  return out;
}

/** Extism's `http_headers` shape: one string per name, several values joined as Fetch joins them. */
export function encodeAnswer(answer: CallResponse): Uint8Array {
  if ('error' in answer) {
    return frame(REFUSAL, 0, encoder.encode(JSON.stringify({ error: answer.error, message: answer.message })), null);
  }
  const headers: Record<string, string> = {};
  for (const [name, values] of Object.entries(answer.headers)) headers[name] = values.join(', ');
  return frame(ANSWER, answer.status, encoder.encode(JSON.stringify(headers)), answer.body);
}

export function encodeFailure(code: ErrorCode, message: string): Uint8Array {
  return frame(FAILURE, 0, encoder.encode(JSON.stringify({ code, message })), null);
}

export function decodeAnswer(bytes: Uint8Array): DecodedAnswer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const kind = view.getUint32(0, true);
  const metaEnd = HEAD + view.getUint32(8, true);
  const meta = bytes.subarray(HEAD, metaEnd);
  if (kind === ANSWER) {
    return { kind: 'answer', status: view.getUint32(4, true), headers: meta, body: bytes.subarray(metaEnd) };
  }
  if (kind === REFUSAL) return { kind: 'refusal', record: meta };
  const { code, message } = JSON.parse(decoder.decode(meta)) as { code: ErrorCode; message: string };
  return { kind: 'failure', code, message };
}
