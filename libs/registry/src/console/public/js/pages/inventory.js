// Inventory: agents and MCP servers with their trust state, lease health, last seen and who
// discovered them; admins move trust state (approve, quarantine, revoke) with a reason, and set
// the governance attributes of an MCP server's tools (what discovery cannot know).
import { api, describeError, listAll, token } from '../api.js';
import { adminTokenNotice, askReason, badge, h, pageHead, toast, add, fill } from '../dom.js';
import { plural, relative, when } from '../format.js';

export const title = 'Inventory';

/** The sensitivity levels a tool may carry (the registry's enum). */
export const SENSITIVITIES = ['public', 'internal', 'confidential', 'high', 'secret'];

/**
 * The attributes body of a tool edit: a field left empty clears the attribute (`null`); intents
 * and labels are comma-separated (`key=value` for labels). Throws naming the bad field.
 */
export function toolPatch({ sensitivity, intents, category, labels }) {
  const list = (text) =>
    text
      .split(',')
      .map((x) => x.trim())
      .filter(Boolean);
  const parsed = {};
  for (const pair of list(labels)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`labels: \`${pair}\` is not key=value`);
    parsed[pair.slice(0, eq).trim()] = pair.slice(eq + 1).trim();
  }
  return {
    sensitivity: sensitivity || null,
    allowedIntents: list(intents).length ? list(intents) : null,
    category: category.trim() || null,
    labels: Object.keys(parsed).length ? parsed : null,
  };
}

/** The legal steps from a trust state to `trusted` (the registry's state machine). */
export function approvalPath(trust) {
  if (trust === 'discovered' || trust === 'quarantined') return ['pending', 'trusted'];
  if (trust === 'pending') return ['trusted'];
  return [];
}

const KINDS = [
  { kind: 'agents', noun: 'agent', heading: 'Agents' },
  { kind: 'mcp-servers', noun: 'MCP server', heading: 'MCP servers' },
];

/** A lease as a badge; an agent that never sent a heartbeat or a proxied call has no lease, not an expired one. */
export function leaseCell(lease) {
  if (lease.state === 'expired' && !lease.expiresAt)
    return h('span', { title: 'no heartbeat or proxied call yet' }, badge('no lease', 'lease-unknown'));
  return [
    badge(lease.state, `lease-${lease.state}`),
    lease.expiresAt ? h('span', { class: 'muted', title: when(lease.expiresAt) }, ` ${relative(lease.expiresAt)}`) : null,
  ];
}

