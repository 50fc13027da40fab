/**
 * The one internal form of an API definition. Tyk Classic and Tyk OAS
 * documents are validated (gateway/config/classic.ts, oas.ts) and compiled
 * into this shape, then frozen; nothing downstream reads the raw document.
 */

import type { OutboundSpec } from './extension.ts';

/** A plugin entry of a definition: which uploaded plugin, which export. */
export interface PluginRef {
  /** `name@version`, `name` (newest version) or a `.wasm` path relative to the definitions directory. */
  readonly plugin: string;
  /** The export called (Tyk's `name` / `func_name` / `functionName`). */
  readonly export: string;
  /** The plugin receives the request body (`needs_body` / `raw_body_only` false); the gateway buffers it. */
  readonly needsBody: boolean;
  /** On failure the request goes on unchanged (allowed for post, response and analytics only). */
  readonly failOpen: boolean;
  /** The JSON path of the entry in the document, for error messages: `custom_middleware.pre[0]`. */
  readonly origin: string;
}

/** Tyk's ID extractor: where the credential that keys the session cache comes from. */
export interface IdExtractorSpec {
  readonly from: 'header' | 'form' | 'body';
  readonly with: 'value' | 'regex' | 'xpath';
  /** Header name for `header`, form field for `form`; unused for `body`. */
  readonly name: string;
  readonly regex?: string;
  readonly regexMatchIndex?: number;
  readonly xpath?: string;
}

export type AuthSpec =
  | { readonly kind: 'keyless' }
  | {
      readonly kind: 'key';
      /** Header carrying the key, lowercase (default `authorization`). */
      readonly headerName: string;
      /** Also accept the key from this query parameter (Tyk `use_param`); null when off. */
      readonly paramName: string | null;
      /** Also accept the key from this cookie (Tyk `use_cookie`); null when off. */
      readonly cookieName: string | null;
    }
  | {
      readonly kind: 'plugin';
      readonly plugin: PluginRef;
      /** Header the plugin reads its credential from, lowercase (for analytics `api_key`). */
      readonly headerName: string;
      readonly idExtractor: IdExtractorSpec | null;
    };

/** A per-endpoint rule: method + path pattern (`{param}` wildcards) → plugins in order. */
export interface EndpointRule {
  readonly method: string;
  /** The pattern as written (`/users/{id}`), relative to the listen path. */
  readonly path: string;
  readonly plugins: readonly PluginRef[];
  /** True when the method matches and the (normalised, listen-path-stripped) path matches the pattern. */
  matches(method: string, path: string): boolean;
}

export interface ApiSpec {
  readonly format: 'classic' | 'oas';
  readonly id: string;
  readonly orgId: string;
  readonly name: string;
  readonly active: boolean;
  /** Normalised, starts and ends with `/` (e.g. `/demo/`), or `/`. */
  readonly listenPath: string;
  readonly stripListenPath: boolean;
  /** Absolute http(s) URL of the upstream. */
  readonly targetUrl: URL;
  readonly auth: AuthSpec;
  readonly plugins: {
    readonly pre: readonly PluginRef[];
    readonly postAuth: readonly PluginRef[];
    readonly post: readonly PluginRef[];
    readonly response: readonly PluginRef[];
    readonly analytics: PluginRef | null;
  };
  readonly endpoints: readonly EndpointRule[];
  readonly configData: Record<string, unknown>;
  readonly detailedRecording: boolean;
  /** Tags recorded with analytics. */
  readonly tags: readonly string[];
  /** Upstream timeout for this API in ms (`proxy.timeout` / `upstream.timeout`), null = the gateway default. */
  readonly upstreamTimeoutMs: number | null;
  /** What the API's plugins may call (`wasmgate.outbound`); null: no outbound calls. */
  readonly outbound: OutboundSpec | null;
  /** Upstreams a plugin may route a request to, by name (`wasmgate.upstream_targets`). */
  readonly upstreamTargets: ReadonlyMap<string, URL>;
  /** The validated document as received, frozen (the admin API returns it). */
  readonly document: Readonly<Record<string, unknown>>;
}
