// Goals: status, owner, assigned agents, and budget consumption — the actions consumed over time
// (allowed decisions for the goal, from the audit trail) against the budget, and the current use
// of every budgeted resource. With the admin token the page also sets goals and grants on behalf
// of a named human (and agent→agent hops below a grant an agent holds), lists the delegation
// grants and revokes them (the revocation cascades below the grant).
import { api, describeError, listAll, token } from '../api.js';
import { askReason, badge, h, pageHead, s, add, fill, toast } from '../dom.js';
import { relative, when } from '../format.js';

export const title = 'Goals';

const W = 560;
const H = 180;
const PAD = { left: 44, right: 16, top: 14, bottom: 28 };

/** Cumulative counts as step points `[time, count]`, oldest first. */
export function cumulative(times) {
  return [...times].sort((a, b) => a - b).map((t, i) => [t, i + 1]);
}

/** The consumption chart: cumulative allowed actions over time, with the budget as a dashed line. */
export function consumptionChart({ points, start, end, budget, label }) {
  const top = Math.max(budget ?? 0, points.length ? points[points.length - 1][1] : 0, 1);
  const x = (t) => PAD.left + ((t - start) / Math.max(1, end - start)) * (W - PAD.left - PAD.right);
  const y = (v) => H - PAD.bottom - (v / top) * (H - PAD.top - PAD.bottom);
  let d = `M${x(start)},${y(0)}`;
  for (const [t, v] of points) d += ` H${x(t)} V${y(v)}`;
  d += ` H${x(end)}`;
  const ticks = [0, Math.round(top / 2), top];
  return s(
    'svg',
    { class: 'chart', viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': label },
    s('title', {}, label),
    ...ticks.map((v) =>
      s(
        'g',
        { class: 'tick' },
        s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }),
        s('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)),
      ),
    ),
    budget !== undefined ? s('line', { class: 'budget-line', x1: PAD.left, x2: W - PAD.right, y1: y(budget), y2: y(budget) }) : null,
    budget !== undefined
      ? s('text', { class: 'budget-label', x: W - PAD.right, y: y(budget) - 4, 'text-anchor': 'end' }, `budget ${budget}`)
      : null,
    s('path', { class: 'series', d }),
    s('text', { class: 'axis', x: PAD.left, y: H - 8 }, when(new Date(start))),
    s('text', { class: 'axis', x: W - PAD.right, y: H - 8, 'text-anchor': 'end' }, 'now'),
  );
}

/** One budget bar: used of max, as a labelled SVG bar (a text line when unbudgeted). */
function budgetBar(name, used, max, unit = '') {
  if (max === undefined) return h('p', { class: 'muted' }, `${name}: ${used}${unit} used (no budget)`);
  const ratio = Math.min(1, used / Math.max(max, Number.EPSILON));
  const kind = ratio >= 1 ? 'over' : ratio >= 0.8 ? 'near' : 'ok';
  return h(
    'div',
    { class: 'bar-row' },
    h('span', { class: 'bar-name' }, name),
    s(
      'svg',
      {
        class: 'bar',
        viewBox: '0 0 200 14',
        width: 200,
        height: 14,
        role: 'img',
        'aria-label': `${name}: ${used}${unit} of ${max}${unit}`,
      },
      s('rect', { class: 'bar-bg', width: 200, height: 14, rx: 3 }),
      s('rect', { class: `bar-fill bar-${kind}`, width: Math.round(200 * ratio), height: 14, rx: 3 }),
    ),
    h('span', { class: 'bar-value' }, `${used}${unit} / ${max}${unit}`),
  );
}

const EXPIRIES = [
  ['30 minutes', 0.5],
  ['1 hour', 1],
  ['8 hours', 8],
  ['24 hours', 24],
  ['7 days', 168],
];

/** Comma- or newline-separated values, trimmed, empty ones dropped. */
export function splitList(text) {
  return String(text ?? '')
    .split(/[,\n]/)
    .map((v) => v.trim())
    .filter(Boolean);
}

