// Policy playground: edit a request (prefilled from a real decision), decide it with the live set
// or a candidate edit side by side, and validate a policy edit with located errors before saving.
import { api, describeError, token } from '../api.js';
import { askReason, badge, h, jsonBlock, toast, add, fill } from '../dom.js';
import { PLAYGROUND_KEY, inputOf } from './live.js';
import { createPolicyEditor } from '../editor.js';

export const title = 'Policy playground';

const SAMPLE = {
  principal: { type: 'Agent', id: 'support-bot' },
  action: 'tool:call',
  resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
  intent: 'lookup-order-status',
};

/** Link slot values in the form `PUT /v1/policies` accepts (unqualified types). */
export function shortLinks(links) {
  return (links ?? []).map((l) => ({
    ...l,
    values: Object.fromEntries(Object.entries(l.values).map(([slot, v]) => [slot, { type: String(v.type).split('::').pop(), id: v.id }])),
  }));
}

/**
 * What "Determining policies" says when no policy determined the answer `r`: a hard deny stopped
 * the request before any policy ran, so it is not a default deny.
 */
function noDeterminingPolicy(r) {
  if (r.codes?.length) return 'none: no policy was evaluated (hard deny)';
  return r.decision === 'deny' ? 'none: no permit matched (default deny)' : 'none';
}

/** Line and column of a JSON.parse failure, when the engine reports a position. */
function jsonErrorAt(text, err) {
  const m = /position (\d+)/.exec(String(err?.message));
  if (!m) return String(err?.message ?? err);
  const pos = Number(m[1]);
  const before = text.slice(0, pos).split('\n');
  return `line ${before.length}, column ${before[before.length - 1].length + 1}: ${err.message}`;
}

