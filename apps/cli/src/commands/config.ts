import { accessSync, constants } from 'node:fs';
import type { Command } from 'commander';

/**
 * `argus config check [file]`: validates a configuration and prints the resolved values, secrets
 * redacted. Exit codes: 0 valid, 1 invalid (each offending path named), 2 the file cannot be read.
 */
export function registerConfigCommands(
  program: Command,
  io: { out: (s: string) => void; err: (s: string) => void } = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) },
): void {
  const config = program.command('config').description('inspect configuration');
  config
    .command('check')
    .description(
      'validate a configuration file (plus environment overrides) and print the resolved values with secrets redacted (exit 0 valid, 1 invalid, 2 unreadable)',
    )
    .argument('[file]', 'JSON or YAML configuration file (schema: schemas/config/argus.schema.json)')
    .action(async (file: string | undefined) => {
      if (file !== undefined) {
        try {
          accessSync(file, constants.R_OK);
        } catch (err) {
          io.err(`argus config check: cannot read \`${file}\` (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`);
          process.exitCode = 2;
          return;
        }
      }
      const [{ redactConfig, ConfigError }, { SERVE_CONFIG_FILE }] = await Promise.all([
        import('@argus/platform'),
        import('../serve/settings.ts'),
      ]);
      try {
        const resolved = SERVE_CONFIG_FILE.load(file ? { file } : {});
        io.out(`${JSON.stringify(redactConfig(resolved), null, 2)}\n`);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        io.err(`argus: ${err.message.split(': ')[0]}\n`);
        for (const e of err.errors) io.err(`  ${e.path}: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
