/**
 * The journal of forwarded calls. A call is recorded in the audit trail once it has ended (with
 * its status and usage), so a crash or `kill -9` would lose the record of a call that already
 * reached its upstream with the injected credential. So each decision a call goes up under is
 * written here first — synchronously, into the operating system's hands, before the upstream sees
 * the request — and marked done once its record is durable. At start-up the entries a crashed run
 * never marked done are recorded as `interrupted` (`recoverCalls`).
 *
 * Files: `<dir>/<n>.jsonl`, lines `S\t<event JSON>` (started) and `D\t<decision id>` (done). Past
 * {@link SEGMENT_BYTES} the journal begins a new file holding the entries still open (a long MCP
 * event stream stays open for hours) and deletes the old one, so it stays one file of bounded
 * size. A line cut short by a crash is skipped when read.
 */
import { appendFileSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { DecisionEvent, DecisionRecorder } from '@argus/contracts';
import type { Logger } from '@argus/platform';

/** Bytes written to a file (besides the entries carried into it) after which the journal begins a new one. */
export const SEGMENT_BYTES = 4 * 1024 * 1024;

/** What the proxy's steps need of the journal (absent: no journal, as in tests and with the trail off). */
export interface CallJournal {
  /**
   * Writes the event (its JSON text, secrets already scrubbed) of a decision a call is about to go
   * up under. Throws when it cannot be written.
   */
  started(decisionId: string, eventJson: string): void;
  /** Marks the decision's record durable (written with the other marks of this turn). */
  done(decisionId: string): void;
  close(): void;
}

/** The journal in `dir`, begun after the files of earlier runs (read them with {@link recoverCalls} first). */
export function openCallJournal(dir: string): CallJournal {
  mkdirSync(dir, { recursive: true });
  let n = Math.max(0, ...segmentNumbers(dir));
  let fd = -1;
  let bytes = 0;
  /** Bytes of the entries carried into the current file when it was begun. */
  let carried = 0;
  /** The `S` line of every entry not done yet, by decision id. */
  const open = new Map<string, string>();
  let marks: string[] = [];
  begin();

  function begin(): void {
    const previous = fd >= 0 ? n : undefined;
    n++;
    fd = openSync(join(dir, `${n}.jsonl`), 'a');
    bytes = 0;
    // The entries still open move to the new file before the old one goes.
    if (open.size > 0) bytes += writeSync(fd, [...open.values()].join(''));
    carried = bytes;
    if (previous !== undefined) rmSync(join(dir, `${previous}.jsonl`), { force: true });
  }
  function flushMarks(): void {
    const ids = marks;
    marks = [];
    if (fd < 0) return;
    bytes += writeSync(fd, ids.map((id) => `D\t${id}\n`).join(''));
    for (const id of ids) open.delete(id);
  }

  return {
    started(decisionId, eventJson) {
      if (bytes - carried >= SEGMENT_BYTES) {
        const old = fd;
        begin();
        closeSync(old);
      }
      const line = `S\t${eventJson}\n`;
      // INVARIANT: written before the call goes up; a write that fails throws, and the call is refused.
      bytes += writeSync(fd, line);
      open.set(decisionId, line);
    },
    done(decisionId) {
      if (!open.has(decisionId)) return;
      if (marks.length === 0) setImmediate(flushMarks);
      marks.push(decisionId);
    },
    close() {
      if (fd < 0) return;
      if (marks.length > 0) flushMarks();
      closeSync(fd);
      fd = -1;
      // Every call was recorded (the drain records the ones it aborts): nothing is left to recover.
      if (open.size === 0) rmSync(join(dir, `${n}.jsonl`), { force: true });
    },
  };
}

/**
 * Opens the journal in `dir` after recording what a crashed run left in it (see
 * {@link recoverCalls}). When those records cannot be written now the error is logged and the old
 * files are kept for the next start: the proxy still starts.
 */
export async function startCallJournal(dir: string, recorder: DecisionRecorder, logger: Logger): Promise<CallJournal> {
  try {
    await recoverCalls(dir, recorder, logger);
  } catch (err) {
    logger.error(
      { err: err instanceof Error ? err.message : String(err), dir },
      'could not record the calls a previous run left in the journal; kept for the next start',
    );
  }
  return openCallJournal(dir);
}

/**
 * Records, as `interrupted`, every call the journal files in `dir` left started and not done (a
 * crashed run), then deletes those files. Answers how many were recorded. A record that fails
 * leaves the files for the next start, with the calls recorded before it marked done.
 */
export async function recoverCalls(dir: string, recorder: DecisionRecorder, logger: Logger): Promise<number> {
  const numbers = segmentNumbers(dir).sort((a, b) => a - b);
  if (numbers.length === 0) return 0;
  const open = new Map<string, DecisionEvent>();
  for (const n of numbers) {
    for (const line of readFileSync(join(dir, `${n}.jsonl`), 'utf8').split('\n')) {
      const tab = line.indexOf('\t');
      if (tab < 0) continue;
      const body = line.slice(tab + 1);
      if (line.startsWith('D\t')) open.delete(body);
      else if (line.startsWith('S\t')) {
        try {
          const event = JSON.parse(body) as DecisionEvent;
          if (typeof event.decisionId === 'string') open.set(event.decisionId, event);
        } catch {
          // A line cut short by the crash: its call had not gone up yet.
        }
      }
    }
  }
  const last = join(dir, `${numbers.at(-1)}.jsonl`);
  for (const event of open.values()) {
    await recorder.record({ ...event, proxy: { ...event.proxy!, error: 'interrupted' } });
    // Marked done at once, so a recovery that fails part-way never records this one twice (the
    // leading newline ends a line the crash cut short).
    appendFileSync(last, `\nD\t${event.decisionId}\n`);
  }
  if (open.size > 0) logger.warn({ calls: open.size }, 'recorded calls a previous run forwarded and never recorded (interrupted)');
  for (const n of numbers) rmSync(join(dir, `${n}.jsonl`), { force: true });
  return open.size;
}

function segmentNumbers(dir: string): number[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((f) => (/^\d+\.jsonl$/.test(f) ? [Number(f.slice(0, -6))] : []));
}
