// Overview: decisions per minute and deny rate over the last hour, the most denied agents and
// policies (from the audit trail), and the p99 decision latency (from the Prometheus metrics).
import { api, describeError, metricsText } from '../api.js';
import { h, pageHead, s, add, fill } from '../dom.js';
import { millis, percent, when } from '../format.js';

export const title = 'Overview';

const WINDOW_MIN = 60;
const REFRESH_MS = 10_000;

/** Parses the `le` buckets of one Prometheus histogram, summed over every other label. */
export function histogramBuckets(text, name) {
  const sums = new Map();
  const re = new RegExp(`^${name}_bucket\\{([^}]*)\\}\\s+([0-9.eE+-]+|NaN)`, 'gm');
  for (const m of text.matchAll(re)) {
    const le = /(?:^|,)le="([^"]+)"/.exec(m[1])?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    sums.set(bound, (sums.get(bound) ?? 0) + Number(m[2]));
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]);
}

/** `histogram_quantile`: linear interpolation inside the bucket holding the quantile. */
export function quantile(q, buckets) {
  if (buckets.length === 0) return undefined;
  const total = buckets[buckets.length - 1][1];
  if (!total) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [bound, count] of buckets) {
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      const inBucket = count - prevCount;
      return inBucket === 0 ? bound : prevBound + (bound - prevBound) * ((rank - prevCount) / inBucket);
    }
    prevBound = bound;
    prevCount = count;
  }
  return prevBound;
}

/** Sums of a counter by one label (`argus_decisions_total` by `decision`). */
export function counterBy(text, name, labelName) {
  const out = {};
  const re = new RegExp(`^${name}\\{([^}]*)\\}\\s+([0-9.eE+-]+)`, 'gm');
  for (const m of text.matchAll(re)) {
    const v = new RegExp(`(?:^|,)${labelName}="([^"]+)"`).exec(m[1])?.[1];
    if (v !== undefined) out[v] = (out[v] ?? 0) + Number(m[2]);
  }
  return out;
}

/** Counts decisions per minute over the window and ranks denied agents and policies. */
export function summarize(records, now = Date.now()) {
  const perMinute = new Array(WINDOW_MIN).fill(0).map(() => ({ allow: 0, deny: 0 }));
  const agents = new Map();
  const policies = new Map();
  let denies = 0;
  for (const r of records) {
    const age = Math.floor((now - Date.parse(r.time)) / 60_000);
    if (age < 0 || age >= WINDOW_MIN) continue;
    const deny = r.outcome !== 'allow';
    perMinute[WINDOW_MIN - 1 - age][deny ? 'deny' : 'allow']++;
    if (!deny) continue;
    denies++;
    agents.set(r.principal.id, (agents.get(r.principal.id) ?? 0) + 1);
    const why = r.codes?.length ? r.codes.map((c) => `hard deny: ${c}`) : r.policies?.length ? r.policies : ['no permit matched'];
    for (const p of why) policies.set(p, (policies.get(p) ?? 0) + 1);
  }
  const top = (m) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5);
  const total = perMinute.reduce((n, m) => n + m.allow + m.deny, 0);
  return { perMinute, total, denies, topAgents: top(agents), topPolicies: top(policies) };
}

function rateChart(perMinute) {
  const W = 720;
  const H = 160;
  const max = Math.max(1, ...perMinute.map((m) => m.allow + m.deny));
  const bw = (W - 40) / perMinute.length;
  const y = (v) => 10 + (H - 34) * (1 - v / max);
  const bars = perMinute.flatMap((m, i) => {
    const x = 36 + i * bw;
    const parts = [];
    if (m.allow)
      parts.push(s('rect', { class: 'bar-allow', x, width: Math.max(1, bw - 2), y: y(m.allow + m.deny), height: y(0) - y(m.allow) }));
    if (m.deny) parts.push(s('rect', { class: 'bar-deny', x, width: Math.max(1, bw - 2), y: y(m.deny), height: y(0) - y(m.deny) }));
    return parts;
  });
  const label = `Decisions per minute over the last ${perMinute.length} minutes; peak ${max} per minute`;
  return s(
    'svg',
    { class: 'chart wide', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label },
    s('title', {}, label),
    s(
      'g',
      { class: 'tick' },
      s('line', { x1: 36, x2: W - 4, y1: y(max), y2: y(max) }),
      s('text', { x: 30, y: y(max) + 4, 'text-anchor': 'end' }, String(max)),
    ),
    s(
      'g',
      { class: 'tick' },
      s('line', { x1: 36, x2: W - 4, y1: y(0), y2: y(0) }),
      s('text', { x: 30, y: y(0) + 4, 'text-anchor': 'end' }, '0'),
    ),
    ...bars,
    s('text', { class: 'axis', x: 36, y: H - 6 }, `${perMinute.length} min ago`),
    s('text', { class: 'axis', x: W - 4, y: H - 6, 'text-anchor': 'end' }, 'now'),
  );
}

