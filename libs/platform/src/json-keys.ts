import { escapePointer } from './http.ts';

/** One open object or array while scanning: the keys an object has named so far, an array's index. */
interface Frame {
  keys: Set<string> | undefined;
  /** The object's current key, or the array's current index, as a JSON-pointer token. */
  token: string;
  index: number;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The JSON pointer of the first key an object of `text` names twice (`/params/name`), or
 * undefined when every object's keys are distinct. `text` must be valid JSON (parse it first).
 *
 * RFC 8259 leaves the meaning of a repeated name to each parser: `JSON.parse` keeps the last,
 * many others the first, and some match names in any letter case. A body that is decided by one
 * parser and acted on by another must name each key once, or the two can read different calls.
 * Keys are compared decoded and case-folded ({@link fold}), so `"name"`, `"n\u0061me"` and
 * `"NAME"` are the same key. One pass, no allocation but the keys of the objects it crosses.
 */
export function duplicateKeyPath(text: string): string | undefined {
  const frames: Frame[] = [];
  let expectKey = false;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      if (expectKey) {
        const frame = frames[frames.length - 1]!;
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(`"${raw}"`) as string) : raw;
        const folded = fold(key);
        if (frame.keys!.has(folded)) return pointer(frames, key);
        frame.keys!.add(folded);
        frame.token = key;
        expectKey = false;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      frames.push({ keys: new Set(), token: '', index: 0 });
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      frames.push({ keys: undefined, token: '0', index: 0 });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      frames.pop();
      expectKey = false;
    } else if (c === 0x2c /* , */) {
      const frame = frames[frames.length - 1];
      if (frame?.keys) expectKey = true;
      else if (frame) frame.token = String(++frame.index);
    }
  }
  return undefined;
}

/**
 * A key as a case-insensitive parser matches it: Go's `encoding/json` (and the MCP and model
 * servers built on it) binds `"NAME"`, `"Name"` and `"name"` to one field, character by character
 * within a character's case orbit (`ſ` with `s`, the Kelvin sign with `k`, `ẞ` with `ß`), never one
 * character to two (`ß` is not `ss`, `ﬁ` not `fi`) and never the dotless or dotted i to `i`. ASCII
 * keys, the usual case, take the short path.
 */
function fold(key: string): string {
  // Most keys hold no upper case and nothing beyond ASCII: they are their own fold.
  let plain = true;
  for (let i = 0; i < key.length && plain; i++) {
    const c = key.charCodeAt(i);
    plain = c < 0x41 || (c > 0x5a && c < 0x80);
  }
  if (plain) return key;
  let out = '';
  for (const c of key) out += foldChar(c);
  return out;
}

function foldChar(c: string): string {
  if (c === 'ı' || c === 'İ') return c;
  const upper = c.toUpperCase();
  if (upper.length !== c.length) return c;
  const lower = upper.toLowerCase();
  return lower.length === c.length ? lower : c;
}

/** The index of the quote closing the string opened at `start`. */
function stringEnd(text: string, start: number): number {
  let at = start + 1;
  for (;;) {
    const q = text.indexOf('"', at);
    if (q < 0) return text.length;
    let backslashes = 0;
    for (let b = q - 1; text.charCodeAt(b) === BACKSLASH; b--) backslashes++;
    if (backslashes % 2 === 0) return q;
    at = q + 1;
  }
}

function pointer(frames: readonly Frame[], key: string): string {
  let path = '';
  for (let f = 0; f < frames.length - 1; f++) path += `/${escapePointer(frames[f]!.token)}`;
  return `${path}/${escapePointer(key)}`;
}
