// pre hook: request enrichment. Sets x-request-id (the gateway's request id)
// and x-client-ip (the client address), and appends "pre" to the
// x-wasmgate-trace header.
import { Context } from '../../../pdk/assembly';

export function pre_enrich(): i32 {
  const ctx = Context.read();
  ctx.request.setHeader('x-request-id', ctx.metadata.requestId);
  ctx.request.setHeader('x-client-ip', ctx.request.remoteAddr);
  ctx.request.addHeader('x-wasmgate-trace', 'pre');
  return ctx.done();
}
