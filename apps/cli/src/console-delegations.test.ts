/**
 * The console's goals page builds a delegation chain with nothing but the admin token, in real
 * headless Chromium against `argus serve` (no IdP): a goal on behalf of alice, a root grant
 * alice → orchestrator, a narrower hop orchestrator → researcher, a wider hop refused with the
 * server's reason shown in the form, and a revocation from the grant table that cascades and
 * denies the researcher's next decision. Screenshots land in `test-artifacts/console/`.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, hasChromium, openConsole, startServe, warnWithoutChromium, type ServeFixture } from './testing/serve-fixture.ts';

warnWithoutChromium('console delegation');

describe.skipIf(!hasChromium)('console goals page: goals and grants with the admin token', () => {
  let argus: ServeFixture;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  const call = (method: string, path: string, body?: unknown) => argus.call(method, path, body);
  const researcherDecision = async () => {
    const input = {
      principal: { type: 'Agent', id: 'researcher' },
      action: 'tool:call',
      resource: { type: 'Tool', id: 'crm.search', attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
      intent: 'lookup-order-status',
      delegation: [
        { type: 'Human', id: 'alice' },
        { type: 'Agent', id: 'orchestrator' },
        { type: 'Agent', id: 'researcher' },
      ],
    };
    const r = await call('POST', '/v1/authorize', { input });
    expect(r.status).toBe(200);
    return r.body.result as { allow: boolean; codes?: string[] };
  };
  const grantForm = async (v: {
    kind: 'human' | 'agent';
    grantor: string;
    to: string;
    actions: string;
    resources: string;
    hours: string;
  }) => {
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
    argus = await startServe('console-delegations', ['orchestrator', 'researcher']);
    ({ browser, page, problems } = await openConsole(argus, '#/goals'));
    await page.waitForSelector('#new-goal');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await argus?.close();
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
    await grantForm({
      kind: 'agent',
      grantor: 'orchestrator',
      to: 'researcher',
      actions: 'tool:call',
      resources: 'Tool::"crm.search"',
      hours: '1',
    });
    await expect.poll(() => page.locator('#grant-list tbody tr').count(), { timeout: 15_000 }).toBe(2);
    const table = await page.locator('#grant-list').innerText();
    expect(table).toContain('Human::"alice"');
    expect(table).toContain('Agent::"orchestrator"');
    expect(table).toContain('Agent::"researcher"');
    expect((await researcherDecision()).allow).toBe(true);

    await grantForm({
      kind: 'agent',
      grantor: 'orchestrator',
      to: 'researcher',
      actions: 'tool:call',
      resources: 'Tool::"mail.send"',
      hours: '1',
    });
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
