// Switches: what is stopped (an agent, a tool, an MCP server, or everything), by whom, when and
// why; admins stop one with a reason, resume it, or stop everything at once after confirming.
// A stopped switch denies `switch_stopped` before any policy runs.
import { api, describeError, token } from '../api.js';
import { adminTokenNotice, askReason, badge, h, pageHead, toast, add, fill } from '../dom.js';
import { relative, when } from '../format.js';

export const title = 'Switches';

const SCOPES = [
  {
    scope: 'agent',
    label: 'Agent',
    placeholder: 'support-bot',
    help: 'Its own decisions and those of sub-agents acting on its authority.',
  },
  {
    scope: 'tool',
    label: 'Tool',
    placeholder: 'github/create_issue',
    help: 'A tool as the proxy names it: <server>/<tool>, e.g. github/create_issue.',
  },
  { scope: 'server', label: 'MCP server', placeholder: 'github', help: 'Every tool of the server.' },
];

/** The API path of a switch; a tool id keeps its slash as a path separator, every segment encoded. */
export function switchPath(scope, id) {
  if (scope === 'all') return '/v1/switches/all';
  return `/v1/switches/${scope}/${String(id).split('/').map(encodeURIComponent).join('/')}`;
}

/** How a switch is named on the page. */
export function switchLabel(s) {
  return s.scope === 'all' ? 'everything' : `${s.scope} ${s.id}`;
}

export async function render(main, { signal }) {
  const banner = h('div', { id: 'switch-banner' });
  const list = h('section', { 'aria-labelledby': 'h-stopped' });
  add(
    main,
    pageHead(title, load),
    token.has() ? null : adminTokenNotice('Reading and changing switches need'),
    h(
      'p',
      { class: 'muted' },
      'A stopped switch denies every matching decision with ',
      h('code', {}, 'switch_stopped'),
      ' before any policy runs. Every replica sees a change within a second.',
    ),
    banner,
    stopForm(),
    list,
  );

  async function load() {
    try {
      const answer = await api('/v1/switches', { signal });
      if (signal.aborted) return;
      showBanner(answer);
      fill(
        list,
        h('h2', { id: 'h-stopped' }, `Stopped (${answer.switches.length})`),
        answer.switches.length === 0
          ? h('p', { class: 'muted empty', id: 'switch-empty' }, 'Nothing is stopped: decisions follow the policies.')
          : table(answer.switches),
      );
    } catch (err) {
      if (signal.aborted) return;
      fill(banner);
      fill(list, h('h2', { id: 'h-stopped' }, 'Stopped'), h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  function showBanner(answer) {
    const all = answer.switches.find((s) => s.scope === 'all');
    const stale =
      answer.snapshot && !answer.snapshot.fresh
        ? h(
            'p',
            { class: 'error', role: 'alert' },
            `This server cannot read its switches (${answer.snapshot.error ?? 'snapshot too old'}): every decision is denied switches_unavailable.`,
          )
        : null;
    const everything = all
      ? h(
          'div',
          { class: 'notice', role: 'status', id: 'all-stopped' },
          h('strong', {}, 'Everything is stopped. '),
          `Every decision is denied since ${when(all.at)} (by ${all.by}: ${all.reason}). `,
          h('button', { type: 'button', class: 'primary', id: 'resume-all', onClick: () => resume(all) }, 'Resume everything'),
        )
      : h(
          'div',
          { class: 'actions' },
          h('button', { type: 'button', class: 'danger', id: 'stop-all', onClick: () => stopAll() }, 'Stop everything…'),
          h('span', { class: 'help' }, 'Denies every decision of every agent until resumed.'),
        );
    fill(banner, stale, everything);
  }

  function stopForm() {
    const scope = h(
      'select',
      { id: 'switch-scope' },
      SCOPES.map((s) => h('option', { value: s.scope }, s.label)),
    );
    const id = h('input', {
      id: 'switch-id',
      type: 'text',
      required: true,
      autocomplete: 'off',
      spellcheck: 'false',
      placeholder: SCOPES[0].placeholder,
      'aria-describedby': 'switch-id-help',
    });
    const idHelp = h('p', { class: 'help', id: 'switch-id-help' }, SCOPES[0].help);
    const reason = h('textarea', { id: 'switch-reason', required: true, rows: '2', maxlength: '500' });
    const error = h('p', { class: 'error', role: 'alert' });
    scope.addEventListener('change', () => {
      const s = SCOPES.find((x) => x.scope === scope.value) ?? SCOPES[0];
      id.placeholder = s.placeholder;
      idHelp.textContent = s.help;
    });
    return h(
      'form',
      {
        class: 'card',
        id: 'stop-form',
        'aria-labelledby': 'h-stop-one',
        onSubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          if (!token.has()) {
            error.textContent = 'Stopping needs the admin token: paste it at the top.';
            return;
          }
          const value = id.value.trim();
          const why = reason.value.trim();
          if (!value || !why) {
            error.textContent = !value ? 'Name what to stop.' : 'A reason is required: it is shown in every deny the switch causes.';
            return;
          }
          try {
            const answer = await api(switchPath(scope.value, value), { method: 'PUT', body: { reason: why } });
            toast(`Stopped ${switchLabel(answer.switch)}.`, 'success');
            id.value = '';
            reason.value = '';
            await load();
          } catch (err) {
            error.textContent = describeError(err);
          }
        },
      },
      h('h2', { id: 'h-stop-one' }, 'Stop an agent, a tool or a server'),
      h('div', { class: 'field' }, h('label', { for: 'switch-scope', class: 'label' }, 'What'), scope),
      h('div', { class: 'field' }, h('label', { for: 'switch-id', class: 'label' }, 'Id'), id, idHelp),
      h('div', { class: 'field' }, h('label', { for: 'switch-reason', class: 'label' }, 'Reason'), reason),
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, 'Stop')),
    );
  }

  function table(switches) {
    return h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'data', id: 'switch-list' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['What', 'Id', 'Stopped by', 'Since', 'Reason', 'Actions'].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          switches.map((s) =>
            h(
              'tr',
              { class: 'deny', 'data-scope': s.scope, 'data-id': s.id },
              h('td', {}, badge(s.scope === 'all' ? 'everything' : s.scope, 'deny')),
              h('th', { scope: 'row' }, s.scope === 'all' ? '—' : s.id),
              h('td', {}, s.by),
              h('td', { title: when(s.at) }, relative(s.at)),
              h('td', {}, s.reason),
              h(
                'td',
                { class: 'row-actions' },
                h(
                  'button',
                  { type: 'button', class: 'small', 'aria-label': `Resume ${switchLabel(s)}`, onClick: () => resume(s) },
                  'Resume',
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }

  async function stopAll() {
    if (!token.has()) {
      toast('Stopping needs the admin token: paste it at the top.', 'error');
      document.getElementById('token-input')?.focus();
      return;
    }
    const reason = await askReason({
      title: 'Stop everything',
      description:
        'Every decision of every agent, on every replica, is denied with switch_stopped until you resume. Nothing passes the proxy.',
      confirm: 'Stop everything',
      danger: true,
    });
    if (reason === null) return;
    try {
      await api(switchPath('all'), { method: 'PUT', body: { reason } });
      toast('Everything is stopped.', 'success');
    } catch (err) {
      toast(describeError(err), 'error');
    }
    await load();
  }

  async function resume(s) {
    try {
      await api(switchPath(s.scope, s.id), { method: 'DELETE' });
      toast(`Resumed ${switchLabel(s)}.`, 'success');
    } catch (err) {
      toast(describeError(err), 'error');
    }
    await load();
  }

  await load();
}