/** The body of `POST /v1/goals` from the new-goal form's values (the admin names the owner). */
export function goalBody(v, now = Date.now()) {
  const maxActions = String(v.maxActions ?? '').trim();
  return {
    ...(v.id?.trim() ? { id: v.id.trim() } : {}),
    onBehalfOf: v.owner.trim(),
    objective: v.objective.trim(),
    intents: splitList(v.intents),
    agents: splitList(v.agents),
    expiresAt: new Date(now + Number(v.hours) * 3_600_000).toISOString(),
    ...(maxActions ? { budget: { maxActions: Number(maxActions) } } : {}),
  };
}

/**
 * The body of `POST /v1/delegations` from the new-grant form's values: a root grant on behalf of
 * a human, or a hop from an agent below a grant it holds (the server checks the attenuation).
 */
export function grantBody(v, now = Date.now()) {
  const grantor = v.grantor.trim();
  return {
    ...(v.kind === 'agent' ? { from: { type: 'Agent', id: grantor } } : { onBehalfOf: grantor }),
    to: { type: 'Agent', id: v.to.trim() },
    scope: { actions: splitList(v.actions), resources: splitList(v.resources) },
    expiresAt: new Date(now + Number(v.hours) * 3_600_000).toISOString(),
    ...(v.parent?.trim() ? { parent: v.parent.trim() } : {}),
  };
}

const uid = (e) => `${e.type.replace(/^Argus::/, '')}::"${e.id}"`;

function field(id, label, control, help) {
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id, class: 'label' }, label),
    control,
    help ? h('p', { class: 'help' }, help) : null,
  );
}

function expirySelect(id, selected) {
  const options = EXPIRIES.map(([label, hours]) => h('option', { value: String(hours) }, label));
  // The default is an attribute, so that resetting the form after a submit comes back to it.
  for (const o of options) o.defaultSelected = Number(o.value) === selected;
  return h('select', { id }, options);
}

/** The error as the console words it, with the server's reason codes (`/scope: delegation_scope_widened: …`) when it left them out. */
function withDetails(err) {
  const text = describeError(err);
  const details = (err?.errors ?? []).map((e) => `${e.path || '/'}: ${e.message}`).join('; ');
  return details && !text.includes(details) ? `${text} (${details})` : text;
}

/** A form that posts `bodyOf()` to `path`, shows the server's error in place, and calls `done` on success. */
function postForm({ id, legend, fields, submit, path, bodyOf, done }) {
  const error = h('p', { class: 'error', role: 'alert' });
  return h(
    'details',
    { class: 'card', id },
    h('summary', {}, legend),
    h(
      'form',
      {
        onSubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          try {
            const created = await api(path, { method: 'POST', body: bodyOf() });
            toast(`${submit}: ${created.id}`, 'success');
            event.target.reset();
            await done();
          } catch (err) {
            error.textContent = withDetails(err);
          }
        },
      },
      ...fields,
      error,
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, submit)),
    ),
  );
}

