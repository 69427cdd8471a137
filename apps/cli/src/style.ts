/**
 * Colour on a terminal, decided per output stream, the way most command-line tools do:
 *
 * 1. `--no-color` (or `--color`) on the command line decides;
 * 2. else `FORCE_COLOR` set (and not `0`/`false`) turns colour on, `FORCE_COLOR=0` off;
 * 3. else `NO_COLOR` set (any non-empty value, https://no-color.org) turns it off;
 * 4. else colour when the stream is a terminal and `TERM` is not `dumb`.
 *
 * The styles themselves are node's `util.styleText`. Output that is piped, redirected or read by
 * a test carries no escape codes unless asked for.
 */
import { styleText } from 'node:util';

let flag: boolean | undefined;

/** Records `--color` (true) / `--no-color` (false) from the command line; undefined clears it. */
export function setColorFlag(value: boolean | undefined): void {
  flag = value;
}

/** Whether text written to `stream` gets colour (see the module comment for the order). */
export function colorEnabled(stream: { isTTY?: boolean } | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag !== undefined) return flag;
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '') return force !== '0' && force !== 'false';
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.TERM === 'dumb') return false;
  return stream?.isTTY === true;
}

/** The few styles the CLI uses; each is the identity when colour is off. */
export interface Style {
  readonly enabled: boolean;
  /** Success: `ok`, `valid`, a passing case. */
  ok(text: string): string;
  /** Failure: an error, a failing case, a broken chain. */
  fail(text: string): string;
  /** Needs attention: a file that would change, a warning. */
  warn(text: string): string;
  /** Secondary detail. */
  dim(text: string): string;
  /** Headings. */
  bold(text: string): string;
}

const plain = (text: string) => text;

/** The styles for one stream: coloured when `enabled`, plain otherwise. */
export function makeStyle(enabled: boolean): Style {
  if (!enabled) return { enabled, ok: plain, fail: plain, warn: plain, dim: plain, bold: plain };
  // The decision is ours (above): styleText must not check process.stdout again.
  const style = (format: 'green' | 'red' | 'yellow' | 'dim' | 'bold') => (t: string) => styleText(format, t, { validateStream: false });
  return { enabled, ok: style('green'), fail: style('red'), warn: style('yellow'), dim: style('dim'), bold: style('bold') };
}

/** The styles for the process's stdout or stderr. */
export function styleFor(stream: { isTTY?: boolean } | undefined, env: NodeJS.ProcessEnv = process.env): Style {
  return makeStyle(colorEnabled(stream, env));
}

/**
 * Takes `--color`/`--no-color` out of `argv` wherever it stands (before or after the command) and
 * records it; answers the remaining arguments.
 */
export function takeColorFlag(argv: readonly string[]): string[] {
  const rest: string[] = [];
  for (const [i, a] of argv.entries()) {
    if (i >= 2 && (a === '--no-color' || a === '--color')) setColorFlag(a === '--color');
    else if (a === '--') {
      rest.push(...argv.slice(i));
      break;
    } else rest.push(a);
  }
  return rest;
}

/**
 * The styles for a stream a command was handed: the process's own stdout or stderr are styled as
 * above; any other stream (a file, a test's buffer) stays plain.
 */
export function styleForStream(stream: unknown, env: NodeJS.ProcessEnv = process.env): Style {
  return stream === process.stdout || stream === process.stderr ? styleFor(stream as { isTTY?: boolean }, env) : makeStyle(false);
}
