// The policy editor: CodeMirror 6 with Cedar highlighting, line numbers, bracket matching, undo
// history, and the validator's errors shown at their line and column as you type.
import {
  EditorView,
  drawSelection,
  highlightActiveLine,
  highlightActiveLineGutter,
  keymap,
  lineNumbers,
} from '../vendor/@codemirror/view.js';
import { EditorState } from '../vendor/@codemirror/state.js';
import { StreamLanguage, bracketMatching, defaultHighlightStyle, syntaxHighlighting } from '../vendor/@codemirror/language.js';
import { linter, lintGutter, forceLinting } from '../vendor/@codemirror/lint.js';
import { defaultKeymap, history, historyKeymap } from '../vendor/@codemirror/commands.js';

const KEYWORDS = new Set(['permit', 'forbid', 'when', 'unless', 'if', 'then', 'else', 'in', 'has', 'like', 'is']);
const VARIABLES = new Set(['principal', 'action', 'resource', 'context']);
const ATOMS = new Set(['true', 'false']);

/** Cedar's tokens for highlighting (the validator, not this, decides what is valid). */
export const cedarLanguage = StreamLanguage.define({
  name: 'cedar',
  token(stream) {
    if (stream.eatSpace()) return null;
    if (stream.match('//')) {
      stream.skipToEnd();
      return 'comment';
    }
    if (stream.match(/^"(?:[^"\\]|\\.)*"?/)) return 'string';
    if (stream.match(/^@[A-Za-z_]\w*/)) return 'meta';
    if (stream.match(/^\d+/)) return 'number';
    if (stream.match(/^\?(principal|resource)\b/)) return 'variableName';
    if (stream.match(/^[A-Za-z_]\w*(?=\s*::)/)) return 'typeName';
    if (stream.match(/^[A-Za-z_]\w*/)) {
      const word = stream.current();
      if (KEYWORDS.has(word)) return 'keyword';
      if (VARIABLES.has(word)) return 'variableName';
      if (ATOMS.has(word)) return 'atom';
      return null;
    }
    if (stream.match(/^(==|!=|<=|>=|&&|\|\||::|[<>!+\-*])/)) return 'operator';
    stream.next();
    return null;
  },
  languageData: { commentTokens: { line: '//' } },
});

/** The document offset of a 1-based line and column, clamped into the document. */
export function offsetOf(doc, line, column) {
  const l = doc.line(Math.min(Math.max(1, line), doc.lines));
  return Math.min(l.to, l.from + Math.max(0, column - 1));
}

/**
 * Builds an editor in `parent`. `check(text)` answers the diagnostics of this text (`{severity,
 * line, column, endLine, endColumn, message, help}`, 1-based), debounced while typing;
 * `onChange(text)` hears every edit. The content element gets `id` and `label` for tests and
 * assistive technology.
 */
export function createPolicyEditor(parent, { id, label, check, onChange }) {
  // INVARIANT: the editor lives in a shadow root. CodeMirror's styles then go into a constructed
  // style sheet (adoptedStyleSheets), which the console's Content-Security-Policy allows; in the
  // document itself they would need a <style> element, which `default-src 'self'` refuses.
  const root = parent.attachShadow({ mode: 'open' });
  const host = document.createElement('div');
  root.append(host);
  const view = new EditorView({
    parent: host,
    root,
    state: EditorState.create({
      doc: '',
      extensions: [
        lineNumbers(),
        highlightActiveLineGutter(),
        history(),
        drawSelection(),
        highlightActiveLine(),
        bracketMatching(),
        cedarLanguage,
        syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
        lintGutter(),
        linter(
          async (v) => {
            const text = v.state.doc.toString();
            const found = await check(text);
            if (v.state.doc.toString() !== text) return [];
            return found.map((d) => {
              const from = offsetOf(v.state.doc, d.line, d.column);
              const end = offsetOf(v.state.doc, d.endLine ?? d.line, d.endColumn ?? d.column);
              return {
                from,
                to: Math.max(end, Math.min(from + 1, v.state.doc.length)),
                severity: d.severity === 'warning' ? 'warning' : 'error',
                message: d.help ? `${d.message} (help: ${d.help})` : d.message,
              };
            });
          },
          { delay: 500 },
        ),
        keymap.of([...defaultKeymap, ...historyKeymap]),
        EditorView.theme({
          '&': { height: '24rem', fontSize: '0.9rem', backgroundColor: 'var(--surface, #fff)' },
          '&.cm-focused': { outline: '2px solid var(--accent, #2563eb)', outlineOffset: '-1px' },
          '.cm-scroller': { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', overflow: 'auto' },
        }),
        EditorView.contentAttributes.of({ id, 'aria-label': label, spellcheck: 'false' }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) onChange?.(u.state.doc.toString());
        }),
      ],
    }),
  });
  return {
    view,
    get text() {
      return view.state.doc.toString();
    },
    /** Replaces the text without counting as an edit. */
    set text(value) {
      view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: value } });
    },
    /** Puts the cursor at a 1-based line and column and focuses the editor. */
    goTo(line, column) {
      const at = offsetOf(view.state.doc, line, column);
      view.dispatch({ selection: { anchor: at }, scrollIntoView: true });
      view.focus();
    },
    /** Runs the validator now instead of after the typing pause. */
    lintNow() {
      forceLinting(view);
    },
  };
}
