/**
 * Tyk OAS API definitions (an OpenAPI document with `x-tyk-api-gateway`)
 * → ApiSpec. Per-endpoint plugins are attached to an `operationId`, whose
 * method and path (with `{param}` wildcards) come from the OpenAPI `paths`.
 */
import { Ajv } from 'ajv';
import type { ApiSpec, AuthSpec, EndpointRule, PluginRef } from './api-spec.ts';
import {
  configData,
  endpointRule,
  HEADER_TOKEN,
  idExtractor,
  listenPath,
  Problems,
  pluginRef,
  targetUrl,
} from './common.ts';
import { ApiDefinitionError, fromAjv } from './errors.ts';
import { compileExtension, extensionSchema, type RawExtension } from './extension.ts';

const str = (max = 1024) => ({ type: 'string', maxLength: max }) as const;
const bool = { type: 'boolean' } as const;

const plugin = {
  type: 'object',
  properties: {
    enabled: bool,
    functionName: str(128),
    path: str(),
    rawBodyOnly: bool,
    requireSession: bool,
    needsBody: bool,
    failOpen: bool,
  },
} as const;
const plugins = { type: 'array', maxItems: 32, items: plugin } as const;

const idExtractorSchema = {
  type: 'object',
  properties: {
    enabled: bool,
    source: str(16),
    with: str(16),
    config: {
      type: 'object',
      properties: {
        headerName: { type: 'string', pattern: HEADER_TOKEN },
        formParamName: str(256),
        regexp: str(1024),
        regexpMatchIndex: { type: 'integer', minimum: 0, maximum: 64 },
        xPathExp: str(1024),
      },
    },
  },
} as const;

const location = { type: 'object', properties: { enabled: bool, name: str(256) } } as const;

export const oasSchema = {
  type: 'object',
  required: ['openapi', 'x-tyk-api-gateway'],
  properties: {
    openapi: { type: 'string', pattern: '^3\\.' },
    'x-wasmgate': extensionSchema,
    paths: {
      type: 'object',
      maxProperties: 4096,
      additionalProperties: {
        type: 'object',
        additionalProperties: { type: ['object', 'array', 'string'] },
      },
    },
    'x-tyk-api-gateway': {
      type: 'object',
      required: ['info', 'upstream', 'server'],
      properties: {
        info: {
          type: 'object',
          required: ['name'],
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:@-]+$' },
            orgId: str(200),
            name: { type: 'string', minLength: 1, maxLength: 500 },
            state: { type: 'object', properties: { active: bool } },
          },
        },
        upstream: {
          type: 'object',
          required: ['url'],
          properties: { url: { type: 'string', minLength: 1, maxLength: 2048 } },
        },
        server: {
          type: 'object',
          required: ['listenPath'],
          properties: {
            listenPath: {
              type: 'object',
              required: ['value'],
              properties: { value: { type: 'string', minLength: 1, maxLength: 1024 }, strip: bool },
            },
            authentication: {
              type: 'object',
              properties: {
                enabled: bool,
                securitySchemes: {
                  type: 'object',
                  additionalProperties: {
                    type: 'object',
                    properties: { enabled: bool, header: location, query: location, cookie: location },
                  },
                },
                custom: {
                  type: 'object',
                  properties: {
                    enabled: bool,
                    config: { type: 'object', properties: { ...plugin.properties, idExtractor: idExtractorSchema } },
                  },
                },
              },
            },
            detailedActivityLogs: { type: 'object', properties: { enabled: bool } },
          },
        },
        middleware: {
          type: 'object',
          properties: {
            global: {
              type: 'object',
              properties: {
                pluginConfig: {
                  type: 'object',
                  properties: {
                    driver: str(32),
                    bundle: { type: 'object', properties: { enabled: bool, path: str() } },
                    data: { type: 'object', properties: { enabled: bool, value: { type: 'object' } } },
                  },
                },
                prePlugins: plugins,
                postAuthenticationPlugins: plugins,
                postPlugins: plugins,
                responsePlugins: plugins,
                trafficLogs: { type: 'object', properties: { enabled: bool, plugins } },
              },
            },
            operations: {
              type: 'object',
              maxProperties: 4096,
              additionalProperties: { type: 'object', properties: { postPlugins: plugins } },
            },
          },
        },
        tags: { type: 'array', maxItems: 64, items: str(256) },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: false }).compile(oasSchema);

