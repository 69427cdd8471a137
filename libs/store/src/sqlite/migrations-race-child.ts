/**
 * One racer of `migrations-race.test.ts`: waits for `go` on stdin, then opens each of `count`
 * database files in `dir` (already in WAL mode) and applies two migrations, printing one JSON
 * line per file.
 */
import BetterSqlite3 from 'better-sqlite3';
import { runMigrations, type Migration } from './migrations.ts';

const [dir, count] = [process.argv[2]!, Number(process.argv[3])];
const MIGRATIONS: Migration[] = [
  { version: 1, name: 'one', up: 'CREATE TABLE IF NOT EXISTS one (x INTEGER)' },
  { version: 2, name: 'two', up: 'CREATE TABLE IF NOT EXISTS two (x INTEGER)' },
];

process.stdout.write('ready\n');
process.stdin.once('data', () => {
  for (let i = 0; i < count; i++) {
    const db = new BetterSqlite3(`${dir}/race-${i}.db`, { timeout: 10_000 });
    try {
      process.stdout.write(`${JSON.stringify({ file: i, applied: runMigrations(db, 'race', MIGRATIONS) })}\n`);
    } catch (err) {
      process.stdout.write(`${JSON.stringify({ file: i, error: String(err) })}\n`);
    } finally {
      db.close();
    }
  }
  process.exit(0);
});
