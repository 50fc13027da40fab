/**
 * Gateway settings: defaults, then `wasmgate.json` (or --config), then
 * WASMGATE_* environment variables, then command-line flags. Validated once
 * with errors that name the setting, then frozen.
 */
import { readFile } from 'node:fs/promises';
import { Ajv } from 'ajv';
import { DEFAULT_LIMITS, type RuntimeLimits } from '../runtime/index.ts';

export interface Settings {
  /** Proxy listener. */
  host: string;
  port: number;
  /** Admin API listener (loopback by default). */
  adminHost: string;
  adminPort: number;
  /** Where API definitions, plugins and analytics are kept on the embedded store. */
  dataDir: string;
  /** Extra directory of API definition JSON files loaded at start. */
  apisDir: string | null;
  /** Start the built-in demo upstream and example APIs. */
  demo: boolean;
  demoUpstreamPort: number;
  production: boolean;
  adminSecret: string | null;
  /**
   * Public key (PEM text, or a PEM file's path; ed25519 or RSA) that plugin
   * bundles must be signed with. Set, it makes signatures mandatory.
   */
  bundlePublicKey: string | null;
  redisUrl: string | null;
  redisClusterNodes: string[];
  /** Largest request body buffered for plugins, in bytes (413 above). */
  maxBodyBytes: number;
  /** Largest upstream response body buffered for response plugins. */
  maxResponseBodyBytes: number;
  /** Peers whose X-Forwarded-For is believed. */
  trustedProxies: string[];
  upstreamConnectTimeoutMs: number;
  upstreamTimeoutMs: number;
  upstreamConnections: number;
  /** Socket limits against slow clients. */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  maxHeaderBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Record one analytics record per request (to Redis, or JSON lines in the data directory). */
  analytics: boolean;
  /** Records held while the sink is slow or down; beyond it records are dropped and counted. */
  analyticsBufferRecords: number;
  limits: RuntimeLimits;
}

export const DEFAULT_SETTINGS: Readonly<Omit<Settings, 'limits'>> & { limits: Readonly<RuntimeLimits> } = {
  host: '0.0.0.0',
  port: 8080,
  adminHost: '127.0.0.1',
  adminPort: 9090,
  dataDir: '.data',
  apisDir: null,
  demo: true,
  demoUpstreamPort: 8089,
  production: false,
  adminSecret: null,
  bundlePublicKey: null,
  redisUrl: null,
  redisClusterNodes: [],
  maxBodyBytes: 4 * 1024 * 1024,
  maxResponseBodyBytes: 8 * 1024 * 1024,
  trustedProxies: [],
  upstreamConnectTimeoutMs: 5_000,
  upstreamTimeoutMs: 30_000,
  upstreamConnections: 128,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 5_000,
  maxHeaderBytes: 16 * 1024,
  logLevel: 'info',
  analytics: true,
  analyticsBufferRecords: 100_000,
  limits: DEFAULT_LIMITS,
};

const port = { type: 'integer', minimum: 0, maximum: 65535 } as const;
const ms = { type: 'integer', minimum: 1, maximum: 3_600_000 } as const;
const bytes = { type: 'integer', minimum: 1, maximum: 1024 * 1024 * 1024 } as const;

const limitProps = Object.fromEntries(Object.keys(DEFAULT_LIMITS).map((k) => [k, { type: 'integer', minimum: 0 }]));

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port,
    adminHost: { type: 'string', minLength: 1 },
    adminPort: port,
    dataDir: { type: 'string', minLength: 1 },
    apisDir: { type: ['string', 'null'] },
    demo: { type: 'boolean' },
    demoUpstreamPort: port,
    production: { type: 'boolean' },
    adminSecret: { type: ['string', 'null'], minLength: 16 },
    bundlePublicKey: { type: ['string', 'null'], minLength: 1 },
    redisUrl: { type: ['string', 'null'], pattern: '^rediss?://' },
    redisClusterNodes: { type: 'array', items: { type: 'string', pattern: '^[^:\\s]+:\\d+$' } },
    maxBodyBytes: bytes,
    maxResponseBodyBytes: bytes,
    trustedProxies: { type: 'array', items: { type: 'string' } },
    upstreamConnectTimeoutMs: ms,
    upstreamTimeoutMs: ms,
    upstreamConnections: { type: 'integer', minimum: 1, maximum: 10_000 },
    headersTimeoutMs: ms,
    requestTimeoutMs: ms,
    keepAliveTimeoutMs: ms,
    maxHeaderBytes: { type: 'integer', minimum: 1024, maximum: 1024 * 1024 },
    logLevel: { enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] },
    analytics: { type: 'boolean' },
    analyticsBufferRecords: { type: 'integer', minimum: 1, maximum: 10_000_000 },
    limits: { type: 'object', additionalProperties: false, properties: limitProps },
  },
} as const;

