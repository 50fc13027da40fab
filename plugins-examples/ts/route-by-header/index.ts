// pre plugin for dynamic routing (docs/outbound.md): the value of the
// request header config_data.header (default "x-region") picks an upstream
// from config_data.routes (value → upstream_targets name); without a match,
// config_data.default when set, else the API's own target. The chosen
// target is also sent upstream as x-routed-to.
import { Context } from '../../../pdk/assembly';

export function route_by_header(): i32 {
  const ctx = Context.read();
  const name = ctx.config.getString('header', 'x-region');
  const value = ctx.request.header(name);
  const routes = ctx.config.getMap('routes');
  let target = ctx.config.getString('default');
  if (value !== null && routes.has(value as string)) target = routes.getString(value as string);
  if (target.length > 0) {
    ctx.request.setUpstream(target);
    ctx.request.setHeader('x-routed-to', target);
  }
  return ctx.done();
}
