/**
 * A worker-tier thread: one plugin instance, created as a main-thread one is
 * (the same fuel global and budget, memory cap, host-function limits, WASI
 * only when uploaded with it) plus Extism's synchronous HTTP functions, which
 * block this thread — never the gateway's — until the main thread answers.
 *
 * Calls run one at a time, in the order they arrive. After a trap the
 * instance is replaced inside this thread (a new instance costs about a
 * millisecond; a new thread costs far more), before the next call runs.
 *
 * Loaded through tsx's CommonJS hook (worker-bootstrap.cjs): no top-level
 * await, no import.meta.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { classify } from '../classify.ts';
import { isWasmgateError, WasmgateError } from '../errors.ts';
import { CallState } from '../host-functions.ts';
import { createInstance, type LiveInstance } from '../instance.ts';
import { makeHttpImports } from './http-imports.ts';
import {
  type CallMessage,
  CHUNK,
  type DecodedAnswer,
  decodeAnswer,
  IDLE,
  STATE,
  type SyncHttpRequest,
  TOTAL,
  WAITING,
  type WorkerInit,
  type WorkerMessage,
} from './protocol.ts';

const init = workerData as WorkerInit;
const port = parentPort!;
const control = new Int32Array(init.control);
const data = new Uint8Array(init.data);

const post = (m: WorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let callId = 0;
let seq = 0;

/** Blocks until the main thread has written the whole answer to this request. */
function exchange(request: SyncHttpRequest): DecodedAnswer {
  const mine = ++seq;
  Atomics.store(control, STATE, WAITING);
  post({ type: 'http', id: callId, seq: mine, request }, request.body ? [request.body.buffer as ArrayBuffer] : []);
  let answer: Uint8Array | null = null;
  let got = 0;
  for (;;) {
    Atomics.wait(control, STATE, WAITING);
    const n = Atomics.load(control, CHUNK);
    answer ??= new Uint8Array(Atomics.load(control, TOTAL));
    answer.set(data.subarray(0, n), got);
    got += n;
    if (got >= answer.byteLength) break;
    Atomics.store(control, STATE, WAITING);
    post({ type: 'more', id: callId, seq: mine });
  }
  Atomics.store(control, STATE, IDLE);
  return decodeAnswer(answer);
}

const http = makeHttpImports(exchange);

function build(): Promise<LiveInstance> {
  return createInstance(init.module, {
    wasi: init.wasi,
    config: init.config,
    limits: init.limits,
    // Already capped and escaped here; the main thread adds the call's tags.
    logSink: (line) => post({ type: 'log', level: line.level, text: line.text }),
    env: http.functions,
  });
}

let instance: LiveInstance;

async function run(m: CallMessage): Promise<void> {
  callId = m.id;
  http.reset();
  const inst = instance;
  const state = new CallState(m.input, {});
  inst.fuel.value = BigInt(m.fuel);
  let extismOutput: Uint8Array | null = null;
  inst.holder.state = state;
  try {
    const out = await inst.plugin.call(m.exportName, init.fastInput ? undefined : m.input, state);
    inst.holder.state = null;
    if (state.error) throw state.error;
    if (!state.output && out) extismOutput = out.bytes();
  } catch (err) {
    inst.holder.state = null;
    const e = classify(err, state, inst, init.limits);
    post({
      type: 'done',
      id: m.id,
      ok: false,
      code: e.code,
      message: e.message,
      fuelUsed: m.fuel - Number(inst.fuel.value),
      logDropped: state.logDropped,
    });
    await replace(inst);
    return;
  }
  const fuelUsed = m.fuel - Number(inst.fuel.value);
  const output = state.output ?? extismOutput;
  if (output && output.byteLength > init.limits.maxOutputBytes) {
    const e = new WasmgateError(
      'OUTPUT_TOO_LARGE',
      `the plugin output is ${output.byteLength} bytes; the limit is ${init.limits.maxOutputBytes}`,
    );
    post({
      type: 'done',
      id: m.id,
      ok: false,
      code: e.code,
      message: e.message,
      fuelUsed,
      logDropped: state.logDropped,
    });
    return;
  }
  // The fast path's output is already a copy of its own. An Extism block may share its buffer with a
  // variable (var_get stores the variable's own), which a transfer would empty: that one is copied.
  const mine = state.output ?? extismOutput?.slice() ?? null;
  post(
    { type: 'done', id: m.id, ok: true, output: mine, fuelUsed, logDropped: state.logDropped },
    mine ? [mine.buffer as ArrayBuffer] : [],
  );
}

async function replace(trapped: LiveInstance): Promise<void> {
  void trapped.plugin.close().catch(() => {});
  try {
    instance = await build();
  } catch (err) {
    const e = isWasmgateError(err) ? err : new WasmgateError('START_FAILED', 'the instance could not be replaced');
    post({ type: 'lost', code: e.code, message: e.message });
  }
}

let queue: Promise<void> = Promise.resolve();

build().then(
  (inst) => {
    instance = inst;
    port.on('message', (m: CallMessage) => {
      queue = queue
        .then(() => run(m))
        .catch(() => {
          post({
            type: 'done',
            id: m.id,
            ok: false,
            code: 'WORKER_FAILED',
            message: 'the worker could not run the call',
            fuelUsed: 0,
            logDropped: 0,
          });
        });
    });
    post({ type: 'ready' });
  },
  (err: unknown) => {
    const e = isWasmgateError(err) ? err : new WasmgateError('START_FAILED', 'the module could not be instantiated');
    post({ type: 'start-failed', code: e.code, message: e.message });
  },
);
