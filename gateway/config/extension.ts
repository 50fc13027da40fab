/**
 * wasmgate's own part of an API definition (Classic: top-level `wasmgate`;
 * OAS: top-level `x-wasmgate`): what the API's plugins may call
 * (`outbound`) and the upstreams a plugin may route a request to
 * (`upstream_targets`). See docs/outbound.md.
 *
 *   "wasmgate": {
 *     "outbound": { "allow": ["https://users.internal.example:8443"], "timeout_ms": 2000 },
 *     "upstream_targets": { "eu": "http://10.0.1.5:8080/api", "us": "http://10.0.2.5:8080/api" }
 *   }
 */
import type { Problems } from './common.ts';
import { targetUrl } from './common.ts';

export interface OutboundSpec {
  /** Allowed origins (`scheme://host:port`, normalised by URL). */
  readonly allow: ReadonlySet<string>;
  /** Per call, at most. */
  readonly timeoutMs: number;
  /** All the outbound calls of one hook call, together (every round). */
  readonly hookBudgetMs: number;
  readonly maxResponseBytes: number;
  /** Calls per request, over every plugin and round. */
  readonly maxCalls: number;
  /** Times one plugin call may ask for calls before giving its final result. */
  readonly maxRounds: number;
}

export interface ExtensionSpec {
  readonly outbound: OutboundSpec | null;
  readonly upstreamTargets: ReadonlyMap<string, URL>;
}

export const OUTBOUND_DEFAULTS = {
  timeoutMs: 5_000,
  hookBudgetMs: 10_000,
  maxResponseBytes: 1024 * 1024,
  maxCalls: 8,
  maxRounds: 4,
} as const;

const ms = { type: 'integer', minimum: 1, maximum: 60_000 } as const;

export const extensionSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    outbound: {
      type: 'object',
      additionalProperties: false,
      required: ['allow'],
      properties: {
        allow: { type: 'array', maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 512 } },
        timeout_ms: ms,
        hook_budget_ms: ms,
        max_response_bytes: { type: 'integer', minimum: 1, maximum: 16 * 1024 * 1024 },
        max_calls: { type: 'integer', minimum: 1, maximum: 64 },
        max_rounds: { type: 'integer', minimum: 1, maximum: 16 },
      },
    },
    upstream_targets: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { pattern: '^[A-Za-z0-9_.-]{1,64}$' },
      additionalProperties: { type: 'string', minLength: 1, maxLength: 2048 },
    },
  },
} as const;

export interface RawExtension {
  outbound?: {
    allow: string[];
    timeout_ms?: number;
    hook_budget_ms?: number;
    max_response_bytes?: number;
    max_calls?: number;
    max_rounds?: number;
  };
  upstream_targets?: Record<string, string>;
}

/** `https://Example.com:443/` → `https://example.com`; null when it is not a bare http(s) origin. */
export function originOf(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return null;
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) {
    return null;
  }
  return url.origin;
}

const NONE: ExtensionSpec = Object.freeze({ outbound: null, upstreamTargets: new Map() });

export function compileExtension(p: Problems, field: string, raw: RawExtension | undefined): ExtensionSpec {
  if (!raw) return NONE;
  let outbound: OutboundSpec | null = null;
  if (raw.outbound) {
    const allow = new Set<string>();
    raw.outbound.allow.forEach((entry, i) => {
      const origin = originOf(entry);
      if (origin) allow.add(origin);
      else p.add(`${field}.outbound.allow[${i}]`, 'must be an http(s) origin: scheme://host[:port], nothing after it');
    });
    outbound = {
      allow,
      timeoutMs: raw.outbound.timeout_ms ?? OUTBOUND_DEFAULTS.timeoutMs,
      hookBudgetMs: raw.outbound.hook_budget_ms ?? OUTBOUND_DEFAULTS.hookBudgetMs,
      maxResponseBytes: raw.outbound.max_response_bytes ?? OUTBOUND_DEFAULTS.maxResponseBytes,
      maxCalls: raw.outbound.max_calls ?? OUTBOUND_DEFAULTS.maxCalls,
      maxRounds: raw.outbound.max_rounds ?? OUTBOUND_DEFAULTS.maxRounds,
    };
  }
  const upstreamTargets = new Map<string, URL>();
  for (const [name, url] of Object.entries(raw.upstream_targets ?? {})) {
    const target = targetUrl(p, `${field}.upstream_targets.${name}`, url);
    if (target) upstreamTargets.set(name, target);
  }
  return { outbound, upstreamTargets };
}
