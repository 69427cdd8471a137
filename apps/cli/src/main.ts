import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './commands/audit.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerDelegationCommands } from './commands/delegations.ts';
import { registerDiscoverCommands } from './commands/discover.ts';
import { registerGoalCommands } from './commands/goals.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerSecretsCommands } from './commands/secrets.ts';
import { registerServeCommand } from './commands/serve.ts';
import { registerSwitchCommands } from './commands/switches.ts';
import { registerToolCommands } from './commands/tools.ts';
import { colorEnabled, makeStyle, styleFor, takeColorFlag } from './style.ts';

/** The exit codes every command keeps (docs/cli.md lists them per command). */
export const EXIT_CODES_HELP = `
Exit codes (every command; docs/cli.md lists them per command):
  0  ok
  1  the command ran and the answer is "no": a check or a test failed, a chain is broken,
     a file would be reformatted (--check), a record was not found or refused
  2  nothing could run: bad arguments or options, unreadable input, an invalid policy set,
     an unreachable server, a rejected credential

Colour on a terminal; --no-color or NO_COLOR=1 turns it off, FORCE_COLOR=1 forces it.`;

/** Builds the `argus` program with every command group. */
export function buildProgram(): Command {
  const program = new Command('argus')
    .description('Agent Runtime Governance: decide, enforce and audit every action an AI agent takes')
    .version('0.1.0')
    .option('--no-color', 'plain output, no colour (also NO_COLOR=1; FORCE_COLOR=1 forces colour)')
    .addHelpText('after', EXIT_CODES_HELP)
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({
      getOutHasColors: () => colorEnabled(process.stdout),
      getErrHasColors: () => colorEnabled(process.stderr),
      outputError: (text, write) => write(styleFor(process.stderr).fail(text)),
    })
    .configureHelp({
      styleTitle: (text) => makeStyle(true).bold(text),
      styleCommandText: (text) => makeStyle(true).ok(text),
      styleOptionTerm: (text) => makeStyle(true).warn(text),
    });
  registerServeCommand(program);
  registerPolicyCommands(program);
  registerAuditCommands(program);
  registerSecretsCommands(program);
  registerConfigCommands(program);
  registerDiscoverCommands(program);
  registerDelegationCommands(program);
  registerGoalCommands(program);
  registerSwitchCommands(program);
  registerToolCommands(program);
  return program;
}

/** Entry point: exit codes 0 ok, 1 failed (a check or test failed), 2 cannot run. */
export async function main(argv: string[]): Promise<void> {
  // Output piped into a reader that stops early (`argus audit export | head`): stop quietly.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
  const program = buildProgram();
  try {
    await program.parseAsync(takeColorFlag(argv));
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    // A command that could not run (a bad configuration, a port in use): the message, and the offending paths.
    const details = (err as { errors?: Array<{ path?: string; message?: string }> }).errors ?? [];
    const lines = [
      `argus: ${err instanceof Error ? err.message : String(err)}`,
      ...details.map((e) => `  ${e.path ?? ''}: ${e.message ?? ''}`),
    ];
    process.stderr.write(`${styleFor(process.stderr).fail(lines.join('\n'))}\n`);
    process.exitCode = 2;
  }
}
