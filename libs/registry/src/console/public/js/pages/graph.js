// Delegation graph: humans → agents → sub-agents, drawn as an SVG tree from the grants, with
// scopes, expiries and active goals; a branch is revoked from the graph (the cascade is the API's).
import { api, describeError, listAll, token } from '../api.js';
import { askReason, badge, h, pageHead, s, toast, add, fill } from '../dom.js';
import { relative, when } from '../format.js';

export const title = 'Delegation graph';

const NODE_W = 236;
const NODE_H = 66;
const COL = 290;
const ROW = 84;

/** Whether a grant still holds now. */
export function isActive(grant, now = Date.now()) {
  return !grant.revokedAt && Date.parse(grant.expiresAt) > now;
}

/**
 * Builds the forest: one root per human, each grant a node under its granter (a human's grants at
 * the top, an agent's re-delegations under the grant it delegated from).
 */
export function buildForest(humans, grants) {
  const byParent = new Map();
  for (const g of grants) {
    const key = g.parentId ?? `human:${g.from.type === 'Human' ? g.from.id : ''}`;
    if (!byParent.has(key)) byParent.set(key, []);
    byParent.get(key).push(g);
  }
  const seen = new Set();
  const grantNode = (g, depth) => {
    if (seen.has(g.id) || depth > 16) return null;
    seen.add(g.id);
    return {
      kind: 'grant',
      grant: g,
      id: g.to.id,
      children: (byParent.get(g.id) ?? []).map((c) => grantNode(c, depth + 1)).filter(Boolean),
    };
  };
  const humanIds = new Set(humans.map((x) => x.id));
  for (const g of grants) if (g.from.type === 'Human' && !humanIds.has(g.from.id)) humans = [...humans, { id: g.from.id, email: '' }];
  return humans.map((human) => ({
    kind: 'human',
    human,
    id: human.id,
    children: (byParent.get(`human:${human.id}`) ?? []).map((g) => grantNode(g, 1)).filter(Boolean),
  }));
}

/** Assigns x/y to every node: depth by column, leaves in order by row. Returns the drawing size. */
export function layout(forest) {
  let row = 0;
  let maxDepth = 0;
  const place = (node, depth) => {
    maxDepth = Math.max(maxDepth, depth);
    node.x = 16 + depth * COL;
    if (node.children.length === 0) {
      node.y = 16 + row * ROW;
      row++;
    } else {
      for (const c of node.children) place(c, depth + 1);
      node.y = (node.children[0].y + node.children[node.children.length - 1].y) / 2;
    }
  };
  for (const root of forest) place(root, 0);
  return { width: 32 + maxDepth * COL + NODE_W, height: Math.max(ROW, 16 + row * ROW) };
}

