import { cedar } from './cedar-wasm.ts';
import { toDiagnostic } from './diagnostics.ts';
import { safe } from './policy-set.ts';
import type { Diagnostic } from './types.ts';

/** Layout options of the Cedar formatter. */
export interface FormatOptions {
  /** Target line width. Default 80. */
  lineWidth?: number;
  /** Spaces per indentation level. Default 2. */
  indentWidth?: number;
}

/**
 * The answer of `formatPolicyText`. `unsafe` lists the comments the formatter would drop: a file
 * with `unsafe` comments must not be rewritten, since the rewrite would lose them.
 */
export type FormatResult =
  { ok: true; formatted: string; changed: boolean; droppedComments: string[] } | { ok: false; diagnostics: Diagnostic[] };

/**
 * Formats one policy file with Cedar's formatter and checks that every comment survived.
 * INVARIANT: a result with a non-empty `droppedComments` must not be written back.
 */
export function formatPolicyText(file: string, text: string, options: FormatOptions = {}): FormatResult {
  const answer = safe(() =>
    cedar.formatPolicies({ policyText: text, lineWidth: options.lineWidth ?? 80, indentWidth: options.indentWidth ?? 2 }),
  );
  if (!answer.ok) {
    return {
      ok: false,
      diagnostics: [{ ...toDiagnostic(file, text, { message: 'the formatter failed on this file' }), severity: 'error' }],
    };
  }
  if (answer.value.type === 'failure') {
    return { ok: false, diagnostics: answer.value.errors.map((e) => toDiagnostic(file, text, e)) };
  }
  const formatted = answer.value.formatted_policy;
  return { ok: true, formatted, changed: formatted !== text, droppedComments: droppedComments(commentsOf(text), commentsOf(formatted)) };
}

/**
 * The `//` comments of a Cedar text, trimmed, in order. Comment markers inside string literals are
 * not comments.
 */
export function commentsOf(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      i++;
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (c === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      out.push(text.slice(i, end < 0 ? text.length : end).trim());
      i = end < 0 ? text.length : end;
    } else {
      i++;
    }
  }
  return out;
}

/** The comments of `before` that `after` lacks (as a multiset: a duplicated comment must survive twice). */
export function droppedComments(before: readonly string[], after: readonly string[]): string[] {
  const left = new Map<string, number>();
  for (const c of after) left.set(c, (left.get(c) ?? 0) + 1);
  const missing: string[] = [];
  for (const c of before) {
    const n = left.get(c) ?? 0;
    if (n > 0) left.set(c, n - 1);
    else missing.push(c);
  }
  return missing;
}
