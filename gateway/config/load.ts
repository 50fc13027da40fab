/**
 * Loading API definitions: one document (either format, detected), or a
 * directory of `*.json` files. The result is validated, compiled to the one
 * internal form and deep-frozen.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ApiSpec } from './api-spec.ts';
import { type CompileOptions, compileClassic } from './classic.ts';
import { deepFreeze } from './common.ts';
import { ApiDefinitionError } from './errors.ts';
import { compileOas } from './oas.ts';

export function isOas(doc: unknown): boolean {
  return typeof doc === 'object' && doc !== null && 'openapi' in doc && 'x-tyk-api-gateway' in doc;
}

export function parseApiDefinition(doc: unknown, origin?: string, opts: Omit<CompileOptions, 'origin'> = {}): ApiSpec {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ApiDefinitionError(
      [{ field: '', rule: 'must be a JSON object (a Tyk Classic or Tyk OAS API definition)' }],
      origin,
    );
  }
  const spec = isOas(doc) ? compileOas(doc, { origin }) : compileClassic(doc, { ...opts, origin });
  return deepFreeze(spec);
}

/** Parses JSON text first, with an error that says where the JSON breaks. */
export function parseApiDefinitionText(
  text: string,
  origin?: string,
  opts: Omit<CompileOptions, 'origin'> = {},
): ApiSpec {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ApiDefinitionError([{ field: '', rule: `is not valid JSON (${(err as Error).message})` }], origin);
  }
  return parseApiDefinition(doc, origin, opts);
}

/** Every `*.json` in `dir`, sorted by file name; duplicate ids or listen paths are errors naming both files. */
export async function loadDefinitionsDir(dir: string, opts: Omit<CompileOptions, 'origin'> = {}): Promise<ApiSpec[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.json')).sort();
  const specs: ApiSpec[] = [];
  const byId = new Map<string, string>();
  const byPath = new Map<string, string>();
  for (const file of files) {
    const spec = parseApiDefinitionText(await readFile(join(dir, file), 'utf8'), file, opts);
    const idClash = byId.get(spec.id);
    if (idClash)
      throw new ApiDefinitionError([{ field: 'api_id', rule: `"${spec.id}" is also the id of ${idClash}` }], file);
    const pathClash = byPath.get(spec.listenPath);
    if (pathClash)
      throw new ApiDefinitionError(
        [{ field: 'proxy.listen_path', rule: `${spec.listenPath} is also the listen path of ${pathClash}` }],
        file,
      );
    byId.set(spec.id, file);
    byPath.set(spec.listenPath, file);
    specs.push(spec);
  }
  return specs;
}
