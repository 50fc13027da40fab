/**
 * A small, strict argument parser: every flag is declared, unknown flags are
 * errors naming the flag, and `--help` prints the command's usage.
 */
export interface FlagSpec {
  type: 'string' | 'number' | 'boolean';
  description: string;
  default?: string | number | boolean;
}

export interface CommandSpec {
  usage: string;
  description: string;
  flags: Record<string, FlagSpec>;
  /** Exact positional argument names, in order. */
  positionals: string[];
}

export class UsageError extends Error {}

export interface Parsed {
  flags: Record<string, string | number | boolean | undefined>;
  positionals: string[];
  help: boolean;
}

export function parseArgs(spec: CommandSpec, argv: string[]): Parsed {
  const flags: Parsed['flags'] = {};
  for (const [name, f] of Object.entries(spec.flags)) flags[name] = f.default;
  const positionals: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg.startsWith('--')) {
      const [rawName, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      const f = spec.flags[rawName];
      if (!f) throw new UsageError(`unknown flag --${rawName}`);
      if (f.type === 'boolean') {
        flags[rawName] = inline === undefined ? true : inline !== 'false';
        continue;
      }
      const value = inline ?? argv[++i];
      if (value === undefined) throw new UsageError(`--${rawName} needs a value`);
      if (f.type === 'number') {
        const n = Number(value);
        if (!Number.isFinite(n)) throw new UsageError(`--${rawName} must be a number, got "${value}"`);
        flags[rawName] = n;
      } else {
        flags[rawName] = value;
      }
      continue;
    }
    positionals.push(arg);
  }
  if (!help && positionals.length !== spec.positionals.length) {
    throw new UsageError(
      `expected ${spec.positionals.map((p) => `<${p}>`).join(' ') || 'no arguments'}; usage: ${spec.usage}`,
    );
  }
  return { flags, positionals, help };
}

export function formatHelp(spec: CommandSpec): string {
  const lines = [`usage: ${spec.usage}`, '', spec.description, ''];
  const entries = Object.entries(spec.flags);
  if (entries.length) lines.push('flags:');
  for (const [name, f] of entries) {
    const def = f.default === undefined ? '' : ` (default: ${f.default})`;
    lines.push(`  --${name}${f.type === 'boolean' ? '' : ` <${f.type}>`}  ${f.description}${def}`);
  }
  return lines.join('\n');
}
