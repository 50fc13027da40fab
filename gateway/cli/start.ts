/**
 * `wasmgate start`: runs the gateway. With no configuration it serves the
 * demo: a built-in upstream, the example APIs and the TypeScript example
 * plugins at every hook. SIGTERM/SIGINT stop accepting, let requests in
 * flight finish, then exit 0.
 */
import { existsSync } from 'node:fs';
import { startApp } from '../app.ts';
import { createLogger } from '../log.ts';
import { DEFAULT_SETTINGS, ENV_VARS, loadSettings, type Settings, SettingsError } from '../settings.ts';
import type { CommandSpec, Parsed } from './args.ts';

const envHelp = Object.entries(ENV_VARS)
  .map(([name, { key }]) => `  ${name.padEnd(30)} ${key}`)
  .join('\n');

export const startSpec: CommandSpec = {
  usage: 'wasmgate start [--config wasmgate.json] [flags]',
  description: `Runs the gateway. Settings come from defaults, then the config file (wasmgate.json in the working directory when present, or --config), then environment variables, then flags.

environment variables:
${envHelp}
  WASMGATE_LIMIT_<NAME>          a runtime limit, e.g. WASMGATE_LIMIT_FUEL_PER_CALL=100000000
  NODE_ENV=production            same as --production`,
  positionals: [],
  flags: {
    config: { type: 'string', description: 'settings file (JSON)' },
    port: { type: 'number', description: 'proxy port', default: DEFAULT_SETTINGS.port },
    host: { type: 'string', description: 'proxy listen address', default: DEFAULT_SETTINGS.host },
    'admin-port': { type: 'number', description: 'admin API port', default: DEFAULT_SETTINGS.adminPort },
    'data-dir': {
      type: 'string',
      description: 'data directory of the embedded store',
      default: DEFAULT_SETTINGS.dataDir,
    },
    'apis-dir': {
      type: 'string',
      description: 'directory of API definition JSON files (Tyk Classic or OAS) loaded at start',
    },
    demo: {
      type: 'boolean',
      description: 'run the demo upstream, example APIs and example plugins (--demo=false to turn off)',
      default: DEFAULT_SETTINGS.demo,
    },
    'demo-upstream-port': {
      type: 'number',
      description: 'port of the demo upstream',
      default: DEFAULT_SETTINGS.demoUpstreamPort,
    },
    production: {
      type: 'boolean',
      description: 'production mode (the admin secret must be configured)',
      default: false,
    },
    'log-level': {
      type: 'string',
      description: 'fatal|error|warn|info|debug|trace|silent',
      default: DEFAULT_SETTINGS.logLevel,
    },
  },
};

/** Flags the user actually passed override everything; defaults do not override the file or env. */
function overridesFrom(args: Parsed, argv: readonly string[]): Partial<Settings> {
  const given = (flag: string) => argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`));
  const out: Partial<Settings> = {};
  const map: [string, keyof Settings][] = [
    ['port', 'port'],
    ['host', 'host'],
    ['admin-port', 'adminPort'],
    ['data-dir', 'dataDir'],
    ['apis-dir', 'apisDir'],
    ['demo', 'demo'],
    ['demo-upstream-port', 'demoUpstreamPort'],
    ['production', 'production'],
    ['log-level', 'logLevel'],
  ];
  for (const [flag, key] of map) if (given(flag)) (out as Record<string, unknown>)[key] = args.flags[flag];
  return out;
}

export async function start(
  args: Parsed,
  out: (line: string) => void,
  argv: readonly string[] = process.argv,
): Promise<number> {
  let settings: Readonly<Settings>;
  try {
    const configFile =
      (args.flags.config as string | undefined) ?? (existsSync('wasmgate.json') ? 'wasmgate.json' : null);
    settings = await loadSettings({ configFile, overrides: overridesFrom(args, argv) });
  } catch (err) {
    if (err instanceof SettingsError) {
      process.stderr.write(`wasmgate start: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(settings.logLevel);
  let app: Awaited<ReturnType<typeof startApp>>;
  try {
    app = await startApp(settings, log);
  } catch (err) {
    log.fatal({ err: (err as Error).message }, 'the gateway could not start');
    process.stderr.write(`wasmgate start: ${(err as Error).message}\n`);
    return 1;
  }
  const apis = app.gateway.apis();
  const base = `http://localhost:${app.port}`;
  out(`wasmgate listening on ${base} (${apis.length} API${apis.length === 1 ? '' : 's'})`);
  out(`admin API on http://${app.gateway.settings.adminHost}:${app.adminPort}/tyk/ (header x-tyk-authorization)`);
  if (app.generatedSecret)
    out(`admin secret (generated for this run; set WASMGATE_ADMIN_SECRET to keep one): ${app.generatedSecret}`);
  if (apis.length === 0)
    out('no APIs yet: pass --apis-dir DIR with Tyk API definitions, or run with the demo (the default)');
  for (const api of apis) out(`  ${api.spec.listenPath.padEnd(14)} ${api.name}`);
  if (app.demoUpstreamPort !== null) {
    out('try:');
    out(`  curl -i ${base}/demo/anything?x=1                     # pre, post-auth, post and response plugins`);
    out(`  curl -i ${base}/demo/hello?name=Zo%C3%AB              # a per-endpoint plugin answering by itself`);
    out(
      `  curl -i ${base}/demo/redirect                         # response plugin rewrites Location, adds two Set-Cookie`,
    );
    out(`  curl -i -H 'Authorization: Bearer demo-token' ${base}/secure/anything   # custom auth plugin`);
    out(`  curl -i ${base}/secure/anything                       # no credential: 401 (the ID extractor finds none)`);
  }
  return await new Promise<number>((resolveExit) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping: draining requests in flight');
      app.close().then(
        () => resolveExit(0),
        (err) => {
          log.error({ err: (err as Error).message }, 'error while stopping');
          resolveExit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
}
