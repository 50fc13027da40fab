/**
 * The envelope `wasmgate plugin run` uses when no --input is given, and the
 * JSON form of envelopes and results (bodies as UTF-8 text, or
 * `{"base64": …}` when they are not text).
 */
import { ABI_VERSION, type Envelope, type Hook, type HookResult } from '../../runtime/index.ts';

export function sampleEnvelope(hook: Hook): Envelope {
  const envelope: Envelope = {
    v: ABI_VERSION,
    hook,
    request: {
      method: 'GET',
      url: '/anything',
      request_uri: '/anything?name=wasmgate',
      scheme: 'http',
      host: 'localhost:8080',
      remote_addr: '127.0.0.1',
      params: { name: ['wasmgate'] },
      headers: { accept: ['application/json'], authorization: ['Bearer demo-token'], 'user-agent': ['wasmgate-cli'] },
      body: null,
    },
    spec: { api_id: 'sample', org_id: 'default', name: 'Sample API', config_data: {} },
    metadata: { request_id: 'sample-request', plugin: 'cli', version: '0', time: Math.floor(Date.now() / 1000) },
  };
  if (hook !== 'pre' && hook !== 'auth')
    envelope.session = { rate: 100, per: 60, metadata: { token: 'demo-token', user: 'demo' } };
  if (hook === 'response' || hook === 'analytics') {
    envelope.response = { status_code: 200, headers: { 'content-type': ['application/json'] }, body: null };
  }
  if (hook === 'analytics') {
    envelope.record = {
      method: 'GET',
      path: '/anything',
      response_code: 200,
      api_id: 'sample',
      raw_request: Buffer.from('GET /anything HTTP/1.1\r\nAuthorization: Bearer demo-token\r\n\r\n').toString('base64'),
    };
  }
  return envelope;
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** Turns byte fields into text (or {base64}) so a result prints as JSON. */
export function toJson(value: unknown): unknown {
  if (value instanceof Uint8Array) {
    try {
      return decoder.decode(value);
    } catch {
      return { base64: Buffer.from(value).toString('base64') };
    }
  }
  if (Array.isArray(value)) return value.map(toJson);
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = toJson(v);
    return out;
  }
  return value;
}

/** The inverse for envelope input: `body` fields given as text or {base64} become bytes. */
export function fromJson(value: unknown, key = ''): unknown {
  if (key === 'body') {
    if (typeof value === 'string') return new TextEncoder().encode(value);
    if (value && typeof value === 'object' && typeof (value as { base64?: unknown }).base64 === 'string') {
      return new Uint8Array(Buffer.from((value as { base64: string }).base64, 'base64'));
    }
  }
  if (Array.isArray(value)) return value.map((v) => fromJson(v));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = fromJson(v, k);
    return out;
  }
  return value;
}

export function resultToJson(result: HookResult): unknown {
  return toJson(result);
}
