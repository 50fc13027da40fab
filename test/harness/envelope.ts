/**
 * The smallest envelope a plugin can be called with: a GET of `/` with no
 * headers, parameters or body, for tests about the call rather than the
 * request.
 */
import type { Envelope, Hook } from '../../runtime/index.ts';

export function smallEnvelope(hook: Hook = 'pre'): Envelope {
  return {
    v: 1,
    hook,
    request: {
      method: 'GET',
      url: '/',
      request_uri: '/',
      scheme: 'http',
      host: 'h',
      remote_addr: '127.0.0.1',
      params: {},
      headers: {},
      body: null,
    },
    spec: { api_id: 'a', org_id: 'o', name: 'n', config_data: {} },
    metadata: { request_id: 'r', plugin: 'p', version: '1', time: 0 },
  };
}