const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** Environment variables and the setting each one sets. */
export const ENV_VARS: Record<string, { key: keyof Settings; type: 'string' | 'number' | 'boolean' | 'list' }> = {
  WASMGATE_HOST: { key: 'host', type: 'string' },
  WASMGATE_PORT: { key: 'port', type: 'number' },
  WASMGATE_ADMIN_HOST: { key: 'adminHost', type: 'string' },
  WASMGATE_ADMIN_PORT: { key: 'adminPort', type: 'number' },
  WASMGATE_DATA_DIR: { key: 'dataDir', type: 'string' },
  WASMGATE_APIS_DIR: { key: 'apisDir', type: 'string' },
  WASMGATE_DEMO: { key: 'demo', type: 'boolean' },
  WASMGATE_ADMIN_SECRET: { key: 'adminSecret', type: 'string' },
  WASMGATE_BUNDLE_PUBLIC_KEY: { key: 'bundlePublicKey', type: 'string' },
  WASMGATE_MAX_BODY_BYTES: { key: 'maxBodyBytes', type: 'number' },
  WASMGATE_TRUSTED_PROXIES: { key: 'trustedProxies', type: 'list' },
  WASMGATE_UPSTREAM_TIMEOUT_MS: { key: 'upstreamTimeoutMs', type: 'number' },
  WASMGATE_LOG_LEVEL: { key: 'logLevel', type: 'string' },
  WASMGATE_ANALYTICS: { key: 'analytics', type: 'boolean' },
  REDIS_URL: { key: 'redisUrl', type: 'string' },
  REDIS_CLUSTER_NODES: { key: 'redisClusterNodes', type: 'list' },
};

export class SettingsError extends Error {}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, { key, type }] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (type === 'number') {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new SettingsError(`${name} must be an integer, got "${raw}"`);
      out[key] = n;
    } else if (type === 'boolean') {
      if (!/^(1|0|true|false)$/.test(raw)) throw new SettingsError(`${name} must be true or false, got "${raw}"`);
      out[key] = raw === '1' || raw === 'true';
    } else if (type === 'list') {
      out[key] = raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    } else {
      out[key] = raw;
    }
  }
  if (env.NODE_ENV === 'production') out.production = true;
  for (const [name, raw] of Object.entries(env)) {
    const m = /^WASMGATE_LIMIT_([A-Z_]+)$/.exec(name);
    if (!m || raw === undefined) continue;
    const key = m[1]!.toLowerCase().replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    if (!(key in DEFAULT_LIMITS))
      throw new SettingsError(`${name} names no limit (known: ${Object.keys(DEFAULT_LIMITS).join(', ')})`);
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) throw new SettingsError(`${name} must be a non-negative integer, got "${raw}"`);
    ((out.limits ??= {}) as Record<string, number>)[key] = n;
  }
  return out;
}

export async function loadSettings(opts: {
  configFile?: string | null;
  env?: NodeJS.ProcessEnv;
  /** Wins over everything; `limits` are merged one by one over the defaults. */
  overrides?: Partial<Omit<Settings, 'limits'>> & { limits?: Partial<RuntimeLimits> };
}): Promise<Readonly<Settings>> {
  let fileValues: Record<string, unknown> = {};
  if (opts.configFile) {
    let text: string;
    try {
      text = await readFile(opts.configFile, 'utf8');
    } catch {
      throw new SettingsError(`cannot read config file ${opts.configFile}`);
    }
    try {
      fileValues = JSON.parse(text);
    } catch (err) {
      throw new SettingsError(`config file ${opts.configFile} is not valid JSON: ${(err as Error).message}`);
    }
    if (!validate(fileValues)) throw new SettingsError(`config file ${opts.configFile}: ${describe(validate.errors)}`);
  }
  const envValues = fromEnv(opts.env ?? process.env);
  const merged = {
    ...DEFAULT_SETTINGS,
    ...fileValues,
    ...envValues,
    ...opts.overrides,
    limits: {
      ...DEFAULT_SETTINGS.limits,
      ...((fileValues.limits as object) ?? {}),
      ...((envValues.limits as object) ?? {}),
      ...(opts.overrides?.limits ?? {}),
    },
  };
  if (!validate(merged)) throw new SettingsError(`settings: ${describe(validate.errors)}`);
  return Object.freeze(merged as Settings);
}

function describe(errors: typeof validate.errors): string {
  return (errors ?? [])
    .map((e) => {
      const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
      if (e.keyword === 'additionalProperties')
        return `unknown setting "${(e.params as { additionalProperty: string }).additionalProperty}"${path === '(root)' ? '' : ` in ${path}`}`;
      return `${path} ${e.message}`;
    })
    .join('; ');
}
