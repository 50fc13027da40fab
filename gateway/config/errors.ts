/**
 * What is wrong with an API definition: every problem found, each naming
 * the field (a dotted JSON path) and the rule it breaks.
 */
import type { ErrorObject } from 'ajv';

export interface DefinitionProblem {
  /** Dotted path of the field, e.g. `proxy.listen_path` or `custom_middleware.pre[0].name`. */
  field: string;
  rule: string;
}

export class ApiDefinitionError extends Error {
  readonly status = 400;
  readonly code = 'INVALID_API_DEFINITION';

  constructor(
    readonly problems: DefinitionProblem[],
    readonly origin?: string,
  ) {
    super(`${origin ? `${origin}: ` : ''}${problems.map((p) => `${p.field || '(document)'}: ${p.rule}`).join('; ')}`);
    this.name = 'ApiDefinitionError';
  }

  get field(): string {
    return this.problems[0]?.field ?? '';
  }

  get rule(): string {
    return this.problems[0]?.rule ?? '';
  }
}

/** `/custom_middleware/pre/0/name` → `custom_middleware.pre[0].name`. */
export function dotted(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, part) => (/^\d+$/.test(part) ? `${acc}[${part}]` : acc ? `${acc}.${part}` : part), '');
}

export function fromAjv(errors: ErrorObject[] | null | undefined, prefix = ''): DefinitionProblem[] {
  const out: DefinitionProblem[] = [];
  const seen = new Set<string>();
  for (const e of errors ?? []) {
    let field = dotted(e.instancePath);
    let rule = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      const missing = (e.params as { missingProperty: string }).missingProperty;
      field = field ? `${field}.${missing}` : missing;
      rule = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      const extra = (e.params as { additionalProperty: string }).additionalProperty;
      field = field ? `${field}.${extra}` : extra;
      rule = 'is not a known field';
    } else if (e.keyword === 'type') {
      rule = `must be ${(e.params as { type: string }).type}`;
    } else if (e.keyword === 'enum') {
      rule = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    }
    const full = prefix && field ? `${prefix}.${field}` : prefix || field;
    const key = `${full}\0${rule}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ field: full, rule });
  }
  return out;
}
