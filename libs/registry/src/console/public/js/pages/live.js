// Live decisions: the audit trail as it is written, filterable, denies highlighted, with the full
// record explained from what the record holds, and a what-if (the request decided again with the
// current policies and registry, never written to the trail) one click away.
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
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
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
  return (
    result.decision === record.outcome &&
    same(
      result.reasons.map((p) => p.policy),
      record.policies ?? [],
    ) &&
    same(result.codes ?? [], record.codes ?? [])
  );
}

/** Why a what-if may answer otherwise than its record, in words. */
export function differenceWhy(result, record, version) {
  const why = [];
  if (version !== record.policyVersion) why.push(`the policy set changed (${record.policyVersion} then, ${version} now)`);
  if (!record.included || Object.keys(record.included).length === 0)
    why.push('the record keeps no attribute or context values (none were opted in), so the what-if ran without them');
  why.push('registry trust, leases, grants, goals and budgets are read as they are now');
  return `Possible causes: ${why.join('; ')}.`;
}

/** Policy id → what the current set says of it (effect and annotations), for explaining records. */
async function policyIndex() {
  const set = await api('/v1/policies');
  return { version: set.version, byId: new Map(set.policies.map((p) => [p.id, p])) };
}

/** The explanation a record carries by itself: determining policies with their reasons, codes, errors, effects. */
async function fromRecord(record) {
  const parts = [h('p', {}, 'Recorded: ', badge(record.outcome), ` under ${record.policyVersion}`)];
  if (record.codes?.length) {
    parts.push(h('p', {}, 'Hard deny before any policy ran: ', ...record.codes.map((c) => h('code', { class: 'code-chip' }, c))));
  }
  let index;
  try {
    index = await policyIndex();
  } catch {
    index = undefined;
  }
  if (record.policies?.length) {
    const verb = record.outcome === 'allow' ? 'Allowed by' : record.outcome === 'needs_approval' ? 'Held for approval by' : 'Denied by';
    parts.push(
      h('p', {}, verb),
      h(
        'ul',
        { class: 'reasons' },
        record.policies.map((id) => {
          const p = index?.byId.get(id);
          return h(
            'li',
            {},
            h('code', {}, id),
            p ? ` (${p.effect})` : '',
            p?.annotations?.reason ? ` — ${p.annotations.reason}` : p ? '' : ' — not in the current set',
          );
        }),
      ),
    );
    if (index && index.version !== record.policyVersion)
      parts.push(
        h(
          'p',
          { class: 'muted' },
          `Reasons are read from the current set (${index.version}); the record was decided under ${record.policyVersion}.`,
        ),
      );
  } else if (!record.codes?.length) {
    parts.push(
      h(
        'p',
        {},
        record.outcome === 'deny'
          ? 'Default deny: no permit matched and no forbid applied. The what-if below (explain: full) names the closest permits.'
          : 'No determining policy recorded.',
      ),
    );
  }
  if (record.errors?.length)
    parts.push(
      h(
        'ul',
        { class: 'errors' },
        record.errors.map((e) => h('li', {}, `${e.policy ?? e.policyId ?? ''} ${e.code}: ${e.message}`)),
      ),
    );
  if (record.observed?.length)
    parts.push(h('p', { class: 'muted' }, `Observe-mode forbids that would have denied: ${record.observed.join(', ')}`));
  if (record.effects?.length)
    parts.push(h('p', {}, 'Effects: ', record.effects.map((e) => `${e.effect} (${e.policy}): ${e.status}`).join('; ')));
  if (record.approval)
    parts.push(h('p', {}, `Approval ${record.approval.id}${record.approval.status ? `: ${record.approval.status}` : ''}`));
  return parts;
}

function searchText(record) {
  return [
    record.principal?.id,
    chain(record),
    record.intent,
    record.goal,
    record.action,
    label(record.resource),
    record.resource?.id,
    record.outcome,
    determining(record),
    record.caller?.kind,
  ]
    .join(' ')
    .toLowerCase();
}