export async function render(main, { signal }) {
  const sections = h('div', { class: 'stack' });
  add(main, pageHead(title, load), token.has() ? null : adminTokenNotice('Reading the registry and changing trust states need'), sections);

  async function load() {
    const built = [];
    for (const k of KINDS) {
      try {
        const items = await listAll(`/v1/registry/${k.kind}?limit=200`, { max: 500, signal });
        const leases = await Promise.all(
          items.map((item) =>
            api(`/v1/registry/${k.kind}/${encodeURIComponent(item.id)}`, { signal }).then(
              (r) => r.lease,
              () => ({ state: 'unknown' }),
            ),
          ),
        );
        built.push(table(k, items, leases));
      } catch (err) {
        if (signal.aborted) return;
        built.push(h('section', {}, h('h2', {}, k.heading), h('p', { class: 'error', role: 'alert' }, describeError(err))));
      }
    }
    if (!signal.aborted) fill(sections, ...built);
  }

  function table(k, items, leases) {
    const rows = items.map((item, i) => {
      const lease = leases[i] ?? { state: 'unknown' };
      const name = item.name && item.name !== item.id ? `${item.id} (${item.name})` : item.id;
      const row = h(
        'tr',
        { 'data-id': item.id, class: item.trust === 'quarantined' || item.trust === 'revoked' ? 'deny' : '' },
        h('th', { scope: 'row' }, name),
        h('td', {}, k.kind === 'agents' ? item.kind : item.transport),
        h('td', {}, k.kind === 'agents' ? (item.owner ?? '—') : plural(item.tools?.length ?? 0, 'tool')),
        h('td', {}, badge(item.trust)),
        h('td', {}, leaseCell(lease)),
        h('td', { title: when(item.lastSeen) }, relative(item.lastSeen)),
        h('td', {}, item.discoveredBy ?? '—'),
        h('td', { class: 'row-actions' }, actions(k, item)),
      );
      return k.kind === 'mcp-servers' && open.has(item.id) ? [row, toolsRow(item)] : row;
    });
    return h(
      'section',
      { 'aria-labelledby': `h-${k.kind}` },
      h('h2', { id: `h-${k.kind}` }, `${k.heading} (${items.length})`),
      items.length === 0
        ? emptyState(k)
        : h(
            'div',
            { class: 'table-wrap' },
            h(
              'table',
              { class: 'data', id: `table-${k.kind}` },
              h(
                'thead',
                {},
                h(
                  'tr',
                  {},
                  [
                    'Id',
                    k.kind === 'agents' ? 'Kind' : 'Transport',
                    k.kind === 'agents' ? 'Owner' : 'Tools',
                    'Trust',
                    'Lease',
                    'Last seen',
                    'Discovered by',
                    'Actions',
                  ].map((c) => h('th', { scope: 'col' }, c)),
                ),
              ),
              h('tbody', {}, rows),
            ),
          ),
    );
  }

  function emptyState(k) {
    const example =
      k.kind === 'agents'
        ? `curl -s localhost:8181/v1/registry/agents -H "authorization: Bearer $(cat .argus/admin-token)" \\\n  -H 'content-type: application/json' -d '{"id":"support-bot","name":"Support bot","owner":"alice","trust":"trusted"}'`
        : 'argus discover run --registry   # or POST /v1/registry/mcp-servers with the admin token';
    return h(
      'div',
      { class: 'empty' },
      h(
        'p',
        { class: 'muted' },
        `No ${k.noun}s in the registry yet. ${k.kind === 'agents' ? 'Register your first agent (its owner must be a registered human):' : 'Find the MCP servers that run, or register one:'}`,
      ),
      h('pre', {}, h('code', {}, example)),
    );
  }

  /** Servers whose tool panel is open (kept across reloads). */
  const open = new Set();

  function toolsButton(item) {
    const shown = open.has(item.id);
    const toggle = () => {
      if (shown) open.delete(item.id);
      else open.add(item.id);
      load();
    };
    return h(
      'button',
      {
        type: 'button',
        class: 'small secondary',
        'aria-expanded': String(shown),
        'aria-label': `Tools of MCP server ${item.id}`,
        onClick: toggle,
      },
      shown ? 'Hide tools' : 'Tools',
    );
  }

  /** The tools of one server, each with its governance attributes in an editable row. */
  function toolsRow(item) {
    const tools = item.tools ?? [];
    const body =
      tools.length === 0
        ? h('p', { class: 'muted' }, 'This server reported no tools.')
        : h(
            'table',
            { class: 'data tools', id: `tools-${item.id}` },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Tool', 'Sensitivity', 'Intents (comma-separated)', 'Category', 'Labels (key=value, …)', ''].map((c) =>
                  h('th', { scope: 'col' }, c),
                ),
              ),
            ),
            h(
              'tbody',
              {},
              tools.map((t) => toolEditor(item, t)),
            ),
          );
    return h(
      'tr',
      { class: 'tools-row', 'data-tools-of': item.id },
      h(
        'td',
        { colspan: '8' },
        h(
          'p',
          { class: 'help' },
          "What discovery cannot know: the starter policies read a tool's sensitivity and the intents it serves. Saving never changes its hash or the server's trust.",
        ),
        body,
      ),
    );
  }

  function toolEditor(item, t) {
    const id = (field) => `tool-${item.id}-${t.name}-${field}`.replace(/[^\w-]/g, '_');
    const sensitivity = h(
      'select',
      { id: id('sensitivity'), 'aria-label': `Sensitivity of ${t.name}` },
      h('option', { value: '' }, '— none —'),
      SENSITIVITIES.map((v) => h('option', { value: v, selected: t.sensitivity === v }, v)),
    );
    const intents = h('input', { id: id('intents'), 'aria-label': `Intents of ${t.name}`, value: (t.allowedIntents ?? []).join(', ') });
    const category = h('input', { id: id('category'), 'aria-label': `Category of ${t.name}`, value: t.category ?? '' });
    const labels = h('input', {
      id: id('labels'),
      'aria-label': `Labels of ${t.name}`,
      value: Object.entries(t.labels ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(', '),
    });
    const save = async () => {
      if (!token.has()) return toast('Setting tool attributes needs the admin token: paste it at the top.', 'error');
      let body;
      try {
        body = toolPatch({ sensitivity: sensitivity.value, intents: intents.value, category: category.value, labels: labels.value });
      } catch (err) {
        return toast(err.message, 'error');
      }
      try {
        await api(`/v1/registry/mcp-servers/${encodeURIComponent(item.id)}/tools/${encodeURIComponent(t.name)}`, { method: 'PATCH', body });
        toast(`Tool ${item.id}/${t.name} saved.`);
      } catch (err) {
        toast(describeError(err), 'error');
      }
      await load();
    };
    return h(
      'tr',
      { 'data-tool': t.name },
      h('th', { scope: 'row', title: t.description }, t.name),
      h('td', {}, sensitivity),
      h('td', {}, intents),
      h('td', {}, category),
      h('td', {}, labels),
      h('td', {}, h('button', { type: 'button', class: 'small primary', 'aria-label': `Save tool ${t.name}`, onClick: save }, 'Save')),
    );
  }

  function actions(k, item) {
    const tools = k.kind === 'mcp-servers' ? toolsButton(item) : null;
    if (item.trust === 'revoked') return [tools, h('span', { class: 'muted' }, ' revoked (final)')];
    const steps = approvalPath(item.trust);
    return [
      tools,
      steps.length
        ? h(
            'button',
            {
              type: 'button',
              class: 'small',
              'aria-label': `Approve ${k.noun} ${item.id}`,
              onClick: () => change(k, item, 'approve', steps),
            },
            'Approve',
          )
        : null,
      item.trust !== 'quarantined'
        ? h(
            'button',
            {
              type: 'button',
              class: 'small warn',
              'aria-label': `Quarantine ${k.noun} ${item.id}`,
              onClick: () => change(k, item, 'quarantine', ['quarantined']),
            },
            'Quarantine',
          )
        : null,
      h(
        'button',
        {
          type: 'button',
          class: 'small danger',
          'aria-label': `Revoke ${k.noun} ${item.id}`,
          onClick: () => change(k, item, 'revoke', ['revoked']),
        },
        'Revoke',
      ),
    ];
  }

  async function change(k, item, verb, steps) {
    if (!token.has()) {
      toast('Changing trust needs the admin token: paste it at the top.', 'error');
      document.getElementById('token-input')?.focus();
      return;
    }
    const reason = await askReason({
      title: `${verb[0].toUpperCase()}${verb.slice(1)} ${k.noun} ${item.id}`,
      description:
        verb === 'revoke' ? 'Revoked is final: the registry never trusts it again.' : `Moves ${item.trust} → ${steps.join(' → ')}.`,
      confirm: verb[0].toUpperCase() + verb.slice(1),
      danger: verb !== 'approve',
    });
    if (reason === null) return;
    try {
      for (const to of steps)
        await api(`/v1/registry/${k.kind}/${encodeURIComponent(item.id)}/trust`, { method: 'POST', body: { to, reason } });
      toast(`${k.noun} ${item.id} is now ${steps[steps.length - 1]}.`);
    } catch (err) {
      toast(describeError(err), 'error');
    }
    await load();
  }

  await load();
}
