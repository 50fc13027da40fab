/**
 * The wasmgate under benchmark: one gateway process serving every scenario
 * on its own listen path, in front of the benchmark upstream.
 *   BENCH_PLUGINS_DIR=… node --import tsx bench/gateway-sut.ts UPSTREAM_PORT
 */
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createGateway, openStore } from '../gateway/app.ts';
import { parseApiDefinition } from '../gateway/config/load.ts';
import { createLogger } from '../gateway/log.ts';
import { hashKey } from '../gateway/sessions/credentials.ts';
import { loadSettings } from '../gateway/settings.ts';

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

// Built by the driver (bench/plugins.ts): this process only reads them.
const pluginsDir = process.env.BENCH_PLUGINS_DIR;
if (!pluginsDir) throw new Error('BENCH_PLUGINS_DIR is not set (bench/plugins.ts builds it)');
for (const file of await readdir(pluginsDir)) {
  if (file.endsWith('.wasm')) {
    await gateway.registry.register(file.slice(0, -5), '1.0.0', await readFile(join(pluginsDir, file)));
  }
}

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
/** The same plugin export on pre, post-auth and post, and `response` (if any) on the response hook. */
const requestHooks = (name: string, path: string, response?: ReturnType<typeof p>) =>
  mw({
    pre: [p(name, path)],
    post_key_auth: [p(name, path)],
    post: [p(name, path)],
    ...(response ? { response: [response] } : {}),
  });

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
  { ...api('hooks4-wat'), ...requestHooks('run', 'trivial@1.0.0', p('stamp', 'probe@1.0.0')) },
  { ...api('wat1'), ...mw({ pre: [p('run', 'trivial@1.0.0')] }) },
  // The host's own cost per hook: four calls of a minimal WAT export that reads nothing and answers nothing.
  { ...api('hooks4-noop'), ...requestHooks('ok', 'trivial@1.0.0', p('ok', 'trivial@1.0.0')) },
  { ...api('wat3'), ...requestHooks('run', 'trivial@1.0.0') },
  { ...api('kit-response'), ...mw({ response: [p('stamp', 'probe@1.0.0')] }) },
  { ...api('kit-post'), ...mw({ post: [p('stamp', 'probe@1.0.0')] }) },
  // One call that reads and answers nothing, before the upstream and after it (bench/profile.ts pairs).
  { ...api('noop1'), ...mw({ pre: [p('ok', 'trivial@1.0.0')] }) },
  { ...api('noop-response'), ...mw({ response: [p('ok', 'trivial@1.0.0')] }) },
  { ...api('wat-response'), ...mw({ response: [p('run', 'trivial-response@1.0.0')] }) },
  { ...api('wat-response-read'), ...mw({ response: [p('read', 'trivial-response@1.0.0')] }) },
  { ...api('wat-response-emit'), ...mw({ response: [p('emit', 'trivial-response@1.0.0')] }) },
  { ...api('kit-pre'), ...mw({ pre: [p('stamp', 'probe@1.0.0')] }) },
  { ...api('hooks4'), ...requestHooks('stamp', 'probe@1.0.0', p('stamp', 'probe@1.0.0')) },
  // The same four kit hooks, each reading a header first: the gateway writes every envelope.
  { ...api('hooks4-read'), ...requestHooks('copy_header', 'probe@1.0.0', p('copy_header', 'probe@1.0.0')) },
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
  // Aggregation: an endpoint plugin calling two 1 KB services (docs/outbound.md), by continuation (the kit's
  // aggregate example, in parallel) and by a stock Extism plugin's http_request (worker tier, in sequence);
  // each with services answering at once and in 20 ms.
  ...(['', '-20ms'] as const).flatMap((suffix) => {
    const q = suffix ? '&delay=20' : '';
    const endpoint = (plugin: string) => ({
      not_versioned: true,
      versions: {
        Default: {
          name: 'Default',
          extended_paths: {
            go_plugin: [{ path: '/summary', method: 'GET', func_name: 'aggregate', plugin_path: plugin }],
          },
        },
      },
    });
    const outbound = { outbound: { allow: [new URL(upstream).origin] } };
    const get = (url: string) => ({ url, method: 'GET', headers: { accept: 'application/json' } });
    return [
      {
        ...api(`aggregate${suffix}`),
        config_data: { users_url: `${upstream}kb?users${q}`, orders_url: `${upstream}kb?orders${q}` },
        wasmgate: outbound,
        version_data: endpoint('aggregate@1.0.0'),
      },
      {
        ...api(`aggregate-stock${suffix}`),
        config_data: { request: get(`${upstream}kb?users${q}`), request2: get(`${upstream}kb?orders${q}`) },
        wasmgate: outbound,
        version_data: endpoint('http-stock@1.0.0'),
      },
    ];
  }),
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
// The soak test (bench/soak.ts) asks over IPC for the resident memory and for plugin swaps:
// each swap uploads a new version of the all-hooks API's pre plugin and reloads every API.
let swaps = 0;
// The event loop's delay, for scenarios that must not stall it (bench/run.ts resets and reads it).
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
process.on('message', async (m: { type?: string }) => {
  if (m?.type === 'rss') process.send?.({ type: 'rss', rss: process.memoryUsage().rss });
  if (m?.type === 'loop-reset') {
    loopDelay.reset();
    process.send?.({ type: 'loop-reset' });
  }
  if (m?.type === 'loop') {
    process.send?.({ type: 'loop', p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 });
  }
  if (m?.type === 'swap') {
    const version = `1.1.${++swaps}`;
    await gateway.registry.register('pre-enrich', version, await readFile(join(pluginsDir, 'pre-enrich.wasm')));
    const next = JSON.parse(JSON.stringify(docs).replaceAll('pre-enrich@1.0.0', `pre-enrich@${version}`));
    gateway.swap(
      await gateway.load(
        next.map((d: unknown) => parseApiDefinition(d)),
        process.cwd(),
      ),
    );
    process.send?.({ type: 'swapped', version });
  }
});
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
