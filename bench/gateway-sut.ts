/**
 * The wasmgate under benchmark: one gateway process serving every scenario
 * on its own listen path, in front of the benchmark upstream.
 *   node --import tsx bench/gateway-sut.ts UPSTREAM_PORT
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createGateway, openStore } from '../gateway/app.ts';
import { parseApiDefinition } from '../gateway/config/load.ts';
import { createLogger } from '../gateway/log.ts';
import { hashKey } from '../gateway/sessions/credentials.ts';
import { loadSettings } from '../gateway/settings.ts';
import { buildPlugin } from '../pdk/build.ts';
import { buildTsExamples } from '../test/harness/examples.ts';
import { wat } from '../test/harness/wat.ts';

const upstream = `http://127.0.0.1:${process.argv[2]}/`;
const settings = await loadSettings({
  env: {},
  overrides: {
    host: '127.0.0.1',
    port: 0,
    demo: false,
    dataDir: await mkdtemp(join(tmpdir(), 'wasmgate-bench-')),
    logLevel: 'error',
    // A second instance runs on Redis (bench/run.ts sets the URL) to compare the stores.
    redisUrl: process.env.BENCH_REDIS_URL ?? null,
    analytics: process.env.BENCH_ANALYTICS !== 'false',
  },
});
const logger = createLogger(settings.logLevel);
const store = await openStore(settings, logger);
const gateway = createGateway(settings, store, logger);

const examples = await buildTsExamples();
const register = async (name: string, file: string) => gateway.registry.register(name, '1.0.0', await readFile(file));
for (const [name, ex] of examples) await register(name, ex.wasm);
await register(
  'probe',
  (await buildPlugin(resolve(import.meta.dirname, '..', 'test', 'fixtures', 'plugins', 'probe'))).file,
);
await gateway.registry.register('trivial', '1.0.0', wat('result-fast'));

const api = (id: string, extra: Record<string, unknown> = {}) => ({
  api_id: id,
  org_id: 'bench',
  name: id,
  use_keyless: true,
  proxy: { listen_path: `/${id}/`, target_url: upstream, strip_listen_path: true },
  ...extra,
});
const mw = (m: Record<string, unknown>) => ({ custom_middleware: { driver: 'wasm', ...m } });
const p = (name: string, path: string, extra: Record<string, unknown> = {}) => ({ name, path, ...extra });
const tokens = { 'bench-token': 'bench-user' };

const docs = [
  api('passthrough'),
  api('key', { use_keyless: false }),
  {
    ...api('custom-auth', {
      use_keyless: false,
      enable_coprocess_auth: true,
      config_data: { tokens, rate: 1e9, per: 1, quota_max: -1, cache_seconds: 3600 },
    }),
    ...mw({
      auth_check: p('auth_token', 'auth-token@1.0.0'),
      id_extractor: {
        extract_from: 'header',
        extract_with: 'value',
        extractor_config: { header_name: 'Authorization' },
      },
    }),
  },
  {
    ...api('hooks4-wat'),
    ...mw({
      pre: [p('run', 'trivial@1.0.0')],
      post_key_auth: [p('run', 'trivial@1.0.0')],
      post: [p('run', 'trivial@1.0.0')],
      response: [p('stamp', 'probe@1.0.0')],
    }),
  },
  { ...api('wat1'), ...mw({ pre: [p('run', 'trivial@1.0.0')] }) },
  {
    ...api('wat3'),
    ...mw({
      pre: [p('run', 'trivial@1.0.0')],
      post_key_auth: [p('run', 'trivial@1.0.0')],
      post: [p('run', 'trivial@1.0.0')],
    }),
  },
  { ...api('kit-response'), ...mw({ response: [p('stamp', 'probe@1.0.0')] }) },
  { ...api('kit-pre'), ...mw({ pre: [p('stamp', 'probe@1.0.0')] }) },
  {
    ...api('hooks4'),
    ...mw({
      pre: [p('stamp', 'probe@1.0.0')],
      post_key_auth: [p('stamp', 'probe@1.0.0')],
      post: [p('stamp', 'probe@1.0.0')],
      response: [p('stamp', 'probe@1.0.0')],
    }),
  },
  {
    ...api('all-hooks', {
      config_data: { internal_url: 'http://internal', external_url: 'http://external' },
      enable_detailed_recording: true,
    }),
    ...mw({
      pre: [p('pre_enrich', 'pre-enrich@1.0.0')],
      post_key_auth: [p('post_auth_stamp', 'post-auth-stamp@1.0.0')],
      post: [p('post_last', 'post-last@1.0.0')],
      response: [p('response_rewrite', 'response-rewrite@1.0.0')],
    }),
    analytics_plugin: { enable: true, func_name: 'analytics_mask', plugin_path: 'analytics-mask@1.0.0' },
  },
  { ...api('body10k'), ...mw({ pre: [p('rewrite_body', 'probe@1.0.0', { needs_body: true })] }) },
  {
    ...api('endpoint'),
    version_data: {
      not_versioned: true,
      versions: {
        Default: {
          name: 'Default',
          extended_paths: {
            go_plugin: [
              { path: '/hello', method: 'GET', func_name: 'endpoint_hello', plugin_path: 'endpoint-hello@1.0.0' },
            ],
          },
        },
      },
    },
  },
];
gateway.swap(
  await gateway.load(
    docs.map((d) => parseApiDefinition(d)),
    process.cwd(),
  ),
);
// A built-in key for the `key` scenario, unlimited.
await store.putSession(hashKey('bench-key'), { rate: 1e9, per: 1, quota_max: -1 }, 0);
const { port } = await gateway.listen();
process.send?.({ port });
if (!process.send) console.log(port);
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