export async function render(main, { signal }) {
  const list = h('div', { class: 'stack' });
  const grants = h('div', { id: 'grant-list' });
  const goalForm = (() => {
    const f = {
      owner: h('input', { id: 'goal-owner', type: 'text', required: true, placeholder: 'alice' }),
      objective: h('input', { id: 'goal-objective', type: 'text', required: true, placeholder: 'answer ticket 42' }),
      intents: h('input', { id: 'goal-intents', type: 'text', required: true, placeholder: 'lookup-order-status, summarize' }),
      agents: h('input', { id: 'goal-agents', type: 'text', required: true, placeholder: 'orchestrator, researcher' }),
      hours: expirySelect('goal-expires', 24),
      maxActions: h('input', { id: 'goal-max-actions', type: 'number', min: '0', step: '1' }),
      id: h('input', { id: 'goal-id', type: 'text', placeholder: '(generated)' }),
    };
    return postForm({
      id: 'new-goal',
      legend: 'New goal (on behalf of a human)',
      submit: 'Create goal',
      path: '/v1/goals',
      fields: [
        field('goal-owner', 'Owner (human id)', f.owner),
        field('goal-objective', 'Objective', f.objective),
        field('goal-intents', 'Intents', f.intents, 'Comma-separated, from the intent catalogue.'),
        field('goal-agents', 'Assigned agents', f.agents, 'Comma-separated agent ids.'),
        field('goal-expires', 'Expires in', f.hours),
        field('goal-max-actions', 'Action budget', f.maxActions, 'Optional.'),
        field('goal-id', 'Goal id', f.id, 'Optional.'),
      ],
      bodyOf: () => goalBody(Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value]))),
      done: () => load(),
    });
  })();
  const grantForm = (() => {
    const f = {
      kind: h(
        'select',
        { id: 'grant-kind' },
        h('option', { value: 'human' }, 'a human (root grant)'),
        h('option', { value: 'agent' }, 'an agent (from a grant it holds)'),
      ),
      grantor: h('input', { id: 'grant-grantor', type: 'text', required: true, placeholder: 'alice' }),
      to: h('input', { id: 'grant-to', type: 'text', required: true, placeholder: 'orchestrator' }),
      actions: h('input', { id: 'grant-actions', type: 'text', required: true, placeholder: 'tool:call' }),
      resources: h('textarea', { id: 'grant-resources', required: true, rows: '2', placeholder: 'Tool::"crm.*"' }),
      hours: expirySelect('grant-expires', 1),
      parent: h('input', { id: 'grant-parent', type: 'text', placeholder: '(any grant the agent holds that covers it)' }),
    };
    return postForm({
      id: 'new-grant',
      legend: 'New delegation grant',
      submit: 'Grant',
      path: '/v1/delegations',
      fields: [
        field('grant-kind', 'Granted by', f.kind),
        field('grant-grantor', 'Grantor id', f.grantor),
        field('grant-to', 'To agent', f.to),
        field('grant-actions', 'Actions', f.actions, 'Comma-separated patterns, e.g. tool:call, llm:*.'),
        field(
          'grant-resources',
          'Resources',
          f.resources,
          'One pattern per line, e.g. Tool::"crm.*". An agent\'s grant must stay inside what it holds.',
        ),
        field('grant-expires', 'Expires in', f.hours, 'No later than the grant it is made from.'),
        field('grant-parent', 'Parent grant', f.parent, 'Optional, for a hop from an agent.'),
      ],
      bodyOf: () => grantBody(Object.fromEntries(Object.entries(f).map(([k, el]) => [k, el.value]))),
      done: () => loadGrants(),
    });
  })();
  const statusFilter = h(
    'select',
    { id: 'goal-status' },
    ['all', 'active', 'paused', 'completed', 'cancelled', 'expired'].map((v) => h('option', { value: v }, v)),
  );
  add(
    main,
    pageHead(title, load),
    h('div', { class: 'toolbar' }, h('label', { for: 'goal-status' }, 'Status'), statusFilter),
    token.has()
      ? null
      : h('p', { class: 'notice' }, 'Goals are visible to their owners, agents and admins: paste the admin token at the top.'),
    token.has() ? h('div', { class: 'stack' }, goalForm, grantForm) : null,
    list,
    h('h2', { id: 'delegations-title' }, 'Delegation grants'),
    grants,
  );
  statusFilter.addEventListener('change', () => load());

  async function loadGrants() {
    try {
      const items = await listAll('/v1/delegations?limit=100', { max: 500, signal });
      if (items.length === 0) {
        fill(
          grants,
          h(
            'p',
            { class: 'muted' },
            'No delegation grants yet: a human grants an agent part of their authority with the form on this page, or with `argus delegations grant`.',
          ),
        );
        return;
      }
      const now = Date.now();
      const rows = items.map((g) => {
        const state = g.revokedAt ? 'revoked' : Date.parse(g.expiresAt) <= now ? 'expired' : 'active';
        const revoke =
          state === 'active' ? h('button', { type: 'button', class: 'danger', onClick: () => revokeGrant(g) }, 'Revoke') : null;
        return h(
          'tr',
          {},
          h('td', {}, h('code', {}, g.id)),
          h('td', {}, uid(g.from)),
          h('td', {}, uid(g.to)),
          h('td', {}, `${g.scope.actions.join(', ')} on ${g.scope.resources.join(', ')}`),
          h('td', {}, when(g.expiresAt)),
          h('td', {}, badge(state, state === 'active' ? 'allow' : 'deny')),
          h('td', {}, g.parentId ? h('code', {}, g.parentId) : '—'),
          h('td', {}, revoke),
        );
      });
      if (!signal.aborted) {
        fill(
          grants,
          h(
            'table',
            { class: 'data', 'aria-labelledby': 'delegations-title' },
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['Grant', 'From', 'To', 'Scope', 'Expires', 'State', 'Parent', ''].map((c) => h('th', { scope: 'col' }, c)),
              ),
            ),
            h('tbody', {}, rows),
          ),
        );
      }
    } catch (err) {
      if (!signal.aborted) fill(grants, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  async function revokeGrant(g) {
    const reason = await askReason({
      title: `Revoke ${g.id}`,
      description: `${uid(g.from)} → ${uid(g.to)}. Every grant below it is revoked too.`,
      confirm: 'Revoke',
      danger: true,
    });
    if (reason === null) return;
    try {
      const r = await api(`/v1/delegations/${encodeURIComponent(g.id)}/revoke`, { method: 'POST', body: { reason } });
      toast(`Revoked ${r.revoked.length} grant(s): ${r.revoked.join(', ')}`, 'success');
    } catch (err) {
      toast(describeError(err), 'error');
    }
    await loadGrants();
  }

  async function load() {
    try {
      const status = statusFilter.value === 'all' ? '' : `&status=${statusFilter.value}`;
      const goals = await listAll(`/v1/goals?limit=100${status}`, { max: 100, signal });
      if (goals.length === 0) {
        fill(list, h('p', { class: 'muted' }, 'No goals yet: set one with the form on this page, or with `argus goals create`.'));
        return;
      }
      const cards = await Promise.all(goals.map((g) => card(g)));
      if (!signal.aborted) fill(list, ...cards);
    } catch (err) {
      if (!signal.aborted) fill(list, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  async function card(goal) {
    const [full, decisions] = await Promise.all([
      api(`/v1/goals/${encodeURIComponent(goal.id)}`, { signal }).catch(() => goal),
      api(`/v1/decisions?goal=${encodeURIComponent(goal.id)}&decision=allow&limit=1000`, { signal }).then(
        (r) => r.decisions ?? [],
        () => [],
      ),
    ]);
    const used = full.usage?.used ?? { actions: 0, tokens: 0, costUsd: 0 };
    const budget = goal.budget ?? {};
    const start = Date.parse(goal.createdAt);
    const end = Math.max(Date.now(), start + 60_000);
    const points = cumulative(decisions.map((d) => Date.parse(d.time)).filter((t) => !Number.isNaN(t)));
    return h(
      'article',
      { class: 'card goal', 'aria-labelledby': `goal-${goal.id}` },
      h('div', { class: 'card-head' }, h('h2', { id: `goal-${goal.id}` }, goal.id), badge(goal.status, `goal-${goal.status}`)),
      h('p', { class: 'objective' }, goal.objective),
      h(
        'dl',
        { class: 'facts compact' },
        ...[
          ['Owner', goal.owner],
          ['Assigned agents', goal.agents.join(', ') || '—'],
          ['Intents', goal.intents.join(', ')],
          ['Expires', `${when(goal.expiresAt)} (${relative(goal.expiresAt)})`],
        ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
      h(
        'div',
        { class: 'goal-body' },
        h(
          'figure',
          {},
          consumptionChart({
            points,
            start,
            end,
            budget: budget.maxActions,
            label: `Actions allowed for ${goal.id} over time: ${points.length}${budget.maxActions !== undefined ? ` of ${budget.maxActions}` : ''}`,
          }),
          h('figcaption', {}, 'Allowed actions over time (audit trail)'),
        ),
        h(
          'div',
          { class: 'bars' },
          h('h3', {}, 'Budget used'),
          budgetBar('Actions', used.actions, budget.maxActions),
          budgetBar('Tokens', used.tokens, budget.maxTokens),
          budgetBar('Cost', used.costUsd, budget.maxCostUsd, ' USD'),
        ),
      ),
    );
  }

  await Promise.all([load(), loadGrants()]);
}
