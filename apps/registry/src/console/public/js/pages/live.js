// Live decisions: the audit trail as it is written, filterable, denies highlighted, with the full
// record and an explanation (the decision re-run with `explain: "full"`) one click away.
import { api, describeError, streamDecisions, token } from '../api.js';
import { badge, h, jsonBlock, toast, add, fill } from '../dom.js';
import { chain, clock, label, millis, when } from '../format.js';

export const title = 'Live decisions';

const MAX_ROWS = 500;
/** Where the playground picks up a request to prefill. */
export const PLAYGROUND_KEY = 'argus.console.playground';

/** The request an audit record stands for: the recorded fields plus any opted-in values. */
export function inputOf(record) {
  const input = {
    principal: { type: record.principal.type, id: record.principal.id },
    action: record.action,
    resource: { type: record.resource.type, id: record.resource.id },
  };
  if (record.intent) input.intent = record.intent;
  if (record.goal) input.goal = record.goal;
  if (record.delegation?.length) input.delegation = record.delegation.map((r) => ({ type: r.type, id: r.id }));
  for (const [pointer, value] of Object.entries(record.included ?? {})) setPointer({ input }, pointer, value);
  return input;
}

function setPointer(root, pointer, value) {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (parts.length < 2 || parts[0] !== 'input' || parts.some((p) => p === '__proto__' || p === 'constructor' || p === 'prototype')) return;
  let node = root;
  for (const part of parts.slice(0, -1)) {
    if (typeof node[part] !== 'object' || node[part] === null) node[part] = {};
    node = node[part];
  }
  node[parts[parts.length - 1]] = value;
}

function determining(record) {
  if (record.codes?.length) return `hard deny: ${record.codes.join(', ')}`;
  if (record.policies?.length) return record.policies.join(', ');
  return record.outcome === 'deny' ? 'no permit matched' : '—';
}

/** Whether a re-run answered as the record did: same outcome, same determining policies and codes. */
export function sameAnswer(result, record) {
  const same = (a, b) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);
  return result.decision === record.outcome && same(result.reasons.map((p) => p.policy), record.policies ?? []) && same(result.codes ?? [], record.codes ?? []);
}

function searchText(record) {
  return [record.principal?.id, chain(record), record.intent, record.goal, record.action, label(record.resource), record.resource?.id, record.outcome, determining(record), record.caller?.kind]
    .join(' ')
    .toLowerCase();
}

