/**
 * The web console end to end, in real headless Chromium (Debian `chromium` driven by
 * `playwright-core`), against a running `argus serve`: a decision made through the API appears in
 * the live stream, an agent quarantined from the inventory gets the next decision denied, and a
 * request runs in the playground on the live set and a candidate edit. Screenshots of every page
 * land in `test-artifacts/console/`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsoleRouter } from '@argus/registry';
import { seedRegistry, serve, type RunningArgus } from './commands/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ARTIFACTS = join(REPO, 'test-artifacts/console');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `console end-to-end tests skipped: ${CHROMIUM} is missing (install it with \`apt-get update && apt-get install -y chromium\`)`,
  );
}

const allowInput = {
  principal: { type: 'Agent', id: 'support-bot' },
  action: 'tool:call',
  resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
  intent: 'lookup-order-status',
  goal: 'goal-refunds',
  delegation: [
    { type: 'Human', id: 'alice' },
    { type: 'Agent', id: 'planner' },
    { type: 'Agent', id: 'support-bot' },
  ],
};

/** When `argus serve` does not mount the console itself, a loopback front serves it and forwards the rest. */
async function consoleFront(target: string): Promise<{ url: string; server: Server }> {
  const app = express();
  app.use(createConsoleRouter({ basePath: '/console' }));
  app.use((req, res) => {
    const upstream = httpRequest(`${target}${req.originalUrl}`, { method: req.method, headers: req.headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
    res.on('close', () => upstream.destroy());
  });
  const server = createServer(app);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const address = server.address();
  return { url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`, server };
}

describe.skipIf(!hasChromium)('console in headless Chromium against argus serve', () => {
  let dataDir: string;
  let running: RunningArgus;
  let front: Server | undefined;
  let base: string;
  let token: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const authorize = async (input: unknown) => {
    const res = await fetch(`${running.url}/v1/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ input }),
    });
    expect(res.status).toBe(200);
    return (await res.json()) as { decision_id: string; result: { decision: string; codes?: string[] } };
  };
  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${running.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    expect(res.status, `${method} ${path}: ${await res.clone().text()}`).toBeLessThan(300);
    return res.json();
  };
  /** A file of the live set, as the editor shows it before any edit. */
  const sourceText = async (file: string) => {
    const source = (await admin('GET', '/v1/policies/source')) as { policies: Array<{ file: string; text: string }> };
    return source.policies.find((p) => p.file === file)!.text;
  };
  /** Screenshots the README shows are written beside it too, so they stay current. */
  const README_SHOTS: Record<string, string> = { overview: 'console-overview.png', 'playground-diagnostics': 'console-playground.png' };
  const shot = async (name: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    const doc = README_SHOTS[name];
    if (doc) await page.screenshot({ path: join(REPO, 'docs/images', doc) });
  };
  const open = async (hash: string, ready: string) => {
    await page.goto(`${base}/console/${hash}`);
    await page.waitForSelector(ready, { timeout: 20_000, state: 'attached' });
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'argus-console-'));
    running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
    token = process.env.ARGUS_ADMIN_TOKEN ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();

    const mounted = (await fetch(`${running.url}/console/`)).status === 200;
    if (mounted) base = running.url;
    else {
      console.info('argus serve does not mount the console yet: serving it from a loopback front that forwards the APIs');
      const f = await consoleFront(running.url);
      front = f.server;
      base = f.url;
    }

    const registry = running.runtime.storage.registry;
    await seedRegistry(registry, {
      humans: [
        { id: 'alice', email: 'alice@example.com', roles: ['support'] },
        { id: 'bob', email: 'bob@example.com', roles: ['finance'] },
      ],
      agents: [
        { id: 'planner', name: 'Planner', owner: 'alice', kind: 'assistant', trust: 'trusted' },
        { id: 'support-bot', name: 'Support bot', owner: 'alice', kind: 'sub-agent', trust: 'trusted' },
        { id: 'scraper', name: 'Unknown scraper', kind: 'workflow', trust: 'discovered' },
      ],
      mcpServers: [
        {
          id: 'crm',
          name: 'CRM',
          url: 'http://crm.internal:8080/mcp',
          trust: 'trusted',
          tools: [{ name: 'crm.search', description: 'search orders', inputSchema: { type: 'object' } }],
        },
      ],
    });
    for (const id of ['planner', 'support-bot']) await admin('POST', `/v1/registry/agents/${id}/lease`, { ttlMs: 600_000 });
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const top = (await admin('POST', '/v1/delegations', {
      from: { type: 'Human', id: 'alice' },
      to: { type: 'Agent', id: 'planner' },
      scope: { actions: ['tool:call', 'llm:invoke'], resources: ['Tool::"crm.*"', 'Model::"*"'] },
      expiresAt,
    })) as { id: string };
    await running.runtime.storage.delegations.create({
      id: 'grant-planner-bot',
      from: { type: 'Agent', id: 'planner' },
      to: { type: 'Agent', id: 'support-bot' },
      scope: { actions: ['tool:call'], resources: ['Tool::"crm.*"'] },
      expiresAt,
      parentId: top.id,
      createdBy: 'planner',
    });
    await running.runtime.storage.goals.create({
      id: 'goal-refunds',
      owner: 'alice',
      objective: 'Answer refund questions',
      intents: ['lookup-order-status', 'answer-customer'],
      agents: ['planner', 'support-bot'],
      expiresAt,
      budget: { maxActions: 10, maxTokens: 50_000 },
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(m.text());
    });
    page.on('pageerror', (e) => problems.push(e.message));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (front ? front.close(() => ok()) : ok()));
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('loads, keeps the token out of the page, and is keyboard reachable', async () => {
    await open('#/overview', 'h1');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement && document.activeElement.id')).toBe('skip-link');
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#token-state.is-set');
    expect(await page.inputValue('#token-input')).toBe('');
    expect(await page.content()).not.toContain(token);
    expect(await page.getAttribute('#token-input', 'type')).toBe('password');
  }, 60_000);

  it('shows a decision made through the API in the live stream, denies highlighted, with its explanation', async () => {
    await open('#/live', '.stream-state[data-state=live]');
    const allowed = await authorize(allowInput);
    expect(allowed.result.decision, JSON.stringify(allowed)).toBe('allow');
    const row = page.locator(`tr[data-decision-id="${allowed.decision_id}"]`);
    await row.waitFor({ timeout: 15_000 });
    expect(await row.getAttribute('class')).toBe('allow');
    expect(await row.innerText()).toContain('alice → planner → support-bot');
    const denied = await authorize({
      ...allowInput,
      resource: { type: 'Tool', id: 'crm.secrets', attributes: { sensitivity: 'secret', allowedIntents: ['lookup-order-status'] } },
    });
    expect(denied.result.decision).toBe('deny');
    const denyRow = page.locator(`tr[data-decision-id="${denied.decision_id}"]`);
    await denyRow.waitFor({ timeout: 15_000 });
    expect(await denyRow.getAttribute('class')).toBe('deny');
    await page.fill('#live-filter', 'secrets');
    expect(await page.locator('#live-table tbody tr').count()).toBe(1);
    await page.fill('#live-filter', '');
    await shot('live-decisions');

    await denyRow.locator('button').click();
    // Explained from what the record holds: the forbid that decided, with its reason, before any what-if.
    await page.waitForSelector('#recorded-title');
    await expect
      .poll(() => page.locator('section.explain').first().innerText(), { timeout: 10_000 })
      .toContain('secret-tools-need-clearance');
    expect(await page.locator('section.explain').first().innerText()).toMatch(/Denied by/);
    const trail = async () => ((await admin('GET', '/v1/decisions?limit=1000')) as { decisions: unknown[] }).decisions.length;
    await new Promise((r) => setTimeout(r, 300));
    const before = await trail();
    await page.getByRole('button', { name: /What-if/ }).click();
    await page.waitForSelector('.explain h3:has-text("What-if")');
    // The record keeps no attribute values (value-free audit), so the what-if cannot see `secret`: the console says it differs, and why.
    const explanation = await page.locator('.detail').innerText();
    expect(explanation).toContain('Facts');
    expect(explanation).toMatch(/differs from the recorded deny/);
    expect(explanation).toMatch(/no attribute or context values/);
    await new Promise((r) => setTimeout(r, 300));
    expect(await trail()).toBe(before);
    await shot('live-decision-detail');
  }, 60_000);

  it('quarantines an agent from the inventory, and the next decision is denied', async () => {
    await open('#/inventory', '#table-agents tr[data-id="support-bot"]');
    const row = page.locator('#table-agents tr[data-id="support-bot"]');
    expect(await row.innerText()).toContain('trusted');
    expect(await row.innerText()).toContain('alive');
    await shot('inventory');
    await row.getByRole('button', { name: 'Quarantine agent support-bot' }).click();
    await page.fill('#reason-input', 'suspicious tool calls');
    await page.locator('dialog').getByRole('button', { name: 'Quarantine' }).click();
    await page.waitForSelector('#table-agents tr[data-id="support-bot"] .badge-quarantined', { timeout: 15_000 });
    await shot('inventory-quarantined');

    await open('#/live', '.stream-state[data-state=live]');
    const next = await authorize(allowInput);
    expect(next.result.decision).toBe('deny');
    expect(next.result.codes).toContain('agent_quarantined');
    await page.locator(`tr.deny[data-decision-id="${next.decision_id}"]`).waitFor({ timeout: 15_000 });
    const history = (await admin('GET', '/v1/registry/agents/support-bot/history')) as { items: Array<{ to: string; reason: string }> };
    expect(history.items.some((t) => t.to === 'quarantined' && t.reason === 'suspicious tool calls')).toBe(true);
  }, 60_000);

  it('runs a request in the playground on the live set and on a candidate edit, and locates policy errors', async () => {
    await admin('POST', '/v1/registry/agents/support-bot/trust', { to: 'pending', reason: 'reviewed' });
    await admin('POST', '/v1/registry/agents/support-bot/trust', { to: 'trusted', reason: 'cleared' });
    await page.goto(`${base}/console/#/live`);
    await page.waitForSelector('.stream-state[data-state=live]');
    await page.evaluate(`sessionStorage.setItem('argus.console.playground', ${JSON.stringify(JSON.stringify(allowInput))})`);
    await open('#/playground', '#pg-file option');
    expect(JSON.parse(await page.inputValue('#pg-request'))).toEqual(allowInput);
    await page.click('#pg-run');
    await page.waitForSelector('.result .badge-allow', { timeout: 15_000 });
    expect(await page.locator('.results').innerText()).toContain('tools-serve-their-intents');

    await page.check('#pg-set-candidate');
    await page.selectOption('#pg-file', 'policies/tools.cedar');
    const original = await sourceText('policies/tools.cedar');
    await page.waitForSelector('#pg-policy.cm-content');
    expect(await page.locator('#pg-policy').innerText()).toContain(original.split('\n')[0]!);
    await page.fill(
      '#pg-policy',
      `${original}\n@id("crm-frozen")\n@reason("the CRM is frozen")\nforbid (principal, action == Argus::Action::"tool:call", resource == Argus::Tool::"crm.search");\n`,
    );
    await page.click('#pg-run');
    await page.waitForSelector('.result-grid .result:nth-child(2) .badge-deny', { timeout: 15_000 });
    const results = await page.locator('.result-grid').innerText();
    expect(results).toContain('crm-frozen');
    expect(await page.locator('.result-grid .result:nth-child(1) .badge-allow').count()).toBe(1);
    await shot('playground');

    await page.fill('#pg-policy', `${original}\nforbid (principal, action, resource) when { principal.nope };\n`);
    // As you type, the editor marks the error on its line (the validator's line and column).
    await page.waitForSelector('.cm-lintRange-error', { timeout: 15_000 });
    expect(await page.locator('.cm-line:has(.cm-lintRange-error)').innerText()).toContain('principal.nope');
    expect(await page.locator('.cm-lint-marker-error').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.waitForSelector('.diagnostic-list li');
    expect(await page.locator('.diagnostic-list').innerText()).toMatch(/tools\.cedar:\d+:\d+/);
    expect(await page.isDisabled('button:has-text("Save as the live set")')).toBe(true);
    await shot('playground-diagnostics');
  }, 90_000);

  it('draws the overview, the delegation graph and the goals', async () => {
    await open('#/overview', '.stats');
    expect(await page.locator('.stats').innerText()).toMatch(/Deny rate/);
    expect(await page.locator('.ranking').first().innerText()).toContain('support-bot');
    await shot('overview');

    await open('#/graph', 'svg.graph [data-grant="grant-planner-bot"]');
    await page.focus('svg.graph [data-grant="grant-planner-bot"]');
    await page.keyboard.press('Enter');
    await page.waitForSelector('#grant-title');
    expect(await page.locator('.detail').innerText()).toContain('goal-refunds');
    await shot('delegation-graph');

    await open('#/goals', 'article.goal svg.chart');
    expect(await page.locator('article.goal').innerText()).toContain('support-bot');
    await shot('goals');

    await open('#/graph', 'svg.graph [data-grant="grant-planner-bot"]');
    await page.click('svg.graph [data-grant="grant-planner-bot"]');
    await page.getByRole('button', { name: 'Revoke this branch' }).click();
    await page.fill('#reason-input', 'task finished');
    await page.locator('dialog').getByRole('button', { name: 'Revoke branch' }).click();
    await page.waitForSelector('svg.graph [data-grant="grant-planner-bot"].node-inactive', { timeout: 15_000 });
    const after = await authorize(allowInput);
    expect(after.result.decision).toBe('deny');
  }, 90_000);

  it('validates a policy edit in the playground and saves it as the live set', async () => {
    await open('#/playground', '#pg-file option');
    await page.check('#pg-set-candidate');
    await page.selectOption('#pg-file', 'policies/tools.cedar');
    const original = await sourceText('policies/tools.cedar');
    await page.fill(
      '#pg-policy',
      `${original}\n@id("no-wiki-writes")\n@reason("the wiki is read-only")\nforbid (principal, action == Argus::Action::"tool:call", resource == Argus::Tool::"wiki.write");\n`,
    );
    expect(await page.isDisabled('button:has-text("Save as the live set")')).toBe(true);
    await page.getByRole('button', { name: 'Validate' }).click();
    await page.waitForSelector('.diagnostics .ok');
    await page.click('button:has-text("Save as the live set")');
    await page.fill('#reason-input', 'freeze wiki writes');
    await page.locator('dialog').getByRole('button', { name: 'Save' }).click();
    await page.waitForSelector('#toast .toast:has-text("Saved")', { timeout: 15_000 });
    const live = (await admin('GET', '/v1/policies')) as { policies: Array<{ id: string }> };
    expect(live.policies.map((p) => p.id)).toContain('no-wiki-writes');
    expect(problems.filter((p) => /Content Security Policy|Refused to/i.test(p))).toEqual([]);
  }, 60_000);
});
