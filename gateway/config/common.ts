/**
 * Pieces both definition formats share: plugin entries, the ID extractor,
 * upstream URLs and listen paths, endpoint rules — each checked with a
 * problem that names the field.
 */
import type { EndpointRule, IdExtractorSpec, PluginRef } from './api-spec.ts';
import type { DefinitionProblem } from './errors.ts';
import { BadPathError, compileEndpointPattern, normaliseListenPath } from './paths.ts';

export const EXPORT_NAME = '^[A-Za-z_][A-Za-z0-9_]{0,127}$';
export const HEADER_TOKEN = "^[!#$%&'*+\\-.^_`|~0-9A-Za-z]{1,256}$";
/** Largest `config_data` (as JSON) — it travels in every plugin call's envelope. */
export const MAX_CONFIG_BYTES = 64 * 1024;

export const HOOKS_ALLOWING_FAIL_OPEN = new Set(['post', 'response', 'analytics']);

export class Problems {
  readonly list: DefinitionProblem[] = [];
  add(field: string, rule: string): void {
    this.list.push({ field, rule });
  }
}

export interface RawPluginEntry {
  name?: string;
  path?: string;
  needs_body?: boolean;
  fail_open?: boolean;
}

/** A plugin entry of either format → PluginRef; null (with problems added) when it cannot be one. */
export function pluginRef(
  p: Problems,
  origin: string,
  hook: string,
  entry: { exportName: string | undefined; path: string | undefined; needsBody?: boolean; failOpen?: boolean },
  bundle: string | null,
): PluginRef | null {
  let ok = true;
  const exportName = entry.exportName ?? '';
  if (!new RegExp(EXPORT_NAME).test(exportName)) {
    p.add(
      `${origin}.${hook === 'classic-endpoint' ? 'func_name' : 'name'}`,
      'must name an export: a letter or _ then letters, digits or _ (at most 128)',
    );
    ok = false;
  }
  const path = entry.path && entry.path.length > 0 ? entry.path : bundle;
  if (!path) {
    p.add(
      `${origin}.path`,
      'is required (the uploaded plugin, as name@version, name or file.wasm) unless the API names a bundle',
    );
    ok = false;
  }
  if (entry.failOpen && !HOOKS_ALLOWING_FAIL_OPEN.has(hook)) {
    p.add(`${origin}.fail_open`, `is allowed only for post, response and analytics plugins, not ${hook}`);
    ok = false;
  }
  if (!ok) return null;
  return {
    plugin: path!,
    export: exportName,
    needsBody: entry.needsBody === true,
    failOpen: entry.failOpen === true,
    origin,
  };
}

export function targetUrl(p: Problems, field: string, value: string | undefined): URL | null {
  if (!value) {
    p.add(field, 'is required');
    return null;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    p.add(field, 'must be an absolute http(s) URL');
    return null;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    p.add(field, `must be an absolute http(s) URL (got scheme "${url.protocol.slice(0, -1)}")`);
    return null;
  }
  if (url.username || url.password) {
    p.add(field, 'must not carry credentials');
    return null;
  }
  if (url.search || url.hash) {
    p.add(field, 'must not have a query or fragment');
    return null;
  }
  return url;
}

export function listenPath(p: Problems, field: string, value: string | undefined): string | null {
  if (value === undefined || value === '') {
    p.add(field, 'is required');
    return null;
  }
  try {
    return normaliseListenPath(value);
  } catch (err) {
    if (err instanceof BadPathError) {
      p.add(field, `is not a valid path: ${err.message.replace('the request path', 'the path')}`);
      return null;
    }
    throw err;
  }
}

export function idExtractor(
  p: Problems,
  field: string,
  raw:
    | { from?: string; with?: string; name?: string; regex?: string; regexMatchIndex?: number; xpath?: string }
    | undefined,
  defaultHeader: string,
): IdExtractorSpec | null {
  if (!raw) return null;
  const from = raw.from ?? 'header';
  const how = raw.with ?? 'value';
  if (from !== 'header' && from !== 'form' && from !== 'body') {
    p.add(`${field}.extract_from`, 'must be one of "header", "form", "body"');
    return null;
  }
  if (how !== 'value' && how !== 'regex' && how !== 'xpath') {
    p.add(`${field}.extract_with`, 'must be one of "value", "regex", "xpath"');
    return null;
  }
  if (how === 'xpath') {
    p.add(`${field}.extract_with`, '"xpath" is not supported by wasmgate; use "value" or "regex"');
    return null;
  }
  if (how === 'regex') {
    if (!raw.regex) {
      p.add(`${field}.extractor_config.regex_expression`, 'is required when extract_with is "regex"');
      return null;
    }
    try {
      new RegExp(raw.regex);
    } catch {
      p.add(`${field}.extractor_config.regex_expression`, 'is not a valid regular expression');
      return null;
    }
  }
  if (from === 'form' && !raw.name) {
    p.add(`${field}.extractor_config.param_name`, 'is required when extract_from is "form"');
    return null;
  }
  return Object.freeze({
    from,
    with: how,
    name: raw.name ?? defaultHeader,
    ...(raw.regex !== undefined ? { regex: raw.regex } : {}),
    ...(raw.regexMatchIndex !== undefined ? { regexMatchIndex: raw.regexMatchIndex } : {}),
    ...(raw.xpath !== undefined ? { xpath: raw.xpath } : {}),
  });
}

export function endpointRule(method: string, path: string, plugins: readonly PluginRef[]): EndpointRule {
  const m = method.toUpperCase();
  const any = m === 'ANY' || m === '*';
  const matchPath = compileEndpointPattern(path);
  return Object.freeze({
    method: any ? '*' : m,
    path,
    plugins: Object.freeze([...plugins]),
    matches: (reqMethod: string, reqPath: string) => (any || reqMethod === m) && matchPath(reqPath),
  });
}

export function configData(p: Problems, field: string, value: unknown): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    p.add(field, 'must be an object');
    return {};
  }
  const size = Buffer.byteLength(JSON.stringify(value));
  if (size > MAX_CONFIG_BYTES)
    p.add(field, `is ${size} bytes; at most ${MAX_CONFIG_BYTES} (it is sent with every plugin call)`);
  return value as Record<string, unknown>;
}

export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value as object)) deepFreeze(v);
  }
  return value;
}