export async function render(main, { signal }) {
  const records = [];
  const filter = h('input', { id: 'live-filter', type: 'search', placeholder: 'agent, intent, policy, resource…', 'aria-controls': 'live-table' });
  const deniesOnly = h('input', { id: 'live-denies', type: 'checkbox' });
  const status = h('span', { class: 'stream-state', role: 'status', 'aria-live': 'polite' }, 'connecting');
  const count = h('span', { class: 'muted' });
  const tbody = h('tbody');
  const detail = h('section', { class: 'detail', 'aria-labelledby': 'detail-title', hidden: true });
  let paused = false;
  const pause = h('button', { type: 'button', class: 'secondary', 'aria-pressed': 'false', onClick: () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) redraw();
  } }, 'Pause');

  add(main, 
    h('div', { class: 'page-head' }, h('h1', {}, title), status),
    h(
      'div',
      { class: 'toolbar', role: 'search' },
      h('label', { for: 'live-filter' }, 'Filter'),
      filter,
      h('label', { class: 'check' }, deniesOnly, ' Denies only'),
      pause,
      count,
    ),
    h(
      'div',
      { class: 'split' },
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { id: 'live-table', class: 'data' },
          h('caption', { class: 'visually-hidden' }, 'Decisions, newest first'),
          h('thead', {}, h('tr', {}, ['Time', 'Outcome', 'Agent', 'Delegation chain', 'Intent', 'Goal', 'Action', 'Resource', 'Determining policy'].map((c) => h('th', { scope: 'col' }, c)))),
          tbody,
        ),
      ),
      detail,
    ),
  );

  function matches(record) {
    if (deniesOnly.checked && record.outcome === 'allow') return false;
    const q = filter.value.trim().toLowerCase();
    return !q || q.split(/\s+/).every((word) => record._text.includes(word));
  }

  function row(record) {
    const outcome = record.outcome ?? (record.allow ? 'allow' : 'deny');
    return h(
      'tr',
      { class: outcome === 'allow' ? 'allow' : 'deny', 'data-decision-id': record.decision_id },
      h('td', {}, h('button', { type: 'button', class: 'link', 'aria-label': `Details of the ${outcome} at ${clock(record.time)} for ${record.principal?.id}`, onClick: () => showDetail(record) }, clock(record.time))),
      h('td', {}, badge(outcome)),
      h('td', {}, record.principal?.id ?? ''),
      h('td', {}, chain(record)),
      h('td', {}, record.intent ?? '—'),
      h('td', {}, record.goal ?? '—'),
      h('td', {}, h('code', {}, record.action)),
      h('td', {}, label(record.resource)),
      h('td', {}, determining(record)),
    );
  }

  function redraw() {
    const shown = records.filter(matches);
    fill(tbody, ...shown.map(row));
    count.textContent = `${shown.length} of ${records.length} shown`;
  }

  function addRecord(record, { live }) {
    if (records.some((r) => r.decision_id === record.decision_id)) return;
    record._text = searchText(record);
    records.unshift(record);
    records.sort((a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : 0));
    if (records.length > MAX_ROWS) records.length = MAX_ROWS;
    if (!paused || !live) redraw();
  }

  async function showDetail(record) {
    detail.hidden = false;
    const explainOut = h('div', { class: 'explain', 'aria-live': 'polite' });
    const input = inputOf(record);
    const { _text, ...clean } = record;
    fill(detail, 
      h('div', { class: 'detail-head' }, h('h2', { id: 'detail-title', tabindex: '-1' }, `Decision ${record.decision_id}`), h('button', { type: 'button', class: 'secondary', 'aria-label': 'Close the details', onClick: () => (detail.hidden = true) }, 'Close')),
      h(
        'dl',
        { class: 'facts' },
        ...[
          ['Outcome', badge(record.outcome)],
          ['Time', when(record.time)],
          ['Agent', record.principal?.id],
          ['On whose authority', chain(record)],
          ['Intent', record.intent ?? '—'],
          ['Goal', record.goal ?? '—'],
          ['Action', record.action],
          ['Resource', label(record.resource)],
          ['Determining', determining(record)],
          ['Policy set', record.policyVersion],
          ['Latency', millis(record.latencyMs)],
          ['Caller', record.caller?.kind ?? '—'],
        ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]),
      ),
      h(
        'div',
        { class: 'actions' },
        h('button', { type: 'button', class: 'primary', onClick: () => explain(input, explainOut, record) }, 'Explain (re-run with explain: full)'),
        h('button', { type: 'button', class: 'secondary', onClick: () => {
          sessionStorage.setItem(PLAYGROUND_KEY, JSON.stringify(input));
          location.hash = '#/playground';
        } }, 'Open in playground'),
      ),
      h('p', { class: 'help' }, 'The explanation re-runs the recorded request through /v1/authorize against the live set; attribute and context values are in the record only when opted in, and the re-run is itself audited.'),
      explainOut,
      h('h3', {}, 'Full record'),
      jsonBlock(clean, 'Full audit record'),
    );
    detail.querySelector('#detail-title').focus();
  }

  async function explain(input, out, recorded) {
    fill(out, h('p', {}, 'Re-running…'));
    try {
      const answer = await api('/v1/authorize', { method: 'POST', body: { input, explain: 'full' } });
      const r = answer.result;
      fill(out, 
        h('h3', {}, 'Explanation'),
        h('p', {}, 'Now: ', badge(r.decision), ` under ${answer.policy_version}`),
        sameAnswer(r, recorded)
          ? null
          : h('p', { class: 'notice' }, `The re-run differs from the recorded ${recorded.outcome} (${determining(recorded)}): the record keeps no attribute or context values unless they are opted in, and the registry, grants or policies may have changed since.`),
        r.codes?.length ? h('p', {}, `Hard deny before any policy: ${r.codes.join(', ')}`) : null,
        h('ul', { class: 'reasons' }, r.reasons.map((p) => h('li', {}, h('code', {}, p.policy), ` (${p.effect})`, p.annotations?.reason ? ` — ${p.annotations.reason}` : ''))),
        r.errors?.length ? h('ul', { class: 'errors' }, r.errors.map((e) => h('li', {}, `${e.policy ?? ''} ${e.code}: ${e.message}`))) : null,
        h('h4', {}, 'Facts'),
        jsonBlock(r.facts ?? {}, 'Facts checked'),
        r.explanation ? h('details', {}, h('summary', {}, 'Entities and context given to Cedar'), jsonBlock(r.explanation, 'Cedar request')) : null,
      );
    } catch (err) {
      fill(out, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  filter.addEventListener('input', redraw);
  deniesOnly.addEventListener('change', redraw);

  if (!token.has()) status.textContent = 'needs the admin token to read the audit trail';
  try {
    const recent = await api('/v1/decisions?limit=50', { signal });
    for (const r of recent.decisions ?? []) addRecord(r, { live: false });
  } catch (err) {
    if (!signal.aborted) toast(describeError(err), 'error');
  }
  redraw();
  const states = { connecting: 'connecting…', live: '● live', unauthorized: 'needs the admin token to follow the stream', retrying: 'reconnecting…' };
  streamDecisions({
    signal,
    onState: (s) => {
      status.textContent = states[s] ?? s;
      status.dataset.state = s;
    },
    onRecord: (record) => addRecord(record, { live: true }),
  });
  return () => undefined;
}
