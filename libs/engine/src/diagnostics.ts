import type { Diagnostic } from './types.ts';

/** A cedar-wasm error with optional byte-offset source locations. */
export interface RawCedarError {
  message: string;
  help?: string | null;
  sourceLocations?: Array<{ start: number; end: number; label?: string | null }>;
}

/**
 * Converts Cedar's byte offsets into 1-based line/column positions within `text`.
 * INVARIANT: Cedar reports UTF-8 byte offsets; columns are counted in characters.
 */
export function locate(text: string, byteOffset: number): { line: number; column: number } {
  const prefix = Buffer.from(text, 'utf8').subarray(0, Math.max(0, byteOffset)).toString('utf8');
  const lines = prefix.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/** Builds a located diagnostic from a cedar-wasm error found in `text` (the whole file). */
export function toDiagnostic(
  file: string,
  text: string,
  err: RawCedarError,
  options: { severity?: 'error' | 'warning'; policyId?: string; baseOffset?: number } = {},
): Diagnostic {
  const loc = err.sourceLocations?.[0];
  const base = options.baseOffset ?? 0;
  const start = locate(text, base + (loc?.start ?? 0));
  const end = locate(text, base + (loc?.end ?? loc?.start ?? 0));
  const label = loc?.label ? `: ${loc.label}` : '';
  const d: Diagnostic = {
    severity: options.severity ?? 'error',
    file,
    line: start.line,
    column: start.column,
    endLine: end.line,
    endColumn: end.column,
    message: `${err.message}${label}`,
    excerpt: text.split('\n')[start.line - 1] ?? '',
  };
  if (err.help) d.help = err.help;
  if (options.policyId) d.policyId = options.policyId;
  return d;
}

/** `file:line:column: message` plus a caret excerpt, for terminals. */
export function formatDiagnostic(d: Diagnostic): string {
  const head = `${d.file}:${d.line}:${d.column}: ${d.severity}: ${d.message}`;
  if (d.excerpt === undefined) return head;
  const width = d.endLine === d.line ? Math.max(1, d.endColumn - d.column) : 1;
  const caret = `${' '.repeat(Math.max(0, d.column - 1))}${'^'.repeat(width)}`;
  return [head, `  ${d.excerpt}`, `  ${caret}`, ...(d.help ? [`  help: ${d.help}`] : [])].join('\n');
}
