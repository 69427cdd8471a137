// Goals: status, owner, assigned agents, and budget consumption — the actions consumed over time
// (allowed decisions for the goal, from the audit trail) against the budget, and the current use
// of every budgeted resource.
import { api, describeError, listAll, token } from '../api.js';
import { badge, h, s, add, fill } from '../dom.js';
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
    ...ticks.map((v) => s('g', { class: 'tick' }, s('line', { x1: PAD.left, x2: W - PAD.right, y1: y(v), y2: y(v) }), s('text', { x: PAD.left - 6, y: y(v) + 4, 'text-anchor': 'end' }, String(v)))),
    budget !== undefined ? s('line', { class: 'budget-line', x1: PAD.left, x2: W - PAD.right, y1: y(budget), y2: y(budget) }) : null,
    budget !== undefined ? s('text', { class: 'budget-label', x: W - PAD.right, y: y(budget) - 4, 'text-anchor': 'end' }, `budget ${budget}`) : null,
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
    s('svg', { class: 'bar', viewBox: '0 0 200 14', width: 200, height: 14, role: 'img', 'aria-label': `${name}: ${used}${unit} of ${max}${unit}` }, s('rect', { class: 'bar-bg', width: 200, height: 14, rx: 3 }), s('rect', { class: `bar-fill bar-${kind}`, width: Math.round(200 * ratio), height: 14, rx: 3 })),
    h('span', { class: 'bar-value' }, `${used}${unit} / ${max}${unit}`),
  );
}

export async function render(main, { signal }) {
  const list = h('div', { class: 'stack' });
  const statusFilter = h('select', { id: 'goal-status' }, ['all', 'active', 'paused', 'completed', 'cancelled', 'expired'].map((v) => h('option', { value: v }, v)));
  add(main, 
    h('div', { class: 'page-head' }, h('h1', {}, title), h('button', { type: 'button', class: 'secondary', onClick: () => load() }, 'Refresh')),
    h('div', { class: 'toolbar' }, h('label', { for: 'goal-status' }, 'Status'), statusFilter),
    token.has() ? null : h('p', { class: 'notice' }, 'Goals are visible to their owners, agents and admins: paste the admin token at the top.'),
    list,
  );
  statusFilter.addEventListener('change', () => load());

  async function load() {
    try {
      const status = statusFilter.value === 'all' ? '' : `&status=${statusFilter.value}`;
      const goals = await listAll(`/v1/goals?limit=100${status}`, { max: 100, signal });
      if (goals.length === 0) {
        fill(list, h('p', { class: 'muted' }, 'No goals.'));
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
      api(`/v1/decisions?goal=${encodeURIComponent(goal.id)}&decision=allow&limit=1000`, { signal }).then((r) => r.decisions ?? [], () => []),
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
        h('figure', {}, consumptionChart({ points, start, end, budget: budget.maxActions, label: `Actions allowed for ${goal.id} over time: ${points.length}${budget.maxActions !== undefined ? ` of ${budget.maxActions}` : ''}` }), h('figcaption', {}, 'Allowed actions over time (audit trail)')),
        h('div', { class: 'bars' }, h('h3', {}, 'Budget used'), budgetBar('Actions', used.actions, budget.maxActions), budgetBar('Tokens', used.tokens, budget.maxTokens), budgetBar('Cost', used.costUsd, budget.maxCostUsd, ' USD')),
      ),
    );
  }

  await load();
}
