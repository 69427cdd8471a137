// The console shell: hash routing between pages, the admin token box, focus management.
import { token } from './api.js';
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

function showTokenState(has) {
  const state = document.getElementById('token-state');
  state.textContent = has ? 'token set' : 'no token';
  state.classList.toggle('is-set', has);
}

function setUpToken() {
  const form = document.getElementById('token-form');
  const input = document.getElementById('token-input');
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const value = input.value.trim();
    // The value is moved out of the field at once: it is never shown or left in the DOM.
    input.value = '';
    if (!value) {
      toast('Paste the admin token first.', 'error');
      input.focus();
      return;
    }
    token.set(value);
    toast('Admin token set for this tab only.');
  });
  document.getElementById('token-forget').addEventListener('click', () => {
    token.clear();
    input.value = '';
    toast('Admin token forgotten.');
  });
  token.onChange((has) => {
    showTokenState(has);
    route({ focus: false });
  });
  showTokenState(token.has());
}

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});
setUpToken();
window.addEventListener('hashchange', () => route({ focus: true }));
route({ focus: false });
