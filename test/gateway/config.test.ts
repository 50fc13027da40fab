import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEMO_APIS_DIR } from '../../gateway/app.ts';
import type { BundleMiddleware } from '../../gateway/config/classic.ts';
import { ApiDefinitionError } from '../../gateway/config/errors.ts';
import { loadDefinitionsDir, parseApiDefinition } from '../../gateway/config/load.ts';
import { BadPathError, compileEndpointPattern, normalisePath } from '../../gateway/config/paths.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');
const fixture = (name: string) => JSON.parse(readFileSync(join(FIXTURES, 'apis', name), 'utf8'));
const bundles = (name: string): BundleMiddleware | undefined =>
  name === 'bundle.zip'
    ? JSON.parse(readFileSync(join(FIXTURES, 'bundles', 'bundle.zip.manifest.json'), 'utf8')).custom_middleware
    : undefined;

const minimal = (over: Record<string, unknown> = {}) => ({
  api_id: 'a1',
  name: 'A',
  use_keyless: true,
  proxy: { listen_path: '/a/', target_url: 'http://127.0.0.1:9/' },
  ...over,
});

function problemOf(doc: unknown, opts = {}): { field: string; rule: string }[] {
  try {
    parseApiDefinition(doc, undefined, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiDefinitionError);
    return (err as ApiDefinitionError).problems;
  }
  throw new Error('expected the definition to be refused');
}

describe('the seed example definitions', () => {
  it('the ID-extractor Classic API with its bundle manifest', () => {
    const spec = parseApiDefinition(fixture('classic-id-extractor.json'), 'classic-id-extractor.json', {
      bundleMiddleware: bundles,
    });
    expect(spec).toMatchObject({
      format: 'classic',
      id: 'my-api',
      orgId: 'my-org',
      name: 'Test API',
      listenPath: '/test-api/',
      stripListenPath: true,
    });
    expect(spec.targetUrl.href).toBe('http://httpbin.org/');
    expect(spec.auth).toEqual({
      kind: 'plugin',
      plugin: {
        plugin: 'bundle.zip',
        export: 'MyAuthCheck',
        needsBody: false,
        failOpen: false,
        origin: 'custom_middleware_bundle(bundle.zip).custom_middleware.auth_check',
      },
      headerName: 'authorization',
      idExtractor: { from: 'header', with: 'value', name: 'Authorization' },
    });
    expect(Object.isFrozen(spec) && Object.isFrozen(spec.auth)).toBe(true);
  });

  it('refuses the ID-extractor API when its bundle is not uploaded', () => {
    expect(problemOf(fixture('classic-id-extractor.json'))).toEqual([
      { field: 'custom_middleware_bundle', rule: 'names the bundle "bundle.zip", which is not uploaded' },
    ]);
  });

  it('the response-hook custom_middleware block', () => {
    const spec = parseApiDefinition(fixture('classic-response-hook.json'));
    expect(spec.plugins.response).toEqual([
      {
        plugin: 'middleware/middleware.wasm',
        export: 'ResponseHook',
        needsBody: false,
        failOpen: false,
        origin: 'custom_middleware.response[0]',
      },
    ]);
    expect(spec.auth.kind).toBe('keyless');
    expect(spec.plugins.pre).toEqual([]);
  });

  it('the Tyk OAS postPlugins example', () => {
    const spec = parseApiDefinition(fixture('oas-post-plugins.json'));
    expect(spec).toMatchObject({
      format: 'oas',
      id: 'example-endpoint-plugin',
      listenPath: '/example-endpoint-plugin/',
      stripListenPath: true,
      active: true,
    });
    expect(spec.endpoints).toHaveLength(1);
    const rule = spec.endpoints[0]!;
    expect(rule.plugins.map((p) => [p.plugin, p.export])).toEqual([
      ['middleware/myPlugin.wasm', 'myUniqueFunctionName'],
    ]);
    expect(rule.matches('GET', '/anything')).toBe(true);
    expect(rule.matches('GET', '/anything/')).toBe(true);
    expect(rule.matches('POST', '/anything')).toBe(false);
    expect(rule.matches('GET', '/anything/else')).toBe(false);
  });

  it('the Classic extended_paths.go_plugin example', () => {
    const spec = parseApiDefinition(fixture('classic-go-plugin-endpoint.json'));
    expect(spec.endpoints.map((e) => [e.method, e.path, e.plugins[0]!.export])).toEqual([
      ['GET', '/anything', 'myUniqueFunctionName'],
    ]);
    expect(spec.endpoints[0]!.matches('GET', '/anything')).toBe(true);
    expect(spec.endpoints[0]!.matches('GET', '/other')).toBe(false);
  });

  it('the analytics_plugin block', () => {
    const spec = parseApiDefinition(fixture('classic-analytics-plugin.json'));
    expect(spec.plugins.analytics).toMatchObject({
      plugin: 'plugins/example-plugin.wasm',
      export: 'MaskAnalyticsData',
      failOpen: true,
    });
    expect(spec.detailedRecording).toBe(true);
    expect(spec.listenPath).toBe('/httpbin/');
  });

  it('the demo definitions `npm start` serves', async () => {
    const specs = await loadDefinitionsDir(DEMO_APIS_DIR);
    const keyless = specs.find((s) => s.id === 'demo-keyless')!;
    expect(keyless.plugins.pre.map((p) => p.plugin)).toEqual(['pre-enrich@1.0.0']);
    expect(keyless.endpoints[0]!.matches('GET', '/hello')).toBe(true);
    expect(keyless.plugins.analytics?.export).toBe('analytics_mask');
    const auth = specs.find((s) => s.id === 'demo-auth')!;
    expect(auth.auth.kind).toBe('plugin');
  });
});

