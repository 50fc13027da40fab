/**
 * Tyk Classic API definitions → ApiSpec. Only the fields wasmgate reads are
 * type-checked (strictly); the many other Tyk fields a definition may carry
 * are accepted and ignored. See docs/api-definitions.md.
 */
import { Ajv } from 'ajv';
import type { ApiSpec, AuthSpec, EndpointRule, PluginRef } from './api-spec.ts';
import {
  configData,
  EXPORT_NAME,
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

const entry = {
  type: 'object',
  properties: {
    name: str(128),
    path: str(),
    require_session: bool,
    raw_body_only: bool,
    needs_body: bool,
    fail_open: bool,
  },
} as const;

const entries = { type: 'array', maxItems: 32, items: entry } as const;

const idExtractorSchema = {
  type: 'object',
  properties: {
    extract_from: str(16),
    extract_with: str(16),
    extractor_config: {
      type: 'object',
      properties: {
        header_name: { type: 'string', pattern: HEADER_TOKEN },
        param_name: str(256),
        regex_expression: str(1024),
        regex_match_index: { type: 'integer', minimum: 0, maximum: 64 },
        xpath_expression: str(1024),
      },
    },
  },
} as const;

const goPlugin = {
  type: 'object',
  required: ['path', 'method', 'func_name'],
  properties: {
    path: { type: 'string', minLength: 1, maxLength: 1024 },
    method: { type: 'string', pattern: '^[A-Za-z*]{1,16}$' },
    plugin_path: str(),
    func_name: str(128),
    disabled: bool,
    needs_body: bool,
    fail_open: bool,
  },
} as const;

export const classicSchema = {
  type: 'object',
  required: ['api_id', 'name', 'proxy'],
  properties: {
    api_id: { type: 'string', minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9._:@-]+$' },
    org_id: str(200),
    name: { type: 'string', minLength: 1, maxLength: 500 },
    active: bool,
    use_keyless: bool,
    use_go_plugin_auth: bool,
    enable_coprocess_auth: bool,
    auth: {
      type: 'object',
      properties: {
        auth_header_name: { type: 'string', pattern: HEADER_TOKEN },
        use_param: bool,
        param_name: str(256),
        use_cookie: bool,
        cookie_name: str(256),
      },
    },
    proxy: {
      type: 'object',
      required: ['listen_path', 'target_url'],
      properties: {
        listen_path: { type: 'string', minLength: 1, maxLength: 1024 },
        target_url: { type: 'string', minLength: 1, maxLength: 2048 },
        strip_listen_path: bool,
        timeout: { type: 'number', minimum: 0, maximum: 3600 },
      },
    },
    custom_middleware: {
      type: 'object',
      properties: {
        pre: entries,
        post: entries,
        post_key_auth: entries,
        response: entries,
        auth_check: entry,
        driver: str(32),
        id_extractor: idExtractorSchema,
      },
    },
    wasmgate: extensionSchema,
    custom_middleware_bundle: str(),
    custom_middleware_bundle_disabled: bool,
    analytics_plugin: {
      type: 'object',
      properties: { enable: bool, func_name: str(128), plugin_path: str(), fail_open: bool },
    },
    enable_detailed_recording: bool,
    config_data: { type: 'object' },
    tags: { type: 'array', maxItems: 64, items: str(256) },
    version_data: {
      type: 'object',
      properties: {
        not_versioned: bool,
        versions: {
          type: 'object',
          maxProperties: 64,
          additionalProperties: {
            type: 'object',
            properties: {
              extended_paths: {
                type: 'object',
                properties: { go_plugin: { type: 'array', maxItems: 256, items: goPlugin } },
              },
            },
          },
        },
      },
    },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: false }).compile(classicSchema);

type Entry = { name?: string; path?: string; needs_body?: boolean; fail_open?: boolean };

interface ClassicDoc {
  api_id: string;
  org_id?: string;
  name: string;
  active?: boolean;
  use_keyless?: boolean;
  use_go_plugin_auth?: boolean;
  enable_coprocess_auth?: boolean;
  auth?: {
    auth_header_name?: string;
    use_param?: boolean;
    param_name?: string;
    use_cookie?: boolean;
    cookie_name?: string;
  };
  proxy: { listen_path: string; target_url: string; strip_listen_path?: boolean; timeout?: number };
  custom_middleware?: {
    pre?: Entry[];
    post?: Entry[];
    post_key_auth?: Entry[];
    response?: Entry[];
    auth_check?: Entry;
    driver?: string;
    id_extractor?: {
      extract_from?: string;
      extract_with?: string;
      extractor_config?: {
        header_name?: string;
        param_name?: string;
        regex_expression?: string;
        regex_match_index?: number;
        xpath_expression?: string;
      };
    };
  };
  wasmgate?: RawExtension;
  custom_middleware_bundle?: string;
  custom_middleware_bundle_disabled?: boolean;
  analytics_plugin?: { enable?: boolean; func_name?: string; plugin_path?: string; fail_open?: boolean };
  enable_detailed_recording?: boolean;
  config_data?: Record<string, unknown>;
  tags?: string[];
  version_data?: {
    versions?: Record<
      string,
      {
        extended_paths?: {
          go_plugin?: {
            path: string;
            method: string;
            plugin_path?: string;
            func_name: string;
            disabled?: boolean;
            needs_body?: boolean;
            fail_open?: boolean;
          }[];
        };
      }
    >;
  };
}

/** The `custom_middleware` block of a bundle's manifest, for definitions that name a bundle. */
export type BundleMiddleware = NonNullable<ClassicDoc['custom_middleware']>;

export interface CompileOptions {
  origin?: string;
  /** The `custom_middleware` of an uploaded bundle's manifest, by bundle name. */
  bundleMiddleware?: (bundle: string) => BundleMiddleware | undefined;
}

export function compileClassic(doc: unknown, opts: CompileOptions = {}): ApiSpec {
  if (!validate(doc)) throw new ApiDefinitionError(fromAjv(validate.errors), opts.origin);
  const d = doc as ClassicDoc;
  const p = new Problems();

  const bundle = d.custom_middleware_bundle && !d.custom_middleware_bundle_disabled ? d.custom_middleware_bundle : null;
  let mw = d.custom_middleware;
  let mwField = 'custom_middleware';
  let bundleMissing = false;
  if (bundle) {
    const fromBundle = opts.bundleMiddleware?.(bundle);
    if (!fromBundle) {
      bundleMissing = true;
      p.add('custom_middleware_bundle', `names the bundle "${bundle}", which is not uploaded`);
    } else {
      if (mw && Object.keys(mw).length)
        p.add(
          'custom_middleware',
          'must be empty when custom_middleware_bundle is set (the bundle manifest defines the plugins)',
        );
      mw = fromBundle;
      mwField = `custom_middleware_bundle(${bundle}).custom_middleware`;
    }
  }
  if (mw?.driver !== undefined && mw.driver !== 'wasm')
    p.add(`${mwField}.driver`, `must be "wasm" (got "${mw.driver}")`);

  const list = (hook: string, key: 'pre' | 'post' | 'post_key_auth' | 'response'): PluginRef[] =>
    (mw?.[key] ?? [])
      .map((e, i) =>
        pluginRef(
          p,
          `${mwField}.${key}[${i}]`,
          hook,
          { exportName: e.name, path: e.path, needsBody: e.needs_body, failOpen: e.fail_open },
          bundle,
        ),
      )
      .filter((r): r is PluginRef => r !== null);

  const pre = list('pre', 'pre');
  const postAuth = list('post_auth', 'post_key_auth');
  const post = list('post', 'post');
  const response = list('response', 'response');

  const headerName = (d.auth?.auth_header_name ?? 'Authorization').toLowerCase();
  const wantsPluginAuth = d.enable_coprocess_auth === true || d.use_go_plugin_auth === true;
  let auth: AuthSpec = { kind: 'keyless' };
  if (d.use_keyless === true) {
    if (wantsPluginAuth)
      p.add('use_keyless', 'cannot be true together with enable_coprocess_auth / use_go_plugin_auth');
  } else if (wantsPluginAuth) {
    const check = mw?.auth_check;
    if (!check?.name) {
      if (!bundleMissing) p.add(`${mwField}.auth_check.name`, 'is required when enable_coprocess_auth is true');
    } else {
      const ref = pluginRef(
        p,
        `${mwField}.auth_check`,
        'auth',
        { exportName: check.name, path: check.path, needsBody: check.needs_body, failOpen: check.fail_open },
        bundle,
      );
      const ex = mw?.id_extractor;
      const extractor = idExtractor(
        p,
        `${mwField}.id_extractor`,
        ex && {
          from: ex.extract_from,
          with: ex.extract_with,
          name: ex.extract_from === 'form' ? ex.extractor_config?.param_name : ex.extractor_config?.header_name,
          regex: ex.extractor_config?.regex_expression,
          regexMatchIndex: ex.extractor_config?.regex_match_index,
          xpath: ex.extractor_config?.xpath_expression,
        },
        'Authorization',
      );
      if (ref) auth = { kind: 'plugin', plugin: ref, headerName, idExtractor: extractor };
    }
  } else {
    auth = {
      kind: 'key',
      headerName,
      paramName: d.auth?.use_param ? d.auth.param_name || d.auth.auth_header_name || 'authorization' : null,
      cookieName: d.auth?.use_cookie ? d.auth.cookie_name || d.auth.auth_header_name || 'authorization' : null,
    };
  }
  if (!wantsPluginAuth && mw?.auth_check?.name) {
    p.add(`${mwField}.auth_check`, 'is set but enable_coprocess_auth is not true (the plugin would never run)');
  }

  const endpoints: EndpointRule[] = [];
  for (const [version, v] of Object.entries(d.version_data?.versions ?? {})) {
    (v.extended_paths?.go_plugin ?? []).forEach((g, i) => {
      if (g.disabled) return;
      const field = `version_data.versions.${version}.extended_paths.go_plugin[${i}]`;
      const ref = pluginRef(
        p,
        field,
        'endpoint',
        { exportName: g.func_name, path: g.plugin_path, needsBody: g.needs_body, failOpen: g.fail_open },
        bundle,
      );
      if (!ref) return;
      // Several entries for the same method and path run in definition order.
      const same = endpoints.findIndex((e) => e.method === g.method.toUpperCase() && e.path === g.path);
      if (same >= 0) endpoints[same] = endpointRule(g.method, g.path, [...endpoints[same]!.plugins, ref]);
      else endpoints.push(endpointRule(g.method, g.path, [ref]));
    });
  }

  let analytics: PluginRef | null = null;
  if (d.analytics_plugin?.enable) {
    const a = d.analytics_plugin;
    analytics = pluginRef(
      p,
      'analytics_plugin',
      'analytics',
      { exportName: a.func_name, path: a.plugin_path, failOpen: a.fail_open ?? true },
      bundle,
    );
  }

  const lp = listenPath(p, 'proxy.listen_path', d.proxy.listen_path);
  const target = targetUrl(p, 'proxy.target_url', d.proxy.target_url);
  const config = configData(p, 'config_data', d.config_data);
  const extension = compileExtension(p, 'wasmgate', d.wasmgate);
  if (p.list.length || !lp || !target) throw new ApiDefinitionError(p.list, opts.origin);

  return {
    format: 'classic',
    id: d.api_id,
    orgId: d.org_id ?? '',
    name: d.name,
    active: d.active !== false,
    listenPath: lp,
    stripListenPath: d.proxy.strip_listen_path === true,
    targetUrl: target,
    auth,
    plugins: { pre, postAuth, post, response, analytics },
    endpoints,
    configData: config,
    detailedRecording: d.enable_detailed_recording === true,
    tags: d.tags ?? [],
    upstreamTimeoutMs: d.proxy.timeout ? Math.round(d.proxy.timeout * 1000) : null,
    outbound: extension.outbound,
    upstreamTargets: extension.upstreamTargets,
    document: d as unknown as Record<string, unknown>,
  };
}

export { EXPORT_NAME };
