// Tiny DOM helpers. Text is always set as text (never parsed as HTML), so nothing a record
// carries can inject markup into the console.

const SVG_NS = 'http://www.w3.org/2000/svg';

function apply(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    else if (key === 'text') el.textContent = String(value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'hidden' || key === 'selected') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** An HTML element: `h('button', { class: 'x', onClick }, 'label')`. */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** An SVG element. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  apply(el, props);
  append(el, children);
  return el;
}

/** Pretty JSON in a scrollable, focusable block. */
export function jsonBlock(value, label) {
  return h('pre', { class: 'json', tabindex: '0', 'aria-label': label ?? 'JSON' }, JSON.stringify(value, null, 2));
}

/** A small status badge (allow / deny / trusted / ...). */
export function badge(text, kind) {
  return h('span', { class: ['badge', `badge-${kind ?? text}`] }, text);
}

/** Announces a message in the polite live region. */
export function toast(message, kind = 'info') {
  const region = document.getElementById('toast');
  if (!region) return;
  region.replaceChildren(h('p', { class: ['toast', `toast-${kind}`] }, message));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => region.replaceChildren(), 6000);
}

/**
 * Asks for a reason in a modal dialog (native `<dialog>`: focus is trapped and Escape cancels).
 * Resolves to the reason, or null when cancelled.
 */
export function askReason({ title, description, confirm, danger = false }) {
  return new Promise((resolve) => {
    const reason = h('textarea', { id: 'reason-input', required: true, rows: '3', maxlength: '500', 'aria-describedby': 'reason-help' });
    const error = h('p', { class: 'error', role: 'alert' });
    const dialog = h(
      'dialog',
      { class: 'dialog', 'aria-labelledby': 'dialog-title' },
      h(
        'form',
        {
          onSubmit: (event) => {
            event.preventDefault();
            if (!reason.value.trim()) {
              error.textContent = 'A reason is required: it is recorded with the change.';
              reason.focus();
              return;
            }
            done(reason.value.trim());
          },
        },
        h('h2', { id: 'dialog-title' }, title),
        description ? h('p', {}, description) : null,
        h('label', { for: 'reason-input' }, 'Reason'),
        reason,
        h('p', { id: 'reason-help', class: 'help' }, 'Recorded in the history with your change.'),
        error,
        h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'secondary', onClick: () => done(null) }, 'Cancel'),
          h('button', { type: 'submit', class: danger ? 'danger' : 'primary' }, confirm),
        ),
      ),
    );
    const opener = document.activeElement;
    function done(value) {
      dialog.close();
      dialog.remove();
      if (opener instanceof HTMLElement) opener.focus();
      resolve(value);
    }
    dialog.addEventListener('cancel', (event) => {
      event.preventDefault();
      done(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    reason.focus();
  });
}

/** Replaces the children of `el`, skipping null/false (unlike `replaceChildren`, which writes "null"). */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Appends children to `el`, skipping null/false. */
export function add(el, ...children) {
  append(el, children);
  return el;
}

/** A page's heading with a Refresh button (and anything to show between them, e.g. a status). */
export function pageHead(title, onRefresh, ...between) {
  return h(
    'div',
    { class: 'page-head' },
    h('h1', {}, title),
    ...between,
    h('button', { type: 'button', class: 'secondary', onClick: () => onRefresh() }, 'Refresh'),
  );
}

/** Where the admin token comes from, for a page that needs it: `need` says what needs it. */
export function adminTokenNotice(need) {
  return h(
    'p',
    { class: 'notice' },
    `${need} the admin token: paste the contents of `,
    h('code', {}, '.argus/admin-token'),
    ' (written by ',
    h('code', {}, 'argus serve'),
    ') into the box at the top.',
  );
}
