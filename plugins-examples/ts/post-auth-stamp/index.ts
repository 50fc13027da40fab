// post_auth hook: stamps the authenticated user (session.metadata.user)
// as x-user, and appends "post_auth" to x-wasmgate-trace.
import { Context } from '../../../pdk/assembly';

export function post_auth_stamp(): i32 {
  const ctx = Context.read();
  const session = ctx.session;
  if (session !== null) {
    const user = session.metadata('user');
    if (user !== null) ctx.request.setHeader('x-user', user as string);
  }
  ctx.request.addHeader('x-wasmgate-trace', 'post_auth');
  return ctx.done();
}
