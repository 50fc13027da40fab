/** Envelopes grown to a size for the per-call benchmarks (examples.ts, kit-calls.ts). */
import { type Envelope, encodeEnvelope } from '../../runtime/index.ts';

/** The envelope with request headers added until it encodes to at least `bytes`. */
export function padded(base: Envelope, bytes: number): Envelope {
  const env = structuredClone(base);
  let size = encodeEnvelope(env).byteLength;
  for (let i = 0; size < bytes; i++) {
    env.request.headers[`x-pad-${i}`] = ['v'.repeat(Math.max(1, Math.min(200, bytes - size) - 12))];
    size = encodeEnvelope(env).byteLength;
  }
  return env;
}