interface OasPlugin {
  enabled?: boolean;
  functionName?: string;
  path?: string;
  needsBody?: boolean;
  failOpen?: boolean;
}

interface OasDoc {
  openapi: string;
  'x-wasmgate'?: RawExtension;
  paths?: Record<string, Record<string, { operationId?: string } | unknown>>;
  'x-tyk-api-gateway': {
    info: { id?: string; orgId?: string; name: string; state?: { active?: boolean } };
    upstream: { url: string };
    server: {
      listenPath: { value: string; strip?: boolean };
      authentication?: {
        enabled?: boolean;
        securitySchemes?: Record<
          string,
          {
            enabled?: boolean;
            header?: { enabled?: boolean; name?: string };
            query?: { enabled?: boolean; name?: string };
            cookie?: { enabled?: boolean; name?: string };
          }
        >;
        custom?: {
          enabled?: boolean;
          config?: OasPlugin & {
            idExtractor?: {
              enabled?: boolean;
              source?: string;
              with?: string;
              config?: {
                headerName?: string;
                formParamName?: string;
                regexp?: string;
                regexpMatchIndex?: number;
                xPathExp?: string;
              };
            };
          };
        };
      };
      detailedActivityLogs?: { enabled?: boolean };
    };
    middleware?: {
      global?: {
        pluginConfig?: {
          driver?: string;
          bundle?: { enabled?: boolean; path?: string };
          data?: { enabled?: boolean; value?: Record<string, unknown> };
        };
        prePlugins?: OasPlugin[];
        postAuthenticationPlugins?: OasPlugin[];
        postPlugins?: OasPlugin[];
        responsePlugins?: OasPlugin[];
        trafficLogs?: { enabled?: boolean; plugins?: OasPlugin[] };
      };
      operations?: Record<string, { postPlugins?: OasPlugin[] }>;
    };
    tags?: string[];
  };
}

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

/** An id for definitions without `info.id`: derived from the name, stable across loads. */
export function idFromName(name: string): string {
  const slug = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '')
    .slice(0, 100);
  return slug || 'api';
}

