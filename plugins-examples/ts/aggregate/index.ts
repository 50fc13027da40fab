// per-endpoint plugin that aggregates two services into one answer
// (docs/outbound.md). First call: asks the gateway for GET users_url and
// GET orders_url (config_data), in parallel. Second call, with both answers:
// 200 {"users":<users body>,"orders":<orders body>} when both answered 200
// (each body is embedded as is: the services answer JSON), else
// 502 {"error":"<id> failed: <status or error code>"}.
import { Context, headers, jsonEscape } from '../../../pdk/assembly';

const SERVICES: string[] = ['users', 'orders'];

export function aggregate(): i32 {
  const ctx = Context.read();
  if (!ctx.isContinuation) {
    for (let i = 0; i < SERVICES.length; i++) {
      const id = SERVICES[i];
      ctx.call(id, 'GET', ctx.config.getString(id + '_url')).header('accept', 'application/json');
    }
    return ctx.done();
  }
  let body = '{';
  for (let i = 0; i < SERVICES.length; i++) {
    const id = SERVICES[i];
    const a = ctx.answer(id);
    if (a === null || !a.ok || a.status != 200) {
      const why = a === null ? 'no answer' : a.ok ? 'status ' + a.status.toString() : (a.error as string);
      ctx.respondError(502, id + ' failed: ' + why);
      return ctx.done();
    }
    if (i > 0) body += ',';
    body += '"' + jsonEscape(id) + '":' + a.bodyText();
  }
  ctx.respond(200, body + '}', headers('content-type', 'application/json'));
  return ctx.done();
}
