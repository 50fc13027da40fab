/**
 * What a stage decides: go on, or answer now. Failures are thrown as typed
 * errors and turned into replies in one place (gateway/reply.ts).
 */
import type { Multi } from '../../runtime/index.ts';
import type { RequestContext } from '../context.ts';

export type Outcome = { action: 'continue' } | { action: 'respond'; status: number; headers: Multi; body: Uint8Array };

export const CONTINUE: Outcome = Object.freeze({ action: 'continue' });

/** One step of an API's request chain. */
export type Stage = (ctx: RequestContext) => Outcome | Promise<Outcome>;

export function respond(status: number, headers: Multi, body: Uint8Array): Outcome {
  return { action: 'respond', status, headers, body };
}

const encoder = new TextEncoder();

export function jsonOutcome(status: number, value: unknown, headers: Multi = {}): Outcome {
  return respond(status, { 'content-type': ['application/json'], ...headers }, encoder.encode(JSON.stringify(value)));
}
