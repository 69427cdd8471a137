/**
 * A child process whose stdout is read line by line, for tests that race or coordinate several
 * processes: wait for a line (or a count of lines) with a timeout that says what the child wrote
 * on stderr, and fail at once when the child exits non-zero.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

/** A running child and its output so far. */
export interface LineChild {
  child: ChildProcessWithoutNullStreams;
  /** Every complete stdout line so far. */
  lines: string[];
  /** Resolves with the first line matching `match` (or, for a number, once that many lines came). */
  waitFor(match: number | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
}

/** Runs `node --import tsx <script> ...args` with piped stdio. */
export function spawnTsx(script: string, args: readonly string[]): LineChild {
  return lineChild(spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: 'pipe' }));
}

/** Reads `child`'s stdout as lines. */
export function lineChild(child: ChildProcessWithoutNullStreams): LineChild {
  const lines: string[] = [];
  const waiters: Array<() => void> = [];
  let buf = '';
  let stderr = '';
  let exit: number | null | undefined;
  child.stdout.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      lines.push(buf.slice(0, i));
      buf = buf.slice(i + 1);
    }
    waiters.splice(0).forEach((w) => w());
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('exit', (code) => {
    exit = code;
    waiters.splice(0).forEach((w) => w());
  });
  const waitFor = (match: number | ((line: string) => boolean), timeoutMs = 30_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`child wrote nothing awaited in ${timeoutMs} ms; stderr: ${stderr.slice(0, 800)}`)),
        timeoutMs,
      );
      const check = () => {
        const hit = typeof match === 'number' ? (lines.length >= match ? lines[match - 1] : undefined) : lines.find(match);
        if (hit !== undefined) {
          clearTimeout(timer);
          resolve(hit);
        } else if (exit !== undefined && exit !== 0) {
          clearTimeout(timer);
          reject(new Error(`child exited ${exit}: ${stderr.slice(0, 800)}`));
        } else waiters.push(check);
      };
      check();
    });
  return { child, lines, waitFor };
}
