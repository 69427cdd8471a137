// The console shell: hash routing between pages, the admin token box, focus management.
import { checkToken, token } from './api.js';
import { fill, toast } from './dom.js';
import * as overview from './pages/overview.js';
import * as live from './pages/live.js';
import * as inventory from './pages/inventory.js';
import * as graph from './pages/graph.js';
import * as goals from './pages/goals.js';
import * as playground from './pages/playground.js';
import * as switches from './pages/switches.js';

const pages = { overview, live, inventory, graph, goals, playground, switches };
const main = document.getElementById('main');
let current = { cleanup: undefined, controller: undefined };

/** `#/live?x=1` → `{ name: 'live', params: URLSearchParams }`. */
function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(2) : '';
  const [name, query] = raw.split('?');
  return { name: pages[name] ? name : 'overview', params: new URLSearchParams(query ?? '') };
}

async function route({ focus }) {
  if (location.hash && !location.hash.startsWith('#/')) return; // in-page anchors (skip link)
  const { name, params } = parseHash();
  current.controller?.abort();
  if (typeof current.cleanup === 'function') current.cleanup();
  const controller = new AbortController();
  current = { cleanup: undefined, controller };
  for (const a of document.querySelectorAll('nav a[data-page]')) {
    if (a.dataset.page === name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const page = pages[name];
  document.title = `${page.title} · Argus console`;
  fill(main);
  main.dataset.page = name;
  if (focus) main.focus();
  try {
    const cleanup = await page.render(main, { params, signal: controller.signal });
    if (controller.signal.aborted) {
      if (typeof cleanup === 'function') cleanup();
    } else current.cleanup = cleanup;
  } catch (err) {
    if (!controller.signal.aborted) toast(err instanceof Error ? err.message : String(err), 'error');
  }
}

const TOKEN_STATES = {
  none: 'no token',
  checking: 'checking token…',
  set: 'token set',
  rejected: 'token rejected',
};

/** Shows one of {@link TOKEN_STATES} beside the token box. */
function showTokenState(state) {
  const el = document.getElementById('token-state');
  el.textContent = TOKEN_STATES[state];
  el.classList.toggle('is-set', state === 'set');
  el.classList.toggle('is-rejected', state === 'rejected');
}

function setUpToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  const submit = form.querySelector('button[type=submit]');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const value = input.value.trim();
    // The value is moved out of the field at once: it is never shown or left in the DOM.
    input.value = '';
    if (!value) {
      toast('Paste the admin token first.', 'error');
      input.focus();
      return;
    }
    // Checked once before it is kept: a token the server refuses is said to be refused, not set.
    submit.disabled = true;
    showTokenState('checking');
    const check = await checkToken(value);
    submit.disabled = false;
    if (check.result === 'rejected') {
      // Neither it nor a token set before is used: the box says what the server answered last.
      if (token.has()) token.clear();
      showTokenState('rejected');
      toast(
        `The server rejected this token (${check.status}: ${check.message}); it is not kept. Paste the contents of .argus/admin-token (written by argus serve).`,
        'error',
      );
      input.focus();
      return;
    }
    token.set(value);
    if (check.result === 'accepted') toast('Token accepted by the server, set for this tab only.');
    else toast(`Token set for this tab only; the server could not check it (${check.message}).`, 'error');
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    token.clear();
    input.value = '';
    toast('Admin token forgotten.');
  });
  token.onChange((has) => {
    showTokenState(has ? 'set' : 'none');
    route({ focus: false });
  });
  showTokenState(token.has() ? 'set' : 'none');
}

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
setUpToken();
window.addEventListener('hashchange', () => route({ focus: true }));
route({ focus: false });