describe('validation names the field and the rule', () => {
  const cases: [string, unknown, { field: string; rule: RegExp }][] = [
    ['not an object', [], { field: '', rule: /must be a JSON object/ }],
    [
      'missing api_id',
      { name: 'x', proxy: { listen_path: '/x', target_url: 'http://a' } },
      { field: 'api_id', rule: /is required/ },
    ],
    ['wrong type', minimal({ use_keyless: 'yes' }), { field: 'use_keyless', rule: /must be boolean/ }],
    [
      'bad target',
      minimal({ proxy: { listen_path: '/a', target_url: 'ftp://x/' } }),
      { field: 'proxy.target_url', rule: /absolute http\(s\) URL/ },
    ],
    [
      'relative target',
      minimal({ proxy: { listen_path: '/a', target_url: '/up' } }),
      { field: 'proxy.target_url', rule: /absolute http\(s\) URL/ },
    ],
    [
      'bad listen path',
      minimal({ proxy: { listen_path: '/a/%zz', target_url: 'http://x/' } }),
      { field: 'proxy.listen_path', rule: /not a valid path/ },
    ],
    [
      'driver',
      minimal({ custom_middleware: { driver: 'goplugin', pre: [{ name: 'f', path: 'p.so' }] } }),
      { field: 'custom_middleware.driver', rule: /must be "wasm" \(got "goplugin"\)/ },
    ],
    [
      'export name',
      minimal({ custom_middleware: { driver: 'wasm', pre: [{ name: 'bad-name', path: 'p@1' }] } }),
      { field: 'custom_middleware.pre[0].name', rule: /must name an export/ },
    ],
    [
      'missing path',
      minimal({ custom_middleware: { driver: 'wasm', post: [{ name: 'f' }] } }),
      { field: 'custom_middleware.post[0].path', rule: /is required/ },
    ],
    [
      'fail_open on pre',
      minimal({ custom_middleware: { driver: 'wasm', pre: [{ name: 'f', path: 'p@1', fail_open: true }] } }),
      { field: 'custom_middleware.pre[0].fail_open', rule: /only for post, response and analytics/ },
    ],
    [
      'coprocess without auth_check',
      minimal({ use_keyless: false, enable_coprocess_auth: true }),
      { field: 'custom_middleware.auth_check.name', rule: /is required when enable_coprocess_auth/ },
    ],
    [
      'keyless and coprocess',
      minimal({
        enable_coprocess_auth: true,
        custom_middleware: { driver: 'wasm', auth_check: { name: 'a', path: 'p@1' } },
      }),
      { field: 'use_keyless', rule: /cannot be true together/ },
    ],
    [
      'bad regex',
      minimal({
        use_keyless: false,
        enable_coprocess_auth: true,
        custom_middleware: {
          driver: 'wasm',
          auth_check: { name: 'a', path: 'p@1' },
          id_extractor: {
            extract_from: 'header',
            extract_with: 'regex',
            extractor_config: { header_name: 'X', regex_expression: '(' },
          },
        },
      }),
      {
        field: 'custom_middleware.id_extractor.extractor_config.regex_expression',
        rule: /not a valid regular expression/,
      },
    ],
    [
      'xpath extractor',
      minimal({
        use_keyless: false,
        enable_coprocess_auth: true,
        custom_middleware: {
          driver: 'wasm',
          auth_check: { name: 'a', path: 'p@1' },
          id_extractor: { extract_from: 'body', extract_with: 'xpath', extractor_config: { xpath_expression: '//id' } },
        },
      }),
      { field: 'custom_middleware.id_extractor.extract_with', rule: /xpath.*not supported/ },
    ],
    ['config_data type', minimal({ config_data: [1] }), { field: 'config_data', rule: /must be object/ }],
    [
      'go_plugin method',
      minimal({
        version_data: {
          versions: {
            Default: {
              extended_paths: { go_plugin: [{ path: '/x', method: 'G E T', func_name: 'f', plugin_path: 'p@1' }] },
            },
          },
        },
      }),
      { field: 'version_data.versions.Default.extended_paths.go_plugin[0].method', rule: /must match pattern/ },
    ],
    [
      'oas upstream',
      {
        openapi: '3.0.3',
        'x-tyk-api-gateway': {
          info: { name: 'n' },
          upstream: { url: 'nope' },
          server: { listenPath: { value: '/n/' } },
        },
      },
      { field: 'x-tyk-api-gateway.upstream.url', rule: /absolute http\(s\) URL/ },
    ],
    [
      'oas unknown operation',
      {
        openapi: '3.0.3',
        paths: {},
        'x-tyk-api-gateway': {
          info: { name: 'n' },
          upstream: { url: 'http://u/' },
          server: { listenPath: { value: '/n/' } },
          middleware: { operations: { nope: { postPlugins: [{ functionName: 'f', path: 'p@1' }] } } },
        },
      },
      { field: 'x-tyk-api-gateway.middleware.operations.nope', rule: /no path in "paths" declares/ },
    ],
    [
      'oas driver',
      {
        openapi: '3.0.3',
        'x-tyk-api-gateway': {
          info: { name: 'n' },
          upstream: { url: 'http://u/' },
          server: { listenPath: { value: '/n/' } },
          middleware: { global: { pluginConfig: { driver: 'grpc' } } },
        },
      },
      { field: 'x-tyk-api-gateway.middleware.global.pluginConfig.driver', rule: /must be "wasm"/ },
    ],
  ];
  for (const [name, doc, want] of cases) {
    it(name, () => {
      const problems = problemOf(doc);
      expect(
        problems.some((p) => p.field === want.field && want.rule.test(p.rule)),
        JSON.stringify(problems),
      ).toBe(true);
    });
  }

  it('reports every problem at once, and the message names them', () => {
    try {
      parseApiDefinition(minimal({ use_keyless: 1, name: 5 }), 'bad.json');
      expect.unreachable();
    } catch (err) {
      const e = err as ApiDefinitionError;
      expect(e.problems.map((p) => p.field).sort()).toEqual(['name', 'use_keyless']);
      expect(e.message).toMatch(/^bad\.json: /);
      expect(e.message).toContain('use_keyless: must be boolean');
    }
  });

  it('refuses huge config_data', () => {
    expect(problemOf(minimal({ config_data: { big: 'x'.repeat(70_000) } }))[0]!.field).toBe('config_data');
  });

  it('turns random and mutated documents into a spec or an ApiDefinitionError, nothing else', () => {
    const base = minimal();
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.dictionary(
            fc.constantFrom(
              'api_id',
              'name',
              'proxy',
              'use_keyless',
              'custom_middleware',
              'config_data',
              '__proto__',
              'version_data',
              'auth',
            ),
            fc.jsonValue(),
          ),
        ),
        (mutation) => {
          for (const doc of [
            mutation,
            { ...base, ...(typeof mutation === 'object' && mutation && !Array.isArray(mutation) ? mutation : {}) },
          ]) {
            try {
              parseApiDefinition(doc);
            } catch (err) {
              if (!(err instanceof ApiDefinitionError)) throw err;
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('normalisePath', () => {
  const table: [string, string][] = [
    ['/a/b', '/a/b'],
    ['/a//b/../c/', '/a/c/'],
    ['/../x', '/x'],
    ['/a/./b/.', '/a/b/'],
    ['/a/%2e%2e/b', '/b'],
    ['/a/%2E%2E', '/'],
    ['/%7Euser', '/~user'],
    ['/a%2Fb', '/a%2Fb'],
    ['/a%2fb/', '/a%2Fb/'],
    ['/trailing/', '/trailing/'],
    ['//', '/'],
    ['/', '/'],
    ['/caf%C3%A9', '/caf%C3%A9'],
  ];
  for (const [input, want] of table) it(`${input} → ${want}`, () => expect(normalisePath(input)).toBe(want));

  for (const bad of ['/a\0b', '/a%00', '/a\\b', '/a%5cb', '/a%zz', '/a%', 'relative', '', 'http://x/y']) {
    it(`refuses ${JSON.stringify(bad)}`, () => expect(() => normalisePath(bad)).toThrow(BadPathError));
  }

  it('is idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', 'b', '.', '..', '', '%2e', '%41', '%2F', '~'), { maxLength: 8 }),
        (parts) => {
          const once = normalisePath(`/${parts.join('/')}`);
          expect(normalisePath(once)).toBe(once);
          expect(once.split('/')).not.toContain('..');
        },
      ),
    );
  });
});

describe('endpoint patterns', () => {
  it('matches {param} wildcards one segment at a time', () => {
    const m = compileEndpointPattern('/users/{id}/orders');
    expect(m('/users/42/orders')).toBe(true);
    expect(m('/users/42/orders/')).toBe(true);
    expect(m('/users//orders')).toBe(false);
    expect(m('/users/42/43/orders')).toBe(false);
    expect(m('/users/42')).toBe(false);
    expect(compileEndpointPattern('/')('/')).toBe(true);
    expect(compileEndpointPattern('/')('/x')).toBe(false);
  });
});
