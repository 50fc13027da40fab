/**
 * The one JSON Schema of a plugin's result record (docs/abi.md §5). Every
 * plugin output is validated against it, without coercion, before anything
 * is applied.
 */
import { Ajv } from 'ajv';

const str = { type: 'string', maxLength: 65_536 } as const;
const bytesOrString = { bytesOrString: true } as const;
const stringOrList = {
  anyOf: [str, { type: 'array', items: str, maxItems: 256 }],
} as const;
const headerMap = {
  type: 'object',
  maxProperties: 256,
  propertyNames: { maxLength: 256 },
  additionalProperties: stringOrList,
} as const;
const nameList = { type: 'array', items: { type: 'string', maxLength: 256 }, maxItems: 256 } as const;
const status = { type: 'integer', minimum: 100, maximum: 599 } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const stringList = { type: 'array', items: str, maxItems: 1024 } as const;

export const sessionSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    rate: num,
    per: num,
    allowance: num,
    quota_max: int,
    quota_remaining: int,
    quota_renews: int,
    quota_renewal_rate: int,
    access_rights: {
      type: 'object',
      maxProperties: 1024,
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          api_id: str,
          api_name: str,
          versions: stringList,
          allowed_urls: {
            type: 'array',
            maxItems: 1024,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['url'],
              properties: { url: str, methods: stringList },
            },
          },
        },
      },
    },
    apply_policies: stringList,
    metadata: { type: 'object', maxProperties: 1024, additionalProperties: str },
    tags: stringList,
    expires: int,
    id_extractor_deadline: int,
    last_updated: str,
    alias: str,
    org_id: str,
  },
} as const;

const analyticsFields = {
  method: str,
  host: str,
  path: str,
  raw_path: str,
  content_length: int,
  user_agent: str,
  day: int,
  month: int,
  year: int,
  hour: int,
  response_code: int,
  api_key: str,
  timestamp: str,
  api_name: str,
  api_id: str,
  org_id: str,
  request_time: num,
  raw_request: { type: 'string', maxLength: 16 * 1024 * 1024 },
  raw_response: { type: 'string', maxLength: 16 * 1024 * 1024 },
  ip_address: str,
  latency: {
    type: 'object',
    additionalProperties: false,
    properties: { total: num, upstream: num },
  },
  tags: stringList,
  alias: str,
  track_path: { type: 'boolean' },
  expire_at: str,
} as const;

export const resultSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    v: { const: 1 },
    request: {
      type: 'object',
      additionalProperties: false,
      properties: {
        set_headers: headerMap,
        add_headers: headerMap,
        delete_headers: nameList,
        add_params: headerMap,
        delete_params: nameList,
        body: bytesOrString,
        url: { type: 'string', maxLength: 8192, pattern: '^/' },
        upstream: { type: 'string', minLength: 1, maxLength: 64 },
      },
    },
    calls: {
      type: 'array',
      minItems: 1,
      maxItems: 64,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['id', 'method', 'url'],
        properties: {
          id: { type: 'string', minLength: 1, maxLength: 64 },
          method: { enum: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] },
          url: { type: 'string', minLength: 1, maxLength: 8192 },
          headers: headerMap,
          body: bytesOrString,
          timeout_ms: { type: 'integer', minimum: 1, maximum: 60_000 },
        },
      },
    },
    state: { maxBytes: 65_536 },
    return_overrides: {
      type: 'object',
      additionalProperties: false,
      required: ['response_code'],
      properties: {
        response_code: status,
        response_error: str,
        response_body: bytesOrString,
        headers: headerMap,
        override_error: { type: 'boolean' },
      },
    },
    session: sessionSchema,
    response: {
      type: 'object',
      additionalProperties: false,
      properties: {
        status_code: status,
        set_headers: headerMap,
        add_headers: headerMap,
        delete_headers: nameList,
        body: bytesOrString,
      },
    },
    record: {
      type: 'object',
      additionalProperties: false,
      properties: {
        set: { type: 'object', additionalProperties: false, properties: analyticsFields },
        drop_fields: { type: 'array', maxItems: 64, items: { enum: Object.keys(analyticsFields) } },
        drop: { type: 'boolean' },
      },
    },
    error: str,
  },
} as const;

export const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false, useDefaults: false });
ajv.addKeyword({
  keyword: 'bytesOrString',
  schemaType: 'boolean',
  errors: false,
  validate: (_schema: boolean, data: unknown) => typeof data === 'string' || data instanceof Uint8Array,
});

ajv.addKeyword({
  keyword: 'maxBytes',
  schemaType: 'number',
  errors: false,
  validate: (max: number, data: unknown) =>
    (typeof data === 'string' && Buffer.byteLength(data) <= max) ||
    (data instanceof Uint8Array && data.byteLength <= max),
});

export const validateResult = ajv.compile(resultSchema);
export const validateSession = ajv.compile(sessionSchema);