export function compileOas(doc: unknown, opts: { origin?: string } = {}): ApiSpec {
  if (!validate(doc)) throw new ApiDefinitionError(fromAjv(validate.errors), opts.origin);
  const d = doc as OasDoc;
  const x = d['x-tyk-api-gateway'];
  const p = new Problems();
  const base = 'x-tyk-api-gateway';
  const global = x.middleware?.global;
  const pc = global?.pluginConfig;
  if (pc?.driver !== undefined && pc.driver !== 'wasm')
    p.add(`${base}.middleware.global.pluginConfig.driver`, `must be "wasm" (got "${pc.driver}")`);
  const bundle = pc?.bundle?.enabled && pc.bundle.path ? pc.bundle.path : null;

  const list = (hook: string, field: string, items: OasPlugin[] | undefined): PluginRef[] =>
    (items ?? [])
      .map((e, i) =>
        e.enabled === false
          ? null
          : pluginRef(
              p,
              `${field}[${i}]`,
              hook,
              { exportName: e.functionName, path: e.path, needsBody: e.needsBody, failOpen: e.failOpen },
              bundle,
            ),
      )
      .filter((r): r is PluginRef => r !== null);
  const g = `${base}.middleware.global`;
  const pre = list('pre', `${g}.prePlugins`, global?.prePlugins);
  const postAuth = list('post_auth', `${g}.postAuthenticationPlugins`, global?.postAuthenticationPlugins);
  const post = list('post', `${g}.postPlugins`, global?.postPlugins);
  const response = list('response', `${g}.responsePlugins`, global?.responsePlugins);
  const analyticsList =
    global?.trafficLogs?.enabled === false
      ? []
      : list('analytics', `${g}.trafficLogs.plugins`, global?.trafficLogs?.plugins);
  if (analyticsList.length > 1) p.add(`${g}.trafficLogs.plugins`, 'at most one analytics plugin');

  // Operations: operationId → method + path from the OpenAPI paths.
  const ops = new Map<string, { method: string; path: string }>();
  for (const [path, item] of Object.entries(d.paths ?? {})) {
    for (const [method, op] of Object.entries(item)) {
      const id = (op as { operationId?: unknown })?.operationId;
      if (METHODS.has(method) && typeof id === 'string') ops.set(id, { method: method.toUpperCase(), path });
    }
  }
  const endpoints: EndpointRule[] = [];
  for (const [opId, op] of Object.entries(x.middleware?.operations ?? {})) {
    const refs = list('endpoint', `${base}.middleware.operations.${opId}.postPlugins`, op.postPlugins);
    if (!refs.length) continue;
    const where = ops.get(opId);
    if (!where) {
      p.add(`${base}.middleware.operations.${opId}`, 'names an operationId that no path in "paths" declares');
      continue;
    }
    endpoints.push(endpointRule(where.method, where.path, refs));
  }

  const a = x.server.authentication;
  let auth: AuthSpec = { kind: 'keyless' };
  if (a?.enabled) {
    const custom = a.custom;
    if (custom?.enabled) {
      const c = custom.config ?? {};
      const ref = pluginRef(
        p,
        `${base}.server.authentication.custom.config`,
        'auth',
        { exportName: c.functionName, path: c.path, needsBody: c.needsBody, failOpen: c.failOpen },
        bundle,
      );
      const ie = c.idExtractor;
      const extractor =
        ie && ie.enabled !== false
          ? idExtractor(
              p,
              `${base}.server.authentication.custom.config.idExtractor`,
              {
                from: ie.source,
                with: ie.with,
                name: ie.source === 'form' ? ie.config?.formParamName : ie.config?.headerName,
                regex: ie.config?.regexp,
                regexMatchIndex: ie.config?.regexpMatchIndex,
                xpath: ie.config?.xPathExp,
              },
              'Authorization',
            )
          : null;
      if (ref)
        auth = {
          kind: 'plugin',
          plugin: ref,
          headerName: (ie?.config?.headerName ?? 'Authorization').toLowerCase(),
          idExtractor: extractor,
        };
    } else {
      const scheme = Object.values(a.securitySchemes ?? {}).find((s) => s.enabled !== false);
      auth = {
        kind: 'key',
        headerName: (scheme?.header?.enabled !== false && scheme?.header?.name
          ? scheme.header.name
          : 'Authorization'
        ).toLowerCase(),
        paramName: scheme?.query?.enabled && scheme.query.name ? scheme.query.name : null,
        cookieName: scheme?.cookie?.enabled && scheme.cookie.name ? scheme.cookie.name : null,
      };
    }
  }

  const lp = listenPath(p, `${base}.server.listenPath.value`, x.server.listenPath.value);
  const target = targetUrl(p, `${base}.upstream.url`, x.upstream.url);
  const config =
    pc?.data?.enabled === false
      ? {}
      : configData(p, `${base}.middleware.global.pluginConfig.data.value`, pc?.data?.value);
  const extension = compileExtension(p, 'x-wasmgate', d['x-wasmgate']);
  if (p.list.length || !lp || !target) throw new ApiDefinitionError(p.list, opts.origin);

  return {
    format: 'oas',
    id: x.info.id ?? idFromName(x.info.name),
    orgId: x.info.orgId ?? '',
    name: x.info.name,
    active: x.info.state?.active !== false,
    listenPath: lp,
    stripListenPath: x.server.listenPath.strip === true,
    targetUrl: target,
    auth,
    plugins: { pre, postAuth, post, response, analytics: analyticsList[0] ?? null },
    endpoints,
    configData: config,
    detailedRecording: x.server.detailedActivityLogs?.enabled === true,
    tags: x.tags ?? [],
    upstreamTimeoutMs: null,
    outbound: extension.outbound,
    upstreamTargets: extension.upstreamTargets,
    document: d as unknown as Record<string, unknown>,
  };
}