function clip(text, n) {
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

export async function render(main, { signal }) {
  const area = h('div', { class: 'graph-area' });
  const side = h('section', { class: 'detail', 'aria-labelledby': 'grant-title', hidden: true });
  const showInactive = h('input', { id: 'graph-inactive', type: 'checkbox', checked: true });
  add(
    main,
    pageHead(title, load),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { class: 'check' }, showInactive, ' Show revoked and expired grants'),
      h(
        'span',
        { class: 'legend' },
        h('span', { class: 'key key-human' }, 'human'),
        h('span', { class: 'key key-active' }, 'active grant'),
        h('span', { class: 'key key-inactive' }, 'revoked / expired'),
      ),
    ),
    token.has() ? null : h('p', { class: 'notice' }, 'The full graph is visible to admins: paste the admin token at the top.'),
    h('div', { class: 'split' }, area, side),
  );
  showInactive.addEventListener('change', () => load());

  let goalsByAgent = new Map();

  async function load() {
    try {
      const [humans, grants, goals] = await Promise.all([
        listAll('/v1/registry/humans?limit=200', { max: 1000, signal }),
        listAll('/v1/delegations?limit=500', { max: 5000, signal }),
        listAll('/v1/goals?status=active&limit=500', { max: 2000, signal }).catch(() => []),
      ]);
      goalsByAgent = new Map();
      for (const goal of goals) for (const a of goal.agents) goalsByAgent.set(a, [...(goalsByAgent.get(a) ?? []), goal]);
      const shown = showInactive.checked ? grants : grants.filter((g) => isActive(g));
      draw(buildForest(humans, shown), shown);
    } catch (err) {
      if (!signal.aborted) fill(area, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  function draw(forest, grants) {
    if (forest.length === 0) {
      fill(
        area,
        h(
          'p',
          { class: 'muted' },
          'No delegations yet. Make a grant on the Goals page, or with `argus delegations grant` (see docs/delegation.md).',
        ),
      );
      return;
    }
    const size = layout(forest);
    const edges = [];
    const nodes = [];
    const visit = (node, parent) => {
      if (parent) {
        const x1 = parent.x + NODE_W;
        const y1 = parent.y + NODE_H / 2;
        const x2 = node.x;
        const y2 = node.y + NODE_H / 2;
        const mid = (x1 + x2) / 2;
        const active = node.kind !== 'grant' || isActive(node.grant);
        edges.push(s('path', { d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}`, class: active ? 'edge' : 'edge edge-inactive' }));
      }
      nodes.push(nodeView(node));
      for (const c of node.children) visit(c, node);
    };
    for (const root of forest) visit(root, null);
    const svg = s(
      'svg',
      {
        class: 'graph',
        viewBox: `0 0 ${size.width} ${size.height}`,
        width: size.width,
        height: size.height,
        role: 'group',
        'aria-label': `Delegation tree: ${forest.length} humans, ${grants.length} grants`,
      },
      s('g', { class: 'edges', 'aria-hidden': 'true' }, edges),
      s('g', { class: 'nodes' }, nodes),
    );
    fill(area, h('div', { class: 'graph-scroll' }, svg), grantTable(grants));
  }

  function nodeView(node) {
    if (node.kind === 'human') {
      return s(
        'g',
        { class: 'node node-human', transform: `translate(${node.x},${node.y})`, 'aria-label': `Human ${node.id}` },
        s('rect', { width: NODE_W, height: NODE_H, rx: 8 }),
        s('text', { x: 12, y: 24, class: 'node-title' }, clip(node.id, 26)),
        s('text', { x: 12, y: 44, class: 'node-sub' }, clip(node.human.email || 'human', 30)),
      );
    }
    const g = node.grant;
    const active = isActive(g);
    const goals = goalsByAgent.get(g.to.id) ?? [];
    const state = g.revokedAt ? 'revoked' : active ? `expires ${relative(g.expiresAt)}` : 'expired';
    const view = s(
      'g',
      {
        class: active ? 'node node-grant' : 'node node-grant node-inactive',
        transform: `translate(${node.x},${node.y})`,
        tabindex: '0',
        role: 'button',
        'data-grant': g.id,
        'aria-label': `Agent ${g.to.id}, granted by ${g.from.id}, ${state}, ${goals.length} active goals. Open to revoke.`,
        onClick: () => select(g),
        onKeydown: (event) => {
          if (event.key === 'Enter' || event.key === ' ') {
            event.preventDefault();
            select(g);
          }
        },
      },
      s('rect', { width: NODE_W, height: NODE_H, rx: 8 }),
      s('text', { x: 12, y: 20, class: 'node-title' }, clip(g.to.id, 26)),
      s('text', { x: 12, y: 38, class: 'node-sub' }, clip(`scope: ${g.scope.actions.join(', ')}`, 34)),
      s('text', { x: 12, y: 55, class: 'node-sub' }, clip(`${state} · ${goals.length} goal${goals.length === 1 ? '' : 's'}`, 34)),
    );
    return view;
  }

  function grantTable(grants) {
    return h(
      'details',
      { class: 'grant-list' },
      h('summary', {}, `All grants as a table (${grants.length})`),
      h(
        'table',
        { class: 'data' },
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['From', 'To', 'Actions', 'Resources', 'Expires', 'State', ''].map((c) => h('th', { scope: 'col' }, c)),
          ),
        ),
        h(
          'tbody',
          {},
          grants.map((g) =>
            h(
              'tr',
              {},
              h('td', {}, `${g.from.type} ${g.from.id}`),
              h('td', {}, g.to.id),
              h('td', {}, g.scope.actions.join(', ')),
              h('td', {}, g.scope.resources.join(', ')),
              h('td', {}, when(g.expiresAt)),
              h('td', {}, badge(g.revokedAt ? 'revoked' : isActive(g) ? 'active' : 'expired')),
              h(
                'td',
                {},
                isActive(g)
                  ? h(
                      'button',
                      {
                        type: 'button',
                        class: 'small danger',
                        'aria-label': `Revoke the branch from ${g.from.id} to ${g.to.id}`,
                        onClick: () => revoke(g),
                      },
                      'Revoke branch',
                    )
                  : null,
              ),
            ),
          ),
        ),
      ),
    );
  }

  function select(g) {
    side.hidden = false;
    const goals = goalsByAgent.get(g.to.id) ?? [];
    fill(
      side,
      h(
        'div',
        { class: 'detail-head' },
        h('h2', { id: 'grant-title', tabindex: '-1' }, `${g.from.id} → ${g.to.id}`),
        h('button', { type: 'button', class: 'secondary', onClick: () => (side.hidden = true) }, 'Close'),
      ),
      h(
        'dl',
        { class: 'facts' },
        ...[
          ['Grant', g.id],
          ['Granted by', `${g.from.type} ${g.from.id}`],
          ['To', `${g.to.type} ${g.to.id}`],
          ['Actions', g.scope.actions.join(', ')],
          ['Resources', g.scope.resources.join(', ')],
          ['Expires', `${when(g.expiresAt)} (${relative(g.expiresAt)})`],
          ['Re-delegation depth', g.maxDepth ?? 'unlimited (within the configured maximum)'],
          ['State', badge(g.revokedAt ? 'revoked' : isActive(g) ? 'active' : 'expired')],
          ...(g.revokedAt ? [['Revoked', `${when(g.revokedAt)} by ${g.revokedBy ?? '?'}: ${g.revokeReason ?? ''}`]] : []),
          ['Active goals', goals.length ? goals.map((x) => `${x.id} (${x.objective})`).join('; ') : 'none'],
        ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
      isActive(g) ? h('button', { type: 'button', class: 'danger', onClick: () => revoke(g) }, 'Revoke this branch') : null,
      h('p', { class: 'help' }, 'Revoking a grant revokes every grant delegated from it.'),
    );
    side.querySelector('#grant-title').focus();
  }

  async function revoke(g) {
    if (!token.has()) {
      toast('Revoking needs the admin token: paste it at the top.', 'error');
      document.getElementById('token-input')?.focus();
      return;
    }
    const reason = await askReason({
      title: `Revoke ${g.from.id} → ${g.to.id}`,
      description: 'Every grant delegated from this one is revoked with it.',
      confirm: 'Revoke branch',
      danger: true,
    });
    if (reason === null) return;
    try {
      const out = await api(`/v1/delegations/${encodeURIComponent(g.id)}/revoke`, { method: 'POST', body: { reason } });
      toast(`Revoked ${out.revoked.length} grant${out.revoked.length === 1 ? '' : 's'}.`);
      side.hidden = true;
    } catch (err) {
      toast(describeError(err), 'error');
    }
    await load();
  }

  await load();
}