function stat(name, value, hint) {
  return h(
    'div',
    { class: 'stat' },
    h('p', { class: 'stat-name' }, name),
    h('p', { class: 'stat-value' }, value),
    hint ? h('p', { class: 'stat-hint' }, hint) : null,
  );
}

function ranking(heading, rows, empty) {
  return h(
    'section',
    { class: 'card' },
    h('h2', {}, heading),
    rows.length === 0
      ? h('p', { class: 'muted' }, empty)
      : h(
          'ol',
          { class: 'ranking' },
          rows.map(([name, n]) => h('li', {}, h('span', {}, name), h('span', { class: 'count' }, String(n)))),
        ),
  );
}

export async function render(main, { signal }) {
  const body = h('div', { class: 'stack' }, h('p', {}, 'Loading…'));
  const updated = h('span', { class: 'muted', role: 'status' });
  add(main, pageHead(title, load, updated), body);

  async function load() {
    const now = Date.now();
    const from = new Date(now - WINDOW_MIN * 60_000).toISOString();
    const [records, metrics] = await Promise.all([collect(from).catch((err) => err), metricsText(signal).catch((err) => err)]);
    if (signal.aborted) return;
    const parts = [];
    const p99 = typeof metrics === 'string' ? quantile(0.99, histogramBuckets(metrics, 'argus_decision_duration_seconds')) : undefined;
    if (Array.isArray(records)) {
      // Every count on this page comes from the audit trail over one stated window; /metrics gives
      // only the latency, which says it is measured since the process started.
      const sum = summarize(records, now);
      const lastFive = sum.perMinute.slice(-5).reduce((n, m) => n + m.allow + m.deny, 0) / 5;
      parts.push(
        h(
          'div',
          { class: 'stats' },
          stat(
            `Decisions, last ${WINDOW_MIN} min`,
            String(sum.total),
            `allow ${sum.total - sum.denies} · deny or held ${sum.denies} (audit trail)`,
          ),
          stat('Deny rate', percent(sum.denies, sum.total), `${sum.denies} of ${sum.total} in the last ${WINDOW_MIN} min`),
          stat('Decisions per minute', lastFive.toFixed(1), 'average over the last 5 min'),
          stat('p99 decision latency', p99 === undefined ? '—' : millis(p99 * 1000), 'since the process started (/metrics)'),
        ),
        sum.total === 0
          ? h(
              'p',
              { class: 'notice' },
              'No decisions in the last hour. Make one: ',
              h('code', {}, 'curl -s localhost:8181/v1/authorize -d \'{"input":{…}}\''),
              ' (see the README), or point an agent at the proxy.',
            )
          : null,
        h(
          'section',
          { class: 'card' },
          h('h2', {}, `Decisions per minute (last ${WINDOW_MIN} min)`),
          h('p', { class: 'legend' }, h('span', { class: 'key key-allow' }, 'allow'), h('span', { class: 'key key-deny' }, 'deny / held')),
          rateChart(sum.perMinute),
        ),
        h(
          'div',
          { class: 'two' },
          ranking('Top denied agents', sum.topAgents, 'No denies in the last hour.'),
          ranking('Top denying policies', sum.topPolicies, 'No denies in the last hour.'),
        ),
      );
    } else {
      parts.push(
        h('p', { class: 'notice' }, `The audit trail could not be read: ${describeError(records)}`),
        h(
          'div',
          { class: 'stats' },
          stat('p99 decision latency', p99 === undefined ? '—' : millis(p99 * 1000), 'since the process started (/metrics)'),
        ),
      );
    }
    if (!(typeof metrics === 'string')) parts.push(h('p', { class: 'notice' }, `Metrics unavailable: ${describeError(metrics)}`));
    fill(body, ...parts);
    updated.textContent = `updated ${when(new Date())}`;
  }

  async function collect(from) {
    const out = [];
    let cursor;
    do {
      const page = await api(`/v1/decisions?from=${encodeURIComponent(from)}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { signal });
      out.push(...(page.decisions ?? []));
      cursor = page.next_cursor;
    } while (cursor && out.length < 10_000);
    return out;
  }

  await load();
  const timer = setInterval(() => load().catch(() => undefined), REFRESH_MS);
  return () => clearInterval(timer);
}
