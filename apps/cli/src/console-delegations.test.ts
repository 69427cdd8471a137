/**
 * The console's goals page builds a delegation chain with nothing but the admin token, in real
 * headless Chromium against `argus serve` (no IdP): a goal on behalf of alice, a root grant
 * alice → orchestrator, a narrower hop orchestrator → researcher, a wider hop refused with the
 * server's reason shown in the form, and a revocation from the grant table that cascades and
 * denies the researcher's next decision. Screenshots land in `test-artifacts/console/`.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serve, type RunningArgus } from './commands/serve.ts';

const CHROMIUM = '/usr/bin/chromium';
const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const ARTIFACTS = join(REPO, 'test-artifacts/console');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`console delegation tests skipped: ${CHROMIUM} is missing (apt-get install -y chromium)`);

describe.skipIf(!hasChromium)('console goals page: goals and grants with the admin token', () => {
  let dataDir: string;
  let running: RunningArgus;
  let token: string;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${running.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const researcherDecision = async () => {
    const input = {
      principal: { type: 'Agent', id: 'researcher' },
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
      intent: 'lookup-order-status',
      delegation: [{ type: 'Human', id: 'alice' }, { type: 'Agent', id: 'orchestrator' }, { type: 'Agent', id: 'researcher' }],
    };
    const r = await call('POST', '/v1/authorize', { input });
    expect(r.status).toBe(200);
    return r.body.result as { allow: boolean; codes?: string[] };
  };
  const grantForm = async (v: { kind: 'human' | 'agent'; grantor: string; to: string; actions: string; resources: string; hours: string }) => {
    if ((await page.locator('#new-grant').getAttribute('open')) === null) await page.click('#new-grant > summary');
    await page.selectOption('#grant-kind', v.kind);
    await page.fill('#grant-grantor', v.grantor);
    await page.fill('#grant-to', v.to);
    await page.fill('#grant-actions', v.actions);
    await page.fill('#grant-resources', v.resources);
    await page.selectOption('#grant-expires', v.hours);
    await page.click('#new-grant button[type=submit]');
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'argus-console-delegations-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    running = await serve({ dataDir, port: '0', banner: false, policies: join(REPO, 'cedar') });
    token = process.env.ARGUS_ADMIN_TOKEN ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    const registry = running.runtime.storage.registry;
    await registry.createHuman({ id: 'alice', email: 'alice@example.com', roles: ['support'] });
    for (const id of ['orchestrator', 'researcher']) await registry.createAgent({ id, name: id, owner: 'alice', trust: 'trusted' }, 'test');
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => problems.push(String(err)));
    await page.goto(`${running.url}/console/#/overview`);
    await page.fill('#token-input', token);
    await page.click('#token-form button[type=submit]');
    await page.waitForSelector('#token-state.is-set');
    await page.goto(`${running.url}/console/#/goals`);
    await page.waitForSelector('#new-goal');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it('creates a goal on behalf of alice', async () => {
    await page.click('#new-goal > summary');
    await page.fill('#goal-owner', 'alice');
    await page.fill('#goal-objective', 'answer ticket 42');
    await page.fill('#goal-intents', 'lookup-order-status');
    await page.fill('#goal-agents', 'orchestrator, researcher');
    await page.fill('#goal-max-actions', '5');
    await page.fill('#goal-id', 'ticket-42');
    await page.click('#new-goal button[type=submit]');
    await page.waitForSelector('article.goal h2#goal-ticket-42');
    const card = await page.locator('article.goal').innerText();
    expect(card).toContain('answer ticket 42');
    expect(card).toContain('alice');
    expect(card).toContain('orchestrator, researcher');
  }, 60_000);

  it('grants alice → orchestrator, then a narrower hop orchestrator → researcher; refuses a wider one in place', async () => {
    await grantForm({ kind: 'human', grantor: 'alice', to: 'orchestrator', actions: 'tool:call', resources: 'Tool::"crm.*"', hours: '8' });
    await page.locator('#grant-list tbody tr').first().waitFor();
    await grantForm({ kind: 'agent', grantor: 'orchestrator', to: 'researcher', actions: 'tool:call', resources: 'Tool::"crm.search"', hours: '1' });
    await expect.poll(() => page.locator('#grant-list tbody tr').count(), { timeout: 15_000 }).toBe(2);
    const table = await page.locator('#grant-list').innerText();
    expect(table).toContain('Human::"alice"');
    expect(table).toContain('Agent::"orchestrator"');
    expect(table).toContain('Agent::"researcher"');
    expect((await researcherDecision()).allow).toBe(true);

    await grantForm({ kind: 'agent', grantor: 'orchestrator', to: 'researcher', actions: 'tool:call', resources: 'Tool::"mail.send"', hours: '1' });
    await expect.poll(() => page.locator('#new-grant .error').innerText(), { timeout: 15_000 }).toMatch(/delegation_scope_widened/);
    expect(await page.locator('#grant-list tbody tr').count()).toBe(2);
    await page.screenshot({ path: join(ARTIFACTS, 'goals-delegations.png'), fullPage: true });
  }, 60_000);

  it('revokes the root grant from the table: both grants go, the researcher is denied', async () => {
    const root = page.locator('#grant-list tbody tr', { hasText: 'Human::"alice"' });
    await root.getByRole('button', { name: 'Revoke' }).click();
    await page.fill('#reason-input', 'ticket closed');
    await page.click('dialog button[type=submit]');
    await expect.poll(() => page.locator('#grant-list tbody tr', { hasText: 'revoked' }).count(), { timeout: 15_000 }).toBe(2);
    expect(await page.locator('#grant-list button', { hasText: 'Revoke' }).count()).toBe(0);
    const after = await researcherDecision();
    expect(after.allow).toBe(false);
    expect(after.codes).toContain('delegation_revoked');
    expect(problems).toEqual([]);
  }, 60_000);
});
