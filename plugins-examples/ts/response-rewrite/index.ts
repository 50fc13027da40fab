// response hook: rewrites an internal Location to the external URL
// (config_data.internal_url → external_url) and adds two Set-Cookie values.
import { Context } from '../../../pdk/assembly';

export function response_rewrite(): i32 {
  const ctx = Context.read();
  const internal = ctx.config.getString('internal_url');
  const external = ctx.config.getString('external_url');
  const location = ctx.response.header('location');
  if (location !== null && internal.length > 0 && (location as string).startsWith(internal)) {
    ctx.response.setHeader('location', external + (location as string).substring(internal.length));
  }
  ctx.response.addHeader('set-cookie', 'wg_session=' + ctx.metadata.requestId + '; HttpOnly; Secure');
  ctx.response.addHeader('set-cookie', 'wg_lang=en-US; Secure');
  return ctx.done();
}
