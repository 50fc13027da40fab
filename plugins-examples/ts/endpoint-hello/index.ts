// per-endpoint plugin that answers by itself (a virtual endpoint):
// 200 {"hello":"<name>","path":"<url>"} — name from the first `name` query
// parameter, else "world".
import { Context, headers, jsonEscape } from '../../../pdk/assembly';

export function endpoint_hello(): i32 {
  const ctx = Context.read();
  const q = ctx.request.query('name');
  const name = q === null ? 'world' : (q as string);
  ctx.respond(
    200,
    '{"hello":"' + jsonEscape(name) + '","path":"' + jsonEscape(ctx.request.url) + '"}',
    headers('content-type', 'application/json'),
  );
  return ctx.done();
}
