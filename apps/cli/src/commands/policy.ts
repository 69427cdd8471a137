/**
 * `argus policy ...`: the policy author's toolkit — validate, fmt, test, explain and diff Cedar
 * policies. Exit codes: 0 pass, 1 fail (a check, a test or a flip), 2 cannot run.
 *
 * This module only declares the commands; their implementations (`../policy/commands.ts`, which
 * bring Cedar and the decision service) load when one of them runs.
 */
import { Option, type Command } from 'commander';
import type { DiffOptions, ExplainOptions, PolicyIo, TestOptions } from '../policy/commands.ts';

export type { DiffOptions, ExplainOptions, PolicyIo, TestOptions } from '../policy/commands.ts';

/** The process's own streams. */
export const processIo: PolicyIo = {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
  readStdin: async () => {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks).toString('utf8');
  },
};

type PolicyCommands = typeof import('../policy/commands.ts');
const impl = (): Promise<PolicyCommands> => import('../policy/commands.ts');

/** Registers `argus policy validate|fmt|test|explain|diff` on `program`. Returns the `policy` command. */
export function registerPolicyCommands(program: Command, io: PolicyIo = processIo): Command {
  const policy = program.command('policy').description('validate, format, test, explain and diff Cedar policies (exit 0 pass, 1 fail, 2 cannot run)');
  /** Loads the implementations, runs one, and sets the exit code it answers. */
  const run = async (fn: (m: PolicyCommands) => Promise<number>) => {
    process.exitCode = await fn(await impl());
  };
  const format = (choices: string[]) => new Option('--format <format>', 'output format').choices(choices).default('text');

  policy
    .command('validate')
    .description('check every policy against the schema; errors located with file:line:column and Cedar\'s help')
    .argument('[dir]', 'policy directory (schema.cedarschema, policies/)')
    .addOption(format(['text', 'json']))
    .action(async (dir: string | undefined, opts: { format: 'text' | 'json' }) => run((m) => m.validateCommand(dir ?? m.defaultPolicyDir(), opts, io)));

  policy
    .command('fmt')
    .description('format policy files with Cedar\'s formatter (files whose comments the formatter would drop are left alone)')
    .argument('[dir]', 'policy directory')
    .option('--check', 'do not write: fail (exit 1) listing the files that are not formatted')
    .option('--line-width <n>', 'target line width', '80')
    .action(async (dir: string | undefined, opts: { check?: boolean; lineWidth: string }) => run((m) => m.fmtCommand(dir ?? m.defaultPolicyDir(), opts, io)));

  policy
    .command('test')
    .description('run the policy test suites (<dir>/tests/*.json|yaml) and report coverage')
    .argument('[dir]', 'policy directory')
    .option('--tests <dir>', 'folder of test suites (default <dir>/tests)')
    .addOption(format(['text', 'json', 'junit']))
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--require-coverage', 'fail when a policy determined no case')
    .action(async (dir: string | undefined, opts: TestOptions) => run((m) => m.testCommand(dir ?? m.defaultPolicyDir(), opts, io)));

  policy
    .command('explain')
    .description('decide one request (a /v1/authorize body) and explain it: determining policies, entities, facts, and the permits that came closest')
    .argument('[file]', 'request file; stdin when absent or `-`')
    .option('--policies <dir>', 'policy directory')
    .option('--fixtures <file>', 'a test suite whose registry, grants, goals and entities provide the facts')
    .option('--now <time>', 'decision time (ISO 8601)')
    .option('--permits <n>', 'how many closest permits to show', '3')
    .addOption(format(['text', 'json']))
    .action(async (file: string | undefined, opts: ExplainOptions) => run((m) => m.explainCommand(file, opts, io)));

  policy
    .command('diff')
    .description('decide recorded requests with two policy directories and list the decisions that would flip')
    .argument('<oldDir>', 'the current policy directory')
    .argument('<newDir>', 'the candidate policy directory')
    .requiredOption('--requests <file>', 'JSONL of /v1/authorize inputs or bodies, or an audit export')
    .option('--fixtures <file>', 'a test suite whose registry, grants, goals and entities provide the facts')
    .option('--now <time>', 'decision time (ISO 8601)')
    .option('--fail-on-flip', 'exit 1 when any decision flips')
    .addOption(format(['text', 'json']))
    .action(async (oldDir: string, newDir: string, opts: DiffOptions) => run((m) => m.diffCommand(oldDir, newDir, opts, io)));

  return policy;
}
