// post hook: the last request plugin, so nothing overrides what it sets:
// x-gateway: wasmgate; appends "post" to x-wasmgate-trace.
import { Context } from '../../../pdk/assembly';

export function post_last(): i32 {
  const ctx = Context.read();
  ctx.request.setHeader('x-gateway', 'wasmgate');
  ctx.request.addHeader('x-wasmgate-trace', 'post');
  return ctx.done();
}
