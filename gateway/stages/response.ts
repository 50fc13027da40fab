/**
 * Response plugins: after the proxy, in definition order, each seeing the
 * previous one's changes. They may change the status, headers (every value
 * of a multivalue header such as Set-Cookie) and, when they declared
 * `needs_body`, the body.
 */
import { ABI_VERSION, type Envelope, type Multi, type ResponseChanges } from '../../runtime/index.ts';
import type { RequestContext } from '../context.ts';
import type { UpstreamBody } from '../proxy/upstream-body.ts';
import { addAll, type BoundPlugin, callPlugin, requestRecord, setAll } from './plugin.ts';
import type { LoadedApiInfo } from './types.ts';

export interface UpstreamAnswer {
  status: number;
  headers: Multi;
  /** Bytes when buffered (a response plugin needs the body, or made it), else still arriving. */
  body: Uint8Array | UpstreamBody;
}

function applyResponseChanges(answer: UpstreamAnswer, c: ResponseChanges): void {
  if (c.status_code !== undefined) answer.status = c.status_code;
  if (c.delete_headers) for (const name of c.delete_headers) delete answer.headers[name];
  setAll(answer.headers, c.set_headers);
  addAll(answer.headers, c.add_headers);
  if (c.body) {
    if (!(answer.body instanceof Uint8Array)) answer.body.drop();
    answer.body = c.body;
    // The body changed: the upstream's framing and validators no longer apply.
    delete answer.headers['content-length'];
    delete answer.headers.etag;
    delete answer.headers['content-md5'];
  }
}

/** Response plugins in order from `from`; synchronous while each answers at once (as runRequestPlugins). */
export function runResponsePlugins(
  ctx: RequestContext,
  api: LoadedApiInfo,
  plugins: readonly BoundPlugin[],
  answer: UpstreamAnswer,
  from = 0,
): void | Promise<void> {
  for (let i = from; i < plugins.length; i++) {
    const plugin = plugins[i]!;
    const envelope: Envelope = {
      v: ABI_VERSION,
      hook: 'response',
      request: requestRecord(ctx, null),
      session: ctx.session,
      response: {
        status_code: answer.status,
        headers: answer.headers,
        body: plugin.needsBody && answer.body instanceof Uint8Array ? answer.body : null,
      },
      spec: api.envelopeSpec,
      metadata: { request_id: ctx.id, plugin: plugin.label, version: '1', time: ctx.time },
    };
    const result = callPlugin(ctx, api, plugin, envelope);
    if (result instanceof Promise) {
      return result.then((r) => {
        if (r?.response) applyResponseChanges(answer, r.response);
        return runResponsePlugins(ctx, api, plugins, answer, i + 1);
      });
    }
    if (result?.response) applyResponseChanges(answer, result.response);
  }
}
