import { Command, CommanderError } from 'commander';
import { registerAuditCommands } from './commands/audit.ts';
import { registerConfigCommands } from './commands/config.ts';
import { registerDelegationCommands } from './commands/delegations.ts';
import { registerDiscoverCommands } from './commands/discover.ts';
import { registerGoalCommands } from './commands/goals.ts';
import { registerPolicyCommands } from './commands/policy.ts';
import { registerSecretsCommands } from './commands/secrets.ts';
import { registerServeCommand } from './commands/serve.ts';

/** Builds the `argus` program with every command group. */
export function buildProgram(): Command {
  const program = new Command('argus')
    .description('Agent Runtime Governance: decide, enforce and audit every action an AI agent takes')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerServeCommand(program);
  registerPolicyCommands(program);
  registerAuditCommands(program);
  registerSecretsCommands(program);
  registerConfigCommands(program);
  registerDiscoverCommands(program);
  registerDelegationCommands(program);
  registerGoalCommands(program);
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
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`argus: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 2;
  }
}
