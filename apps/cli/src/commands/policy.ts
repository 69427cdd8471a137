/**
 * `argus policy ...`: the policy author's toolkit — validate, fmt, test, explain and diff Cedar
 * policies. Exit codes: 0 pass, 1 fail (a check, a test or a flip), 2 cannot run.
 *
 * This module only declares the commands; their implementations (`../policy/commands.ts`, which
 * bring Cedar and the decision service) load when one of them runs.
 */
import { Option, type Command } from 'commander';
import { styleFor } from '../style.ts';
import type { DiffOptions, ExplainOptions, PolicyIo, TestOptions } from '../policy/commands.ts';

export type { DiffOptions, ExplainOptions, PolicyIo, TestOptions } from '../policy/commands.ts';

/** The process's own streams (coloured on a terminal; see `../style.ts`). */
export const processIo: PolicyIo = {
  get style() {
    return { stdout: styleFor(process.stdout), stderr: styleFor(process.stderr) };
  },
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
  const policy = program
    .command('policy')
    .description('validate, format, test, explain and diff Cedar policies (exit 0 pass, 1 fail, 2 cannot run)');
  /** Loads the implementations, runs one, and sets the exit code it answers. */
  const run = async (fn: (m: PolicyCommands) => Promise<number>) => {
    process.exitCode = await fn(await impl());
  };
  const format = (choices: string[]) => new Option('--format <format>', 'output format').choices(choices).default('text');
  const json = () => new Option('--json', 'JSON output (same as --format json)').implies({ format: 'json' });

  policy
    .command('validate')
    .description(
      "check every policy against the schema; errors located with file:line:column and Cedar's help (exit 0 valid, 1 invalid, 2 unreadable)",
    )
    .argument('[dir]', 'policy directory (schema.cedarschema, policies/)')
    .addOption(format(['text', 'json']))
    .addOption(json())
    .action(async (dir: string | undefined, opts: { format: 'text' | 'json' }) =>
      run((m) => m.validateCommand(dir ?? m.defaultPolicyDir(), opts, io)),
    );

  policy
    .command('fmt')
    .description(
      "format policy files with Cedar's formatter, naming each file formatted (files whose comments the formatter would drop are left alone; exit 0, 1 a file left alone, 2 unreadable)",
    )
    .argument('[dir]', 'policy directory')
    .option('--check', 'write nothing: name each file that would be reformatted and exit 1 if any would')
    .option('--line-width <n>', 'target line width', '80')
    .action(async (dir: string | undefined, opts: { check?: boolean; lineWidth: string }) =>
      run((m) => m.fmtCommand(dir ?? m.defaultPolicyDir(), opts, io)),
    );

  policy
    .command('test')
    .description(
      'run the policy test suites (<dir>/tests/*.json|yaml) and report coverage (exit 0 all pass, 1 a case fails, 2 nothing could run: invalid policy set, no suites)',
    )
    .argument('[dir]', 'policy directory')
    .option('--tests <dir>', 'folder of test suites (default <dir>/tests)')
    .addOption(format(['text', 'json', 'junit']))
    .addOption(json())
    .option('-o, --output <file>', 'write the report to a file instead of stdout')
    .option('--require-coverage', 'fail when a policy determined no case')
    .action(async (dir: string | undefined, opts: TestOptions) => run((m) => m.testCommand(dir ?? m.defaultPolicyDir(), opts, io)));

  policy
    .command('explain')
    .description(
      'decide one request (a /v1/authorize body) and explain it: determining policies, entities, facts, and the permits that came closest (exit 0 explained, whatever the decision; 2 cannot run)',
    )
    .argument('[file]', 'request file; stdin when absent or `-`')
    .option('--policies <dir>', 'policy directory')
    .option('--fixtures <file>', 'a test suite whose registry, grants, goals and entities provide the facts')
    .option('--now <time>', 'decision time (ISO 8601)')
    .option('--permits <n>', 'how many closest permits to show', '3')
    .addOption(format(['text', 'json']))
    .addOption(json())
    .action(async (file: string | undefined, opts: ExplainOptions) => run((m) => m.explainCommand(file, opts, io)));

  policy
    .command('diff')
    .description(
      'decide recorded requests with two policy directories and list the decisions that would flip (exit 0, 1 flips with --fail-on-flip, 2 cannot run)',
    )
    .argument('<oldDir>', 'the current policy directory')
    .argument('<newDir>', 'the candidate policy directory')
    .requiredOption('--requests <file>', 'JSONL of /v1/authorize inputs or bodies, or an audit export')
    .option('--fixtures <file>', 'a test suite whose registry, grants, goals and entities provide the facts')
    .option('--now <time>', 'decision time (ISO 8601)')
    .option('--fail-on-flip', 'exit 1 when any decision flips')
    .addOption(format(['text', 'json']))
    .addOption(json())
    .action(async (oldDir: string, newDir: string, opts: DiffOptions) => run((m) => m.diffCommand(oldDir, newDir, opts, io)));

  return policy;
}
