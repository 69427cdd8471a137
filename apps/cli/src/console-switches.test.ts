/**
 * The console's switches page in real headless Chromium against `argus serve` (starter policies):
 * stop an agent with a reason from the form (its next decision is denied `switch_stopped`, the
 * other agent's is not), a bad tool id refused in place naming the path, "stop everything" only
 * after the confirmation dialog (cancel stops nothing), and resume from the table. Screenshots
 * land in `test-artifacts/console/`.
 */
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ARTIFACTS, hasChromium, openConsole, startServe, warnWithoutChromium, type ServeFixture } from './testing/serve-fixture.ts';

warnWithoutChromium('console switches');

describe.skipIf(!hasChromium)('console switches page', () => {
  let argus: ServeFixture;
  let browser: Browser;
  let page: Page;
  let problems: string[];

  const decide = async (agent: string, toolId = 'github/create_issue') => {
    const input = {
      principal: { type: 'Agent', id: agent },
      action: 'tool:call',
      resource: { type: 'Tool', id: toolId, attributes: { sensitivity: 'internal', allowedIntents: ['lookup-order-status'] } },
      intent: 'lookup-order-status',
    };
    const res = await argus.call('POST', '/v1/authorize', { input });
    expect(res.status).toBe(200);
    return res.body.result as { allow: boolean; codes?: string[]; summary?: string };
  };
  const rows = () => page.locator('#switch-list tbody tr').count();

  beforeAll(async () => {
    argus = await startServe('console-switches', ['bot-a', 'bot-b']);
    ({ browser, page, problems } = await openConsole(argus, '#/overview'));
    await page.click('nav a[data-page=switches]');
    await page.waitForSelector('#switch-empty');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await argus?.close();
  }, 30_000);

  it('starts with nothing stopped and both agents allowed', async () => {
    expect(await page.locator('#switch-empty').innerText()).toContain('Nothing is stopped');
    expect((await decide('bot-a')).allow).toBe(true);
    expect((await decide('bot-b')).allow).toBe(true);
  }, 30_000);

  it('stops an agent from the form: listed with the reason, its decisions denied, the other agent allowed', async () => {
    await page.selectOption('#switch-scope', 'agent');
    await page.fill('#switch-id', 'bot-a');
    await page.fill('#switch-reason', 'sending mail in a loop');
    await page.click('#stop-form button[type=submit]');
    await expect.poll(rows, { timeout: 15_000 }).toBe(1);
    const row = await page.locator('#switch-list tbody tr').innerText();
    expect(row).toContain('bot-a');
    expect(row).toContain('sending mail in a loop');
    expect(row).toContain('admin');
    const denied = await decide('bot-a');
    expect(denied).toMatchObject({ allow: false, codes: ['switch_stopped'] });
    expect(denied.summary).toContain('sending mail in a loop');
    expect((await decide('bot-b')).allow).toBe(true);
  }, 30_000);

  it('refuses a tool id that is not `<server>/<tool>` in place, naming the path', async () => {
    await page.selectOption('#switch-scope', 'tool');
    await page.fill('#switch-id', 'create_issue');
    await page.fill('#switch-reason', 'spam');
    await page.click('#stop-form button[type=submit]');
    await expect
      .poll(() => page.locator('#stop-form .error').innerText(), { timeout: 15_000 })
      .toContain('/id: a tool id is `<server>/<tool>`');
    expect(await rows()).toBe(1);
  }, 30_000);

  it('stops everything only after the confirmation dialog; cancel stops nothing', async () => {
    await page.click('#stop-all');
    await page.waitForSelector('dialog[open]');
    await page.click('dialog button.secondary');
    expect(await page.locator('dialog').count()).toBe(0);
    expect((await decide('bot-b')).allow).toBe(true);

    await page.click('#stop-all');
    await page.fill('#reason-input', 'incident 12');
    await page.click('dialog button[type=submit]');
    await page.waitForSelector('#all-stopped');
    expect(await page.locator('#all-stopped').innerText()).toContain('Everything is stopped');
    expect(await page.locator('#all-stopped').innerText()).toContain('incident 12');
    expect((await decide('bot-b', 'jira/search')).codes).toEqual(['switch_stopped']);
    await page.screenshot({ path: join(ARTIFACTS, 'switches.png'), fullPage: true });

    await page.click('#resume-all');
    await page.waitForSelector('#stop-all');
    expect((await decide('bot-b', 'jira/search')).allow).toBe(true);
  }, 30_000);

  it('resumes the agent from the table: allowed again, nothing left stopped', async () => {
    await page.getByRole('button', { name: 'Resume agent bot-a' }).click();
    await page.waitForSelector('#switch-empty');
    expect((await decide('bot-a')).allow).toBe(true);
    expect(problems).toEqual([]);
  }, 30_000);
});