export async function render(main, { signal }) {
  const request = h('textarea', {
    id: 'pg-request',
    class: 'code',
    rows: '16',
    spellcheck: 'false',
    'aria-describedby': 'pg-request-help',
  });
  const liveRadio = h('input', { type: 'radio', name: 'pg-set', id: 'pg-set-live', value: 'live', checked: true });
  const candRadio = h('input', { type: 'radio', name: 'pg-set', id: 'pg-set-candidate', value: 'candidate' });
  const fileSelect = h('select', { id: 'pg-file' });
  const policyHost = h('div', { class: 'policy-editor' });
  const diagnostics = h('div', { class: 'diagnostics', 'aria-live': 'polite' });
  const results = h('section', { class: 'results', 'aria-live': 'polite', 'aria-label': 'Decision' });
  const saveButton = h('button', { type: 'button', class: 'danger', disabled: true, onClick: () => save() }, 'Save as the live set');
  const editor = h(
    'fieldset',
    { class: 'candidate', disabled: true },
    h('legend', {}, 'Candidate edit'),
    h(
      'div',
      { class: 'toolbar' },
      h('label', { for: 'pg-file' }, 'File'),
      fileSelect,
      h('button', { type: 'button', class: 'secondary', onClick: () => validate() }, 'Validate'),
      saveButton,
    ),
    policyHost,
    diagnostics,
  );

  let source;
  const edits = new Map();
  let validatedKey;

  add(
    main,
    h('div', { class: 'page-head' }, h('h1', {}, title)),
    h(
      'div',
      { class: 'playground' },
      h(
        'div',
        { class: 'pane' },
        h('label', { for: 'pg-request', class: 'label' }, 'Request (the `input` of POST /v1/authorize)'),
        request,
        h(
          'p',
          { id: 'pg-request-help', class: 'help' },
          'Prefilled from a real decision when there is one. Running it is a real, audited decision.',
        ),
        h(
          'fieldset',
          { class: 'choice' },
          h('legend', {}, 'Policy set'),
          h('label', { class: 'check' }, liveRadio, ' Live set'),
          h('label', { class: 'check' }, candRadio, ' Live set and a candidate edit, side by side'),
        ),
        h('div', { class: 'actions' }, h('button', { type: 'button', class: 'primary', id: 'pg-run', onClick: () => run() }, 'Run')),
        results,
      ),
      h('div', { class: 'pane' }, editor),
    ),
  );

  const useCandidate = () => candRadio.checked;
  for (const radio of [liveRadio, candRadio]) radio.addEventListener('change', () => (editor.disabled = !useCandidate()));
  fileSelect.addEventListener('change', () => showFile());
  let showing = false;
  const policyText = createPolicyEditor(policyHost, {
    id: 'pg-policy',
    label: 'Policy text',
    check: (text) => checkFile(fileSelect.value, text),
    onChange: (text) => {
      if (showing) return;
      edits.set(fileSelect.value, text);
      saveButton.disabled = true;
    },
  });

  /** The validator's diagnostics for one file of the candidate set, as the editor shows them while you type. */
  async function checkFile(file, text) {
    if (!source) return [];
    const policies = source.policies.map((p) => ({ file: p.file, text: p.file === file ? text : (edits.get(p.file) ?? p.text) }));
    const links = shortLinks(source.links);
    try {
      const out = await api('/v1/policies/validate', { method: 'POST', body: { policies, ...(links.length ? { links } : {}) } });
      return [...(out.diagnostics ?? []), ...(out.warnings ?? [])].filter((d) => d.file === file);
    } catch {
      return [];
    }
  }

  function candidatePolicies() {
    return source.policies.map((p) => ({ file: p.file, text: edits.get(p.file) ?? p.text }));
  }

  function showFile() {
    const file = source.policies.find((p) => p.file === fileSelect.value);
    showing = true;
    policyText.text = edits.get(fileSelect.value) ?? file?.text ?? '';
    showing = false;
    policyText.lintNow();
  }

  function goTo(file, line, column) {
    if (!source.policies.some((p) => p.file === file)) return;
    if (fileSelect.value !== file) {
      fileSelect.value = file;
      showFile();
    }
    policyText.goTo(line, column);
  }

  async function validate() {
    const policies = candidatePolicies();
    const links = shortLinks(source.links);
    fill(diagnostics, h('p', {}, 'Validating…'));
    try {
      const out = await api('/v1/policies/validate', { method: 'POST', body: { policies, ...(links.length ? { links } : {}) } });
      if (out.valid) {
        validatedKey = JSON.stringify(policies);
        saveButton.disabled = false;
        fill(
          diagnostics,
          h('p', { class: 'ok' }, `Valid: ${out.version}`),
          ...(out.warnings ?? []).map((w) => h('p', { class: 'muted' }, `warning ${w.file}:${w.line}:${w.column} ${w.message}`)),
        );
      } else {
        validatedKey = undefined;
        saveButton.disabled = true;
        fill(
          diagnostics,
          h('p', { class: 'error', role: 'alert' }, `${out.diagnostics.length} error(s): the live set is unchanged.`),
          h(
            'ul',
            { class: 'diagnostic-list' },
            out.diagnostics.map((d) =>
              h(
                'li',
                {},
                h(
                  'button',
                  { type: 'button', class: 'link', onClick: () => goTo(d.file, d.line, d.column) },
                  `${d.file}:${d.line}:${d.column}`,
                ),
                ` ${d.message}`,
                d.help ? h('span', { class: 'muted' }, ` (help: ${d.help})`) : null,
                d.excerpt ? h('pre', { class: 'excerpt' }, d.excerpt) : null,
              ),
            ),
          ),
        );
      }
    } catch (err) {
      fill(diagnostics, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  async function save() {
    const policies = candidatePolicies();
    if (validatedKey !== JSON.stringify(policies)) {
      toast('Validate the edit before saving it.', 'error');
      return;
    }
    if (!token.has()) {
      toast('Saving needs the admin token: paste it at the top.', 'error');
      document.getElementById('token-input')?.focus();
      return;
    }
    const message = await askReason({
      title: 'Save the candidate as the live set',
      description: 'Every decision from now on uses it. A set that does not compile is refused and the live one stays.',
      confirm: 'Save',
      danger: true,
    });
    if (message === null) return;
    try {
      const links = shortLinks(source.links);
      // Only over the set this page loaded: another author's publication since is a 412, never overwritten.
      const out = await api('/v1/policies', {
        method: 'PUT',
        body: { policies, ...(links.length ? { links } : {}), message },
        extraHeaders: { 'if-match': `"${source.version}"` },
      });
      toast(`Saved: ${out.version} (${out.policies} policies).`);
      await loadSource();
    } catch (err) {
      if (err.status === 412) return staleSet();
      toast(describeError(err), 'error');
    }
  }

  /** The live set changed since this page loaded it: say so, and offer to load it (dropping the edit). */
  function staleSet() {
    saveButton.disabled = true;
    toast('Not saved: the live policy set changed since you loaded it.', 'error');
    fill(
      diagnostics,
      h(
        'p',
        { class: 'error', role: 'alert' },
        `Not saved: the live policy set changed since you loaded it (${source.version.slice(0, 19)}…), and saving would overwrite that change. `,
        'Reload it and make your edit again (copy it first: reloading discards it).',
      ),
      h('button', { type: 'button', class: 'secondary', id: 'pg-reload', onClick: () => reload() }, 'Reload the live set'),
    );
  }

  async function reload() {
    try {
      await loadSource();
      fill(diagnostics, h('p', { class: 'ok' }, `Loaded the live set ${source.version.slice(0, 19)}…`));
    } catch (err) {
      fill(diagnostics, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  function resultView(heading, r) {
    return h(
      'div',
      { class: ['result', r.decision === 'allow' ? 'allow' : 'deny'] },
      h('h3', {}, heading),
      h('p', { class: 'decision' }, badge(r.decision)),
      r.codes?.length ? h('p', {}, `Hard deny before any policy: ${r.codes.join(', ')}`) : null,
      h('h4', {}, 'Determining policies'),
      r.reasons.length
        ? h(
            'ul',
            { class: 'reasons' },
            r.reasons.map((p) =>
              h('li', {}, h('code', {}, p.policy), ` (${p.effect})`, p.annotations?.reason ? ` — ${p.annotations.reason}` : ''),
            ),
          )
        : h('p', { class: 'muted' }, noDeterminingPolicy(r)),
      r.errors?.length
        ? h(
            'ul',
            { class: 'errors' },
            r.errors.map((e) => h('li', {}, `${e.policy ?? ''} ${e.code}: ${e.message}`)),
          )
        : null,
    );
  }

  async function run() {
    let input;
    try {
      input = JSON.parse(request.value);
    } catch (err) {
      fill(results, h('p', { class: 'error', role: 'alert' }, `The request is not JSON: ${jsonErrorAt(request.value, err)}`));
      return;
    }
    fill(results, h('p', {}, 'Deciding…'));
    try {
      const live = await api('/v1/authorize', { method: 'POST', body: { input, explain: 'full' } });
      const views = [resultView(`Live set (${live.policy_version.slice(0, 19)}…)`, live.result)];
      if (useCandidate()) {
        const x = live.result.explanation;
        if (!x) {
          views.push(
            h(
              'div',
              { class: 'result' },
              h('h3', {}, 'Candidate'),
              h('p', {}, 'Not evaluated: the request was denied before any policy ran, so no policy set can change it.'),
            ),
          );
        } else {
          try {
            const cand = await api('api/candidate/evaluate', {
              method: 'POST',
              body: {
                schema: source.schema,
                policies: candidatePolicies(),
                ...(source.links?.length ? { links: source.links } : {}),
                // The explanation as the live answer gave it: the endpoint takes it as it is.
                request: x,
              },
            });
            views.push(resultView(`Candidate (${cand.version.slice(0, 19)}…)`, cand));
          } catch (err) {
            views.push(
              h('div', { class: 'result' }, h('h3', {}, 'Candidate'), h('p', { class: 'error', role: 'alert' }, describeError(err))),
            );
          }
        }
      }
      fill(
        results,
        h('div', { class: 'result-grid' }, views),
        h('h4', {}, 'Facts'),
        jsonBlock(live.result.facts ?? {}, 'Facts checked'),
        live.result.explanation
          ? h('details', {}, h('summary', {}, 'Entities and context given to Cedar'), jsonBlock(live.result.explanation, 'Cedar request'))
          : null,
      );
    } catch (err) {
      fill(results, h('p', { class: 'error', role: 'alert' }, describeError(err)));
    }
  }

  async function loadSource() {
    source = await api('/v1/policies/source', { signal });
    const selected = fileSelect.value;
    fill(fileSelect, ...source.policies.map((p) => h('option', { value: p.file }, p.file)));
    if (selected && source.policies.some((p) => p.file === selected)) fileSelect.value = selected;
    edits.clear();
    validatedKey = undefined;
    saveButton.disabled = true;
    showFile();
  }

  async function prefill() {
    const stored = sessionStorage.getItem(PLAYGROUND_KEY);
    if (stored) {
      sessionStorage.removeItem(PLAYGROUND_KEY);
      return JSON.parse(stored);
    }
    if (token.has()) {
      const recent = await api('/v1/decisions?limit=1', { signal }).catch(() => undefined);
      const record = recent?.decisions?.[0];
      if (record) return inputOf(record);
    }
    return SAMPLE;
  }

  request.value = JSON.stringify(await prefill(), null, 2);
  try {
    await loadSource();
  } catch (err) {
    fill(diagnostics, h('p', { class: 'error', role: 'alert' }, describeError(err)));
  }
}
