/**
 * The `wasmgate` command. Exit codes: 0 success, 1 the operation failed
 * (a refused module or bundle, a failed plugin call, a request the server
 * refused or that could not be made), 2 usage error (docs/errors.md).
 */
import { type CommandSpec, formatHelp, type Parsed, parseArgs, UsageError } from './args.ts';
import { checkSpec, pluginCheck, pluginRun, runSpec } from './plugin-commands.ts';

interface Command {
  spec: CommandSpec;
  run: (args: Parsed, out: (line: string) => void) => Promise<number>;
}

const commands: Record<string, () => Promise<Command>> = {
  'plugin check': async () => ({ spec: checkSpec, run: pluginCheck }),
  'plugin run': async () => ({ spec: runSpec, run: pluginRun }),
  start: async () => {
    const m = await import('./start.ts');
    return { spec: m.startSpec, run: m.start };
  },
  'plugin build': async () => {
    const m = await import('./build-commands.ts');
    return { spec: m.buildSpec, run: m.pluginBuild };
  },
  'plugin bundle': async () => {
    const m = await import('./bundle-commands.ts');
    return { spec: m.bundleSpec, run: m.pluginBundle };
  },
  'plugin push': async () => {
    const m = await import('./admin-commands.ts');
    return { spec: m.pushSpec, run: m.pluginPush };
  },
  keygen: async () => {
    const m = await import('./bundle-commands.ts');
    return { spec: m.keygenSpec, run: m.keygen };
  },
  'api apply': async () => {
    const m = await import('./admin-commands.ts');
    return { spec: m.applySpec, run: m.apiApply };
  },
};

const TOP_HELP = `usage: wasmgate <command> [flags]

commands:
${Object.keys(commands)
  .map((c) => `  wasmgate ${c}`)
  .join('\n')}

Run \`wasmgate <command> --help\` for a command's flags.
Exit codes: 0 success, 1 the operation failed, 2 usage error.`;

export async function main(
  argv: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
): Promise<number> {
  const two = argv.slice(0, 2).join(' ');
  const name = commands[two] ? two : commands[argv[0] ?? ''] ? argv[0]! : null;
  if (!name) {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
      out(TOP_HELP);
      return argv.length === 0 ? 2 : 0;
    }
    process.stderr.write(`wasmgate: unknown command "${argv.slice(0, 2).join(' ')}"\n\n${TOP_HELP}\n`);
    return 2;
  }
  const command = await commands[name]!();
  const rest = argv.slice(name.split(' ').length);
  try {
    const parsed = parseArgs(command.spec, rest);
    if (parsed.help) {
      out(formatHelp(command.spec));
      return 0;
    }
    return await command.run(parsed, out);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`wasmgate ${name}: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
}