export async function render(main, { signal }) {
  const records = [];
  const filter = h('input', {
    id: 'live-filter',
    type: 'search',
    placeholder: 'agent, intent, policy, resource…',
    'aria-controls': 'live-table',
  });
  const deniesOnly = h('input', { id: 'live-denies', type: 'checkbox' });
  const status = h('span', { class: 'stream-state', role: 'status', 'aria-live': 'polite' }, 'connecting');
  const count = h('span', { class: 'muted' });
  const tbody = h('tbody');
  const detail = h('section', { class: 'detail', 'aria-labelledby': 'detail-title', hidden: true });
  let paused = false;
  const pause = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      'aria-pressed': 'false',
      onClick: () => {
        paused = !paused;
        pause.setAttribute('aria-pressed', String(paused));
        pause.textContent = paused ? 'Resume' : 'Pause';
        if (!paused) redraw();
      },
    },
    'Pause',
  );

  add(
    main,
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
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              ['Time', 'Outcome', 'Agent', 'Delegation chain', 'Intent', 'Goal', 'Action', 'Resource', 'Determining policy'].map((c) =>
                h('th', { scope: 'col' }, c),
              ),
            ),
          ),
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
      h(
        'td',
        {},
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-label': `Details of the ${outcome} at ${clock(record.time)} for ${record.principal?.id}`,
            onClick: () => showDetail(record),
          },
          clock(record.time),
        ),
      ),
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
    if (shown.length === 0) {
      const hint = !token.has()
        ? 'The audit trail needs the admin token: paste the contents of .argus/admin-token into the box at the top.'
        : records.length === 0
          ? 'No decisions yet. Make one with POST /v1/authorize (see the README), or point an agent at the proxy: it appears here as it is decided.'
          : 'No decision matches the filter.';
      fill(tbody, h('tr', { class: 'empty' }, h('td', { colspan: '9' }, hint)));
    } else fill(tbody, ...shown.map(row));
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
    const recordedExplanation = h(
      'section',
      { class: 'explain', 'aria-labelledby': 'recorded-title' },
      h('h3', { id: 'recorded-title' }, 'Why, from the record'),
      h('p', {}, 'Reading the policies…'),
    );
    fromRecord(record).then((parts) => fill(recordedExplanation, h('h3', { id: 'recorded-title' }, 'Why, from the record'), ...parts));
    fill(
      detail,
      h(
        'div',
        { class: 'detail-head' },
        h('h2', { id: 'detail-title', tabindex: '-1' }, `Decision ${record.decision_id}`),
        h(
          'button',
          { type: 'button', class: 'secondary', 'aria-label': 'Close the details', onClick: () => (detail.hidden = true) },
          'Close',
        ),
      ),
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
        h(
          'button',
          { type: 'button', class: 'primary', onClick: () => explain(input, explainOut, record) },
          'What-if with the current policies and registry',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onClick: () => {
              sessionStorage.setItem(PLAYGROUND_KEY, JSON.stringify(input));
              location.hash = '#/playground';
            },
          },
          'Open in playground',
        ),
      ),
      recordedExplanation,
      h(
        'p',
        { class: 'help' },
        'The what-if decides the recorded request again with the current policies and registry. It is not a decision: nothing is written to the trail and no side effect happens. Attribute and context values are in the record only when opted in, so a what-if may differ from the record.',
      ),
      explainOut,
      h('h3', {}, 'Full record'),
      jsonBlock(clean, 'Full audit record'),
    );
    detail.querySelector('#detail-title').focus();
  }

  async function explain(input, out, recorded) {
    fill(out, h('p', {}, 'Deciding the what-if…'));
    try {
      const answer = await api('/v1/authorize', {
        method: 'POST',
        body: { input, explain: 'full' },
        extraHeaders: { 'x-argus-what-if': 'true' },
      });
      const r = answer.result;
      fill(
        out,
        h('h3', {}, 'What-if with the current policies and registry (not recorded)'),
        h('p', {}, 'Now: ', badge(r.decision), ` under ${answer.policy_version}`),
        sameAnswer(r, recorded)
          ? h('p', { class: 'ok' }, 'Same answer as the record.')
          : h(
              'p',
              { class: 'notice' },
              `The what-if differs from the recorded ${recorded.outcome} (${determining(recorded)}). ${differenceWhy(r, recorded, answer.policy_version)}`,
            ),
        r.codes?.length ? h('p', {}, `Hard deny before any policy: ${r.codes.join(', ')}`) : null,
        h(
          'ul',
          { class: 'reasons' },
          r.reasons.map((p) =>
            h('li', {}, h('code', {}, p.policy), ` (${p.effect})`, p.annotations?.reason ? ` — ${p.annotations.reason}` : ''),
          ),
        ),
        r.errors?.length
          ? h(
              'ul',
              { class: 'errors' },
              r.errors.map((e) => h('li', {}, `${e.policy ?? ''} ${e.code}: ${e.message}`)),
            )
          : null,
        h('h4', {}, 'Facts'),
        jsonBlock(r.facts ?? {}, 'Facts checked'),
        r.explanation
          ? h('details', {}, h('summary', {}, 'Entities and context given to Cedar'), jsonBlock(r.explanation, 'Cedar request'))
          : null,
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
  const states = {
    connecting: 'connecting…',
    live: '● live',
    unauthorized: 'needs the admin token to follow the stream',
    retrying: 'reconnecting…',
  };
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
