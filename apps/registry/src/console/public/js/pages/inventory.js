// Inventory: agents and MCP servers with their trust state, lease health, last seen and who
// discovered them; admins move trust state (approve, quarantine, revoke) with a reason.
import { api, describeError, listAll, token } from '../api.js';
import { askReason, badge, h, toast, add, fill } from '../dom.js';
import { plural, relative, when } from '../format.js';

export const title = 'Inventory';

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
  if (lease.state === 'expired' && !lease.expiresAt) return h('span', { title: 'no heartbeat or proxied call yet' }, badge('no lease', 'lease-unknown'));
  return [badge(lease.state, `lease-${lease.state}`), lease.expiresAt ? h('span', { class: 'muted', title: when(lease.expiresAt) }, ` ${relative(lease.expiresAt)}`) : null];
}

export async function render(main, { signal }) {
  const sections = h('div', { class: 'stack' });
  add(main, 
    h('div', { class: 'page-head' }, h('h1', {}, title), h('button', { type: 'button', class: 'secondary', onClick: () => load() }, 'Refresh')),
    token.has() ? null : h('p', { class: 'notice' }, 'Reading the registry and changing trust states need the admin token: paste the contents of ', h('code', {}, '.argus/admin-token'), ' (written by ', h('code', {}, 'argus serve'), ') into the box at the top.'),
    sections,
  );

  async function load() {
    const built = [];
    for (const k of KINDS) {
      try {
        const items = await listAll(`/v1/registry/${k.kind}?limit=200`, { max: 500, signal });
        const leases = await Promise.all(items.map((item) => api(`/v1/registry/${k.kind}/${encodeURIComponent(item.id)}`, { signal }).then((r) => r.lease, () => ({ state: 'unknown' }))));
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
      return h(
        'tr',
        { 'data-id': item.id, class: item.trust === 'quarantined' || item.trust === 'revoked' ? 'deny' : '' },
        h('th', { scope: 'row' }, name),
        h('td', {}, k.kind === 'agents' ? item.kind : item.transport),
        h('td', {}, k.kind === 'agents' ? item.owner ?? '—' : plural(item.tools?.length ?? 0, 'tool')),
        h('td', {}, badge(item.trust)),
        h('td', {}, leaseCell(lease)),
        h('td', { title: when(item.lastSeen) }, relative(item.lastSeen)),
        h('td', {}, item.discoveredBy ?? '—'),
        h('td', { class: 'row-actions' }, actions(k, item)),
      );
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
              h('thead', {}, h('tr', {}, ['Id', k.kind === 'agents' ? 'Kind' : 'Transport', k.kind === 'agents' ? 'Owner' : 'Tools', 'Trust', 'Lease', 'Last seen', 'Discovered by', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
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
      h('p', { class: 'muted' }, `No ${k.noun}s in the registry yet. ${k.kind === 'agents' ? 'Register your first agent (its owner must be a registered human):' : 'Find the MCP servers that run, or register one:'}`),
      h('pre', {}, h('code', {}, example)),
    );
  }

  function actions(k, item) {
    if (item.trust === 'revoked') return h('span', { class: 'muted' }, 'revoked (final)');
    const steps = approvalPath(item.trust);
    return [
      steps.length ? h('button', { type: 'button', class: 'small', 'aria-label': `Approve ${k.noun} ${item.id}`, onClick: () => change(k, item, 'approve', steps) }, 'Approve') : null,
      item.trust !== 'quarantined' ? h('button', { type: 'button', class: 'small warn', 'aria-label': `Quarantine ${k.noun} ${item.id}`, onClick: () => change(k, item, 'quarantine', ['quarantined']) }, 'Quarantine') : null,
      h('button', { type: 'button', class: 'small danger', 'aria-label': `Revoke ${k.noun} ${item.id}`, onClick: () => change(k, item, 'revoke', ['revoked']) }, 'Revoke'),
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
      description: verb === 'revoke' ? 'Revoked is final: the registry never trusts it again.' : `Moves ${item.trust} → ${steps.join(' → ')}.`,
      confirm: verb[0].toUpperCase() + verb.slice(1),
      danger: verb !== 'approve',
    });
    if (reason === null) return;
    try {
      for (const to of steps) await api(`/v1/registry/${k.kind}/${encodeURIComponent(item.id)}/trust`, { method: 'POST', body: { to, reason } });
      toast(`${k.noun} ${item.id} is now ${steps[steps.length - 1]}.`);
    } catch (err) {
      toast(describeError(err), 'error');
    }
    await load();
  }

  await load();
}
